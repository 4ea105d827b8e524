"""parse(): text (plain, Unicode or LaTeX) → Expr, through syntax.py then shapes.py."""
from __future__ import annotations

import dataclasses
import re

from . import expr as E
from .abstract import CAPITAL
from .decls import Decls, is_greek, pretty_name
from .errors import MatcalcError, ParseError, ShapeError
from .latex_input import bold_names, from_latex, looks_like_latex
from .shapes import kinds_from_context
from .syntax import (MAX_DEPTH, Raw, course_spellings, depth, make_transformer, pair_norm_bars, parser, snippet,
                     syntax_error, walk_raw)
from .walk import symbols_in

MAX_INPUT = 20_000
# A division by d<letter> (`dx^2/dx`, `\frac{d}{dt}` read as (d)/(dt)): Leibniz's notation
_LETTER = r"[A-Za-z\u0370-\u03ff]"
_DIVIDED_BY_DX = re.compile(rf"/\s*(\(\s*(d|∂)\s?{_LETTER}\s*\)|\(*(d|∂){_LETTER}(?![A-Za-z0-9\u0370-\u03ff]))")
# `L(w) =`, `f(x, y) =`, `f =`: the name of the function before its definition
_LEFT_SIDE = re.compile(r"^\s*((ln|log)\s+)?[A-Za-z\u0370-\u03ff][A-Za-z0-9_']*(\{[A-Za-z0-9]*\})?\s*"
                        r"(\([^()=]*\))?\s*=(?!=)")  # `ln L(x | μ, Σ) =` too


def _names_the_function(text: str) -> bool:
    """`L(w) =`, `f =`: a name for what follows; `sigmoid(x) = …` is a formula to compare, not a name."""
    from .syntax import FUNCTIONS

    m = _LEFT_SIDE.match(text)
    if not m:
        return False
    name = re.match(r"\s*(?:(?:ln|log)\s+)?([^\s({=]+)", m.group(0)).group(1)
    return name not in FUNCTIONS


def _without_left_side(text: str):
    """The text without a left-hand side `L(w) =` (the course writes definitions so), and
    that left-hand side; `dL = …` and `∇f = …` are claims' forms, left to check."""
    m = _LEFT_SIDE.match(text)
    if not m or len(top_level_parts(text)) != 2 or re.match(r"\s*(d|∂|∇|grad)", m.group(0)):
        return text, ""
    return text[m.end():], m.group(0)[:-1]


_GOAL = re.compile(r"\s*(?:\\rightarrow|\\to|→|->)\s*\\?(?:min|max|arg\s*min|arg\s*max)(?![A-Za-z(]|\s*\().*$", re.S)


_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{\s*(?:split|aligned|align\*?|equation\*?|gather\*?)\s*\}|&|\\\\")


def unwrap_environments(text: str) -> str:
    """A derivation typeset as `\\begin{split} f &= … \\\\ &= … \\end{split}` is the chain f = … = …"""
    return _ENVIRONMENT.sub(" ", text) if "\\begin" in text else text


def top_level_parts(text: str) -> list:
    """The text split at its `=` signs outside brackets (`\\sum_{i=1}^n` keeps its own)."""
    parts, depth, last = [], 0, 0
    for k, ch in enumerate(text):
        depth += (ch in "({[") - (ch in ")}]")
        if ch == "=" and depth == 0 and text[k + 1:k + 2] != "=" and text[k - 1:k] not in "<>!=":
            parts.append(text[last:k])
            last = k + 1
    return parts + [text[last:]]


