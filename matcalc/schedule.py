"""Backprop from the same core: name the intermediates, then run the pullback over them.

A network is an expression (`1/2 (y - W3 sigmoid(W2 sigmoid(W1 x)))^T (…)`, or the
batch form `f(f(X W1) W2) W3`). Every product with a weight (plus its bias, if one
is added) is a pre-activation H_i, every activation function applied to one is an
activation O_i, and the loss is written over the last of them. Going backwards, the
pullback of ⟨δ_N, dN⟩ through each node's definition gives the deltas of its
inputs and the gradients of its weights: δ_i = ∂L/∂H_i in terms of δ_{i+1}, and
∂L/∂W_i = δ_i O_{i-1}ᵀ (or O_{i-1}ᵀ δ_i with observations as rows). Each delta is a
named symbol, so a deep network gives a schedule of linear size.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import expr as E
from . import functions
from .api import prepare
from .decls import Decls
from .differential import d
from .identify import Pullback
from .display import display
from .printing.text import latex_aligned, latex_display, latex_lhs, to_latex, to_text, to_unicode
from .simplify import simplify
from .walk import map_bottom_up



def _is_activation(n: E.Expr) -> bool:
    """softmax, or an elementwise function its record marks as an activation."""
    return isinstance(n, E.Softmax) or (isinstance(n, E.Func) and functions.get(n.name).activation)


def _contains(e: E.Expr, node_type) -> bool:
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, node_type):
            return True
        stack.extend(n.args)
    return False


@dataclass
class Named:
    """An intermediate: `symbol` stands for `definition` (an Expr over earlier names)."""

    symbol: E.Symbol
    definition: E.Expr
    role: str  # "pre-activation" | "activation"
    layer: int

    @property
    def name(self) -> str:
        return self.symbol.name


@dataclass
class Schedule:
    """Forward equations, backward deltas and weight gradients, all symbolic."""

    source: str
    f: E.Expr
    weights: dict  # name → Symbol
    forward: list  # [Named]
    loss: E.Expr  # over the named symbols
    deltas: list = field(default_factory=list)  # [(delta Symbol, Expr)]
    gradients: dict = field(default_factory=dict)  # weight name → Expr
    notes: list = field(default_factory=list)

    def lines(self, fmt: str = "text") -> list:
        show = {"text": to_text, "unicode": to_unicode}[fmt]
        arrow = {"text": "dL/d", "unicode": "∂L/∂"}[fmt]
        out = ["forward:"]
        out += [f"  {show(n.symbol)} = {show(n.definition)}" for n in self.forward]
        out.append(f"  L = {show(self.loss)}")
        out.append("backward:")
        out += [f"  {show(sym)} = {show(expr)}" for sym, expr in self.deltas]
        out.append("gradients:")
        out += [f"  {arrow}{w} = {show(g)}" for w, g in self.gradients.items()]
        return out

    def format(self, fmt: str = "text") -> str:
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        if fmt == "latex":
            rows = [(to_latex(n.symbol), to_latex(n.definition)) for n in self.forward]
            rows.append(("L", to_latex(self.loss)))
            rows += [(to_latex(sym), to_latex(expr)) for sym, expr in self.deltas]
            rows += [(latex_lhs("derivative", w, "L"), to_latex(g)) for w, g in self.gradients.items()]
            return latex_aligned(rows)
        return "\n".join(self.lines(fmt))

    def __repr__(self):
        return f"<matcalc.Schedule of {self.source!r}>\n{self.format('unicode')}"

    def _repr_latex_(self):
        return latex_display(self.format("latex"))

    def to_json(self):
        return {
            "expr": self.source,
            "wrt": list(self.weights),
            "forward": [{"name": n.name, "role": n.role, "layer": n.layer,
                         "definition": to_text(n.definition)} for n in self.forward],
            "loss": to_text(self.loss),
            "backward": [{"name": s.name, "definition": to_text(e)} for s, e in self.deltas],
            "gradients": {w: to_text(g) for w, g in self.gradients.items()},
            "notes": self.notes,
        }


def _weight_name(f: E.Expr):
    if isinstance(f, E.Transpose):
        f = f.arg
    return f.name if isinstance(f, E.Symbol) and not f.diff else None


def _bias_name(t: E.Expr):
    """b, or a bias row broadcast over a batch, 1 bᵀ (b 1ᵀ with observations as columns), or a
    scalar bias on every entry, b 1."""
    if (isinstance(t, E.MatMul) and t.coeff == 1 and len(t.scalars) == 1 and len(t.chain) == 1
            and isinstance(t.chain[0], E.Ones)):
        return _weight_name(t.scalars[0])
    if isinstance(t, E.MatMul) and t.coeff == 1 and not t.scalars and len(t.chain) == 2:
        a, b = t.chain
        if isinstance(a, E.Ones) and a.cols == 1:
            return _weight_name(b) if isinstance(b, E.Transpose) else None
        if isinstance(b, E.Ones) and b.rows == 1:
            return _weight_name(a) if not isinstance(a, E.Transpose) else None
        return None
    return _weight_name(t)


def _weight_product(e: E.Expr, weights) -> bool:
    """W x or X W: a plain product (coefficient 1) with a weight among its factors; or a
    convolution with a weight kernel, conv(x, k)."""
    if isinstance(e, E.Conv):
        return any(_weight_name(a) in weights for a in e.args)
    return (isinstance(e, E.MatMul) and e.coeff == 1 and not e.scalars
            and any(_weight_name(f) in weights for f in e.chain) and _bias_name(e) is None)


def _pre_activation(e: E.Expr, weights) -> bool:
    """W x, X W, and W x + b (b a weight): the input of a layer's activation."""
    if _weight_product(e, weights):
        return True
    if isinstance(e, E.Add):
        products = [t for t in e.terms if _weight_product(t, weights)]
        biases = [t for t in e.terms if _bias_name(t) in weights]
        return len(products) == 1 and len(products) + len(biases) == len(e.terms)
    return False


