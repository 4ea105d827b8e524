"""The second-order test: minimum, maximum, saddle or cannot tell — proved where a rule
applies, otherwise eigenvalues at random points reported as evidence.

The proof rules read the Hessian as an expression: a Gram form Pᵀ P (or Pᵀ D P with D ⪰ 0)
is positive semidefinite, and definite when P has full column rank; I ≻ 0; λ I ≻ 0 for
λ > 0; a sum of semidefinite terms is semidefinite (definite if one term is); −A flips
the sign; A⁻¹ and A ⊗ B keep definiteness. Every assumption a proof needs is stated.
The numbers come from the gradient itself: the Hessian at the solution by central
differences of ∇f along an orthonormal basis (symmetric matrices for X = Xᵀ).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import expr as E
from .errors import DerivationError
from .printing.text import to_unicode
from .walk import symbols_in

FLIP = {"pd": "nd", "psd": "nsd", "nd": "pd", "nsd": "psd"}
WORDS = {"pd": "≻ 0", "psd": "⪰ 0", "nd": "≺ 0", "nsd": "⪯ 0"}


@dataclass
class Verdict:
    """minimum / maximum / saddle / cannot tell, and why."""

    kind: str
    proof: bool
    reasons: list = field(default_factory=list)
    assumptions: list = field(default_factory=list)
    eigenvalues: list = field(default_factory=list)  # (min, max) per random instance

    def lines(self, fmt: str = "unicode") -> list:
        how = "proof" if self.proof else "evidence, not proof"
        out = [f"second-order test: {self.kind} ({how})"]
        out += [f"  {r}" for r in self.reasons]
        if self.assumptions:
            out.append("  assuming " + "; ".join(self.assumptions))
        return out

    def to_json(self):
        return {"kind": self.kind, "proof": self.proof, "reasons": self.reasons,
                "assumptions": self.assumptions, "eigenvalues": self.eigenvalues}


# ---------------------------------------------------------------- proof rules


class _Proof:
    def __init__(self, positive: set):
        self.positive = positive
        self.reasons: list = []
        self.assumptions: list = []

    def assume(self, text):
        if text not in self.assumptions:
            self.assumptions.append(text)

    def scalar_sign(self, s: E.Expr):
        """+1 / −1 for a scalar whose sign is known (symbols: declared positive, else assumed)."""
        if isinstance(s, E.Const):
            return (s.value > 0) - (s.value < 0) or None
        if isinstance(s, E.Symbol) and not s.diff:
            if s.name not in self.positive:
                self.assume(f"{to_unicode(s)} > 0")
            return 1
        if isinstance(s, E.MatMul) and not s.chain:
            sign = 1 if s.coeff > 0 else -1
            for f in s.factors:
                fs = self.scalar_sign(f)
                if fs is None:
                    return None
                sign *= fs
            return sign
        if isinstance(s, E.Power):
            b = self.scalar_sign(s.base)
            if b is None:
                return None
            return 1 if b > 0 or (Fraction(s.exponent).denominator == 1 and s.exponent % 2 == 0) else -1
        return None

    def sign(self, h: E.Expr):
        """pd / psd / nd / nsd for a symmetric matrix expression, or None."""
        if h.is_scalar:
            s = self.scalar_sign(h)
            return None if s is None else ("pd" if s > 0 else "nd")
        if isinstance(h, E.Identity):
            return "pd"
        if isinstance(h, E.Symbol) and h.symmetric:
            self.assume(f"{h.name} ≻ 0")
            return "pd"
        if isinstance(h, E.Inverse):
            return self.sign(h.arg)
        if isinstance(h, E.Transpose):
            return self.sign(h.arg)
        if isinstance(h, E.Kron):
            a, b = self.sign(h.left), self.sign(h.right)
            if a is None or b is None:
                return None
            semi = "s" in a + b
            positive = a.startswith("p") == b.startswith("p")
            return ("p" if positive else "n") + ("sd" if semi else "d")
        if isinstance(h, E.Add):
            signs = [self.sign(t) for t in h.terms]
            if any(s is None for s in signs):
                return None
            for side in ("p", "n"):
                if all(s.startswith(side) for s in signs):
                    return side + ("d" if any(s == side + "d" for s in signs) else "sd")
            return None
        if isinstance(h, E.MatMul):
            scal = E.mul(E.Const(h.coeff), *h.scalars)
            sgn = self.scalar_sign(scal)
            core = self._chain_sign(list(h.chain))
            if sgn is None or core is None:
                return None
            if sgn < 0:
                core = FLIP[core]
            self.reasons.append(f"{to_unicode(h)} {WORDS[core]}")
            return core
        return None

    def _chain_sign(self, chain: list):
        if len(chain) == 1:
            return self.sign(chain[0])
        first, last = chain[0], chain[-1]
        if len(chain) >= 2 and E.transpose(first).key == last.key:
            middle = chain[1:-1]
            inner = "pd" if not middle else self._chain_sign(middle)
            if inner is None or inner.startswith("n"):
                return None if inner is None else ("nsd" if inner == "nsd" else self._gram(last, "nd"))
            return self._gram(last, inner)
        return None

    def _gram(self, p: E.Expr, inner: str):
        """Pᵀ D P: semidefinite like D; definite when D is and P has full column rank."""
        q = to_unicode(p)
        if inner.endswith("sd") or isinstance(p, E.Identity):
            return inner
        if isinstance(p, E.Inverse):
            self.reasons.append(f"Gram form with an invertible {q}: vᵀ{q}ᵀ…{q}v > 0 for v ≠ 0")
            return inner
        qt = to_unicode(E.transpose(p))
        self.reasons.append(f"Gram form: vᵀ{qt} {q}v = ‖{q}v‖² ≥ 0, and > 0 for v ≠ 0 when {q} has full column rank")
        self.assume(f"{q} has full column rank")
        return inner


def prove(h: E.Expr, positive=()):
    """(sign, reasons, assumptions) for a symmetric Hessian expression, or (None, [], [])."""
    P = _Proof(set(positive))
    s = P.sign(h)
    if s is None:
        return None, [], []
    return s, P.reasons, P.assumptions


KIND = {"pd": "minimum", "nd": "maximum"}


# ---------------------------------------------------------------- numbers


def _basis(shape, symmetric: bool) -> list:
    """An orthonormal basis of the variable's space (symmetric matrices for X = Xᵀ)."""
    r, c = shape
    out = []
    for i in range(r):
        for j in range(c):
            if symmetric and j < i:
                continue
            b = np.zeros((r, c))
            if symmetric and i != j:
                b[i, j] = b[j, i] = 1 / np.sqrt(2)
            else:
                b[i, j] = 1.0
            out.append(b)
    return out


