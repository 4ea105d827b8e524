"""Optimizer steps with numbers: one table of update rules, evaluated with numeric.py.

Each rule is a record: the hyper-parameters it reads, its state (initialised to 0,
or 1 for the running powers β₁ᵗ, β₂ᵗ of Adam's bias correction), where the gradient
is taken (Nesterov looks ahead), and its update equations as matcalc expressions over
the weight w, its gradient g and the state. The same expressions are evaluated for
every weight of any shape; nothing here is NumPy arithmetic of its own.

Conventions: `course` is the form of the course's lectures (h = α h + η g, w ← w − h;
Nesterov takes the gradient at w − α h; RMSprop and AdaGrad divide by √(G + ε));
`torch` is torch.optim's (Nesterov in its shifted form g + μ b; ε added after the root).
Momentum, Adam, GD and SGD are the same in both.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from types import SimpleNamespace
from typing import Callable

from . import expr as E
from .errors import DeclarationError

HALF = Fraction(1, 2)

# hyper-parameter → (symbol, default, what it is)
HYPER = {
    "lr": ("η", 0.1, "learning rate"),
    "momentum": ("α", 0.9, "momentum"),
    "alpha": ("ρ", 0.99, "RMSprop decay of the mean square"),
    "beta1": ("β1", 0.9, "Adam decay of the mean gradient"),
    "beta2": ("β2", 0.999, "Adam decay of the mean square"),
    "eps": ("ε", 1e-8, "added to the denominator"),
}


@dataclass(frozen=True)
class Rule:
    """One optimizer: state (name, initial value), where g is taken, the update equations."""

    name: str
    title: str
    convention: str
    hyper: tuple
    state: tuple = ()  # (name, 0 or 1)
    probe: Callable | None = None  # S → the point at which the gradient is taken
    updates: Callable = None  # S → [(name, Expr)], in order; "w" last
    formula: str = ""  # the rule as the course writes it
    same_as_torch: bool = True


def _ones(S):
    return E.Ones(*S.w.shape)


def _div_root(S, a, inside: bool):
    """a / √(G + ε) (ε under the root) or a / (√G + ε) (ε after it), elementwise."""
    eps = E.mul(S.eps, _ones(S))
    den = E.power(E.add(S.G, eps), HALF) if inside else E.add(E.power(S.G, HALF), eps)
    return E.hadamard(a, E.power(den, -1))


def _plain(S):
    return [("w", E.sub(S.w, E.mul(S.lr, S.g)))]


def _momentum(S):
    h = E.add(E.mul(S.momentum, S.h), E.mul(S.lr, S.g))
    return [("h", h), ("w", E.sub(S.w, S.h))]


def _nesterov_torch(S):
    b = E.add(E.mul(S.momentum, S.b), S.g)
    return [("b", b), ("w", E.sub(S.w, E.mul(S.lr, E.add(S.g, E.mul(S.momentum, S.b)))))]


def _mean_square(S, decay, accumulate=False):
    g2 = E.hadamard(S.g, S.g)
    if accumulate:
        return E.add(S.G, g2)
    return E.add(E.mul(decay, S.G), E.mul(E.sub(E.Const(1), decay), g2))


def _rmsprop(inside):
    def updates(S):
        return [("G", _mean_square(S, S.alpha)), ("w", E.sub(S.w, E.mul(S.lr, _div_root(S, S.g, inside))))]
    return updates


def _adagrad(inside):
    def updates(S):
        return [("G", _mean_square(S, None, accumulate=True)),
                ("w", E.sub(S.w, E.mul(S.lr, _div_root(S, S.g, inside))))]
    return updates


def _adam(S):
    one = E.Const(1)
    m = E.add(E.mul(S.beta1, S.m), E.mul(E.sub(one, S.beta1), S.g))
    v = E.add(E.mul(S.beta2, S.v), E.mul(E.sub(one, S.beta2), E.hadamard(S.g, S.g)))
    m_hat = E.mul(E.power(E.sub(one, S.p1), -1), S.m)
    v_hat = E.mul(E.power(E.sub(one, S.p2), -1), S.v)
    den = E.add(E.power(v_hat, HALF), E.mul(S.eps, _ones(S)))
    step = E.hadamard(m_hat, E.power(den, -1))
    return [("p1", E.mul(S.beta1, S.p1)), ("p2", E.mul(S.beta2, S.p2)), ("m", m), ("v", v),
            ("w", E.sub(S.w, E.mul(S.lr, step)))]


RULES = [
    Rule("gd", "GD", "course", ("lr",), updates=_plain, formula="w ← w − η ∇L(w)"),
    Rule("sgd", "SGD", "course", ("lr",), updates=_plain, formula="w ← w − η ∇L_i(w)"),
    Rule("momentum", "Momentum SGD", "course", ("lr", "momentum"), (("h", 0),), updates=_momentum,
         formula="h ← α h + η ∇L(w);  w ← w − h   (torch.optim.SGD(momentum=α): its buffer is h/η)"),
    Rule("nesterov", "Nesterov momentum", "course", ("lr", "momentum"), (("h", 0),),
         probe=lambda S: E.sub(S.w, E.mul(S.momentum, S.h)), updates=_momentum,
         formula="h ← α h + η ∇L(w − α h);  w ← w − h", same_as_torch=False),
    Rule("nesterov", "Nesterov momentum", "torch", ("lr", "momentum"), (("b", 0),), updates=_nesterov_torch,
         formula="b ← α b + ∇L(w);  w ← w − η (∇L(w) + α b)   (torch.optim.SGD(nesterov=True))"),
    Rule("rmsprop", "RMSprop", "course", ("lr", "alpha", "eps"), (("G", 0),), updates=_rmsprop(True),
         formula="G ← ρ G + (1 − ρ) g ⊙ g;  w ← w − η g / √(G + ε)", same_as_torch=False),
    Rule("rmsprop", "RMSprop", "torch", ("lr", "alpha", "eps"), (("G", 0),), updates=_rmsprop(False),
         formula="G ← ρ G + (1 − ρ) g ⊙ g;  w ← w − η g / (√G + ε)   (torch.optim.RMSprop)"),
    Rule("adagrad", "AdaGrad", "course", ("lr", "eps"), (("G", 0),), updates=_adagrad(True),
         formula="G ← G + g ⊙ g;  w ← w − η g / √(G + ε)", same_as_torch=False),
    Rule("adagrad", "AdaGrad", "torch", ("lr", "eps"), (("G", 0),), updates=_adagrad(False),
         formula="G ← G + g ⊙ g;  w ← w − η g / (√G + ε)   (torch.optim.Adagrad)"),
    Rule("adam", "Adam", "course", ("lr", "beta1", "beta2", "eps"),
         (("p1", 1), ("p2", 1), ("m", 0), ("v", 0)), updates=_adam,
         formula="m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g ⊙ g;  m̂ = m/(1 − β1ᵗ);  "
                 "v̂ = v/(1 − β2ᵗ);  w ← w − η m̂ / (√v̂ + ε)"),
]

NAMES = ("gd", "sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad")


def rule(name: str, convention: str = "course") -> Rule:
    """The record for `name` in `convention` (a rule that torch writes the same way serves both)."""
    if convention not in ("course", "torch"):
        raise DeclarationError(f"unknown convention {convention!r}: use course or torch")
    found = [r for r in RULES if r.name == name]
    if not found:
        raise DeclarationError(f"unknown optimizer {name!r}: use one of {', '.join(NAMES)}")
    exact = [r for r in found if r.convention == convention]
    return (exact or found)[0]


# ---------------------------------------------------------------- evaluation


@dataclass
class Step:
    """One step: which observations, the loss there, the gradient, the state after, the weights after."""

    index: int
    observations: list  # 1-based
    loss: float
    gradients: dict  # weight → array
    state: dict  # weight → {state name → array}
    weights: dict  # weight → array
    passes: list = field(default_factory=list)  # backprop Pass per observation, when there is one


def _namespace(r: Rule, shape, hyper: dict):
    S = SimpleNamespace()
    for h in r.hyper:
        setattr(S, h, E.Symbol(HYPER[h][0], 1, 1))
    S.w, S.g = E.Symbol("w", *shape), E.Symbol("g", *shape)
    for name, init in r.state:
        setattr(S, name, E.Symbol(name, 1, 1) if name in ("p1", "p2") else E.Symbol(name, *shape))
    return S


class Optimizer:
    """A rule bound to hyper-parameters: `start(weights)`, then `probe` and `update` per step."""

    def __init__(self, name: str, convention: str = "course", **hyper):
        self.rule = rule(name, convention)
        unknown = set(hyper) - set(HYPER)
        if unknown:
            raise DeclarationError(f"unknown hyper-parameter(s): {', '.join(sorted(unknown))}")
        self.hyper = {h: float(hyper[h]) if hyper.get(h) is not None else HYPER[h][1] for h in self.rule.hyper}
        for h, v in self.hyper.items():
            if h != "lr" and not (0 <= v < 1 or h == "eps" and v >= 0):
                raise DeclarationError(f"{h} must be in [0, 1), got {v}")
        self._compiled: dict = {}

    def _for(self, shape):
        got = self._compiled.get(shape)
        if got is None:
            S = _namespace(self.rule, shape, self.hyper)
            probe = self.rule.probe(S) if self.rule.probe else None
            got = self._compiled[shape] = (S, probe, self.rule.updates(S))
        return got

    def _env(self, w, g, state):
        import numpy as np

        env = {HYPER[h][0]: np.array([[v]]) for h, v in self.hyper.items()}
        env.update(state)
        env["w"] = w
        if g is not None:
            env["g"] = g
        return env

    def start(self, weights: dict) -> dict:
        """The initial state of every weight: name → {state name → array}."""
        import numpy as np

        out = {}
        for k, w in weights.items():
            out[k] = {n: (np.ones((1, 1)) if init == 1 else np.zeros(w.shape)) for n, init in self.rule.state}
        return out

    def probe(self, weights: dict, state: dict) -> dict:
        """Where the gradient is taken: the weights themselves, or Nesterov's look-ahead w − α h."""
        from .numeric import evaluate

        if self.rule.probe is None:
            return weights
        return {k: evaluate(self._for(w.shape)[1], self._env(w, None, state[k])) for k, w in weights.items()}

    def update(self, weights: dict, grads: dict, state: dict):
        """(new weights, new state): the rule's equations evaluated in order."""
        from .numeric import evaluate

        new_w, new_state = {}, {}
        for k, w in weights.items():
            _, _, eqs = self._for(w.shape)
            env = self._env(w, grads[k], state[k])
            for name, e in eqs:
                env[name] = evaluate(e, env)
            new_w[k] = env["w"]
            new_state[k] = {n: env[n] for n, _ in self.rule.state}
        return new_w, new_state

    def describe(self) -> str:
        r = self.rule
        params = ", ".join(f"{HYPER[h][0]} = {self.hyper[h]:g}" for h in r.hyper)
        conv = ("same as torch.optim" if r.same_as_torch else "the course's form; convention=torch for torch.optim's") \
            if r.convention == "course" else "torch.optim's form"
        return f"{r.title} ({conv}); {params}\n  {r.formula}"


