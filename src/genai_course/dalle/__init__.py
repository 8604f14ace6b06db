"""DALL·E at the scale of a CPU (chapter 7): images as tokens, one transformer over words and image codes."""