def _instance(sol, rng):
    """(sizes, env) with random data and the variables at the solution; None if no valid point."""
    from .numeric import NoValidPoint, evaluate, sample_point

    exprs = [sol.f, *sol.gradients.values(), *(p.value for p in sol.pieces)]
    try:
        sizes, env = sample_point(exprs, rng)
    except NoValidPoint:
        return None
    for p in sol.pieces:
        x = p.variable
        v = evaluate(p.value, env, sizes)
        if p.vec:
            r = sizes.get(x.nrows, x.nrows) if not isinstance(x.nrows, int) else x.nrows
            v = v.reshape((r, -1), order="F")
        env[x.name] = v
    return sizes, env


def _hessian(sol, env, sizes, h=1e-5):
    """The Hessian of f at env by central differences of the derived gradients, in an orthonormal basis."""
    from .numeric import evaluate

    grads = {n: sol.gradient_exprs[n] for n in sol.variables}
    coords = [(n, b) for n, x in sol.variables.items() for b in _basis(env[n].shape, x.symmetric)]
    H = np.zeros((len(coords), len(coords)))
    for j, (n, b) in enumerate(coords):
        plus, minus = dict(env), dict(env)
        plus[n] = env[n] + h * b
        minus[n] = env[n] - h * b
        gp = {m: evaluate(g, plus, sizes) for m, g in grads.items()}
        gm = {m: evaluate(g, minus, sizes) for m, g in grads.items()}
        for i, (m, bi) in enumerate(coords):
            H[i, j] = np.sum(bi * (gp[m] - gm[m])) / (2 * h)
    return (H + H.T) / 2, coords


