"""Numbers: evaluate an Expr with NumPy, sample points by domain, finite differences.

The evaluator walks the tree (no `eval` of text). Arrays are 2-D throughout
(a vector is n×1, a scalar 1×1). Points are sampled so that the expression is
defined: square matrices near the identity (det > 0, invertible), declared
symmetric matrices SPD, scalars positive; a point where the value is not finite is
resampled, then retried with positive entries.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import math

import numpy as np

from . import expr as E
from . import functions
from .errors import DeclarationError, DomainError
from .simplify import stable_form
from .walk import RuleTable, symbols_in

EVAL_RULES = RuleTable()
eval_rule = EVAL_RULES.rule


def apply_function(name: str, x: np.ndarray) -> np.ndarray:
    """The elementwise function `name` (its record's NumPy value) at x."""
    return functions.get(name, "NumPy evaluation").numpy(np, x)


class Evaluator:
    def __init__(self, env: dict, dims: dict):
        self.env = env
        self.dims = dims
        self.memo: dict = {}
        self.bound: dict = {}  # summation index → the observation it stands for

    def dim(self, d) -> int:
        if isinstance(d, int):
            return d
        if d not in self.dims and "*" in d:  # the size n*m of a vec or a Kronecker product
            a, b = d.split("*", 1)
            return self.dim(int(a) if a.isdigit() else a) * self.dim(int(b) if b.isdigit() else b)
        return self.dims[d]

    def ev(self, e: E.Expr) -> np.ndarray:
        got = self.memo.get(e)
        if got is None:
            rule = EVAL_RULES.get(type(e))
            if rule is None:
                raise functions.MissingEntry(f"no NumPy evaluation for {type(e).__name__}")
            got = self.memo[e] = rule(self, e)
        return got


@eval_rule(E.Symbol)
def ev_symbol(V, e):
    key = ("d" if e.diff else "") + e.name
    if key not in V.env:
        raise DeclarationError(f"no value given for {key}")
    return V.env[key]


@eval_rule(E.Const)
def ev_const(V, e):
    return np.array([[float(e.value)]])


@eval_rule(E.Identity)
def ev_identity(V, e):
    return np.eye(V.dim(e.n))


@eval_rule(E.Zero)
def ev_zero(V, e):
    return np.zeros((V.dim(e.nrows), V.dim(e.ncols)))


@eval_rule(E.Ones)
def ev_ones(V, e):
    return np.ones((V.dim(e.nrows), V.dim(e.ncols)))


@eval_rule(E.Add)
def ev_add(V, e):
    out = V.ev(e.terms[0])
    for t in e.terms[1:]:
        out = out + V.ev(t)
    return out


@eval_rule(E.MatMul)
def ev_matmul(V, e):
    out = None
    scale = float(e.coeff)
    for f in e.scalars:
        scale = scale * V.ev(f)[0, 0]
    for f in e.chain:
        x = V.ev(f)
        out = x if out is None else out @ x
    if out is None:
        return np.array([[scale]])
    return scale * out


@eval_rule(E.Transpose)
def ev_transpose(V, e):
    return V.ev(e.arg).T


@eval_rule(E.Inverse)
def ev_inverse(V, e):
    return np.linalg.inv(V.ev(e.arg))


@eval_rule(E.Trace)
def ev_trace(V, e):
    return np.array([[np.trace(V.ev(e.arg))]])


@eval_rule(E.Det)
def ev_det(V, e):
    return np.array([[np.linalg.det(V.ev(e.arg))]])


@eval_rule(E.Sum)
def ev_sum(V, e):
    return np.array([[np.sum(V.ev(e.arg))]])


@eval_rule(E.Diag)
def ev_diag(V, e):
    return np.diag(V.ev(e.arg)[:, 0])


@eval_rule(E.DiagPart)
def ev_diag_part(V, e):
    return np.diag(V.ev(e.arg)).reshape(-1, 1).copy()


def _one_plus(e: E.Expr):
    """The t of `1 + t` (so log(1 + t) can use log1p), else None."""
    if isinstance(e, E.Add):
        for i, t in enumerate(e.terms):
            if (isinstance(t, E.Const) and t.value == 1) or isinstance(t, E.Ones):
                rest = e.terms[:i] + e.terms[i + 1 :]
                return rest[0] if len(rest) == 1 else E.Add(rest)
    return None


@eval_rule(E.Func)
def ev_func(V, e):
    if e.name == "log" and isinstance(e.arg, E.Softmax):  # log-softmax, the maxima shifted out
        u = V.ev(e.arg.arg)
        axis = 0 if e.cols == 1 else 1
        z = u - np.max(u, axis=axis, keepdims=True)
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))
    stable = stable_form(e)  # ln σ(u) = −softplus(−u), … (simplify.STABLE_RULES)
    if stable is not None:
        return V.ev(stable)
    if e.name == "log" and isinstance(e.arg, E.Det):
        sign, logdet = np.linalg.slogdet(V.ev(e.arg.arg))
        return np.array([[logdet if sign > 0 else np.nan]])
    if e.name == "log":
        t = _one_plus(e.arg)
        if t is not None:  # log(1 + exp(-40)) is not 0
            if isinstance(t, E.Func) and t.name == "exp":
                return np.logaddexp(0.0, V.ev(t.arg))
            with np.errstate(all="ignore"):
                return np.log1p(V.ev(t))
    with np.errstate(all="ignore"):
        return apply_function(e.name, V.ev(e.arg))


