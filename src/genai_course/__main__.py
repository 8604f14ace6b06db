"""``python -m genai_course`` is the same as the ``genai-course`` command."""

import sys

from .cli import main

sys.exit(main())
