"""Generative AI from Scratch: the course package.

Notebooks tell the story; this package holds the machinery they share. One small module
per idea: ``nn.attention`` for attention, ``data.shapes`` for the procedural shape scenes,
``exercises`` for the checkers, ``cli`` for the ``genai-course`` command, and so on.
Importing the package is cheap: torch is imported by the modules that need it.
"""

__version__ = "0.1.0"
