"""Error types: every user-facing failure is a LosslabError with a one-line message."""


class LosslabError(ValueError):
    """Bad input: the message says what was given, what is allowed and how to fix it."""


class ArgumentTypeError(LosslabError, TypeError):
    """An argument of the wrong type (a string where a number goes). A TypeError, as Python's
    own checks raise, and a LosslabError, so the CLI and the web lab show it as one line."""


class ExpressionError(LosslabError):
    """A typed surface expression that is not allowed or cannot be parsed."""
