"""Display form: a pass beside simplify, for the printers (not the normal form).

Three passes over a simplified expression, each value-preserving:
- `shrink`: a sum or product of sums is expanded when that makes it smaller
  (`-(1 - s) ⊙ y + (1 - y) ⊙ s` → `s - y`);
- `factor`: common factors come out of sums (`A x + Aᵀ x` → `(A + Aᵀ) x`,
  `s A + s B` → `s (A + B)`, `2 A + 2 Aᵀ` inside a product → `2 (A + Aᵀ)`), also
  for groups of terms that share a factor;
- `lift_transposes`: `xᵀ - aᵀ` → `(x - a)ᵀ` when the sum inside is then free of
  transposes; `tanh(W1ᵀ Xᵀ)` → `tanh(X W1)ᵀ`.
"""
from __future__ import annotations

from . import expr as E
from .walk import map_bottom_up

SHRINK_LIMIT = 400  # only expressions with keys shorter than this are tried expanded
SHRINK_TERMS = 16  # … and only when multiplying out gives at most this many terms


def display(e: E.Expr, record: list | None = None) -> E.Expr:
    """The form to print; simplification rules that fire on the way go to `record`."""
    return lift_transposes(factor(distribute_numbers(shrink(e, record))))


def distribute_numbers(e: E.Expr) -> E.Expr:
    """c (A + B) = c A + c B where the product is just a number times a sum (`1/2 (G + Gᵀ)`)."""
    from .simplify import distribute_number

    return map_bottom_up(e, distribute_number)


# ---------------------------------------------------------------- shrink


def _has_sum_operand(e: E.Expr) -> bool:
    return isinstance(e, (E.MatMul, E.Hadamard)) and any(isinstance(a, E.Add) for a in e.args)


def _expanded_terms(e: E.Expr, memo: dict) -> int:
    """How many terms multiplying out e's sums and products gives (before like terms meet):
    nested sums of short names (`(1 - t1) ⊙ (W2ᵀ ((1 - t2) ⊙ …))`) double it per level."""
    got = memo.get(id(e))
    if got is None:
        if isinstance(e, E.Add):
            got = sum(_expanded_terms(t, memo) for t in e.terms)
        elif isinstance(e, (E.MatMul, E.Hadamard, E.Kron)):
            got = 1
            for a in e.args:
                got *= _expanded_terms(a, memo)
        elif isinstance(e, E.Transpose):
            got = _expanded_terms(e.arg, memo)
        else:
            got = 1
        memo[id(e)] = got
    return got


def shrink(e: E.Expr, record: list | None = None) -> E.Expr:
    from .simplify import expanded

    terms: dict = {}

    def step(n):
        worth = _has_sum_operand(n) or (
            isinstance(n, E.Add) and any(_has_sum_operand(t) for t in n.terms)
        )
        if not worth or len(n.key) > SHRINK_LIMIT or _expanded_terms(n, terms) > SHRINK_TERMS:
            return n
        fired: list = []
        cand = expanded(n, fired)
        if len(cand.key) < len(n.key):
            if record is not None:
                record.extend(fired)
            return cand
        return n

    return map_bottom_up(e, step, {})


# ---------------------------------------------------------------- factor


def _parts(t: E.Expr):
    """A term as (coefficient, scalar factors, chain)."""
    if isinstance(t, E.MatMul):
        return t.coeff, list(t.scalars), list(t.chain)
    if isinstance(t, E.Const):
        return t.value, [], []
    if t.is_scalar:
        return E.ONE, [t], []
    return E.ONE, [], [t]


def _rebuild(c, scalars, chain):
    return E.mul(E.Const(c), *scalars, *chain)


def _common_number(s: E.Expr) -> E.Expr:
    """2A + 2Aᵀ → 2 (A + Aᵀ): a coefficient shared by every term comes out."""
    if not isinstance(s, E.Add):
        return s
    coeffs = [_parts(t)[0] for t in s.terms]
    c = coeffs[0]
    if all(abs(x) == abs(c) for x in coeffs) and (abs(c) != 1 or all(x < 0 for x in coeffs)):
        c = -abs(c) if all(x < 0 for x in coeffs) else abs(c)
        return E.mul(E.Const(c), E.add(*(E.scale(1 / c, t) for t in s.terms)))
    return s


