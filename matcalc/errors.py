"""Exceptions a user can cause. The CLI turns them into exit code 2; anything else is a bug.

Messages name the API's arguments as `wrt=x`, `vector=mu`, `dim=X=3x4`; the CLI shows
them as its flags (`--wrt x`) with `as_flags`.
"""
import re

ARGUMENTS = ("wrt", "scalar", "vector", "matrix", "symmetric", "dim", "at", "data", "claim",
             "layer", "input", "upstream", "weights", "format", "vec", "convention", "jobs", "batch",
             "order", "init", "optimizer")
_ARGUMENT_RE = re.compile(r"(?<![\w-])(" + "|".join(ARGUMENTS) + r")=(True\b)?(?! )")
_BARE_RE = re.compile(r"(?<![\w-])(" + "|".join(ARGUMENTS) + r")= ")  # `at= names y`: the flag alone


def as_flags(message: str) -> str:
    """`wrt=x` → `--wrt x`, `vec=True` → `--vec`, a bare `at= ` → `--at `: a library message
    in the command line's words."""
    message = _BARE_RE.sub(lambda m: f"--{m.group(1)} ", message)
    return _ARGUMENT_RE.sub(lambda m: f"--{m.group(1)}" + ("" if m.group(2) else " "), message)


class MatcalcError(Exception):
    """Base class of every error caused by the input (exit code 2 at the CLI)."""


class ParseError(MatcalcError):
    """The text is not a well-formed expression; the message carries a caret line."""


class ShapeError(MatcalcError):
    """Sub-expressions whose shapes do not fit together; the message names both."""


class NotSquare(ShapeError):
    """An operation that needs a square matrix (inverse, det, tr) got a non-square one."""


class DeclarationError(MatcalcError):
    """A malformed dim= / scalar= / at= value."""


class DerivationError(MatcalcError):
    """The requested derivative cannot be expressed (e.g. not linear in the differential)."""


class ResultTooLarge(MatcalcError):
    """An expression beyond the size limit (the message says which limit)."""


class DomainError(DeclarationError):
    """Numbers the user gave (--at, --data) lie outside the expression's domain: a singular
    matrix that is inverted, the log of a negative number; their input, not a bug."""


_CARET = re.compile(r"^  (.*)\n  ( *)\^$", re.M)


def error_body(kind: str, message: str) -> dict:
    """{error, type, caret}: one error record for the web API and `--format json` on the command
    line; `caret` is {text, column} (0-based) for a message with a caret line, else None."""
    body: dict = {"error": message, "type": kind, "caret": None}
    m = _CARET.search(message)
    if m:
        body["caret"] = {"text": m.group(1), "column": len(m.group(2))}
    return body