def batches(n: int, batch, order, steps: int) -> list:
    """The observations (1-based) of each step: all of them (full batch), one at a time, or k at a time,
    following `order` (cycled)."""
    order = list(order or range(1, n + 1))
    if batch in (None, "full") or (isinstance(batch, int) and batch >= n and not order[n:]):
        return [list(range(1, n + 1))] * steps
    k = int(batch)
    if k < 1:
        raise DeclarationError("the batch size must be at least 1")
    out, pos = [], 0
    for _ in range(steps):
        out.append([order[(pos + i) % len(order)] for i in range(k)])
        pos += k
    return out


def batch_label(rule: Rule, chosen: list, n: int, rows: int = 1) -> tuple:
    """(title, detail) of a step, named the way the course names it: GD uses the whole sample,
    SGD one observation, a mini-batch several."""
    plain = rule.name in ("gd", "sgd")
    if len(chosen) == n and n > 1:
        return ("GD" if plain else rule.title), f"full batch: mean over {n} observations"
    if n == 1:
        detail = f"full batch of {rows} rows" if rows > 1 else "the one observation"
        return ("GD" if plain else rule.title), detail
    if len(chosen) == 1:
        return ("SGD" if plain else rule.title), f"observation {chosen[0]}"
    return ("mini-batch SGD" if plain else rule.title), f"mini-batch: observations {','.join(map(str, chosen))}"