def _factor_all(parts):
    """A factor that every term has: (outer factors, inner sum) or None."""
    common = [s for s in parts[0][1] if all(s in p[1] for p in parts[1:])]
    if common:
        rest = []
        for c, sc, ch in parts:
            sc = list(sc)
            for s in common:
                sc.remove(s)
            rest.append(_rebuild(c, sc, ch))
        return E.mul(*common, _common_number(factor(E.add(*rest))))
    if all(len(ch) >= 2 for _, _, ch in parts):
        last = parts[0][2][-1]
        if all(ch[-1] == last for _, _, ch in parts):
            inner = E.add(*(_rebuild(c, sc, ch[:-1]) for c, sc, ch in parts))
            return E.mul(_common_number(factor(inner)), last)
        first = parts[0][2][0]
        if all(ch[0] == first for _, _, ch in parts):
            inner = E.add(*(_rebuild(c, sc, ch[1:]) for c, sc, ch in parts))
            return E.mul(first, _common_number(factor(inner)))
    return None


def _factor_groups(terms, side: int):
    """Group the terms that end (side -1) or start (side 0) with the same factor."""
    groups: dict = {}
    for t in terms:
        ch = _parts(t)[2]
        key = ch[side] if len(ch) >= 2 else None
        groups.setdefault(key, []).append(t)
    if not any(k is not None and len(v) > 1 for k, v in groups.items()):
        return None
    out = []
    for k, ts in groups.items():
        if k is not None and len(ts) > 1:
            out.append(_factor_all([_parts(t) for t in ts]) or E.add(*ts))
        else:
            out.extend(ts)
    return E.add(*out)


def factor_sum(e: E.Add) -> E.Expr:
    parts = [_parts(t) for t in e.terms]
    whole = _factor_all(parts)
    if whole is not None:
        return whole
    for side in (-1, 0):
        grouped = _factor_groups(e.terms, side)
        if grouped is not None:
            return grouped
    return e


def factor(e: E.Expr) -> E.Expr:
    """Factor common factors out of the sums in e, innermost first."""
    return map_bottom_up(e, lambda n: factor_sum(n) if isinstance(n, E.Add) else n, {})


# ---------------------------------------------------------------- transposes


def _count_transposes(e: E.Expr) -> int:
    return (1 if isinstance(e, E.Transpose) else 0) + sum(_count_transposes(a) for a in e.args)


def _flipped_transposes(e: E.Expr) -> int:
    """How many transposes eᵀ has once they are pushed to the leaves (without building it)."""
    if e.is_scalar:
        return _count_transposes(e)
    if isinstance(e, E.Transpose):
        return _count_transposes(e.arg)
    if isinstance(e, E.Symbol):
        return 0 if e.symmetric else 1
    if isinstance(e, (E.Identity, E.Zero, E.Ones, E.Diag)):
        return 0
    if isinstance(e, E.MatMul):
        return sum(_flipped_transposes(f) for f in e.chain) + sum(_count_transposes(f) for f in e.scalars)
    if isinstance(e, (E.Add, E.Hadamard, E.Func, E.Power, E.Inverse)):
        return sum(_flipped_transposes(a) for a in e.args)
    return 10**9  # Kronecker forms and the like are never flipped


def lift_transposes(e: E.Expr) -> E.Expr:
    from .simplify import simplify

    def step(n):
        if (isinstance(n, E.Add) and not n.is_scalar and all(map(_count_transposes, n.terms))
                and sum(map(_flipped_transposes, n.terms)) == 0):
            flipped = [simplify(E.transpose(t)) for t in n.terms]
            if sum(map(_count_transposes, flipped)) == 0:
                return E.Transpose(factor(E.add(*flipped)))
        if isinstance(n, (E.Func, E.Power)) and not n.is_scalar and n.rows != 1 and n.cols != 1:
            # tanh(W1ᵀ Xᵀ) → tanh(X W1)ᵀ: the same values as the forward pass, transposed
            a = n.args[0]
            if _flipped_transposes(a) < _count_transposes(a):
                flipped = simplify(E.transpose(a))
                if _count_transposes(flipped) < _count_transposes(a):
                    return E.Transpose(n.rebuild((flipped,)))
        return n

    return map_bottom_up(e, step, {})
