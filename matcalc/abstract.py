"""Abstract elementwise functions: the book's generic activation `f(X W_1)`.

An undeclared `f`, `g` or `φ` (also `f_1`, `f_k`, and `F`, `G`, `Φ` written right before
their parenthesis, as the course writes `F(W x)`) applied to an argument is an elementwise
function with no formula. Its derivative is the function named with a prime, `f'`, so
d f(H) = f'(H) ⊙ dH, backprop gives the textbook δ recursion with f′, and the Hessian
goes on to f''. There are no numbers for it: evaluating one asks which activation is meant.

Self-contained on purpose: the stages call `derivative_rule` and `refuse_numbers` where
they look a function up in their own tables, and nothing else knows about it.
"""
from __future__ import annotations

import re

from . import expr as E
from .errors import MatcalcError

_ABSTRACT = re.compile(r"^(f|g|phi|varphi|F|G|Phi)(_\{?[A-Za-z0-9]+\}?|\d+)?'*$")
# F(…), G(…), Φ(…) (the course's F(W x)) are functions only when called; a bare F is a matrix
CAPITAL = re.compile(r"^(F|G|Phi)(_\{?[A-Za-z0-9]+\}?|\d+)?$")


class AbstractFunctionError(MatcalcError):
    """Numbers were asked of an abstract function."""


def is_abstract(name: str) -> bool:
    return bool(_ABSTRACT.match(name))


def derivative_rule(name: str):
    """f ↦ (u ↦ f'(u)) for an abstract f, else None."""
    if not is_abstract(name):
        return None
    return lambda u: E.func(name + "'", u)


def refuse_numbers(name: str):
    base = name.rstrip("'")
    raise AbstractFunctionError(
        f"`{base}` is an abstract activation (no formula), so `{name}(…)` has no numbers: "
        f"say which activation it is, e.g. write sigmoid(…), tanh(…) or relu(…) instead of {base}(…)"
    )
