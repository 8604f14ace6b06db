"""Checkers for the course's exercises, one module per chapter (``exercises.transformers``, ...).

Each checker takes the student's function, runs it on small inputs and compares with the
course's reference implementation. It returns a :class:`~genai_course.exercises.checks.Feedback`
that displays one clear message (not attempted, wrong shape, wrong values, or the error the
code raised) and is truthy when the answer is right, so ``assert check_x(f)`` grades it.
"""

from .checks import Feedback

__all__ = ["Feedback"]