@eval_rule(E.LogSumExp)
def ev_logsumexp(V, e):
    u = V.ev(e.arg)
    top = np.max(u)
    return np.array([[top + np.log(np.sum(np.exp(u - top)))]])


@eval_rule(E.Power)
def ev_power(V, e):
    with np.errstate(all="ignore"):
        return np.power(V.ev(e.base), float(e.exponent))


@eval_rule(E.Hadamard)
def ev_hadamard(V, e):
    out = V.ev(e.factors[0])
    for f in e.factors[1:]:
        out = out * V.ev(f)
    return out


@eval_rule(E.Kron)
def ev_kron(V, e):
    return np.kron(V.ev(e.left), V.ev(e.right))


@eval_rule(E.Conv)
def ev_conv(V, e):
    return np.correlate(V.ev(e.signal).ravel(), V.ev(e.kernel).ravel(), "valid").reshape(-1, 1)


@eval_rule(E.ConvT)
def ev_conv_transpose(V, e):
    return np.convolve(V.ev(e.signal).ravel(), V.ev(e.kernel).ravel(), "full").reshape(-1, 1)


@eval_rule(E.Softmax)
def ev_softmax(V, e):
    u = V.ev(e.arg)
    axis = 0 if e.cols == 1 else 1  # a column vector, or each row of a batch
    z = np.exp(u - np.max(u, axis=axis, keepdims=True))
    return z / np.sum(z, axis=axis, keepdims=True)


@eval_rule(E.Vec)
def ev_vec(V, e):
    return V.ev(e.arg).reshape(-1, 1, order="F")


@eval_rule(E.Commutation)
def ev_commutation(V, e):
    m, n = V.dim(e.m), V.dim(e.n)
    return np.eye(m * n)[np.arange(m * n).reshape((m, n), order="F").ravel()]


class _OneTerm(Evaluator):
    """One term of Σ_i: i bound to an observation; what does not use i is the outer value."""

    def __init__(self, outer: Evaluator, index: str, k: int):
        super().__init__(outer.env, outer.dims)
        self.outer, self.index = outer, index
        self.bound = {**outer.bound, index: k}

    def ev(self, e):
        if self.index not in e.indices:
            return self.outer.ev(e)
        return super().ev(e)


@eval_rule(E.SumOver)
def ev_sum_over(V, e):
    n = V.dim(e.n)
    if e.is_count:
        return np.array([[float(n)]])
    total = np.zeros(tuple(V.dim(d) for d in e.shape))
    for k in range(n):
        total = total + _OneTerm(V, e.index, k).ev(e.body)
    return total