def build_schedule(f: E.Expr, weights: dict, source: str = "") -> Schedule:
    """Name the intermediates of f, then run the pullback backwards through them."""
    names: dict = {}  # original node → Named
    counter = {"layer": 0}

    def depends(n):
        return any(w in n.symbols for w in weights)

    def visit(n: E.Expr) -> E.Expr:
        if n in names:
            return names[n].symbol
        if isinstance(n, E.MatMul) and (n.coeff != 1 or n.scalars) and n.chain:
            core = E.mul(*n.chain)
            if _weight_product(core, weights):  # -W3 O2: the layer is W3 O2
                return E.mul(E.Const(n.coeff), *(visit(x) for x in n.scalars), visit(core))
        if isinstance(n, E.Add) and _pre_activation(n, weights):
            # W x + b is one layer: its product is not named on its own
            new_args = tuple(inside(a) if _weight_product(a, weights) else visit(a) for a in n.args)
        else:
            new_args = tuple(visit(a) for a in n.args)
        rebuilt = n.rebuild(new_args) if any(x is not y for x, y in zip(new_args, n.args)) else n
        if not depends(n):
            return rebuilt
        if _pre_activation(n, weights):
            counter["layer"] += 1
            i = counter["layer"]
            named = Named(E.Symbol(f"H{i}", *n.shape), rebuilt, "pre-activation", i)
        elif _is_activation(n) and isinstance(new_args[0], E.Symbol) and new_args[0].name.startswith("H"):
            i = int(new_args[0].name[1:])
            named = Named(E.Symbol(f"O{i}", *n.shape), rebuilt, "activation", i)
        else:
            return rebuilt
        names[n] = named
        return named.symbol

    def inside(n: E.Expr) -> E.Expr:
        new_args = tuple(visit(a) for a in n.args)
        return n.rebuild(new_args) if any(x is not y for x, y in zip(new_args, n.args)) else n

    loss = visit(f)
    forward = sorted(names.values(), key=lambda n: (n.layer, n.role != "pre-activation"))
    sched = Schedule(source, f, weights, forward, loss)
    _backward(sched)
    softmaxes = [n for n in forward if isinstance(n.definition, E.Softmax)]
    if softmaxes and any(_contains(e, E.Sum) for _, e in sched.deltas):
        sched.notes.append("with a one-hot y, sum(y) = 1: the output delta is ŷ − y")
    elif any(n.symbol.cols != 1 for n in softmaxes) and any(_contains(e, E.Ones) for _, e in sched.deltas):
        sched.notes.append("with one-hot rows of Y, Y 1 = 1: the output delta is softmax − Y")
    return sched


def _substitute_activations(e: E.Expr, forward: list) -> E.Expr:
    """σ(H2) → O2 wherever an activation's definition reappears (in a derivative)."""
    table = {n.definition: n.symbol for n in forward if n.role in ("activation", "definition")}
    return map_bottom_up(e, lambda x: table.get(x, x)) if table else e


