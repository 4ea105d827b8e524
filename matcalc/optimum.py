"""From gradient to answer: solve ∇f = 0 in closed form, then the second-order test.

The stationarity condition is read with the same machinery that reads a gradient:
∇f is affine in X exactly when d(∇f) no longer contains X, and then
∇f = L(X) + C with C = ∇f at X = 0 and L read off d(∇f) by the forward `coefficient`
(vectors: A dx ⇒ x = −A⁻¹C), as one product A dX B (⇒ X = −A⁻¹ C B⁻¹), or in general by
the Kronecker coefficient (vec X = −(Σ Bₖᵀ ⊗ Aₖ)⁻¹ vec C, the Sylvester form). When ∇f
holds X⁻¹, multiplying through by X (left, right or both) is tried first — the
substitution that turns the Gaussian's −n/2 Σ⁻¹ + ½ Σ⁻¹ M Σ⁻¹ = 0 into −n/2 Σ + ½ M = 0.
Several variables are eliminated one at a time (block Gaussian elimination): the
solution of one equation is substituted into the others. Every answer is checked by
numbers: ∇f at the returned point on random data, and a numerical minimiser.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd

from . import expr as E
from .api import derive, prepare
from .decls import Decls, split_names
from .differential import d
from .errors import DerivationError
from .identify import coefficient, substitute, vec_coefficient
from .display import display
from .printing.text import latex_aligned, latex_display, latex_lhs, latex_name, to_latex, to_text, to_unicode
from .simplify import constants_outside_sums, expanded, simplify
from .walk import distinct_nodes, symbols_in


class NotSolvable(DerivationError):
    """∇f = 0 has no closed form this module can derive (the message says why)."""


class NoSolution(NotSolvable):
    """∇f = 0 is an inconsistent system: f has no stationary point at all."""


@dataclass
class Piece:
    """How one variable was solved: the equation, the method, and the value."""

    variable: E.Symbol
    equation: E.Expr  # the affine equation solved, = 0
    method: str
    value: E.Expr  # X, or vec X when `vec`
    vec: bool = False
    assumptions: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # e.g. the part of the variable the system leaves free
    free: E.Expr | None = None  # a generic element of that free part (S = Sᵀ, or S − Sᵀ), or None


@dataclass
class Solution:
    """The stationary point of f, how it was found, the second-order verdict and the numeric checks."""

    source: str
    f: E.Expr
    variables: dict
    gradients: dict  # name → ∇f (as derived)
    pieces: list  # [Piece], in the order solved
    notes: list = field(default_factory=list)
    verdict: object = None  # classify.Verdict
    checks: dict = field(default_factory=dict)
    gradient_exprs: dict = field(default_factory=dict)  # name → ∇f, simplified, for the numbers

    @property
    def values(self) -> dict:
        return {p.variable.name: p.value for p in self.pieces}

    def __getitem__(self, name):
        return self.values[name]

    @property
    def assumptions(self) -> list:
        out = []
        for p in self.pieces:
            out += [a for a in p.assumptions if a not in out]
        return out

    def lines(self, fmt: str = "unicode") -> list:
        show = to_text if fmt == "text" else to_unicode
        out = []
        for name, g in self.gradients.items():
            out.append(f"∇_{name} f = {show(g)}" if fmt != "text" else f"grad_{name} f = {show(g)}")
        for p in self.pieces:
            lhs = f"vec {p.variable.name}" if p.vec else p.variable.name
            out.append(f"{show(p.equation)} = 0  [{p.method}]")
            out.append(f"{lhs} = {show(p.value)}")
            out += [f"  {n}" for n in p.notes]
        if self.assumptions:
            out.append("assuming " + "; ".join(self.assumptions))
        if self.verdict is not None:
            out += self.verdict.lines(fmt)
        return out

    def at(self, values: dict) -> dict:
        """The numeric optimum: each solved variable evaluated at `values` (name → number, array or the
        text the numeric module reads, '[1,2]', '1/2'). Every other name in the solution needs a value."""
        import numpy as np

        from .errors import DeclarationError, DomainError
        from .numeric import _as2d, bind_dims, complete_values, evaluate, given_point, parse_value

        env = {k: _as2d(parse_value(v) if isinstance(v, str) else v) for k, v in values.items()}
        needed = sorted({n for p in self.pieces for n in _free(p.value)})
        env = complete_values(env, needed)
        unknown = [n for n in env if n not in needed and n not in _free(self.f)]
        if unknown:
            raise DeclarationError(f"at= gives {', '.join(unknown)}, which is not in the expression")
        dims = bind_dims([self.f, *(p.value for p in self.pieces)], env)
        out = {}
        for p in self.pieces:
            with np.errstate(all="ignore"):
                try:
                    v = evaluate(p.value, env, dims)
                except np.linalg.LinAlgError:
                    raise DomainError(f"at these values the solution for {p.variable.name} needs the inverse of "
                                           "a singular matrix: " + "; ".join(p.assumptions or ["see the formula"])
                                           ) from None
            if not np.all(np.isfinite(v)):
                raise DomainError(f"at these values the solution for {p.variable.name} is not finite "
                                       f"({'; '.join(p.assumptions) or 'a division by zero'})")
            if p.vec:
                x = p.variable
                r = dims.get(x.nrows, x.nrows) if not isinstance(x.nrows, int) else x.nrows
                v = v.reshape((r, -1), order="F")
            out[p.variable.name] = v
        point = {**env, **{k: _as2d(v) for k, v in out.items()}}
        if set(_free(self.f)) <= set(point):  # f itself at the solution: S = M/n with M = 0 is no point of ln det S
            with given_point("at these values the solution"):
                value = evaluate(self.f, point, bind_dims([self.f], point))
            if not np.all(np.isfinite(value)):
                raise DomainError("at these values the solution is outside the domain of f (f is not finite there: "
                                  "a log of a number ≤ 0, a singular matrix)")
        return out

    def format(self, fmt: str = "unicode") -> str:
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        if fmt == "latex":
            return self._latex()
        return "\n".join(self.lines("text" if fmt == "text" else "unicode"))

    def _latex(self) -> str:
        """One aligned block: the gradients, each equation ∇f = 0 with its method, the
        solution, and the notes, assumptions and second-order verdict as text lines."""
        rows = [(latex_lhs("gradient", name), to_latex(g)) for name, g in self.gradients.items()]
        for p in self.pieces:
            name = latex_name(p.variable.name)
            rows.append((to_latex(p.equation), "0", f"[{p.method}]"))
            rows.append((f"\\operatorname{{vec}} {name}" if p.vec else name, to_latex(p.value)))
            rows += [("", None, n) for n in p.notes]
        if self.assumptions:
            rows.append(("", None, "assuming " + "; ".join(self.assumptions)))
        if self.verdict is not None:
            rows += [("", None, line.strip()) for line in self.verdict.lines("unicode")]
        return latex_aligned(rows)

    def _repr_latex_(self):
        return latex_display(self._latex())

    def __str__(self):
        return self.format("text")

    def __repr__(self):
        return f"<matcalc.Solution of {self.source!r}>\n{self.format('unicode')}"

    def to_json(self):
        return {
            "expr": self.source, "wrt": list(self.variables),
            "gradients": {k: to_text(g) for k, g in self.gradients.items()},
            "solution": [{"wrt": p.variable.name, "vec": p.vec, "result": to_text(p.value),
                          "unicode": to_unicode(p.value), "latex": to_latex(p.value),
                          "equation": to_text(p.equation), "method": p.method,
                          "assumptions": p.assumptions, "notes": p.notes} for p in self.pieces],
            "assumptions": self.assumptions,
            "second_order": self.verdict.to_json() if self.verdict is not None else None,
            "checks": self.checks, "notes": self.notes,
        }


# ---------------------------------------------------------------- reading an affine equation


def _free(e: E.Expr) -> set:
    """Names of the (non-differential) symbols in e."""
    return {s.name for s in symbols_in(e) if not s.diff}


NONLINEAR = (E.Func, E.Inverse, E.Det, E.Power, E.Softmax)


def nonlinear_part(g: E.Expr, name: str):
    """The outermost sub-expression of g that is not affine in `name` (for the message), or None."""
    if name not in _free(g):
        return None
    if isinstance(g, NONLINEAR):
        return g
    if isinstance(g, (E.MatMul, E.Hadamard, E.Kron)):
        inside = [a for a in g.args if name in _free(a)]
        if len(inside) > 1:
            return g
    for a in g.args:
        got = nonlinear_part(a, name)
        if got is not None:
            return got
    return None


def _affine_differential(h: E.Expr, x: E.Symbol):
    """d(h) wrt x when h is affine in x (d(h) is then free of x), else None."""
    dh = simplify(d(h, {x.name: x}))
    return None if x.name in _free(dh) else dh


def _common_factor(e: E.Expr):
    """(c, e / c): the number that divides every term (2 X^T X + 2 λ I → 2, X^T X + λ I)."""
    terms = e.terms if isinstance(e, E.Add) else (e,)
    parts = [E._split_coeff(t) for t in terms]
    coeffs = [Fraction(c) for c, _ in parts]
    if any(c == 0 for c in coeffs) or not all(isinstance(c, Fraction) for c in coeffs):
        return Fraction(1), e
    num = 0
    den = 1
    for c in coeffs:
        num = gcd(num, c.numerator)
        den = den * c.denominator // gcd(den, c.denominator)
    c = Fraction(num, den) * (1 if coeffs[0] > 0 else -1)
    if c == 0:
        return Fraction(1), e
    return c, E.add(*(E.scale(ci / c, rest) for ci, rest in parts))


def _factored(e: E.Expr) -> E.Expr:
    """1/2 Aᵀ + 1/2 A shown as 1/2 (A + Aᵀ): a common number taken out of a sum, for display."""
    c, rest = _common_factor(e)
    if c in (1, -1) or not isinstance(rest, E.Add):
        return e
    return E.MatMul(Fraction(c), (rest,))


def _clean(e: E.Expr) -> E.Expr:
    return display(simplify(e))


def _invert(a: E.Expr, positive=()):
    """(a⁻¹, assumptions): scalar factors come out as 1/s (s ≠ 0), s I inverts to I / s. A matrix the
    second-order rules prove definite is invertible under the proof's assumptions only (XᵀX + λI
    needs λ > 0, not a rank condition; XᵀX needs X of full column rank)."""
    if isinstance(a, E.Identity):
        return a, []
    if isinstance(a, E.MatMul) and a.chain and (a.coeff != 1 or a.scalars):
        scal = a.scalars
        core = a.chain[0] if len(a.chain) == 1 else E.MatMul(Fraction(1), a.chain)
        inv_core, notes = _invert(core, positive)
        parts = [E.Const(Fraction(1) / Fraction(a.coeff))]
        if scal:
            s = E.mul(*scal)
            parts.append(E.power(s, -1))
            notes = [f"{to_unicode(s)} ≠ 0"] + notes
        return E.mul(*parts, inv_core), notes
    if isinstance(a, E.Inverse):
        return a.arg, []
    from .classify import prove

    sign, _, assumptions = prove(a, positive)
    if sign in ("pd", "nd"):
        return E.inv(a), assumptions
    return E.inv(a), [f"{to_unicode(_clean(a))} is invertible"]


def _solve_scalar(h, dh, x, C):
    a = simplify(substitute(dh, {x.differential(): E.Const(1)}))
    ca, a1 = _common_factor(a)
    cc, c1 = _common_factor(C)
    value = E.scale(-cc / ca, E.mul(c1, E.power(a1, -1)))
    return value, "affine in a scalar: a x + c = 0 ⇒ x = −c / a", [f"{to_unicode(a1)} ≠ 0"]


def _solve_vector(h, dh, x, C, positive=()):
    A = simplify(coefficient(dh, x))
    ca, a1 = _common_factor(A)
    cc, c1 = _common_factor(C)
    if not a1.is_scalar:
        _check_invertible([a1], x)
    inv_a, assumptions = _invert(a1, positive)
    value = E.scale(-cc / ca, E.mul(inv_a, c1))
    return value, "affine: A x + c = 0 ⇒ x = −A⁻¹ c", assumptions


def _one_product_terms(dh, x):
    """[(scalar, L, R)] with dh = Σ scalar · L dX R, or None when dX appears otherwise (dXᵀ, ⊙, …)."""
    out = []
    for t in dh.terms if isinstance(dh, E.Add) else (dh,):
        if isinstance(t, E.Symbol) and t.diff:
            out.append((E.Const(1), None, None))
            continue
        if not isinstance(t, E.MatMul):
            return None
        idx = [i for i, f in enumerate(t.chain) if isinstance(f, E.Symbol) and f.diff]
        if len(idx) != 1:
            return None
        j = idx[0]
        scal = E.mul(E.Const(t.coeff), *t.scalars)
        left = E.mul(*t.chain[:j]) if j else None
        right = E.mul(*t.chain[j + 1:]) if j + 1 < len(t.chain) else None
        out.append((scal, left, right))
    return out


def _zero(e: E.Expr) -> bool:
    e = simplify(e)
    return isinstance(e, E.Zero) or (isinstance(e, E.Const) and e.value == 0)


def _transpose_terms(dh, x):
    """(a, b) with dh = a dX + b dXᵀ (a, b scalars), or None."""
    a, b = [], []
    for t in dh.terms if isinstance(dh, E.Add) else (dh,):
        scal, core = E.Const(1), t
        if isinstance(t, E.MatMul):
            if len(t.chain) != 1:
                return None
            scal, core = E.mul(E.Const(t.coeff), *t.scalars), t.chain[0]
        if isinstance(core, E.Symbol) and core.diff:
            a.append(scal)
        elif isinstance(core, E.Transpose) and isinstance(core.arg, E.Symbol) and core.arg.diff:
            b.append(scal)
        else:
            return None
    return simplify(E.add(*a)) if a else E.Const(0), simplify(E.add(*b)) if b else E.Const(0)


def _solve_transpose_form(dh, x, C):
    """a X + b Xᵀ + C = 0. The operator is a I + b K: on symmetric matrices a + b, on skew ones a − b.
    a² ≠ b²: X = (b Cᵀ − a C) / (a² − b²). a = −b: only X − Xᵀ is determined — X = −C / (2a) plus any
    symmetric matrix, consistent only when C is skew; a = b: the same with the roles swapped.
    Returns (value, method, assumptions, notes) or None when dh is not of this form."""
    if x.rows != x.cols:
        return None
    ab = _transpose_terms(dh, x)
    if ab is None or _zero(ab[1]):
        return None
    a, b = ab
    q = to_unicode(x)
    for opposite, kind, free, need in ((True, "X − Xᵀ", "symmetric", "skew"),
                                       (False, "X + Xᵀ", "skew-symmetric", "symmetric")):
        if not _zero(E.add(a, b) if opposite else E.sub(a, b)):
            continue
        parity = E.add(C, E.transpose(C)) if opposite else E.sub(C, E.transpose(C))
        kind = kind.replace("X", q)
        if not _zero(parity) and not _numerically_zero(parity):
            raise NoSolution(f"∇f = 0 reads {to_unicode(_clean(E.add(E.mul(a, x), E.mul(b, E.transpose(x)), C)))} = 0: "
                             f"it determines only {kind}, and it is inconsistent ({to_unicode(_clean(C))} is not "
                             f"{need}): ∇f = 0 has no solution for {q}, so f has no stationary point "
                             "(it is unbounded or its optimum is not attained)")
        value = E.mul(E.Const(Fraction(-1, 2)), E.power(a, -1), C) if not isinstance(a, E.Const) \
            else E.scale(Fraction(-1, 2) / Fraction(a.value), C)
        method = (f"a ({kind}) + C = 0, a singular operator ({kind} vanishes on {free} matrices): "
                  f"the least-norm solution {q} = −C / (2a)")
        notes = [f"{q} is determined only up to its {free} part: {q} + S with any {free} S solves too "
                 f"(the {need} part is {q} = {to_unicode(_clean(value))})"]
        S = E.Symbol(x.name + "_free", x.rows, x.cols, symmetric=opposite)
        free = S if opposite else E.sub(S, E.transpose(S))
        return value, method, ([] if isinstance(a, E.Const) else [f"{to_unicode(a)} ≠ 0"]), notes, free
    denom = simplify(E.sub(E.mul(a, a), E.mul(b, b)))
    num = E.sub(E.mul(b, E.transpose(C)), E.mul(a, C))
    value = E.mul(num, E.power(denom, -1)) if not isinstance(denom, E.Const) else E.scale(
        Fraction(1) / Fraction(denom.value), num)
    assumptions = [] if isinstance(denom, E.Const) else [f"{to_unicode(denom)} ≠ 0"]
    return (value, "a X + b Xᵀ + C = 0, transposed and eliminated: X = (b Cᵀ − a C) / (a² − b²)", assumptions, [],
            None)


def _numerically_zero(e: E.Expr, seed: int = 0) -> bool:
    """e ≈ 0 on random data at two assignments of the sizes (for what simplify cannot decide)."""
    import numpy as np

    from .numeric import NoValidPoint, choose_sizes, evaluate, sample_valid_point

    rng = np.random.default_rng(seed)
    seen = 0
    for variant in range(3):
        sizes = choose_sizes([e], None, variant)
        try:
            env = sample_valid_point([e], sizes, rng, tries=10)
            v = evaluate(e, env, sizes)
        except (NoValidPoint, np.linalg.LinAlgError):
            continue
        if np.max(np.abs(v)) > 1e-9 * max(1.0, max(float(np.max(np.abs(env[k]))) for k in env)):
            return False
        seen += 1
    return seen > 0


def never_invertible(m: E.Expr, seed: int = 0):
    """'rank r of N' when the square matrix expression m is singular on random data at every size
    tried (K − I, e eᵀ, …): then "m is invertible" cannot be assumed. None when it is invertible
    somewhere (or cannot be evaluated)."""
    import numpy as np

    from .numeric import NoValidPoint, choose_sizes, evaluate, sample_valid_point

    rng = np.random.default_rng(seed)
    ranks = []
    for variant in range(3):
        sizes = choose_sizes([m], None, variant)
        try:
            env = sample_valid_point([m], sizes, rng, tries=10)
            with np.errstate(all="ignore"):
                v = evaluate(m, env, sizes)
        except (NoValidPoint, np.linalg.LinAlgError):
            continue
        if v.ndim != 2 or v.shape[0] != v.shape[1] or not np.all(np.isfinite(v)):
            return None
        r = int(np.linalg.matrix_rank(v))
        if r == v.shape[0]:
            return None
        ranks.append(f"rank {r} of {v.shape[0]}")
    return ", ".join(ranks) if ranks else None


def _check_invertible(matrices, x):
    """NotSolvable when a matrix the solution inverts is singular at every random size."""
    for m in matrices:
        got = never_invertible(m)
        if got is not None:
            raise NotSolvable(f"the linear system for {to_unicode(x)} is singular: {to_unicode(_clean(m))} is never "
                              f"invertible (on random data: {got}), so ∇f = 0 does not determine {to_unicode(x)} "
                              f"uniquely; no closed form here")


def _solve_matrix(h, dh, x, C, positive=()):
    form = _solve_transpose_form(dh, x, C)
    if form is not None:
        value, method, assumptions, notes, free = form
        return value, method, assumptions, False, (notes, free)
    terms = _one_product_terms(dh, x)
    if terms is not None:
        keys_r = {(r.key if r is not None else None) for _, _, r in terms}
        keys_l = {(l.key if l is not None else None) for _, l, _ in terms}
        A = B = None
        if len(keys_r) == 1:
            A = E.add(*(E.mul(s, l if l is not None else E.Identity(x.rows)) for s, l, _ in terms))
            B = terms[0][2]
        elif len(keys_l) == 1:
            A = terms[0][1]
            B = E.add(*(E.mul(s, r if r is not None else E.Identity(x.cols)) for s, _, r in terms))
        if A is not None or B is not None:
            A = simplify(A) if A is not None else None
            B = simplify(B) if B is not None else None
            ca, a1 = _common_factor(A) if A is not None else (Fraction(1), None)
            cb, b1 = _common_factor(B) if B is not None else (Fraction(1), None)
            cc, c1 = _common_factor(C)
            parts, assumptions = [], []
            _check_invertible([m for m in (a1, b1) if m is not None and not m.is_scalar], x)
            for m in (a1, c1, b1):
                if m is None:
                    continue
                if m is c1:
                    parts.append(c1)
                    continue
                inv_m, notes = _invert(m, positive)
                parts.append(inv_m)
                assumptions += notes
            value = E.scale(-cc / (ca * cb), E.mul(*parts))
            return value, "one term: A X B + C = 0 ⇒ X = −A⁻¹ C B⁻¹", assumptions, False, ([], None)
    J = simplify(vec_coefficient(dh, x))
    _check_invertible([J], x)
    value = E.mul(E.Const(-1), E.inv(J), E.vec(C))
    return (value, "several terms (Sylvester form Σ Aₖ X Bₖ + C = 0): vec X = −(Σ Bₖᵀ ⊗ Aₖ)⁻¹ vec C",
            [f"{to_unicode(_clean(J))} is invertible"], True, ([], None))


def _candidates(g: E.Expr, x: E.Symbol):
    """∇f itself, and — when it holds X⁻¹ — ∇f multiplied through by X (X invertible on the domain)."""
    yield g, "∇f = 0"
    has_inverse = any(isinstance(n, E.Inverse) and x.name in _free(n) for n in distinct_nodes(g))
    if has_inverse and x.rows == x.cols and x.rows != 1:
        yield E.mul(x, g, x), f"multiply through by {x.name} on both sides"
        yield E.mul(x, g), f"multiply through by {x.name} on the left"
        yield E.mul(g, x), f"multiply through by {x.name} on the right"


def solve_one(g: E.Expr, x: E.Symbol, positive=()) -> Piece:
    """Solve g(x) = 0 for x when g (or g multiplied through by x) is affine in x."""
    for h, how in _candidates(g, x):
        h = expanded(h)
        dh = _affine_differential(h, x)
        if dh is None:
            continue
        if not x.name in _free(h) and isinstance(dh, E.Zero):
            continue
        C = simplify(substitute(h, {x: E.Zero(*x.shape)}))
        vec, notes, free = False, [], None
        if x.is_scalar:
            value, method, assumptions = _solve_scalar(h, dh, x, C)
        elif x.cols == 1:
            value, method, assumptions = _solve_vector(h, dh, x, C, positive)
        else:
            value, method, assumptions, vec, (notes, free) = _solve_matrix(h, dh, x, C, positive)
        if how != "∇f = 0":
            method = f"{how}; {method}"
            assumptions = [f"{x.name} is invertible"] + assumptions
        return Piece(x, _clean(h), method, _factored(_clean(value)), vec, assumptions, notes, free)
    if x.name not in _free(g):
        raise NotSolvable(f"∇f does not depend on {x.name}: ∇f = 0 is a condition on the data, "
                          f"not an equation for {x.name}")
    bad = nonlinear_part(g, x.name)
    raise NotSolvable(f"∇f is not affine in {x.name}: {to_text(bad) if bad is not None else to_text(g)}")


def solve_system(gradients: dict, variables: dict, positive=()) -> list:
    """Eliminate the variables one at a time; back-substitute. Returns [Piece] with final values."""
    eqs = dict(gradients)
    remaining = list(variables)
    solved: list = []
    while remaining:
        reasons = {}
        for name in remaining:
            try:
                piece = solve_one(eqs[name], variables[name], positive)
            except NoSolution:
                raise
            except NotSolvable as err:
                reasons[name] = str(err)
                continue
            others = [n for n in remaining if n != name]
            if piece.vec and others:
                reasons[name] = f"{name} has only a vec (Kronecker) solution, which cannot be substituted"
                continue
            break
        else:
            if len(variables) == 1:
                raise NotSolvable(next(iter(reasons.values())) + "; no closed form: use gradient descent")
            detail = "; ".join(f"for {n}: {r}" for n, r in reasons.items())
            raise NotSolvable(f"the joint system has no closed form here ({detail}); use gradient descent")
        solved.append(piece)
        remaining.remove(name)
        for n in remaining:
            eqs[n] = simplify(substitute(eqs[n], {variables[name]: piece.value}))
    # back-substitution: a value may mention variables solved after it
    for i in range(len(solved) - 1, -1, -1):
        later = {p.variable: p.value for p in solved[i + 1:] if not p.vec}
        for p in solved[i + 1:]:  # does this value depend on the part a later variable leaves free?
            if p.free is not None and p.variable.name in _free(solved[i].value):
                moved = substitute(solved[i].value, {p.variable: E.add(p.variable, p.free)})
                gap = E.sub(moved, solved[i].value)
                if not _zero(gap) and not _numerically_zero(gap):
                    solved[i].notes.append(f"{to_unicode(solved[i].variable)} depends on the free part of "
                                           f"{to_unicode(p.variable)}: shown for the least-norm "
                                           f"{to_unicode(p.variable)}")
                else:
                    solved[i].notes.append(f"{to_unicode(solved[i].variable)} does not depend on the free part of "
                                           f"{to_unicode(p.variable)}: it is unique")
        if later:
            solved[i].value = _factored(_clean(substitute(solved[i].value, later)))
    return solved


def stationary(expr: str, wrt=None, decls: Decls | None = None, positive=(), **kw) -> Solution:
    """The stationary point(s) of a scalar `expr` in closed form, without the numeric checks."""
    f, variables, notes = prepare(expr, wrt, decls, kw)
    if not f.is_scalar:
        raise DerivationError(f"solve needs a scalar f, but `{expr}` is {E.fmt_shape(f.shape)}")
    result = derive(f, variables, expr)
    notes = notes + result.notes
    gradients = {dv.name: constants_outside_sums(dv.expr) for dv in result.derivatives}
    for name, x in variables.items():
        if x.symmetric:
            notes.append(f"{name} = {name}ᵀ: the stationarity condition is sym(∇f) = 0 — the Lagrangian "
                         f"tr(Λᵀ({name} − {name}ᵀ)) gives the same once Λ is eliminated by adding the "
                         "transposed equation")
    pieces = solve_system(gradients, variables, set(positive or ()))
    return Solution(expr, f, variables, {k: display(g) for k, g in gradients.items()}, pieces, notes)


def gd_step(expr: str, wrt=None, decls: Decls | None = None, rate: str = "γ", **kw) -> list:
    """The gradient-descent step in matrix form, w ← w − γ ∇f(w), with ∇f written out."""
    f, variables, _ = prepare(expr, wrt, decls, kw)
    result = derive(f, variables, expr)
    out = []
    for dv in result.derivatives:
        x = dv.name
        out.append(f"{x} ← {x} − {rate} ({to_unicode(dv.expr)})")
    return out


def solve(expr: str, wrt=None, decls: Decls | None = None, positive=None, check: bool = True,
          seed: int = 0, **kw) -> Solution:
    """Solve ∇f = 0 in closed form, classify the point (minimum / maximum / saddle / cannot tell),
    and verify by numbers: ∇f ≈ 0 at the returned point, and a numerical optimiser agrees."""
    from .classify import classify_solution

    import numpy as np

    pos = set(split_names([positive] if isinstance(positive, str) else (positive or [])))
    sol = stationary(expr, wrt, decls, positive=pos, **kw)
    try:
        sol.verdict = classify_solution(sol, pos, seed=seed)
        if check:
            from .classify import check_solution

            sol.checks = check_solution(sol, sol.verdict, seed=seed)
    except (np.linalg.LinAlgError, FloatingPointError, OverflowError, ZeroDivisionError) as err:
        raise DerivationError(f"a numerical failure while testing the solution of `{expr}` "
                              f"({type(err).__name__}: {err}); the closed form above is unverified") from None
    return sol