@eval_rule(E.Indexed)
def ev_indexed(V, e):
    if e.index not in V.bound:
        raise DeclarationError(f"{e.name}_{e.index} is used outside a sum over {e.index}")
    k = V.bound[e.index]
    data = V.ev(e.data)
    if k >= data.shape[0]:
        raise DeclarationError(
            f"{e.name}_{e.index}: the data has {data.shape[0]} rows, but the sum runs to {k + 1}"
        )
    return data[k : k + 1, :1].copy() if e.entry else data[k, :].reshape(-1, 1).copy()


def bind_dims(exprs, env: dict, sizes: dict | None = None) -> dict:
    """Symbolic size → int, read off the values given for the symbols."""
    dims = dict(sizes or {})
    for e in exprs:
        for s in symbols_in(e):
            key = ("d" if s.diff else "") + s.name
            if key not in env:
                continue
            value = env[key]
            for d, actual in zip(s.shape, value.shape):
                if isinstance(d, int):
                    if d != actual:
                        raise DeclarationError(
                            f"{key} should be {E.fmt_shape(s.shape)} but the value given is "
                            f"{value.shape[0]}×{value.shape[1]}"
                        )
                elif dims.setdefault(d, actual) != actual:
                    raise DeclarationError(
                        f"size {d} is {dims[d]} elsewhere but {actual} in the value of {key}"
                    )
    return dims


def evaluate(e: E.Expr, env: dict, dims: dict | None = None) -> np.ndarray:
    """The value of e (2-D array) for the values in env (name → array, 'dX' for differentials)."""
    env = {k: _as2d(v) for k, v in env.items()}
    if dims is None:
        dims = bind_dims([e], env)
    return Evaluator(env, dims).ev(e)


def _as2d(v) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(-1, 1)
    return a


# ---------------------------------------------------------------- numbers the user gave


@contextmanager
def given_point(what: str = "the point"):
    """Evaluation at the user's numbers (--at, --data). A singular matrix there means the point is
    outside the expression's domain: the user's input (DomainError, exit 2), not a bug. (Sampling
    resamples such a point instead.)"""
    with np.errstate(all="ignore"):
        try:
            yield
        except np.linalg.LinAlgError as err:
            raise DomainError(f"{what} is outside the domain of the expression ({err}: a matrix that is "
                              "inverted is singular there)") from None


def require_finite(values, what: str = "the point", hint: str = "") -> None:
    """DomainError naming the first number in `values` (nested dicts and lists, as in the JSON
    output, or arrays) that is not finite: the log of a number ≤ 0 or a division by zero there."""
    bad = _not_finite(values, [])
    if bad is not None:
        where, v = bad
        raise DomainError(f"{what} is outside the domain of the expression: {' '.join(where) or 'the value'} "
                          f"= {v} there{hint}")


def _not_finite(v, where: list):
    """(path, value) of the first number that is not finite, or None."""
    if isinstance(v, dict):
        for k, x in v.items():
            bad = _not_finite(x, where + [str(k)])
            if bad is not None:
                return bad
        return None
    if isinstance(v, (list, tuple)) and any(isinstance(x, (dict, list, tuple)) for x in v):
        for x in v:
            step = [f"step {x['step']}"] if isinstance(x, dict) and "step" in x else []
            bad = _not_finite(x, where + step)
            if bad is not None:
                return bad
        return None
    if v is None:
        return None
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None  # text: a title, a formula
    if np.all(np.isfinite(a)):
        return None
    return where, float(a.reshape(-1)[~np.isfinite(a.reshape(-1))][0])


# ---------------------------------------------------------------- sampling


SIZE_SEQUENCE = (3, 4, 5, 2, 6, 7, 8, 9, 10, 11)


def choose_sizes(exprs, given: dict | None = None, variant: int = 0) -> dict:
    """Distinct small sizes for the symbolic dimensions, so a misplaced transpose shows.

    Variant 0 hands out 3, 4, 5, …; variant 1 the same decreasing (`(XᵀAX)⁻¹` needs X
    tall); later variants are shuffles (`(AXB)⁻¹` needs the middle size smallest).
    """
    sizes = dict(given or {})
    if variant == 0:
        seq = SIZE_SEQUENCE
    elif variant == 1:
        seq = tuple(sorted(SIZE_SEQUENCE[:6], reverse=True))
    else:
        import random

        seq = list(SIZE_SEQUENCE[:6])
        random.Random(variant).shuffle(seq)
    pool = iter(s for s in seq if s not in sizes.values())
    for e in exprs:
        for s in symbols_in(e):
            for d in s.shape:
                if not isinstance(d, int) and d not in sizes:
                    sizes[d] = next(pool, 3)
    for e in exprs:
        _collect_other_dims(e, sizes)
    return sizes