def _backward(s: Schedule):
    by_name = {n.name: n for n in s.forward}
    variables = {n.name: n.symbol for n in s.forward}
    # cotangent contributions: name → list of Exprs; delta symbols for pre-activations
    contrib: dict = {}
    grads: dict = {}

    def pull(definition: E.Expr, cotangent: E.Expr):
        targets = {k: v for k, v in variables.items() if k in definition.symbols}
        targets.update({k: v for k, v in s.weights.items() if k in definition.symbols})
        if not targets:
            return
        P = Pullback()
        P.pull(d(definition, targets), cotangent)
        for name, parts in P.grads.items():
            dest = grads if name in s.weights and name not in variables else contrib
            dest.setdefault(name, []).extend(parts)

    pull(s.loss, E.Const(1))
    for node in reversed(s.forward):
        parts = contrib.get(node.name)
        if not parts:
            continue
        delta = display(simplify(_substitute_activations(E.add(*parts), s.forward)))
        if node.role in ("pre-activation", "definition"):  # a definition's δ is named after it
            sym = E.Symbol(f"δ{node.layer}" if node.role == "pre-activation" else f"δ{node.name}",
                           *node.symbol.shape)
            s.deltas.append((sym, delta))
            pull(node.definition, sym)
        else:  # an activation: its cotangent flows straight into its pre-activation
            pull(node.definition, delta)
    for w in s.weights:
        parts = grads.get(w)
        g = E.add(*parts) if parts else E.Zero(*s.weights[w].shape)
        s.gradients[w] = display(simplify(_substitute_activations(g, s.forward)))
    del by_name


def backprop(expr: str, wrt=None, decls: Decls | None = None, unroll=None, **kw) -> Schedule:
    """The backprop schedule of a scalar loss `expr` for the weights in `wrt`. With named
    intermediates (`Q = X W_q; …; L = …`, see program.py), each gets its δ; `unroll=T`
    writes out a recurrence in t (`h_t = tanh(W h_{t-1} + U x_t + b)`) for T steps."""
    from .program import is_program, program_schedule

    if is_program(expr, unroll):
        return program_schedule(expr, wrt, decls, kw, unroll)
    f, weights, notes = prepare(expr, wrt, decls, kw)
    if not f.is_scalar:
        raise E.ShapeError(f"backprop needs a scalar loss, but `{expr}` is {E.fmt_shape(f.shape)}")
    sched = build_schedule(f, weights, expr)
    sched.notes = notes + sched.notes
    return sched


# ---------------------------------------------------------------- numbers


@dataclass
class Pass:
    """One forward/backward pass with numbers: every named value, delta and gradient."""

    values: dict  # name → array (forward: inputs, H_i, O_i)
    loss: float
    deltas: dict  # δ name → array
    gradients: dict  # weight → array

    def to_json(self):
        conv = _plain
        return {"forward": {k: conv(v) for k, v in self.values.items()}, "loss": self.loss,
                "backward": {k: conv(v) for k, v in self.deltas.items()},
                "gradients": {k: conv(v) for k, v in self.gradients.items()}}


def _plain(v):
    import numpy as np

    a = np.asarray(v, dtype=float)
    if a.shape == (1, 1):
        return float(a[0, 0])
    if a.ndim == 2 and a.shape[1] == 1:
        return a[:, 0].tolist()
    return a.tolist()


def run_pass(s: Schedule, values: dict) -> Pass:
    """Evaluate the schedule at a point: the forward values, then the deltas, then ∂L/∂W."""
    from .errors import DeclarationError
    from .numeric import _as2d, bind_dims, evaluate
    from .reading import symbols_of

    from .decls import canonical_name

    env = {canonical_name(k): _as2d(v) for k, v in values.items()}
    missing = sorted(set(symbols_of(s.f)) - set(env))
    if missing:
        raise DeclarationError(f"backprop needs values for {', '.join(missing)}")
    dims = bind_dims([s.f], env)
    inputs = dict(env)
    for n in s.forward:
        env[n.name] = evaluate(n.definition, env, dims)
    loss = float(evaluate(s.loss, env, dims)[0, 0])
    deltas = {}
    for sym, expr in s.deltas:
        env[sym.name] = deltas[sym.name] = evaluate(expr, env, dims)
    grads = {w: evaluate(g, env, dims) for w, g in s.gradients.items()}
    forward = {k: inputs[k] for k in inputs}
    forward.update({n.name: env[n.name] for n in s.forward})
    return Pass(forward, loss, deltas, grads)


