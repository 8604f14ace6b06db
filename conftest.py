"""pytest configuration shared by unit tests and nbval."""
import os

# Progress bars off, so that re-executed notebooks print exactly what their stored outputs show.
os.environ.setdefault("GENAI_COURSE_PROGRESS", "0")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