def _collect_other_dims(e, sizes):
    stack = [e]
    while stack:
        n = stack.pop()
        dims = list(getattr(n, "shape", ()))
        if isinstance(n, E.SumOver):
            dims.append(n.n)  # the number of observations, even where no data matrix shows it
        for d in dims:
            if not isinstance(d, int) and d not in sizes and "*" not in d:
                sizes[d] = 3
        stack.extend(n.args)


@dataclass
class Sampler:
    """Random points in the domain of an expression."""

    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    positive: bool = False
    signed: bool = False  # scalars of both signs, square matrices with det of both signs (check)
    generic: bool = False  # square matrices with no structure (indefinite, any sign): the second-order test

    def value(self, s: E.Symbol, sizes: dict) -> np.ndarray:
        r = sizes.get(s.nrows, s.nrows) if not isinstance(s.nrows, int) else s.nrows
        c = sizes.get(s.ncols, s.ncols) if not isinstance(s.ncols, int) else s.ncols
        rng = self.rng
        flip = self.signed and not self.positive and rng.random() < 0.5
        if (r, c) == (1, 1):
            return np.array([[rng.uniform(0.5, 1.5) * (-1 if flip else 1)]])
        if s.symmetric:
            b = rng.standard_normal((r, r))
            return b @ b.T / r + 0.5 * np.eye(r)
        if r == c and self.generic and not self.positive:
            m = rng.standard_normal((r, r))
        elif r == c:
            m = np.eye(r) + 0.5 * rng.standard_normal((r, r)) / np.sqrt(r)
            if flip:
                m[0] = -m[0]  # det < 0
        else:
            m = rng.standard_normal((r, c))
        return np.abs(m) + 0.1 if self.positive else m

    def point(self, exprs, sizes: dict, fixed: dict | None = None) -> dict:
        env = dict(fixed or {})
        for e in exprs:
            for s in symbols_in(e):
                if s.diff and "d" + s.name not in env:
                    env["d" + s.name] = self.direction(s, sizes)
                elif not s.diff and s.name not in env:
                    env[s.name] = self.value(s, sizes)
        return env

    def direction(self, s: E.Symbol, sizes: dict) -> np.ndarray:
        shape = tuple(sizes.get(d, d) if not isinstance(d, int) else d for d in s.shape)
        v = self.rng.standard_normal(shape)
        if s.symmetric:
            v = (v + v.T) / 2
        return v


class NoValidPoint(ValueError):
    """No sampled point made every expression finite."""


def _finite_at(exprs, env, sizes) -> bool:
    with np.errstate(all="ignore"):
        try:
            for e in exprs:
                val = evaluate(e, env, sizes)
                if not np.all(np.isfinite(val)):
                    return False
        except np.linalg.LinAlgError:
            return False
    return True