def sgd(s: Schedule, weights: dict, observations: list, lr: float, steps: int, order=None) -> list:
    """Stochastic gradient descent as done by hand: one observation per step, in `order`
    (1-based indices, cycled), W ← W − lr ∂L/∂W after each. Returns (index, Pass, new weights)."""
    import numpy as np

    from .numeric import _as2d

    order = list(order or range(1, len(observations) + 1))
    current = {k: _as2d(v).copy() for k, v in weights.items()}
    history = []
    for step in range(steps):
        index = order[step % len(order)]
        obs = observations[index - 1]
        p = run_pass(s, {**current, **obs})
        current = {k: v - lr * p.gradients[k] if k in p.gradients else v for k, v in current.items()}
        history.append((index, p, {k: np.array(v) for k, v in current.items()}))
    return history


def observations_from(data, s: Schedule) -> list:
    """Observations as {name: value} dicts. A list entry [x…, y] means: the last number is the
    target (the variable `y`), the rest the input (the one other non-weight variable)."""
    import numpy as np

    from .errors import DeclarationError
    from .reading import symbols_of

    data = json.loads(data) if isinstance(data, str) else data
    if not isinstance(data, list) or not data:
        raise DeclarationError("data= must be a JSON list of observations")
    others = [n for n in symbols_of(s.f) if n not in s.weights]
    out = []
    for row in data:
        if isinstance(row, dict):
            out.append(row)
            continue
        targets = [n for n in others if n.lower() == "y"]
        inputs = [n for n in others if n not in targets]
        if len(targets) != 1 or len(inputs) != 1:
            raise DeclarationError(
                "an observation written as a list needs exactly one target y and one input; "
                "write observations as objects, e.g. {\"x\": [1, 2], \"y\": 1}")
        x = np.asarray(row[:-1], dtype=float)
        sym = symbols_of(s.f)[inputs[0]]
        value = x.reshape(1, -1) if sym.cols != 1 else x.reshape(-1, 1)
        out.append({inputs[0]: value, targets[0]: np.asarray(row[-1], dtype=float).reshape(1, 1)})
    return out


# ---------------------------------------------------------------- one layer backwards


def layer_backward(layer: str, input_value, upstream, weights=None):
    """What a single layer sends back: downstream = J(input)ᵀ upstream.

    `layer` is an activation name (relu, sigmoid, tanh, …, softmax) or `linear` with
    `weights` W (the layer x ↦ x W for a row x, as in the course material).
    Returns (output, downstream, the formula used).
    """
    import numpy as np

    from .errors import DeclarationError
    from .numeric import apply_function

    from .decls import spell_greek
    from .syntax import FUNCTIONS

    layer = layer.strip()
    layer = FUNCTIONS.get(spell_greek(layer) if len(layer) == 1 else layer, layer)  # ReLU, σ, Sigmoid
    x = np.asarray(input_value, dtype=float)
    g = np.asarray(upstream, dtype=float)
    if layer == "linear":
        if weights is None:
            raise DeclarationError("a linear layer needs weights=W, e.g. weights=[[1,-1],[0.5,0]]")
        W = np.asarray(weights, dtype=float)
        x = x.reshape(-1) if x.ndim < 2 else x
        if W.ndim < 2:  # weights printed as a list, [0.5, 1]: the column (0.5, 1)ᵀ
            W = W.reshape(-1, 1)
        if x.shape[-1] != W.shape[0]:
            raise DeclarationError(
                f"the input has {x.shape[-1]} entries but the weights have {W.shape[0]} rows "
                f"(the layer is x ↦ x W for a row x)")
        out = x @ W
        if g.size != out.size:
            raise DeclarationError(
                f"the upstream gradient has {g.size} entries but the layer's output has {out.size}")
        down = g.reshape(out.shape) @ W.T
        if out.size == 1:
            out = out.reshape(())
        return out, down, "forward: out = x W; backward: downstream = upstream Wᵀ"
    if g.size != x.size:
        raise DeclarationError(
            f"the upstream gradient has {g.size} entries but the input has {x.size}: they must match")
    g = g.reshape(x.shape)
    if layer == "softmax":  # row-wise: a batch has one observation per row, as the course writes X
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        s = e / e.sum(axis=-1, keepdims=True)
        return s, s * (g - (s * g).sum(axis=-1, keepdims=True)), \
            "forward: s = exp(x) / Σ exp(x) (each row); backward: s ⊙ (upstream − sᵀ upstream)"
    record = functions.lookup(layer)
    if record is None or not record.activation:
        loss = " (a loss is not a layer: differentiate it, e.g. matcalc diff \"(y - t)^2\" --wrt t " \
               "--scalar y,t --at t=1 y=0, or run the whole network with matcalc backprop)" \
            if layer.lower() in ("mse", "logloss", "loss", "bce", "crossentropy", "cross_entropy", "ce") else ""
        raise DeclarationError(f"unknown layer {layer!r}: use linear, softmax, or one of "
                               f"{', '.join(functions.activations())}{loss}")
    layer = record.name
    from .numeric import evaluate

    u = E.Symbol("u", len(x.reshape(-1)), 1)
    deriv = evaluate(record.derivative(u), {"u": x.reshape(-1, 1)}).reshape(x.shape)
    out = apply_function(layer, x)
    return out + 0.0, g * deriv + 0.0, f"forward: out = {layer}(x); backward: downstream = upstream ⊙ {layer}'(x)"


