"""Errors meant for the user: the command line prints their message as one line and exits non-zero.

``genai-course`` catches :class:`CommandError`, :class:`ValueError` and :class:`OSError`, so every
class here is one of those: a notebook sees an ordinary ``ValueError`` (or ``OSError``), the
command line prints ``genai-course CMD: error: <message>`` and exits with status 2.
"""


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: truncated, corrupt, of the wrong kind, with a malformed
    config or non-finite weights, or (a shipped one) changed since it was shipped. The message
    names the file and says how to remake it."""


class CheckpointMissing(CheckpointError, FileNotFoundError):
    """A checkpoint file that does not exist (both a ``ValueError`` and a ``FileNotFoundError``)."""


class CheckpointWriteError(OSError):
    """A checkpoint that could not be written; the half-written temporary file has been removed
    and an earlier file under the same name is left as it was."""


class TrainingDiverged(ValueError):
    """The training loss (or the weights) became NaN or infinite; nothing is saved."""


class ShapeError(ValueError):
    """A tensor of the wrong shape at a model's boundary (see :func:`genai_course.shape_check.expect_shape`);
    the message names the tensor, the expected shape, the shape it has and the axis at fault."""
