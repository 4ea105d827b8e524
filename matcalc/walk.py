"""Shared machinery of the passes: rule tables keyed by node type, and tree walks.

Every pass (d, pullback, evaluate) is a table with one named rule per node type;
`RuleTable.missing()` lets a test assert that no node type was forgotten.
"""
from __future__ import annotations

from . import expr as E


class RuleTable(dict):
    """node type → rule; `@table.rule(Inverse)` registers a function."""

    def rule(self, *types):
        def register(fn):
            for t in types:
                self[t] = fn
            return fn

        return register

    def missing(self, types=E.NODE_TYPES) -> list:
        return [t.__name__ for t in types if t not in self]


def map_bottom_up(e: E.Expr, fn, memo: dict | None = None) -> E.Expr:
    """fn applied to every node, children first, rebuilding through the constructors."""
    memo = {} if memo is None else memo
    got = memo.get(e)
    if got is not None:
        return got
    out = e
    if e.args:
        new = tuple(map_bottom_up(a, fn, memo) for a in e.args)
        if any(x is not y for x, y in zip(new, e.args)):
            out = e.rebuild(new)
    out = fn(out)
    memo[e] = out
    return out


def symbols_in(e: E.Expr) -> list:
    """The Symbol nodes of e (differentials included), each distinct node once."""
    seen, stack, out = set(), [e], []
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, E.Symbol):
            out.append(n)
        stack.extend(n.args)
    return out


def distinct_nodes(e: E.Expr):
    """Every distinct node of e once, parents before children (a read-only walk)."""
    seen, stack = set(), [e]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        yield n
        stack.extend(reversed(n.args))