def verify_schedule(s: Schedule, points: int = 3, seed: int = 0):
    """The gradients of the schedule, evaluated pass by pass, against central differences of
    the loss along random directions of each weight (a verify.VerifyReport)."""
    import numpy as np

    from .numeric import check_directional
    from .verification import VerifyReport

    report = VerifyReport()

    def predict(env, name, v, sizes):
        p = run_pass(s, {k: env[k] for k in env if k in s.f.symbols})
        return np.array([[np.sum(p.gradients[name] * v)]])

    for w, sym in s.weights.items():
        report.checks.extend(check_directional(s.f, {w: sym}, predict, points=points, seed=seed % 2**32))
    return report


def backprop_numbers(sched, values, data, opt, n_steps, order, init, batch=None, stepping=()):
    """None, one pass (with --at), or the optimizer's steps (with --data; with --at alone when a step
    option such as --lr or --iterations is given: the steps on that one observation)."""
    import numpy as np

    from .errors import DeclarationError
    from .numeric import given_point, parse_value, require_finite

    values = {k: parse_value(v) if isinstance(v, str) else v for k, v in values.items()}
    if init == "zeros":
        for w, sym in sched.weights.items():
            if w not in values:
                if not all(isinstance(d, int) for d in sym.shape):
                    raise DeclarationError(f"init=zeros needs the size of {w}: give dim={w}=…")
                values[w] = np.zeros(sym.shape)
    if data is None and stepping:
        inputs = {n: v for n, v in values.items() if n not in sched.weights}
        if not inputs:
            raise DeclarationError(f"the option(s) {', '.join(stepping)} ask for optimizer steps, which need observations: "
                                   "give data= or the inputs and targets with at=")
        data = [inputs]
    if data is None:
        if not values:
            return None
        with given_point():
            one = run_pass(sched, values).to_json()
        require_finite(one)
        return {"pass": one}
    try:
        steps_order = [int(i) for i in order.split(",")] if order else None
    except ValueError:
        raise DeclarationError(f"bad order={order!r}: write observation numbers, e.g. 2,1") from None
    try:
        observations = observations_from(data, sched)
    except ValueError as err:
        raise DeclarationError(f"cannot read data=: {err}") from None
    if steps_order and any(i < 1 or i > len(observations) for i in steps_order):
        raise DeclarationError(f"order= refers to observations 1..{len(observations)}")
    weights = {w: values[w] for w in sched.weights if w in values}
    missing = [w for w in sched.weights if w not in weights]
    if missing:
        raise DeclarationError(f"SGD needs starting values for {', '.join(missing)} (at= or init=zeros)")
    from .optimizers import steps_json, train

    if batch not in (None, "full"):
        try:
            batch = int(batch)
        except ValueError:
            raise DeclarationError(f"bad batch={batch!r}: write full or a number of observations") from None
    elif batch is None and opt.rule.name == "gd":
        batch = "full"
    elif batch is None:
        batch = 1
    with given_point("a point of the steps"):
        history = train(sched, weights, observations, opt, n_steps, batch, steps_order)
    out = steps_json(opt, history, observations)
    require_finite(out["steps"], "a point of the steps", " (or the steps diverge: try a smaller learning rate)")
    return out
