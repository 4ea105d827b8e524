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
    multipliers: list = field(default_factory=list)  # variables f is linear in (Lagrange multipliers)

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


INF = float("inf")


def _times(a: tuple, b: tuple) -> tuple:
    """The product of two closed intervals (0 · ∞ = 0)."""
    prods = [0.0 if 0 in (x, y) else x * y for x in a for y in b]
    return (min(prods), max(prods))


class _Proof:
    def __init__(self, positive: set, weak: bool = False):
        self.positive = positive
        self.weak = weak  # Gram forms only ⪰ 0: no rank assumption (a sum finds definiteness elsewhere)
        self.reasons: list = []
        self.assumptions: list = []

    def _sub(self, h, weak: bool):
        p = _Proof(self.positive, weak)
        return p.sign(h), p

    def _take(self, p):
        for r in p.reasons:
            if r not in self.reasons:
                self.reasons.append(r)
        for a in p.assumptions:
            self.assume(a)

    def bounds(self, e: E.Expr) -> tuple:
        """An interval holding every entry of the elementwise expression e ((−∞, ∞) when unknown)."""
        from . import functions

        if isinstance(e, E.Const):
            v = float(e.value)
            return (v, v)
        if isinstance(e, E.Ones):
            return (1.0, 1.0)
        if isinstance(e, E.Identity):
            return (0.0, 1.0)
        if isinstance(e, E.Symbol) and not e.diff:
            return (0.0, INF) if e.name in self.positive else (-INF, INF)
        if isinstance(e, E.Func):
            try:
                rec = functions.get(e.name)
            except Exception:  # noqa: BLE001 - an unknown function has no known range
                return (-INF, INF)
            return tuple(map(float, rec.values)) if rec.values else (-INF, INF)
        if isinstance(e, E.Add):
            lo = hi = 0.0
            for t in e.terms:
                a, b = self.bounds(t)
                lo, hi = lo + a, hi + b
            return (lo, hi)
        if isinstance(e, E.Hadamard) or (isinstance(e, E.MatMul) and len(e.chain) <= 1):
            out = (1.0, 1.0) if isinstance(e, E.Hadamard) else (float(e.coeff), float(e.coeff))
            for f in e.factors:
                out = _times(out, self.bounds(f))
            return out
        if isinstance(e, E.Power):
            b = self.bounds(e.base)
            k = Fraction(e.exponent)
            if k.denominator == 1 and k.numerator % 2 == 0:
                return (0.0, INF)
            if b[0] > 0 or (b[0] >= 0 and k > 0):
                return (0.0, INF)
            return (-INF, INF)
        if isinstance(e, E.Transpose):
            return self.bounds(e.arg)
        return (-INF, INF)

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
        if isinstance(h, E.Diag):
            lo, hi = self.bounds(h.arg)
            v = to_unicode(h.arg)
            if lo >= 0 or hi <= 0:
                strict = lo > 0 or hi < 0
                side = "p" if lo >= 0 else "n"
                word = side + ("d" if strict else "sd")
                self.reasons.append(f"{to_unicode(h)} {WORDS[word]}: the entries of {v} lie in "
                                    f"[{lo:g}, {hi:g}]")
                return word
            return None
        if isinstance(h, E.Add):
            # each term on its own: definite where it needs the fewest assumptions, the others only
            # semidefinite (so a Gram term's rank is not assumed when λI already makes the sum ≻ 0)
            strong = [self._sub(t, self.weak) for t in h.terms]
            weak = [self._sub(t, True) for t in h.terms]
            if any(s is None for s, _ in strong):
                return None
            for side in ("p", "n"):
                if not all(s.startswith(side) for s, _ in strong):
                    continue
                definite = [i for i, (s, _) in enumerate(strong) if s == side + "d"]
                if not definite:
                    for _, p in weak:
                        self._take(p)
                    return side + "sd"
                def needs(i):  # the assumptions of the sum when term i carries the definiteness
                    out = set(strong[i][1].assumptions)
                    for j, (_, p) in enumerate(weak):
                        out |= set(p.assumptions) if j != i else set()
                    return len(out)

                best = min(definite, key=lambda i: (needs(i), i))
                for i, (s, p) in enumerate(weak):
                    self._take(strong[i][1] if i == best else p)
                if len(h.terms) > 1:
                    self.reasons.append(f"a sum of {WORDS[side + 'sd']} terms with one {WORDS[side + 'd']} "
                                        f"term is {WORDS[side + 'd']}")
                return side + "d"
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
        if isinstance(p, E.Identity):
            return inner
        if inner.endswith("sd"):
            self.reasons.append(f"Gram form Pᵀ D P with P = {q}, D {WORDS[inner]}: vᵀPᵀDPv = (Pv)ᵀD(Pv) "
                                f"{'≥' if inner[0] == 'p' else '≤'} 0")
            return inner
        if self.weak and not isinstance(p, E.Inverse):
            qt = to_unicode(E.transpose(p))
            self.reasons.append(f"Gram form: vᵀ{qt} {q}v = ‖{q}v‖² ≥ 0")
            return inner[0] + "sd"
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


