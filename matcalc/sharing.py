"""Shared subexpressions: one reverse pass over the distinct nodes of f, and `where` names.

A deep expression repeats itself in its gradient: ∇_{W1} of an L-layer network holds
every later layer's value and delta written out, so the printed answer grows like L³
and so does the work of simplifying it. Here the derivation runs over the distinct
nodes of f instead of the tree (the reverse pass backprop makes, for any f):

- every node of f that depends on a variable stands for a name, defined over the
  names of its inputs (`t = sigmoid(W2 t′)`);
- going from f down, the cotangent of each node (the sum of what its users pull back
  to it) is a name too, and is pulled once through the node's own definition
  (`pullback` of d(definition)), giving the cotangents of its inputs and the parts of
  each variable's gradient. The work per node is small, so the pass is linear.

Then the names that are not worth keeping are written out again (the threshold rule):

1. a name used once is written out, and so is a name whose definition has fewer than
   MIN_SIZE nodes (with the written-out names in it counted in full);
2. what is left is kept only if it at least halves the answer: the gradients plus one
   `name = definition` line per kept name must have at most SAVING × the nodes of the
   gradients with every name written out. Otherwise nothing is named and `derive`
   takes its plain path (so small answers print as they always did).

Sizes are counted in expression-tree nodes (`Expr.size`), a name counting one. A gradient
repeats values only through the nonlinear operations of f (a function's derivative reuses
its value, a product's rule its other factor), so f with fewer than MIN_NONLINEAR of them
(every seed problem and Cookbook row has at most 4; a 3-layer network has 6) is not tried.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import expr as E
from .decls import canonical_name
from .differential import d
from .display import display
from .errors import DerivationError
from .identify import Pullback
from .simplify import simplify, stable_form, sym
from .walk import map_bottom_up

MIN_SIZE = 4  # `sigmoid(W1 x)` may get a name, `W1 x` never does
SAVING = 0.5  # the named answer must be at most half the written-out one
MIN_NONLINEAR = 5  # fewer nonlinear operations on the variables: not tried (see `nonlinear`)

_VALUE, _COTANGENT = "value", "cotangent"


@dataclass
class Binding:
    """`symbol = definition`; a value of f's forward pass, or the cotangent of one."""

    symbol: E.Symbol
    definition: E.Expr
    role: str  # value | cotangent
    rank: int  # the node's place in the forward order (names are numbered by it)

    @property
    def name(self) -> str:
        return self.symbol.name


@dataclass
class Shared:
    """Gradients written over names: `bindings` in order of definition, then `gradients`."""

    bindings: list
    gradients: dict  # variable name → Expr (display form)
    sizes: tuple = field(default=(0, 0))  # (named, written out), in nodes


# ---------------------------------------------------------------- the reverse pass


def _internal(k: int, shape) -> E.Symbol:
    """A name no user can write (`#` is not in the grammar); renamed once chosen."""
    return E.Symbol(f"#{k}", *shape)


def _forward(f: E.Expr, names: frozenset):
    """The nodes of f that depend on a variable, inputs first, each as a value binding.
    A Σ_i is one node: the cotangent of its terms stays inside it (identify.py)."""
    symbol_of: dict = {}  # node → internal Symbol
    values: list = []

    def visit(n: E.Expr):
        if n in symbol_of or isinstance(n, E.Symbol) or not (n.symbols & names) or n.indices:
            return
        if not isinstance(n, E.SumOver):
            for a in n.args:
                visit(a)
        args = n.args if isinstance(n, E.SumOver) else tuple(symbol_of.get(a, a) for a in n.args)
        definition = n.rebuild(args) if any(x is not y for x, y in zip(args, n.args)) else n
        s = symbol_of[n] = _internal(len(values), n.shape)
        values.append(Binding(s, definition, _VALUE, len(values)))

    visit(f)
    return symbol_of, values


def nonlinear(f: E.Expr, names: frozenset) -> int:
    """How many distinct nodes of f are nonlinear in the variables: a node type that is not
    `linear` (a function, an inverse, a determinant) over them, or a product of two factors
    that depend on them."""
    seen, stack, count = set(), [f], 0
    while stack:
        n = stack.pop()
        if n in seen or not (n.symbols & names) or isinstance(n, E.Symbol):
            continue
        seen.add(n)
        depending = sum(1 for a in n.args if a.symbols & names)
        count += not type(n).linear or depending >= 2
        stack.extend(n.args)
    return count


