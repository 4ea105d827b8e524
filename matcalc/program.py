"""A loss written with named intermediates, the way a layer is derived by hand:

    Q = X W_q; K = X W_k; V = X W_v; A = softmax(Q K^T / sqrt(d)); L = sum(C .* (A V))

Statements are separated by `;` or new lines; each but the last defines a name used by
the later ones, the last is the loss (`L = …` or the bare expression). A recurrence is
written once with the time index t (`h_t = tanh(W h_{t-1} + U x_t + b)`) and unrolled
for t = 1 … T (`unroll=T`): h_0 is an input, h_T the last state, and `sum_t (…)` in a
later statement the sum over the steps.

Reading: the definitions are inlined into one expression, which is parsed as usual (its
kinds, sizes, notes and weights); each definition is then parsed in that context, with
the names defined before it as symbols of their sizes. The schedule names every
intermediate, and the pullback through each definition gives its δ.
"""
from __future__ import annotations

import re

from . import expr as E
from .decls import Decls, canonical_name, spell_accents
from .errors import DeclarationError, ParseError

_NAME = r"[A-Za-z\u0370-\u03ff][A-Za-z0-9\u0370-\u03ff]*(?:_(?:\{[A-Za-z0-9+\-]+\}|[A-Za-z0-9]+))?"
_STATEMENT = re.compile(rf"\s*({_NAME})\s*(?:\([^()=]*\))?\s*=(?!=)(.*)", re.S)
_EDGE_LEFT = r"(?<![A-Za-z0-9_\u0370-\u03ff\\])"
_EDGE_RIGHT = r"(?![A-Za-z0-9_\u0370-\u03ff({])"