def _instance(sol, rng, sizes=None, generic: bool = False):
    """(sizes, env) with random data and the variables at the solution; None if no valid point
    (no data where f is defined, or a solution that cannot be evaluated there)."""
    from .numeric import NoValidPoint, evaluate, sample_point, sample_valid_point

    exprs = [sol.f, *sol.gradients.values(), *(p.value for p in sol.pieces)]
    try:
        if sizes is None:
            sizes, env = sample_point(exprs, rng, generic=generic)
        else:
            env = sample_valid_point(exprs, sizes, rng, tries=10, generic=generic)
    except NoValidPoint:
        return None
    for p in sol.pieces:
        x = p.variable
        with np.errstate(all="ignore"):
            try:
                v = evaluate(p.value, env, sizes)
            except np.linalg.LinAlgError:
                return None
        if p.vec:
            r = sizes.get(x.nrows, x.nrows) if not isinstance(x.nrows, int) else x.nrows
            v = v.reshape((r, -1), order="F")
        env[x.name] = v
    return sizes, env


def _outside_domain(sol, env, sizes):
    """Why f (or ∇f) is not defined at the solution in env — a singular matrix that f inverts or
    takes the determinant of, or a value that is not finite — or None when it is defined."""
    from .numeric import _finite_at, _well_conditioned

    exprs = [sol.f, *sol.gradient_exprs.values()]
    try:
        fine = _finite_at(exprs, env, sizes) and _well_conditioned(exprs, env, sizes, 1e12)
    except (np.linalg.LinAlgError, FloatingPointError, ValueError):
        fine = False
    if fine:
        return None
    singular = []
    for n, x in sol.variables.items():
        v = env.get(n)
        if v is None or v.ndim != 2 or v.shape[0] != v.shape[1] or v.shape[0] < 2:
            continue
        rank = int(np.linalg.matrix_rank(v))
        if rank < v.shape[0]:
            singular.append(f"{to_unicode(x)} is singular there (rank {rank} of {v.shape[0]})")
    return "; ".join(singular) if singular else "f or ∇f is not finite there"


def _sized(sizes: dict) -> str:
    dims = ", ".join(f"{k} = {v}" for k, v in sizes.items() if isinstance(k, str))
    return f"dimension(s) {dims}" if dims else "these sizes"