def sample_valid_point(exprs, sizes: dict, rng, fixed=None, tries: int = 40, signed: bool = False,
                       cond_limit: float = 1e8, generic: bool = False) -> dict:
    """A point where every expression is finite: plain sampling first, then positive entries.
    `signed`: scalars and determinants of both signs; `cond_limit` bounds the condition
    number of every matrix that is inverted; `generic`: square matrices with no structure
    (not near the identity), for sign questions such as the second-order test."""
    exprs = exprs if isinstance(exprs, (list, tuple)) else [exprs]
    for attempt in range(tries):
        sampler = Sampler(rng, positive=attempt >= tries // 2, signed=signed, generic=generic)
        env = sampler.point(exprs, sizes, fixed)
        try:
            if _finite_at(exprs, env, sizes) and _well_conditioned(exprs, env, sizes, cond_limit):
                return env
        except np.linalg.LinAlgError:
            continue
    raise NoValidPoint("could not find a point where the expression is finite")


def sample_point(exprs, rng, given: dict | None = None, generic: bool = False):
    """(sizes, values): sizes for the symbolic dimensions and a point where all of exprs are finite.

    Increasing sizes first, then decreasing ones, then shuffles (some domains need
    tall matrices, or a particular size to be the smallest).
    """
    variants = 8
    for variant in range(variants):
        sizes = choose_sizes(exprs, given, variant)
        try:
            return sizes, sample_valid_point(exprs, sizes, rng, tries=40 if variant < 2 else 10, generic=generic)
        except NoValidPoint:
            if variant == variants - 1:
                raise


def _well_conditioned(exprs, env, sizes, limit: float = 1e8) -> bool:
    """Every matrix that is inverted is far from singular (finite differences stay accurate)."""
    stack, seen = list(exprs), set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, E.Inverse) or (isinstance(n, E.Det) and not n.arg.is_scalar):
            m = evaluate(n.arg, env, sizes)
            if m.shape[0] > 1 and np.linalg.cond(m) > limit:
                return False
        stack.extend(n.args)
    return True


# ---------------------------------------------------------------- finite differences


@dataclass
class FDCheck:
    variable: str
    point: dict
    direction: np.ndarray
    finite_difference: np.ndarray
    predicted: np.ndarray
    value: float = 0.0  # max |f| at the point: rounding in f(X ± hV) scales with it
    uncertainty: float = 0.0  # how much the difference quotient moves when h doubles
    noise: float = 0.0  # the rounding floor of the differences (eps |f| / h², for second ones)

    def _scale(self) -> float:
        # below 1e-6 |f| the differences are rounding noise: that is the floor of the scale
        fd, pr = self.finite_difference, self.predicted
        return max(np.max(np.abs(fd)), np.max(np.abs(pr)), 1e-6 * self.value, 1e-12)

    @property
    def error(self) -> float:
        """Relative error between the finite differences and the prediction."""
        gap = np.max(np.abs(self.finite_difference - self.predicted)) - self.noise
        return float(max(gap, 0.0) / self._scale())

    @property
    def excess(self) -> float:
        """The relative error beyond what the differences can resolve: a disagreement within
        3× the quotient's own change between steps h and 2h (cancellation inside f,
        saturated functions) is not counted. Pass/fail is decided on this."""
        gap = np.max(np.abs(self.finite_difference - self.predicted)) - 3 * self.uncertainty - self.noise
        return float(max(gap, 0.0) / self._scale())


def central_difference(f: E.Expr, env: dict, sizes: dict, var: str, v: np.ndarray, h: float = 1e-4,
                       with_uncertainty: bool = False):
    """(f(X + hV) - f(X - hV)) / 2h, Richardson-extrapolated from steps h and h/2 (error O(h⁴)).

    With `with_uncertainty`, also how far the estimate from steps 2h and h differs.
    """

    def step(t):
        plus, minus = dict(env), dict(env)
        plus[var] = env[var] + t * v
        minus[var] = env[var] - t * v
        return (evaluate(f, plus, sizes) - evaluate(f, minus, sizes)) / (2 * t)

    d_h, d_half = step(h), step(h / 2)
    estimate = (4 * d_half - d_h) / 3
    if not with_uncertainty:
        return estimate
    coarse = (4 * d_h - step(2 * h)) / 3
    return estimate, float(np.max(np.abs(estimate - coarse)))


STEPS = (1e-4, 1e-5, 1e-6, 1e-7)


def check_directional(f: E.Expr, variables: dict, predict, *, points: int = 3, seed: int = 0,
                      sizes: dict | None = None, extra=()) -> list:
    """Compare predict(env, var, V) with central differences of f along random V.

    `predict` returns what the derivative says the change along V is (⟨G, V⟩, J v, dF(V)).
    `extra` expressions (the derivative) must be finite at the sampled points too.
    """
    rng = np.random.default_rng(seed)
    sizes, _ = sample_point([f, *variables.values(), *extra], rng, sizes)
    checks = []
    for _ in range(points):
        env = sample_valid_point([f, *extra], sizes, rng)
        for name, s in variables.items():
            env.setdefault(name, Sampler(rng).value(s, sizes))
            v = Sampler(rng).direction(s, sizes)
            size = float(np.max(np.abs(evaluate(f, env, sizes))))
            predicted = predict(env, name, v, sizes)
            best = None
            for h in STEPS:  # a fast-varying f (sin(100000 α)) needs a smaller step
                fd, spread = central_difference(f, env, sizes, name, v, h=h, with_uncertainty=True)
                c = FDCheck(name, env, v, fd, predicted, size, spread)
                if best is None or c.excess < best.excess:
                    best = c
                if best.excess <= 1e-7:
                    break
            checks.append(best)
    return checks


