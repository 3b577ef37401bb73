"""The codec's one error type (its own module so every part of the codec can raise it)."""

from losslab.errors import LosslabError


class ResultFileError(LosslabError):
    """A result file or record that cannot be read or written; the message names it."""