def evidence(sol, seed: int = 0, instances: int = 3) -> Verdict:
    rng = np.random.default_rng(seed)
    spans, kinds = [], set()
    for _ in range(instances):
        got = _instance(sol, rng)
        if got is None:
            continue
        sizes, env = got
        H, _ = _hessian(sol, env, sizes)
        lam = np.linalg.eigvalsh(H)
        tol = 1e-6 * max(1.0, np.max(np.abs(lam)))
        spans.append([float(lam.min()), float(lam.max())])
        if lam.min() > tol:
            kinds.add("minimum")
        elif lam.max() < -tol:
            kinds.add("maximum")
        elif lam.min() < -tol and lam.max() > tol:
            kinds.add("saddle")
        else:
            kinds.add("cannot tell")
    if not spans:
        return Verdict("cannot tell", False, ["no random instance where f is defined at the solution"])
    kind = kinds.pop() if len(kinds) == 1 else "cannot tell"
    desc = ", ".join(f"[{a:.3g}, {b:.3g}]" for a, b in spans)
    return Verdict(kind, False, [f"eigenvalues of the Hessian at the solution on {len(spans)} random "
                                 f"instance(s) lie in {desc}"], [], spans)


def classify_solution(sol, positive=(), seed: int = 0) -> Verdict:
    """The symbolic proof for one variable where the rules apply, else the numeric evidence."""
    from .second_order import second_order
    from .identify import substitute
    from .simplify import simplify

    sol.gradient_exprs = {n: simplify(g) for n, g in sol.gradients.items()}
    if len(sol.variables) == 1 and not any(p.vec for p in sol.pieces):
        x = next(iter(sol.variables.values()))
        try:
            res = second_order(sol.f, sol.variables, sol.source, vec=not x.is_scalar and x.cols != 1)
            h = res.blocks.get((x.name, x.name)) if res.blocks else None
        except DerivationError:
            h = None
        if h is not None:
            constant = x.name not in {s.name for s in symbols_in(h) if not s.diff}
            at = simplify(substitute(h, {x: sol.pieces[0].value})) if not constant else h
            sign, reasons, assumptions = prove(at, positive)
            if sign in KIND:
                reasons = [f"H = {to_unicode(at)}"] + reasons
                if constant:
                    reasons.append(f"H does not depend on {x.name}: f is {'convex' if sign == 'pd' else 'concave'}, "
                                   f"so this is the global {KIND[sign]}")
                return Verdict(KIND[sign], True, reasons, assumptions)
    return evidence(sol, seed)


# ---------------------------------------------------------------- checks of a solution


def _minimise(fun, x0, max_iter: int = 300):
    """BFGS with backtracking, on central-difference gradients of `fun` (independent of matcalc's)."""

    def grad(x):
        g = np.zeros_like(x)
        for i in range(len(x)):
            e = np.zeros_like(x)
            e[i] = 1e-6 * max(1.0, abs(x[i]))
            g[i] = (fun(x + e) - fun(x - e)) / (2 * e[i])
        return g

    x, g = x0.copy(), grad(x0)
    Hinv = np.eye(len(x))
    fx = fun(x)
    for _ in range(max_iter):
        p = -Hinv @ g
        if g @ p >= 0:
            Hinv, p = np.eye(len(x)), -g
        t = 1.0
        while True:
            fn = fun(x + t * p)
            if np.isfinite(fn) and fn <= fx + 1e-4 * t * (g @ p):
                break
            t /= 2
            if t < 1e-14:
                return x
        s = t * p
        x, fx = x + s, fn
        g1 = grad(x)
        y = g1 - g
        g = g1
        if y @ s > 1e-14:
            rho = 1 / (y @ s)
            I = np.eye(len(x))
            Hinv = (I - rho * np.outer(s, y)) @ Hinv @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)
        if np.max(np.abs(s)) < 1e-11 * max(1.0, np.max(np.abs(x))):
            break
    return x