def instances(sol, seed: int = 0, count: int = 3, generic: bool = False, offset: int = 0):
    """(good, bad): up to `count` random instances (sizes, env) where f is defined at the solution,
    over several assignments of the sizes (some solutions are singular for some sizes only, e.g. a
    sample covariance from fewer observations than dimensions), and [(sizes, why)] where it is not."""
    from .numeric import choose_sizes

    rng = np.random.default_rng(seed + offset)
    exprs = [sol.f, *sol.gradients.values(), *(p.value for p in sol.pieces)]
    good, bad = [], []
    for attempt in range(4 * count):
        variant = attempt % 4
        sizes = choose_sizes(exprs, None, variant)
        got = _instance(sol, rng, sizes, generic=generic)
        if got is None:
            continue
        sizes, env = got
        why = _outside_domain(sol, env, sizes)
        if why is None:
            good.append((sizes, env))
        elif not any(b[0] == sizes for b in bad):
            bad.append((sizes, why))
        if len(good) >= count:
            break
    return good, bad


def domain_notes(bad, good) -> list:
    """Reasons for the instances where the solution lies outside f's domain."""
    if not bad:
        return []
    where = "; ".join(f"at {_sized(s)}: {why}" for s, why in bad[:3])
    if good:
        return [f"the solution is outside f's domain for some sizes ({where}); the test uses the sizes where "
                "it is defined"]
    return [f"the stationary point is outside f's domain on every random instance, at every size tried ({where}): f needs it "
            "invertible/finite, so ∇f = 0 has no solution where f is defined — no minimum or maximum "
            "(the supremum is approached at the boundary, e.g. a rank-deficient covariance from too few "
            "observations)"]


def _hessian(sol, env, sizes, h=1e-5):
    """The Hessian of f at env by central differences of the derived gradients, in an orthonormal basis."""
    from .numeric import evaluate

    grads = {n: sol.gradient_exprs[n] for n in sol.variables}
    coords = [(n, b) for n, x in sol.variables.items() for b in _basis(env[n].shape, x.symmetric)]
    H = np.zeros((len(coords), len(coords)))
    scale = max(1.0, max(float(np.max(np.abs(env[n]))) for n in sol.variables))
    step = h * scale
    for j, (n, b) in enumerate(coords):
        plus, minus = dict(env), dict(env)
        plus[n] = env[n] + step * b
        minus[n] = env[n] - step * b
        with np.errstate(all="ignore"):
            gp = {m: evaluate(g, plus, sizes) for m, g in grads.items()}
            gm = {m: evaluate(g, minus, sizes) for m, g in grads.items()}
        for i, (m, bi) in enumerate(coords):
            H[i, j] = np.sum(bi * (gp[m] - gm[m])) / (2 * step)
    return (H + H.T) / 2, coords


def _multipliers(H, coords, names) -> list:
    """Variables f is linear in (their Hessian block is 0): Lagrange multipliers."""
    tol = 1e-7 * max(1.0, float(np.max(np.abs(H))))
    out = []
    for n in names:
        idx = [i for i, (m, _) in enumerate(coords) if m == n]
        if len(idx) < len(coords) and np.max(np.abs(H[np.ix_(idx, idx)])) < tol:
            out.append(n)
    return out


def _kind_of(lam) -> str:
    tol = 1e-6 * max(1.0, float(np.max(np.abs(lam)))) if len(lam) else 1e-6
    if not len(lam):
        return "cannot tell"
    if lam.min() > tol:
        return "minimum"
    if lam.max() < -tol:
        return "maximum"
    if lam.min() < -tol and lam.max() > tol:
        return "saddle"
    return "cannot tell"


def _constraint_basis(H, coords, multipliers):
    """(xi, N): the coordinates of the other variables, and a basis N of the null space of the
    constraint's Jacobian (the multipliers' rows of H) — the directions that keep the constraint."""
    mi = [i for i, (n, _) in enumerate(coords) if n in multipliers]
    xi = [i for i, (n, _) in enumerate(coords) if n not in multipliers]
    J = H[np.ix_(mi, xi)]
    _, s, vt = np.linalg.svd(J)
    rank = int(np.sum(s > 1e-8 * max(1.0, s.max() if len(s) else 1.0)))
    return xi, vt[rank:].T


