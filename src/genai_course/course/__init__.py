"""Tools for authors and instructors: the setup cell, executing notebooks, student versions, checking."""
