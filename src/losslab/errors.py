"""Error types: every user-facing failure is a LosslabError with a one-line message."""


class LosslabError(ValueError):
    """Bad input: the message says what was given, what is allowed and how to fix it."""


class ExpressionError(LosslabError):
    """A typed surface expression that is not allowed or cannot be parsed."""
