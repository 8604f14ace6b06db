"""Errors meant for the user: the command line prints their message as one line and exits non-zero."""


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""
