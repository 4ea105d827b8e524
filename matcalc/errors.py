"""Exceptions a user can cause. The CLI turns them into exit code 2; anything else is a bug."""


class MatcalcError(Exception):
    """Base class of every error caused by the input (exit code 2 at the CLI)."""


class ParseError(MatcalcError):
    """The text is not a well-formed expression; the message carries a caret line."""


class ShapeError(MatcalcError):
    """Sub-expressions whose shapes do not fit together; the message names both."""


class DeclarationError(MatcalcError):
    """A malformed --dim / --scalar / --at value."""


class DerivationError(MatcalcError):
    """The requested derivative cannot be expressed (e.g. not linear in the differential)."""


class ResultTooLarge(MatcalcError):
    """An expression beyond the size limit (the message says which limit)."""
