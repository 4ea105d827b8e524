"""Factoring for display: `A x + Aᵀ x` → `(A + Aᵀ) x`, `s A + s B` → `s (A + B)`.

Display only: the normal form (simplify.normal_form) is expanded. A factor is
taken out of a sum only when every term has it and no term is left as a bare I.
"""
from __future__ import annotations

from .. import expr as E


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


def factor_sum(e: E.Add) -> E.Expr:
    parts = [_parts(t) for t in e.terms]
    # common scalar factors
    common = [s for s in parts[0][1] if all(s in p[1] for p in parts[1:])]
    if common:
        rest = []
        for c, sc, ch in parts:
            sc = list(sc)
            for s in common:
                sc.remove(s)
            rest.append(_rebuild(c, sc, ch))
        return E.mul(*common, factor(E.add(*rest)))
    # common leftmost / rightmost factor of the chains
    if all(len(ch) >= 2 for _, _, ch in parts):
        last = parts[0][2][-1]
        if all(ch[-1] == last for _, _, ch in parts):
            inner = E.add(*(_rebuild(c, sc, ch[:-1]) for c, sc, ch in parts))
            return E.mul(factor(inner), last)
        first = parts[0][2][0]
        if all(ch[0] == first for _, _, ch in parts):
            inner = E.add(*(_rebuild(c, sc, ch[1:]) for c, sc, ch in parts))
            return E.mul(first, factor(inner))
    return e


def factor(e: E.Expr) -> E.Expr:
    """Factor common factors out of every sum in e, innermost first."""
    if e.args:
        new = tuple(factor(a) for a in e.args)
        if any(x is not y for x, y in zip(new, e.args)):
            e = e.rebuild(new)
    if isinstance(e, E.Add):
        return factor_sum(e)
    return e