def _chain(parts, decls, differentials, shape, latex, notes, named) -> E.Expr:
    """`f(t) = tanh(t) = 2/(1 + e^{-2t}) - 1`, as the course writes a definition: the name on
    the left dropped, the first right-hand side read, the others checked equal to it by numbers
    (a chain whose parts differ is an error, never one part chosen in silence)."""
    if _names_the_function(parts[0] + "=") and not re.match(r"\s*(d|∂|∇|grad)", parts[0]):
        parts = parts[1:]
    if any(not p.strip() for p in parts):
        raise ParseError("an `=` with nothing on one side: write the expression to differentiate")
    kw = dict(differentials=differentials, shape=shape, latex=latex)
    if len(parts) == 1:
        return parse(parts[0], decls=decls, notes=notes, named=named, **kw)
    import numpy as np

    from .numeric import NoValidPoint, evaluate, sample_point

    for part in parts:  # each part well formed on its own first: its own error, with its own caret
        parse(part, decls=decls, **kw)
    # one reading of the names for every part: the kinds and sizes of the chain read as a whole
    together: dict = {}
    joint = " + ".join(f"0 ({p})" if k else f"({p})" for k, p in enumerate(parts))
    try:
        parse(joint, decls=decls, named=together, notes=notes, **kw)
    except ShapeError:
        raise ParseError(f"the parts of `{' = '.join(p.strip() for p in parts)}` do not have one shape: "
                         f"write one expression") from None
    decls = decls or Decls()
    fixed = Decls(set(), set(), set(), set(decls.symmetric), {**decls.dims, **{n: s.shape for n, s in together.items()}},
                  decls.counts)
    first = parse(parts[0], decls=fixed, named=named, **kw)
    for other_text in parts[1:]:
        other = parse(other_text, decls=fixed, **kw)
        try:
            sizes, env = sample_point([first, other], np.random.default_rng(0))
            same = np.allclose(evaluate(first, env, sizes), evaluate(other, env, sizes), rtol=1e-8, atol=1e-10)
        except (NoValidPoint, MatcalcError, ValueError):
            same = False
        if not same:
            raise ParseError(f"`{parts[0].strip()}` and `{other_text.strip()}` are not equal at a random "
                             f"point: write one expression (the chain's parts must be equal)")
    if notes is not None:
        notes.append(f"a chain of equal expressions: `{parts[0].strip()}` is differentiated (the other "
                     f"parts are equal to it at random points)")
    return first


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
    cyrillic = re.search(r"[\u0400-\u04ff][\u0400-\u04ff\s\w]*", text)
    if cyrillic:
        raise ParseError(f"`{cyrillic.group(0).strip()}`: write only the formula; say what a name is with "
                         f"scalar=x, vector=x or matrix=X (`где x скаляр` is scalar=x)")
    text = unwrap_environments(text)
    text = re.sub(r"(?:\s|\\[,;.!]|[.,;])+$", "", text)  # the sentence's full stop or comma, as printed
    text = re.sub(r"(·|\\cdot|\*)\s*-", r"\1 (-1) ", text)  # a · -b (a minus right after a product sign)
    parts = top_level_parts(text)
    if len(parts) == 2 and re.match(r"\s*(∇|\\nabla|grad\b)", parts[0]):  # ∇f = (A + Aᵀ) x: a gradient given
        if notes is not None:
            notes.append(f"`{parts[0].strip()} =` names the expression: the right-hand side is differentiated")
        text = parts[1]
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
    if re.search(r"\\begin\s*\{\s*[pbvBV]?matrix", text):
        raise ParseError("a matrix written out entry by entry is not part of an expression: call it by a "
                         "name (A) and give its numbers with at= A=[[1,2],[3,4]]")
    pair = re.search(r"(?:\\sum|sum|Σ|∑)\s*_\s*\{\s*([a-z])\s*,\s*([a-z])\s*\}", text)
    if pair:
        i, j = pair.groups()
        raise ParseError(f"write a double sum as two sums, sum_{i} sum_{j} …; a sum over all entries "
                         f"x_{{{i}{j}}} of a matrix is sum(…) of the matrix: Σ_{i}{j} (x_{i}{j} - a_{i}{j})² is "
                         f"sum((X - A) .^ 2) = ‖X - A‖_F^2")
    goal = _GOAL.search(text)
    if goal:  # `L(w) → min_w`, as the course states a problem: the loss is what is differentiated
        text = text[:goal.start()]
        if notes is not None:
            notes.append(f"`{goal.group(0).strip()}` is dropped: the loss before it is differentiated "
                         f"(matcalc solve finds the optimum)")
    decls = decls or Decls()
    from lark.exceptions import UnexpectedInput

    if latex or (latex is None and looks_like_latex(text)):  # left-hand sides are read once translated
        translated = from_latex(text)
        bold = bold_names(text)
        if bold:
            decls = dataclasses.replace(decls, bold=decls.bold | bold)
        try:
            return parse(translated, decls, differentials, shape, latex=False, notes=notes, named=named)
        except ParseError as err:
            raise ParseError(f"{err}\n(read from LaTeX as: {translated})") from None

    parts = top_level_parts(text)
    if len(parts) > 2 or (len(parts) == 2 and not _names_the_function(text)
                          and not re.match(r"\s*(d|∂|∇|grad)", text)):
        return _chain(parts, decls, differentials, shape, False, notes, named)
    text, lhs = _without_left_side(text)
    if lhs and notes is not None:
        notes.append(f"`{lhs.strip()} =` is the name of the function: the right-hand side is differentiated")

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
    raw, found_sums = _implicit_sums(raw, prepared, decls)
    found_sums += _capital_functions(raw, prepared)
    raw = _prefix_arguments(raw, prepared, found_sums)
    builder, raw, found = kinds_from_context(prepared, raw, decls, differentials, shape)
    found = found_sums + found
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