def parse_value(text: str) -> np.ndarray:
    """'[1,2]', '[[1,2],[3,4]]', '[1 2; 3 4]', '0.5' or '1/2' → array, without eval."""
    import json
    import re
    from fractions import Fraction

    t = text.strip()
    if re.fullmatch(r"-?\d+\s*/\s*\d+", t):
        num, den = t.split("/")
        if int(den) == 0:
            raise DeclarationError(f"division by zero in the value {text!r}")
        return np.array(float(Fraction(int(num), int(den))))
    if ";" in t:  # MATLAB style rows
        inner = t.strip("[]")
        rows = [r.strip() for r in inner.split(";")]
        t = "[" + ",".join("[" + ",".join(re.split(r"[,\s]+", r.strip())) + "]" for r in rows) + "]"
    elif t.startswith("[") and "," not in t:
        t = "[" + ",".join(re.split(r"\s+", t.strip("[] "))) + "]"
    if not re.fullmatch(r"[\d\s.,eE+\-\[\]]*", t):
        raise DeclarationError(f"cannot read the value {text!r}: use numbers, e.g. 0.5, [1,2] or [[1,2],[3,4]]")
    try:
        data = json.loads(t)
        arr = np.array(data, dtype=float)
    except (ValueError, TypeError):
        raise DeclarationError(
            f"cannot read the value {text!r}: use numbers, e.g. 0.5, [1,2] or [[1,2],[3,4]]"
        ) from None
    if arr.ndim > 2:
        raise DeclarationError(f"the value {text!r} has more than two dimensions")
    return arr


def split_assignments(values) -> dict:
    """['x=[1,2] A=[[1,2],[3,4]]', 'lambda=0.5'] → {'x': '[1,2]', ...}: the NAME=VALUE
    assignments of the command line's --at and of the web page's point."""
    from .decls import canonical_name
    from .errors import DeclarationError

    out = {}
    for v in values:
        for item in re.findall(r"[^\s=]+\s*=\s*(?:\[[^=]*\]|[^\s\[]+)", v) or [v]:
            if "=" not in item:
                raise DeclarationError(f"bad at= value {item!r}: write NAME=VALUE, e.g. x=[1,2]")
            name, value = item.split("=", 1)
            name = canonical_name(name.strip())  # λ, \lambda, lambda; W_1, W_{1}, W1: one name
            if name in out:
                raise DeclarationError(f"at= gives {name} twice")
            out[name] = value.strip()
    return out


KNOWN_CONSTANTS = {"pi": math.pi}  # π is a number, not a name a user should have to give


def complete_values(env: dict, needed, context: str = "") -> dict:
    """env with the known constants it lacks (π); a named error for any other name without
    a value, with the likely cause when a lowercase x was given for a data matrix X (x_i)."""
    env = dict(env)
    for name, value in KNOWN_CONSTANTS.items():
        if name in needed and name not in env:
            env[name] = np.array([[value]])
    missing = sorted(n for n in needed if n not in env)
    if not missing:
        return env
    hints = []
    for n in missing:
        if n[:1].isupper() and n.lower() in env:
            hints.append(f"{n} is the data matrix whose rows are the {n.lower()}_i, but you gave {n.lower()}; "
                         f"if each {n.lower()}_i is a number (entry i of {n.lower()}), declare scalar= the names "
                         f"that multiply it (e.g. scalar=w), or give {n}=[[…], …]")
    raise DeclarationError(f"{context}at= needs a value for {', '.join(missing)}" + "".join(f"; {h}" for h in hints))
