"""pytest configuration shared by unit tests and nbval."""
import os

# Progress bars off, so that re-executed notebooks print exactly what their stored outputs show.
os.environ.setdefault("GENAI_COURSE_PROGRESS", "0")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
# Idle OpenMP threads sleep instead of spinning, so notebooks run side by side (pytest -n 2)
# without stealing each other's cores. It changes speed only, never results.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