def split_statements(text: str) -> list:
    """`a; b` and `a` NEWLINE `b` at bracket depth 0 (`[1 2; 3 4]` stays one)."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch in ";\n" and depth <= 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [s.strip() for s in out if s.strip()]


def is_program(text: str, unroll=None) -> bool:
    return unroll is not None or len(split_statements(text)) > 1


def _statement(text: str):
    """(name or None, right-hand side)."""
    m = _STATEMENT.fullmatch(text)
    if m and m.group(2).strip():
        return m.group(1), m.group(2).strip()
    return None, text


def is_definition(statement: str) -> bool:
    """`name = …` (a statement of plain_statements)."""
    return _statement(statement)[0] is not None


def _subscript(name: str):
    """h_t → ('h', 't'); h_{t-1} → ('h', 't-1'); W → (W, None)."""
    base, _, sub = name.partition("_")
    return base, (sub.strip("{}").replace(" ", "") or None) if sub else None


_TIME = re.compile(rf"{_EDGE_LEFT}([A-Za-z\u0370-\u03ff][A-Za-z0-9\u0370-\u03ff]*)_(?:\{{\s*t\s*([+-])\s*(\d+)\s*\}}|\{{\s*(t|T)\s*\}}|(t|T)){_EDGE_RIGHT}")
_SUM_T = re.compile(r"(?:sum|Σ|∑)_\{?t\}?\s*")


def _at_time(text: str, t: int, T: int) -> str:
    """x_t → x_3, h_{t-1} → h_2, h_T → h_5 at time t."""

    def repl(m):
        base = m.group(1)
        if m.group(2):
            k = t + int(m.group(3)) * (1 if m.group(2) == "+" else -1)
        else:
            k = T if (m.group(4) or m.group(5)) == "T" else t
        if k < 0:
            raise ParseError(f"`{m.group(0)}` at t = {t} refers to step {k}: the first state is at t = 0")
        return f"{base}_{k}"

    return _TIME.sub(repl, text)


def _expand_sums(text: str, T: int) -> str:
    """sum_t (…) → ((…)_1 + … + (…)_T): the argument is the next bracketed group."""
    while True:
        m = _SUM_T.search(text)
        if not m:
            return text
        i = m.end()
        if i >= len(text) or text[i] not in "([{":
            raise ParseError("write the sum over the steps with brackets: sum_t (…)")
        depth, j = 0, i
        for j in range(i, len(text)):
            depth += text[j] in "([{"
            depth -= text[j] in ")]}"
            if depth == 0:
                break
        body = text[i : j + 1]
        terms = " + ".join(_at_time(body, t, T) for t in range(1, T + 1))
        text = text[: m.start()] + f"({terms})" + text[j + 1 :]


def unroll(statements: list, T: int) -> list:
    """The statements with a time index (h_t = …) written out for t = 1 … T, in time order."""
    if not isinstance(T, int) or T < 1:
        raise DeclarationError(f"unroll= must be a number of time steps ≥ 1, got {T!r}")
    out, block = [], []

    def flush():
        for t in range(1, T + 1):
            out.extend((_at_time(lhs, t, T), _at_time(rhs, t, T)) for lhs, rhs in block)
        block.clear()

    for s in statements:
        name, rhs = _statement(s)
        if name is not None and _subscript(name)[1] == "t":
            block.append((name, rhs))
            continue
        flush()
        rhs = _expand_sums(rhs, T)
        out.append((name and _at_time(name, T, T), _at_time(rhs, T, T)))
    flush()
    if not any(_subscript(n or "")[1] for n, _ in out[:-1]):
        raise ParseError("unroll= needs a recurrence written with the time index t, e.g. "
                         "h_t = tanh(W h_{t-1} + U x_t + b)")
    return out


def _replace_name(text: str, name: str, by: str) -> str:
    spellings = {name, canonical_name(name)}
    base, sub = _subscript(name)
    if sub:
        spellings |= {f"{base}_{{{sub}}}", f"{base}{sub}" if sub.isdigit() else name}
    for s in sorted(spellings, key=len, reverse=True):
        text = re.sub(_EDGE_LEFT + re.escape(s) + _EDGE_RIGHT, lambda _m: by, text)
    return text


def inline_definitions(text: str, notes: list) -> str:
    """`ŷ = X w; L = (y - ŷ)^T (y - ŷ)` for diff, check, hessian and solve: the named
    intermediates substituted into the last statement (backprop keeps them as its schedule)."""
    text = where_first(text)
    if len(split_statements(text)) < 2:
        return text
    parts = plain_statements(text)
    if len(parts) < 2 or not all(is_definition(p) for p in parts[:-1]):
        return text  # one expression (over several lines, perhaps)
    statements, whole = inline(text)
    names = ", ".join(name for name, _ in statements[:-1])
    notes.append(f"{names} {'is' if len(statements) == 2 else 'are'} substituted into the last "
                 f"statement (backprop keeps named intermediates as its schedule)")
    return whole


_WHERE = re.compile(r"\s*(?:,\s*(?:where\b|\\text\{\s*where\s*\})?|where\b|\\text\{\s*where\s*\})\s*(?:\\quad\s*)?")
_DEFINES = re.compile(r"[^\W\d][\w{}\\^]*\s*=(?!=)")


def where_first(text: str) -> str:
    """`-(y ln p + (1 - y) ln(1 - p)), p = σ(w x)` (definitions after the loss, as books write
    them, also `where p = …`; several: `xᵀAx, A = BᵀB, B = C + D`) → `B = …; A = …; xᵀAx`:
    each definition before the statements that use it."""
    pieces, depth, last = [], 0, 0
    for k, ch in enumerate(text):
        depth += (ch in "([{") - (ch in ")]}")
        if depth or ch not in ",w\\":
            continue
        m = _WHERE.match(text, k)
        if m and m.end() > k and _DEFINES.match(text, m.end()) and (pieces or "=" not in text[:k]):
            pieces.append(text[last:k])
            last = m.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "; ".join(reversed(pieces[1:])) + "; " + pieces[0]


class Program:
    """The statements read: the inlined loss `f`, and the definitions as (Symbol, Expr)."""

    def __init__(self, f, weights, notes, definitions, loss, statements):
        self.f, self.weights, self.notes = f, weights, notes
        self.definitions, self.loss, self.statements = definitions, loss, statements


def plain_statements(text: str) -> list:
    """The statements in plain notation: LaTeX translated (`\\hat{y} =` → `y_hat =`) and
    accented names spelled out (`ŷ` → `y_hat`), so names are found the same way in each."""
    from .latex_input import from_latex, looks_like_latex

    if looks_like_latex(text):
        text = from_latex(text)
    return split_statements(spell_accents(text))


def inline(text: str, unroll_steps=None):
    """(the statements as (name, right-hand side), the loss with every defined name replaced
    by its definition in brackets)."""
    raw = plain_statements(text)
    if not raw:
        raise ParseError("an empty loss")
    if unroll_steps is not None:
        statements = unroll(raw, unroll_steps)
    else:
        statements = [_statement(s) for s in raw]
    *defs, (_, loss_text) = statements
    seen = set()
    for name, rhs in defs:
        if name is None:
            raise ParseError(f"`{rhs}` is not a definition: write each statement but the last as `name = …`")
        key = canonical_name(name)
        if key in seen:
            raise ParseError(f"{name} is defined twice")
        seen.add(key)
    inlined = []
    for i, (name, rhs) in enumerate(defs):
        for prev, prev_rhs in zip([n for n, _ in defs[:i]], inlined):
            rhs = _replace_name(rhs, prev, f"({prev_rhs})")
        inlined.append(rhs)
    whole = loss_text
    for name, rhs in reversed(list(zip([n for n, _ in defs], inlined))):
        whole = _replace_name(whole, name, f"({rhs})")
    return statements, whole


def read_program(text: str, wrt, decls: Decls | None, kw: dict, unroll_steps=None) -> Program:
    from .api import _parse, prepare

    statements, whole = inline(text, unroll_steps)
    *defs, (_, loss_text) = statements
    raw = plain_statements(text)
    f, weights, notes = prepare(whole, wrt, decls, kw)
    leftover = sorted(canonical_name(n) for n, _ in defs if canonical_name(n) in f.symbols)
    if leftover:
        raise ParseError(f"{', '.join(leftover)} is defined but also read as an input; "
                         f"separate it from its neighbours by spaces (Q K^T, not QK^T)")
    base = Decls.from_arguments(decls, kw)
    from .reading import symbols_of

    dims = dict(base.dims)
    symmetric = set(base.symmetric)
    for n, s in symbols_of(f).items():
        dims[n] = s.shape
        if s.symmetric:
            symmetric.add(n)
    from .api import observation_counts

    definitions = []
    used = set(f.symbols)
    for name, rhs in defs:
        ctx = Decls(set(), set(), set(), symmetric, dict(dims), base.counts | observation_counts(f))
        e = _parse(rhs, ctx)
        sym = E.Symbol(canonical_name(name), *e.shape)
        dims[sym.name] = e.shape
        definitions.append((sym, e))
        used |= e.symbols
    ctx = Decls(set(), set(), set(), symmetric, dict(dims), base.counts | observation_counts(f))
    loss = _parse(loss_text, ctx)
    if not loss.is_scalar:
        raise E.ShapeError(f"backprop needs a scalar loss, but `{loss_text}` is {E.fmt_shape(loss.shape)}")
    # definitions that the loss does not reach are dropped (a state nobody reads)
    needed = set(loss.symbols)
    kept = []
    for sym, e in reversed(definitions):
        if sym.name in needed:
            kept.append((sym, e))
            needed |= e.symbols
    kept.reverse()
    prog = Program(f, weights, notes, kept, loss, statements)
    prog.time_bases = {canonical_name(m.group(1)) for s in raw for m in _TIME.finditer(s)}
    return prog


def program_schedule(text: str, wrt, decls, kw, unroll_steps=None):
    """The backprop schedule over the named intermediates: δ of each, then ∂L/∂W."""
    from .schedule import Named, Schedule, _backward

    prog = read_program(text, wrt, decls, kw, unroll_steps)
    forward = [Named(sym, e, "definition", i + 1) for i, (sym, e) in enumerate(prog.definitions)]
    sched = Schedule(text, prog.f, prog.weights, forward, prog.loss)
    _backward(sched)
    sched.notes = prog.notes + sched.notes
    if unroll_steps is not None:
        from .recurrence import bptt_notes

        sched.notes += bptt_notes(sched, prog, unroll_steps)
    return sched