_INDEX_LETTERS = "ijkl"


def _free_indices(r: Raw, bound=frozenset()) -> set:
    """The index letters of names like x_i, y_{i} in r that no Σ_i around them binds."""
    out, stack = set(), [(r, bound)]
    while stack:
        n, b = stack.pop()
        if n.op == "sumover":
            b = b | {n.data[0]}
        elif n.op == "sym" and "_" in n.data and not n.data[:1].isupper():  # W_k is a weight's name
            sub = n.data.partition("_")[2].strip("{}")
            if sub in _INDEX_LETTERS and sub not in b:
                out.add(sub)
        stack.extend((k, b) for k in n.kids)
    return out


def _before_sum_sign(r: Raw) -> bool:
    """What may stand before a summation sign in a product: 1/2, -1/2, 1/n, 1/(2m), λ."""
    if r.op in ("num", "neg", "mul"):
        return all(_before_sum_sign(k) for k in r.kids)
    if r.op == "div":
        return all(_before_sum_sign(k) for k in r.kids)
    if r.op == "sym":  # a count (n, m, N) or a lowercase Greek constant (λ)
        return len(r.data) == 1 or (is_greek(r.data) and r.data[0].islower())
    return False


def _implicit_sums(raw: Raw, text: str, decls: Decls):
    """A summation sign written without its index, as the course often prints it:
    `\\sum (y_i - b)^2`, `sum (…)`, or a bare `Σ (x_i - μ)ᵀ …`, is the sum over the one index
    its body leaves free (Σ_i), never the sum of the entries of one observation's term.
    Returns the tree and a note for each such reading; two free indices are an error that
    names the spelling that works. (`\\Sigma` in LaTeX is always the letter.)"""
    notes: list = []

    def over(body: Raw, start: int, end: int, bound: frozenset) -> Raw | None:
        free = _free_indices(body, bound)
        if not free:
            return None
        shown = snippet(text, Raw("sym", (), start, end))
        if len(free) > 1:
            raise ParseError(
                f"`{shown}`: a sum over which index ({', '.join(sorted(free))})? write "
                + " ".join(f"sum_{i}" for i in sorted(free)) + " …"
            )
        (index,) = free
        notes.append(f"`{shown}` is read as the sum over the observations Σ_{index} (write sum_{index} "
                     f"to say so; sum(…) of one observation's entries would not contain {index})")
        return Raw("sumover", [body], start, end, (index, "n"))  # the size n, as for sum_i

    sigma_count = sum(1 for r in walk_raw(raw) if r.op == "sym" and r.data == "Sigma") if "Σ" in text else 0

    def visit(r: Raw, bound: frozenset) -> Raw:
        inner = bound | {r.data[0]} if r.op == "sumover" else bound
        r.kids = [visit(k, inner) for k in r.kids]
        if r.op == "call" and r.data == "sum" and len(r.kids) == 1:
            return over(r.kids[0], r.start, r.end, bound) or r
        if r.op == "mul":
            for k, kid in enumerate(r.kids[:-1]):
                if not all(_before_sum_sign(f) for f in r.kids[:k]):
                    break  # (x_i - μ)ᵀ Σ (x_i - μ): a Σ after a factor like that is the matrix
                if kid.op == "sym" and text[kid.start:kid.end] == "Σ" and not (
                        decls.declares("Sigma") and sigma_count == 1):  # declared, written once: the matrix
                    rest = r.kids[k + 1:]
                    body = rest[0] if len(rest) == 1 else Raw("mul", rest, rest[0].start, rest[-1].end)
                    s = over(body, kid.start, r.end, bound)
                    if s is not None:
                        r.kids = r.kids[:k] + [s]
                        return r if k else s
        return r

    return visit(raw, frozenset()), notes