def run(optimizer: Optimizer, gradient_at, weights: dict, n: int, steps: int, batch=None, order=None) -> list:
    """`steps` steps from `weights`. gradient_at(weights, [observations]) → (loss, grads, passes): the mean
    over the chosen observations (the course's ∇L = 1/n Σ ∇L_i)."""
    from .numeric import _as2d

    current = {k: _as2d(v).copy() for k, v in weights.items()}
    state = optimizer.start(current)
    out = []
    for t, chosen in enumerate(batches(n, batch, order, steps), 1):
        loss, grads, passes = gradient_at(optimizer.probe(current, state), chosen)
        current, state = optimizer.update(current, grads, state)
        out.append(Step(t, chosen, loss, grads, state, {k: v.copy() for k, v in current.items()}, passes))
    return out


def formulas(name: str, convention: str = "course") -> list:
    """The update equations of a rule as text (for one weight w): what the numbers evaluate."""
    from .printing.text import to_unicode

    r = rule(name, convention)
    S = _namespace(r, ("n", 1), {})
    lines = []
    if r.probe:
        lines.append(f"g = ∇L({to_unicode(r.probe(S))})")
    lines += [f"{n} ← {to_unicode(e)}" for n, e in r.updates(S)]
    return lines


def train(schedule, weights: dict, observations: list, optimizer: Optimizer, steps: int, batch=None,
          order=None) -> list:
    """Optimizer steps on a backprop schedule: each step's gradient is the mean of the per-observation
    gradients of its batch, each from one forward/backward pass."""
    import numpy as np

    from .schedule import run_pass

    if order and any(i < 1 or i > len(observations) for i in order):
        raise DeclarationError(f"the order refers to observations 1..{len(observations)}")

    def gradient_at(w, chosen):
        passes = [run_pass(schedule, {**w, **observations[i - 1]}) for i in chosen]
        grads = {k: np.mean([p.gradients[k] for p in passes], axis=0) for k in w}
        return float(np.mean([p.loss for p in passes])), grads, passes

    return run(optimizer, gradient_at, weights, len(observations), steps, batch, order)


def steps_json(optimizer: Optimizer, history: list, observations: list) -> dict:
    """The steps as plain data: per step the batch, the gradient, the state and the new weights."""
    from .schedule import _plain

    rows = max((int(getattr(v, "shape", (1,))[0]) for o in observations[:1] for k, v in o.items()
                if getattr(v, "ndim", 0) == 2 and v.shape[0] > 1 and v.shape[1] > 1), default=1)
    out = []
    for st in history:
        title, detail = batch_label(optimizer.rule, st.observations, len(observations), rows)
        item = {"step": st.index, "title": title, "batch": detail, "observations": st.observations}
        if len(st.passes) == 1:
            item.update(st.passes[0].to_json())
        else:
            item["loss"] = st.loss
            item["gradients"] = {k: _plain(v) for k, v in st.gradients.items()}
        item["state"] = {k: {n: _plain(v) for n, v in s.items() if n not in ("p1", "p2")}
                         for k, s in st.state.items()}
        item["updated"] = {k: _plain(v) for k, v in st.weights.items()}
        out.append(item)
    r = optimizer.rule
    return {"optimizer": {"name": r.name, "convention": r.convention, "hyper": optimizer.hyper,
                          "formula": r.formula, "description": optimizer.describe()},
            "steps": out}