def reverse_pass(f: E.Expr, variables: dict):
    """(bindings, gradients) for a scalar f: values in forward order, then the cotangent of
    each node in backward order, then each variable's gradient; all over internal names.
    None when f has no node above its variables (nothing to share)."""
    names = frozenset(variables)
    symbol_of, values = _forward(f, names)
    if f not in symbol_of:
        return None
    folds = {b.definition: b.symbol for b in values}  # sigmoid(#3) → #4 in a derivative
    cot: dict = {symbol_of[f].name: [E.Const(1)]}
    grads: dict = {n: [] for n in variables}
    cotangents: list = []
    for b in reversed(values):
        parts = cot.pop(b.name, None)
        if not parts:
            continue
        delta = _internal(len(values) + len(cotangents), b.symbol.shape)
        cotangents.append(Binding(delta, E.add(*parts), _COTANGENT, b.rank))
        targets = {s: None for s in b.definition.symbols if s in names or s.startswith("#")}
        local = d(b.definition, targets)
        local = map_bottom_up(local, lambda n: n if n.indices else folds.get(n, n))
        P = Pullback()
        P.pull(local, delta)
        for name, got in P.grads.items():
            (grads[name] if name in names else cot.setdefault(name, [])).extend(got)
    gradients = {n: (E.add(*g) if g else E.Zero(*variables[n].shape)) for n, g in grads.items()}
    return values + cotangents, gradients


# ---------------------------------------------------------------- which names to keep


def _tree_size(e: E.Expr, weight: dict) -> int:
    """Nodes of e written out as a tree, a name counting `weight[name]` (1 if absent)."""
    if isinstance(e, E.Symbol):
        return weight.get(e.name, 1)
    return 1 + sum(_tree_size(a, weight) for a in e.args)


def _occurrences(e: E.Expr, out: dict, bound: dict):
    """Add to out[name] how often each name of `bound` occurs in e written out."""
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, E.Symbol):
            if n.name in bound:
                out[n.name] = out.get(n.name, 0) + 1
        else:
            stack.extend(n.args)


def choose(bindings: list, gradients: dict) -> tuple:
    """(kept names, named size, written-out size) by the threshold rule of this module."""
    by_name = {b.name: b for b in bindings}
    uses: dict = {}
    for g in gradients.values():
        _occurrences(g, uses, by_name)
    for b in reversed(bindings):  # a definition's names are used as often as it is
        if uses.get(b.name):
            _occurrences(b.definition, uses, by_name)
    kept, eff, full = set(), {}, {}
    for b in bindings:
        full[b.name] = _tree_size(b.definition, full)
        if not uses.get(b.name):
            continue
        eff[b.name] = _tree_size(b.definition, eff)
        if uses[b.name] >= 2 and eff[b.name] >= MIN_SIZE:
            kept.add(b.name)
            eff[b.name] = 1
    named = sum(_tree_size(g, eff) for g in gradients.values())
    named += sum(_tree_size(by_name[k].definition, eff) + 1 for k in kept)
    written = sum(_tree_size(g, full) for g in gradients.values())
    return kept, named, written


def worth_it(named: int, written: int) -> bool:
    return named <= SAVING * written


# ---------------------------------------------------------------- writing the kept names


def _inline(exprs: list, bindings: list, keep) -> list:
    """exprs with every binding not in `keep` written out (bindings in definition order)."""
    table: dict = {}
    memo: dict = {}

    def step(n):
        return table.get(n.name, n) if isinstance(n, E.Symbol) else n

    for b in bindings:
        if b.name not in keep:
            table[b.name] = map_bottom_up(b.definition, step, memo)
    return [map_bottom_up(e, step, memo) for e in exprs]


def _renamed(exprs: list, table: dict) -> list:
    """exprs with the names in `table` (name → Symbol) replaced."""
    memo: dict = {}
    return [map_bottom_up(e, lambda n: table.get(n.name, n) if isinstance(n, E.Symbol) else n, memo)
            for e in exprs]


