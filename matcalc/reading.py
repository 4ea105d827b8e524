"""parse(): text (plain, Unicode or LaTeX) → Expr, through syntax.py then shapes.py."""
from __future__ import annotations

import dataclasses
import re

from . import expr as E
from .decls import Decls
from .errors import ParseError, ShapeError
from .latex_input import bold_names, from_latex, looks_like_latex
from .shapes import kinds_from_context
from .syntax import (MAX_DEPTH, course_spellings, depth, make_transformer, pair_norm_bars, parser,
                     syntax_error)
from .walk import symbols_in

MAX_INPUT = 20_000
# A division by d<letter> (`dx^2/dx`, `\frac{d}{dt}` read as (d)/(dt)): Leibniz's notation
_LETTER = r"[A-Za-z\u0370-\u03ff]"
_DIVIDED_BY_DX = re.compile(rf"/\s*(\(\s*(d|∂)\s?{_LETTER}\s*\)|\(*(d|∂){_LETTER}(?![A-Za-z0-9\u0370-\u03ff]))")
# `L(w) =`, `f(x, y) =`, `f =`: the name of the function before its definition
_LEFT_SIDE = re.compile(r"^\s*((ln|log)\s+)?[A-Za-z\u0370-\u03ff][A-Za-z0-9_']*(\{[A-Za-z0-9]*\})?\s*"
                        r"(\([^()=]*\))?\s*=(?!=)")  # `ln L(x | μ, Σ) =` too


def _top_level_equals(text: str) -> int:
    """The `=` signs outside braces (`\\sum_{i=1}^n` has one inside)."""
    depth = count = 0
    for ch in text:
        depth += (ch == "{") - (ch == "}")
        count += ch == "=" and depth == 0
    return count


def _without_left_side(text: str):
    """The text without a left-hand side `L(w) =` (the course writes definitions so), and
    that left-hand side; `dL = …` and `∇f = …` are claims' forms, left to check."""
    m = _LEFT_SIDE.match(text)
    if not m or _top_level_equals(text) != 1 or re.match(r"\s*(d|∂|∇|grad)", m.group(0)):
        return text, ""
    return text[m.end():], m.group(0)[:-1]


def parse(text: str, decls: Decls | None = None, differentials=(), shape=None, latex: bool | None = None,
          notes: list | None = None, named: dict | None = None) -> E.Expr:
    """Parse matrix notation into an Expr.

    `differentials` names variables whose `dX` may appear; `shape` (rows, cols), if
    given, is the shape the whole expression must have (it sizes a lone `I`). `named`, if
    given, receives name → Symbol for every name written, also those that cancel (`v - v`). `latex`
    None means: read it as LaTeX if it looks like LaTeX (backslashes, `$`).
    """
    if not isinstance(text, str):
        raise ParseError("the expression must be a string")
    if len(text) > MAX_INPUT:
        raise ParseError(f"the expression is too long ({len(text)} characters; the limit is {MAX_INPUT})")
    if not text.strip():
        raise ParseError("the expression is empty")
    if re.match(r"\s*(∇|grad\s+of\b|grad_|nabla)", text):
        raise ParseError(
            "write only the expression and name the variable with wrt=x: "
            "`x^T A x` with wrt=x, not `∇_x (x^T A x)` or `grad of …`"
        )
    if re.match(r"\s*(d|∂)\s*/\s*(d|∂)", text) or _DIVIDED_BY_DX.search(text):
        raise ParseError(
            "write only the expression, and name the variable with wrt=x: "
            "`x^2` with wrt=x scalar=x, not `d/dx x^2` or `dx^2/dx`"
        )
    text, lhs = _without_left_side(text)
    if lhs and notes is not None:
        notes.append(f"`{lhs.strip()} =` is the name of the function: the right-hand side is differentiated")
    decls = decls or Decls()
    from lark.exceptions import UnexpectedInput

    if latex or (latex is None and looks_like_latex(text)):
        translated = from_latex(text)
        bold = bold_names(text)
        if bold:
            decls = dataclasses.replace(decls, bold=decls.bold | bold)
        try:
            return parse(translated, decls, differentials, shape, latex=False, notes=notes, named=named)
        except ParseError as err:
            raise ParseError(f"{err}\n(read from LaTeX as: {translated})") from None

    prepared = pair_norm_bars(course_spellings(text))
    try:
        tree = parser().parse(prepared)
        raw = make_transformer(prepared, decls, set(differentials)).transform(tree)
    except UnexpectedInput as err:
        raise syntax_error(prepared, err, text) from None
    except Exception as err:  # Lark wraps errors raised inside the transformer
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, (ParseError, ShapeError)):
            raise inner from None
        raise
    if depth(raw) > MAX_DEPTH:
        raise ParseError(f"the expression is nested too deeply (the limit is {MAX_DEPTH} levels)")
    builder, raw, found = kinds_from_context(prepared, raw, decls, differentials, shape)
    if notes is not None:
        notes.extend(n for n in found if n not in notes)
    builder._name_dims()
    out = builder.build(raw)
    builder.check_sizes_determined(raw, shape)
    if named is not None:
        named.update((n, builder._symbol(n)) for n in builder.symbols)
    return out


def symbols_of(e: E.Expr) -> dict:
    """name → Symbol for every variable in e (a differential dX counts as X)."""
    out: dict = {}
    for n in symbols_in(e):
        out.setdefault(n.name, E.Symbol(n.name, n.nrows, n.ncols, n.symmetric) if n.diff else n)
    return out
