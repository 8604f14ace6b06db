"""Data: corpora, procedural images and toy tasks, all generated or shipped with Python."""