def _reduced(H, coords, multipliers):
    """The Hessian of the other variables on the constraint set: Nᵀ H_xx N."""
    xi, N = _constraint_basis(H, coords, multipliers)
    return N.T @ H[np.ix_(xi, xi)] @ N


def _kind_of_span(span) -> str:
    return _kind_of(np.array(span))


def evidence(sol, seed: int = 0, count: int = 3) -> Verdict:
    good, bad = instances(sol, seed, count, generic=True)
    notes = domain_notes(bad, good)
    if not good:
        if bad:
            return Verdict("no stationary point where f is defined", False, notes)
        return Verdict("cannot tell", False, ["no random instance where f is defined at the solution"])
    spans, kinds, reduced = [], set(), None
    for sizes, env in good:
        H, coords = _hessian(sol, env, sizes)
        mult = _multipliers(H, coords, list(sol.variables)) if len(sol.variables) > 1 else []
        if mult:
            reduced = mult
            H = _reduced(H, coords, mult)
        lam = np.linalg.eigvalsh(H) if H.size else np.zeros(0)
        spans.append([float(lam.min()), float(lam.max())] if len(lam) else [0.0, 0.0])
        kinds.add(_kind_of(lam))
    kind = kinds.pop() if len(kinds) == 1 else "cannot tell"
    desc = ", ".join(f"[{a:.3g}, {b:.3g}]" for a, b in spans)
    what = "the Hessian at the solution"
    reasons = []
    if reduced:
        names = ", ".join(reduced)
        reasons.append(f"f is linear in {names}: Lagrange multiplier(s) — the Lagrangian's stationary point is a "
                       f"saddle; the test is on the other variables restricted to the constraint")
        what = "the Hessian restricted to the constraint set"
    reasons.append(f"eigenvalues of {what} on {len(spans)} random instance(s) (square matrices sampled "
                   f"without structure) lie in {desc}")
    if kind == "cannot tell" and len({k for k in map(_kind_of_span, spans)}) > 1:
        reasons.append("the sign differs between instances: it depends on the data")
    return Verdict(kind, False, reasons + notes, [], spans, reduced or [])


def classify_solution(sol, positive=(), seed: int = 0) -> Verdict:
    """The symbolic proof for one variable where the rules apply, else the numeric evidence.
    A solution outside f's domain on every random instance (a singular X where f needs X⁻¹ or
    ln det X) is reported as such: no stationary point where f is defined."""
    from .second_order import second_order
    from .identify import substitute
    from .simplify import simplify

    sol.gradient_exprs = {n: simplify(g) for n, g in sol.gradients.items()}
    good, bad = instances(sol, seed, 2)
    if bad and not good:
        return Verdict("no stationary point where f is defined", False, domain_notes(bad, good))
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
                return Verdict(KIND[sign], True, reasons + domain_notes(bad, good), assumptions)
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


def _condition(sol, sizes, env) -> float:
    try:
        lam = np.abs(np.linalg.eigvalsh(_hessian(sol, env, sizes)[0]))
    except (np.linalg.LinAlgError, FloatingPointError, ValueError):
        return np.inf
    return float(lam.max() / lam.min()) if lam.min() > 0 else np.inf


