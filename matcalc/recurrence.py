"""Backprop through time: the unrolled schedule read back as one step in t.

After `unroll=T` the schedule has δh_T, …, δh_1 and gradients that are sums over the
steps. The δ of a middle step k, with every time-indexed name renamed relative to k
(h3 → h_{t+1} when k = 2), is the BPTT recursion; the term of a shared weight's
gradient at step k is the summand of ∂L/∂W = Σ_t (…).
"""
from __future__ import annotations

import re

from . import expr as E
from .printing.text import to_unicode
from .walk import map_bottom_up

_INDEXED = re.compile(r"^(δ?)(.*?[^\d])(\d+)$")


def _time_of(name: str, bases) -> int | None:
    m = _INDEXED.match(name)
    if m and m.group(2) in bases:
        return int(m.group(3))
    return None


def _relative(e: E.Expr, k: int, bases) -> E.Expr:
    def rename(n):
        if isinstance(n, E.Symbol):
            m = _INDEXED.match(n.name)
            if m and m.group(2) in bases:
                j = int(m.group(3)) - k
                sub = "t" if j == 0 else f"t{j:+d}"
                return E.Symbol(f"{m.group(1)}{m.group(2)}_{{{sub}}}" if j else f"{m.group(1)}{m.group(2)}_t",
                                n.nrows, n.ncols, n.symmetric, n.diff)
        return n

    return map_bottom_up(e, rename)


def _times(e: E.Expr, bases) -> set:
    return {t for t in (_time_of(n, bases) for n in e.symbols) if t is not None}


def bptt_notes(sched, prog, T: int) -> list:
    bases = prog.time_bases
    if T < 2 or not bases:
        return []
    k = max(1, T - 1)
    notes = []
    recursion = []
    for sym, e in sched.deltas:
        if _time_of(sym.name, bases) == k:
            recursion.append(f"{to_unicode(_relative(sym, k, bases))} = {to_unicode(_relative(e, k, bases))}")
    shared = []
    for w, g in sched.gradients.items():
        terms = g.terms if isinstance(g, E.Add) else (g,)
        at_k = [t for t in terms if _times(t, bases) and max(_times(t, bases)) == k]
        if len(terms) > 1 and at_k:
            shared.append(f"∂L/∂{w} = Σ_t {to_unicode(_relative(E.add(*at_k), k, bases))}")
    if recursion:
        notes.append("backprop through time, for t < T: " + "; ".join(recursion))
    if shared:
        notes.append(f"shared weights: their gradient is the sum over the {T} steps, " + "; ".join(shared))
    carriers = sorted({w for line in recursion for w in sched.weights if re.search(rf"(?<![\w]){re.escape(w)}ᵀ", line)})
    if carriers:
        ws = ", ".join(f"{w}ᵀ" for w in carriers)
        notes.append(f"vanishing gradients: each step back multiplies the δ by {ws} and the activation's "
                     f"derivative, so δ at step 1 carries a product of {T - 1} such factors; with their norm "
                     f"below 1 it shrinks geometrically in T (above 1 it can explode)")
    return notes