def _fresh_letter(preferred: tuple, taken: set) -> str:
    for letter in preferred:
        if not any(re.fullmatch(re.escape(letter) + r"_?\d+", n) for n in taken):
            return letter
    k = 0
    while any(n.startswith(f"tmp{k}_") for n in taken):
        k += 1
    return f"tmp{k}_"


def _final_names(bindings: list, taken: set) -> dict:
    """internal name → Symbol: values t1, t2, … and cotangents δ1, δ2, … in forward order
    (another letter where the expression has names like these already)."""
    out = {}
    for role, letters in ((_VALUE, ("t", "u", "tau")), (_COTANGENT, ("delta", "g", "epsilon"))):
        letter = _fresh_letter(letters, taken)
        mine = sorted((b for b in bindings if b.role == role), key=lambda b: b.rank)
        for i, b in enumerate(mine, 1):
            out[b.name] = E.Symbol(canonical_name(f"{letter}{i}"), *b.symbol.shape)
    return out


def _shown(e: E.Expr) -> E.Expr:
    return display(simplify(e))


def shared_gradients(f: E.Expr, variables: dict) -> Shared | None:
    """The gradients of a scalar f over named shared subexpressions, or None when naming is
    not worth it by the rule of this module (then the plain derivation is used)."""
    if nonlinear(f, frozenset(variables)) < MIN_NONLINEAR:
        return None
    f = map_bottom_up(f, lambda n: stable_form(n) or n)  # a name between ln and softmax keeps them apart
    try:
        found = reverse_pass(f, variables)
    except DerivationError:
        return None  # the plain path reports it
    if found is None:
        return None
    bindings, gradients = found
    kept, named, written = choose(bindings, gradients)
    if not kept or not worth_it(named, written):
        return None
    names = list(gradients)
    keep = [b for b in bindings if b.name in kept]
    exprs = _inline([b.definition for b in keep] + [gradients[n] for n in names], bindings, kept)
    for i, n in enumerate(names, len(keep)):
        if variables[n].symmetric:
            exprs[i] = sym(simplify(exprs[i]))
    pieces = [Binding(b.symbol, _shown(e), b.role, b.rank) for b, e in zip(keep, exprs)]
    grads = {n: _shown(g) for n, g in zip(names, exprs[len(keep):])}
    settled = _settle(pieces, grads)
    if settled is None:
        return None
    pieces, grads = settled
    table = _final_names(pieces, set(f.symbols) | set(variables))
    exprs = _renamed([b.definition for b in pieces] + list(grads.values()), table)
    pieces = [Binding(table[b.name], e, b.role, b.rank) for b, e in zip(pieces, exprs)]
    named, written = choose(pieces, grads)[1:]
    return Shared(_definition_order(pieces), dict(zip(grads, exprs[len(pieces):])), (named, written))


def _settle(pieces: list, grads: dict):
    """After simplifying, a kept name may have become small or used once (a cotangent whose
    terms cancelled): write those out too (simplifying again only where they were used),
    and apply the rule again to the final forms. (pieces, gradients), or None."""
    while True:
        kept, named, written = choose(pieces, grads)
        if not kept or not worth_it(named, written):
            return None
        if len(kept) == len(pieces):
            return pieces, grads
        dropped = {b.name for b in pieces} - kept
        exprs = _inline([b.definition for b in pieces] + list(grads.values()), pieces, kept)
        old = [b.definition for b in pieces] + list(grads.values())
        exprs = [_shown(e) if (o.symbols & dropped) else e for o, e in zip(old, exprs)]
        grads = dict(zip(grads, exprs[len(pieces):]))
        pieces = [Binding(b.symbol, e, b.role, b.rank) for b, e in zip(pieces, exprs) if b.name in kept]


def _definition_order(keep: list) -> list:
    """Values in forward order, then cotangents from the output down (each after the names
    its definition uses)."""
    values = sorted((b for b in keep if b.role == _VALUE), key=lambda b: b.rank)
    cotangents = sorted((b for b in keep if b.role == _COTANGENT), key=lambda b: -b.rank)
    return values + cotangents


def written_out(e: E.Expr, bindings) -> E.Expr:
    """e with every `where` name replaced by its definition (one expression, possibly large)."""
    return _inline([e], list(bindings), ())[0]