def check_solution(sol, verdict: Verdict, seed: int = 0) -> dict:
    """∇f at the returned point on random data (≈ 0), and — for a minimum or maximum — a numerical
    optimiser (of f, of −f for a maximum) agrees with the closed form on the best-conditioned instance.

    The optimiser is secondary evidence: it is restarted from where it stopped, and when it still stops
    away from the closed form, it agrees if it found no better value of f there (a flat valley, not a
    better point); only a strictly better value contradicts the closed form."""
    from .numeric import evaluate

    rng = np.random.default_rng(seed + 1)
    good, bad = instances(sol, seed, 3, offset=1)
    if not good:
        return {"gradient_residual": None, "gradient_zero": False, "outside_domain": bool(bad),
                "domain": domain_notes(bad, good)}
    residuals = []
    for sizes, env in good:
        scale = 1.0
        with np.errstate(all="ignore"):
            for n, x in sol.variables.items():
                moved = dict(env)
                moved[n] = env[n] + rng.standard_normal(env[n].shape)
                try:
                    scale = max(scale, max(float(np.max(np.abs(evaluate(g, moved, sizes))))
                                           for g in sol.gradient_exprs.values()))
                except np.linalg.LinAlgError:
                    pass
            r = max(float(np.max(np.abs(evaluate(g, env, sizes)))) for g in sol.gradient_exprs.values())
        residuals.append(r / scale if np.isfinite(scale) else r)
    out = {"gradient_residual": max(residuals), "gradient_zero": max(residuals) < 1e-8}
    if verdict.kind in ("minimum", "maximum"):
        sizes, env = min(good, key=lambda g: _condition(sol, *g))
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

        if verdict.multipliers:  # the constrained problem: move only along the constraint set
            xi, N = _constraint_basis(_hessian(sol, env, sizes)[0], coords, verdict.multipliers)
            full, lift = x_star, np.zeros((len(coords), N.shape[1]))
            lift[xi] = N
            inner = fun

            def fun(z):
                return inner(full + lift @ z)

            x_star = np.zeros(N.shape[1])
        size = max(1.0, float(np.max(np.abs(x_star))))
        start = x_star + 0.1 * size * rng.standard_normal(len(x_star)) / 3
        found = start
        for _ in range(3):  # restarts: a fresh BFGS from where the last one stopped
            found = _minimise(fun, found)
            dist = float(np.max(np.abs(found - x_star)) / size)
            if dist < 1e-4:
                break
        f_star, f_found = fun(x_star), fun(found)
        better = f_star - f_found  # > 0: the optimiser found a better value than the closed form
        tol = 1e-8 * max(1.0, abs(f_star))
        out["optimiser_distance"] = dist
        out["optimiser_gain"] = float(better)
        out["optimiser_agrees"] = bool(dist < 1e-4 or better <= tol)
        if dist >= 1e-4 and better <= tol:
            out["optimiser_note"] = (f"the optimiser stopped at distance {dist:.1e} without a better value of f "
                                     f"({better:.1e}): a flat direction, not a better point")
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
    h = None
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
    for _ in range(5):
        try:  # data without structure: a matrix near I would make xᵀAx look convex
            sizes, env = sample_point([result.f, *grads.values()], rng, generic=True)
        except NoValidPoint:
            continue
        H, _ = _hessian(probe, env, sizes)
        lam = np.linalg.eigvalsh(H)
        spans.append([float(lam.min()), float(lam.max())])
        kinds.add(_kind_of(lam))
    if not spans:
        return Verdict("cannot tell", False, ["no random point where f is defined"])
    kind = kinds.pop() if len(kinds) == 1 else "cannot tell"
    desc = ", ".join(f"[{a:.3g}, {b:.3g}]" for a, b in spans)
    word = {"minimum": "H ≻ 0", "maximum": "H ≺ 0", "saddle": "H indefinite"}.get(kind, "no common sign")
    reasons = [f"eigenvalues of H at {len(spans)} random point(s) (square matrices sampled without structure) "
               f"lie in {desc}: {word} there"
               + (f" (a stationary point there would be a {kind})" if kind != "cannot tell" else "")]
    if h is not None:
        inside = {s.name for s in symbols_in(h) if not s.diff}
        data = sorted(inside - set(names))
        if data and not inside & set(names):
            hh = to_unicode(h)
            if kind in ("saddle", "cannot tell"):
                kind = "cannot tell"
            reasons.insert(0, f"H = {hh} does not depend on {names[0]} but on {', '.join(data)}: a minimum iff "
                              f"{hh} ≻ 0, a maximum iff {hh} ≺ 0, a saddle if indefinite — it depends on "
                              f"{', '.join(data)}")
    return Verdict(kind, False, reasons, [], spans)