def check_solution(sol, verdict: Verdict, seed: int = 0) -> dict:
    """∇f at the returned point on random data (≈ 0), and — for a minimum or maximum — a numerical
    optimiser started nearby on one instance agrees with the closed form."""
    from .numeric import evaluate

    rng = np.random.default_rng(seed + 1)
    residuals = []
    first = None
    for _ in range(3):
        got = _instance(sol, rng)
        if got is None:
            continue
        sizes, env = got
        first = first or (sizes, env)
        scale = 1.0
        for n, x in sol.variables.items():
            moved = dict(env)
            moved[n] = env[n] + rng.standard_normal(env[n].shape)
            scale = max(scale, max(float(np.max(np.abs(evaluate(g, moved, sizes))))
                                   for g in sol.gradient_exprs.values()))
        r = max(float(np.max(np.abs(evaluate(g, env, sizes)))) for g in sol.gradient_exprs.values())
        residuals.append(r / scale)
    out = {"gradient_residual": max(residuals) if residuals else None,
           "gradient_zero": bool(residuals) and max(residuals) < 1e-8}
    if verdict.kind in ("minimum", "maximum") and first is not None:
        sizes, env = first
        sign = 1.0 if verdict.kind == "minimum" else -1.0
        coords = [(n, b) for n, x in sol.variables.items() for b in _basis(env[n].shape, x.symmetric)]
        x_star = np.array([np.sum(b * env[n]) for n, b in coords])

        def point(z):
            e = dict(env)
            for n in sol.variables:
                e[n] = np.zeros_like(env[n])
            for zi, (n, b) in zip(z, coords):
                e[n] = e[n] + zi * b
            return e

        def fun(z):
            with np.errstate(all="ignore"):
                try:
                    v = float(evaluate(sol.f, point(z), sizes)[0, 0])
                except np.linalg.LinAlgError:
                    return np.inf
            return sign * v if np.isfinite(v) else np.inf

        start = x_star + 0.1 * max(1.0, float(np.max(np.abs(x_star)))) * rng.standard_normal(len(x_star)) / 3
        found = _minimise(fun, start)
        dist = float(np.max(np.abs(found - x_star)) / max(1.0, float(np.max(np.abs(x_star)))))
        out["optimiser_distance"] = dist
        out["optimiser_agrees"] = dist < 1e-4
    return out


class _AtRandom:
    """What `_hessian` needs of a solution, for a Hessian at random points instead."""

    def __init__(self, f, variables, gradients):
        self.f, self.variables, self.gradient_exprs = f, variables, gradients


def classify_hessian(result, positive=(), seed: int = 0) -> Verdict:
    """`hessian --classify`: the sign of the Hessian everywhere (proof), or at random points (evidence).
    A Hessian ≻ 0 everywhere makes f convex: any stationary point is its global minimum."""
    from .numeric import NoValidPoint, sample_point
    from .simplify import simplify

    names = result.wrt
    if len(names) == 1 and result.blocks:
        h = result.blocks[(names[0], names[0])]
        sign, reasons, assumptions = prove(h, positive)
        if sign in KIND:
            shape = "convex" if sign == "pd" else "concave"
            return Verdict(KIND[sign], True, [f"H = {to_unicode(h)}"] + reasons +
                           [f"H {WORDS[sign]} everywhere: f is {shape}, a stationary point is its global "
                            f"{KIND[sign]}"], assumptions)
    grads = {n: simplify(g) for n, g in result.gradients.items()}
    probe = _AtRandom(result.f, result.variables, grads)
    rng = np.random.default_rng(seed)
    spans, kinds = [], set()
    for _ in range(3):
        try:
            sizes, env = sample_point([result.f, *grads.values()], rng)
        except NoValidPoint:
            continue
        H, _ = _hessian(probe, env, sizes)
        lam = np.linalg.eigvalsh(H)
        tol = 1e-6 * max(1.0, np.max(np.abs(lam)))
        spans.append([float(lam.min()), float(lam.max())])
        kinds.add("minimum" if lam.min() > tol else "maximum" if lam.max() < -tol
                  else "saddle" if lam.min() < -tol and lam.max() > tol else "cannot tell")
    if not spans:
        return Verdict("cannot tell", False, ["no random point where f is defined"])
    kind = kinds.pop() if len(kinds) == 1 else "cannot tell"
    desc = ", ".join(f"[{a:.3g}, {b:.3g}]" for a, b in spans)
    word = {"minimum": "H ≻ 0", "maximum": "H ≺ 0", "saddle": "H indefinite"}.get(kind, "no common sign")
    return Verdict(kind, False, [f"eigenvalues of H at {len(spans)} random point(s) lie in {desc}: {word} there "
                                 "(a stationary point there would be a " + kind + ")"], [], spans)