def _capital_functions(raw: Raw, text: str) -> list:
    """A note for each capital abstract function (`F(W x)`), which could also be read as the
    matrix F times (W x); an error when the same name is also used as a matrix."""
    called = {r.data for r in walk_raw(raw) if r.op == "call" and CAPITAL.match(r.data or "")}
    notes = []
    written = {r.data for r in walk_raw(raw) if r.op == "sym"} if called else set()
    for name in sorted(called):
        shown = pretty_name(name)
        if name in written:
            raise ParseError(f"`{shown}` is used both as a function {shown}(…) and as a matrix: declare "
                             f"matrix={shown} to read {shown}(…) as the product {shown}·(…)")
        notes.append(f"`{shown}(…)` is read as an elementwise function {shown} with no formula (the "
                     f"course's activation; its derivative is {shown}'); declare matrix={shown} to read it "
                     f"as the matrix {shown} times (…)")
    return notes


_SCALAR_CALLS = {name for name, call in E.CALLS.items() if call.result == "scalar"} | {"norm", "norm1"}


def _ends_argument(function: str, factor: Raw) -> bool:
    """Whether `factor` starts a new factor after `function x …`: a call whose value is a
    number (det X tr(…)), or an elementwise function after an elementwise one (sin x cos x);
    never a matrix-valued one (ln det Xᵀ diag(w) X, tr A exp(B) keep their argument)."""
    from .functions import FUNCTIONS as ELEMENTWISE

    if factor.op != "call":
        return False
    return factor.data in _SCALAR_CALLS or (function in ELEMENTWISE and factor.data in ELEMENTWISE)


def _prefix_arguments(raw: Raw, text: str, notes: list) -> Raw:
    """A function written without parentheses takes the product after it up to the next
    function, as books print it: `det X tr(X^{-1} dX)` is det(X) · tr(X⁻¹ dX), not
    det(X tr(…)); `ln det X` is still ln(det X). A note says so when it splits."""

    def prefix(r: Raw) -> bool:  # `det X …`; a call with parentheses ends after its `)`
        return r.end == r.kids[0].end

    def visit(r: Raw) -> Raw:
        r.kids = [visit(k) for k in r.kids]
        if r.op == "call" and len(r.kids) == 1 and r.kids[0].op == "mul" and prefix(r):
            factors = r.kids[0].kids
            k = next((k for k, f in enumerate(factors) if k and _ends_argument(r.data, f)), None)
            if k is not None:
                head = factors[:k]
                arg = head[0] if len(head) == 1 else Raw("mul", head, head[0].start, head[-1].end)
                call = Raw("call", [arg], r.start, arg.end, r.data)
                notes.append(f"`{snippet(text, r)}` is read as `{snippet(text, call)}` times "
                             f"`{snippet(text, Raw('mul', [], factors[k].start, r.end))}`: a function written "
                             f"without parentheses takes its argument up to the next function")
                return Raw("mul", [call] + factors[k:], r.start, r.end)
        return r

    return visit(raw)
