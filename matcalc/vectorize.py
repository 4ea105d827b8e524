"""The matrix form of sums over observations: Σ_i f(x_i, y_i) → an expression in X and y.

`stack(e)` writes an expression e_i of the index i as the matrix whose row i is e_iᵀ
(n×p for a vector e_i, n×1 for a scalar): stack(x_i) = X, stack(y_i) = y,
stack(x_iᵀ w) = X w, stack(f(s_i)) = f(stack(s)). A sum is then read off by one of
the named rules below (Σ_i x_i x_iᵀ = XᵀX, Σ_i s_i u_i = Uᵀ s, Σ_i s_i = 1ᵀ s, …).
Where no rule applies the Σ is left as it is. Every rule's docstring is its identity.
"""
from __future__ import annotations

from . import expr as E
from .walk import map_bottom_up


class _NoForm(Exception):
    """No stacked form for this expression."""


def _ones(n) -> E.Expr:
    return E.Ones(n, 1)


def stack(e: E.Expr, i: str, n) -> E.Expr:
    """S with row k of S = e_kᵀ (the observations of e stacked as rows)."""
    if i not in e.indices:
        if e.is_scalar:
            return E.mul(e, _ones(n))
        if e.cols == 1:
            return E.mul(_ones(n), E.transpose(e))
        raise _NoForm
    if isinstance(e, E.Indexed) and e.index == i:
        return e.data
    if isinstance(e, E.Add):
        return E.add(*(stack(t, i, n) for t in e.terms))
    if isinstance(e, E.Func):
        return E.func(e.name, stack(e.arg, i, n))
    if isinstance(e, E.Power) and e.base.is_scalar:
        return E.power(stack(e.base, i, n), e.exponent)
    if isinstance(e, E.Hadamard):
        return E.hadamard(*(stack(f, i, n) for f in e.factors))
    if isinstance(e, E.MatMul):
        return _stack_product(e, i, n)
    raise _NoForm


def _stack_product(e: E.MatMul, i, n) -> E.Expr:
    scalars = [stack(s, i, n) for s in e.scalars if i in s.indices]
    free = [s for s in e.scalars if i not in s.indices]
    coeff = E.mul(E.Const(e.coeff), *free)
    chain = list(e.chain)
    weight = E.hadamard(*scalars) if scalars else None
    if not chain:
        core = weight if weight is not None else E.mul(E.Const(1), _ones(n))
        return E.mul(coeff, core)
    dep = [k for k, f in enumerate(chain) if i in f.indices]
    if e.is_scalar:  # a row … column chain: uᵀ M v
        if len(dep) == 1 and dep[0] == 0 and isinstance(chain[0], E.Transpose):
            core = E.mul(stack(chain[0].arg, i, n), *chain[1:])  # stack(u_iᵀ M) = U M
        elif len(dep) == 1 and dep[0] == len(chain) - 1:
            core = E.mul(stack(chain[-1], i, n), E.transpose(E.mul(*chain[:-1])))  # V (aᵀM)ᵀ
        elif dep == [0, len(chain) - 1] and isinstance(chain[0], E.Transpose):
            middle = chain[1:-1]
            core = E.diag_part(E.mul(stack(chain[0].arg, i, n), *middle,
                                     E.transpose(stack(chain[-1], i, n))))
        else:
            raise _NoForm
    elif e.cols == 1:  # a column: M v_i
        if dep != [len(chain) - 1]:
            raise _NoForm
        core = E.mul(stack(chain[-1], i, n), E.transpose(E.mul(*chain[:-1]))) if len(chain) > 1 \
            else stack(chain[-1], i, n)
        if weight is not None:
            return E.mul(coeff, E.diag(weight), core)
        return E.mul(coeff, core)
    else:
        raise _NoForm
    if weight is not None:
        core = E.hadamard(weight, core)
    return E.mul(coeff, core)


# ---------------------------------------------------------------- the sums


def _split_free(e: E.MatMul, i):
    """c, the scalar factors with i, the chain split as (left free, middle, right free)."""
    chain = list(e.chain)
    dep = [k for k, f in enumerate(chain) if i in f.indices]
    lo, hi = (dep[0], dep[-1] + 1) if dep else (len(chain), len(chain))
    free_scalars = [s for s in e.scalars if i not in s.indices]
    dep_scalars = [s for s in e.scalars if i in s.indices]
    return E.mul(E.Const(e.coeff), *free_scalars), dep_scalars, chain[:lo], chain[lo:hi], chain[hi:]


def sum_linear(s: E.SumOver):
    """Σ_i (A_i + B_i) = Σ_i A_i + Σ_i B_i; Σ_i P A_i Q = P (Σ_i A_i) Q for P, Q without i"""
    b = s.body
    if isinstance(b, E.Add):
        return E.add(*(matrix_form_of_sum(E.sum_over(s.index, s.n, t)) for t in b.terms))
    if isinstance(b, E.MatMul):
        c, dep_scalars, left, middle, right = _split_free(b, s.index)
        if (left or right or not (isinstance(c, E.Const) and c.value == 1)) and (middle or dep_scalars):
            inner = E.sum_over(s.index, s.n, E.mul(*dep_scalars, *middle))
            if isinstance(inner, E.SumOver) and inner != s:
                return E.mul(c, *left, matrix_form_of_sum(inner), *right)
    return None


def sum_outer(s: E.SumOver):
    """Σ_i w_i u_i v_iᵀ = Uᵀ diag(w) V (Σ_i x_i x_iᵀ = XᵀX)"""
    b = s.body
    factors = b.factors if isinstance(b, E.MatMul) else (b,)
    coeff = b.coeff if isinstance(b, E.MatMul) else 1
    chain = [f for f in factors if not f.is_scalar]
    scalars = [f for f in factors if f.is_scalar]
    if len(chain) != 2 or chain[0].cols != 1 or chain[1].rows != 1:
        return None
    u, v = chain[0], E.transpose(chain[1])
    U, V = stack(u, s.index, s.n), stack(v, s.index, s.n)
    if scalars:
        return E.scale(coeff, E.mul(E.transpose(U), E.diag(stack(E.mul(*scalars), s.index, s.n)), V))
    return E.scale(coeff, E.mul(E.transpose(U), V))


def sum_square(s: E.SumOver):
    """Σ_i s_i² = sᵀs (Σ_i (y_i - x_iᵀw)² = (y - Xw)ᵀ(y - Xw))"""
    b = s.body
    if isinstance(b, E.Power) and b.base.is_scalar and b.exponent == 2:
        v = stack(b.base, s.index, s.n)
        return E.mul(E.transpose(v), v)
    return None


def sum_weighted(s: E.SumOver):
    """Σ_i s_i u_i = Uᵀ s (Σ_i y_i x_i = Xᵀy, Σ_i f(x_iᵀw) x_i = Xᵀ f(Xw), Σ_i x_i = Xᵀ1)"""
    b = s.body
    if b.cols != 1 or b.is_scalar:
        return None
    factors = b.factors if isinstance(b, E.MatMul) else (b,)
    coeff = b.coeff if isinstance(b, E.MatMul) else 1
    chain = [f for f in factors if not f.is_scalar]
    scalars = [f for f in factors if f.is_scalar]
    if len(chain) != 1:
        return None
    U = stack(chain[0], s.index, s.n)
    w = stack(E.mul(*scalars), s.index, s.n) if scalars else _ones(s.n)
    return E.scale(coeff, E.mul(E.transpose(U), w))


def sum_row(s: E.SumOver):
    """Σ_i v_iᵀ = (Σ_i v_i)ᵀ"""
    if s.body.rows == 1 and not s.body.is_scalar:
        inner = E.sum_over(s.index, s.n, E.transpose(s.body))
        got = matrix_form_of_sum(inner)
        return E.transpose(got) if got != inner else None
    return None


def sum_scalar(s: E.SumOver):
    """Σ_i s_i = 1ᵀ s"""
    if not s.body.is_scalar:
        return None
    return E.mul(E.transpose(_ones(s.n)), stack(s.body, s.index, s.n))


RULES = (sum_linear, sum_outer, sum_square, sum_weighted, sum_row, sum_scalar)


def matrix_form_of_sum(s: E.Expr) -> E.Expr:
    """The first rule that applies, else the sum unchanged."""
    if not isinstance(s, E.SumOver) or s.is_count or s.indices:
        return s
    for rule in RULES:
        try:
            got = rule(s)
        except _NoForm:
            continue
        if got is not None:
            return got
    return s


def has_sums(e: E.Expr) -> bool:
    stack_ = [e]
    while stack_:
        n = stack_.pop()
        if isinstance(n, E.SumOver) and not n.is_count:
            return True
        stack_.extend(n.args)
    return False


def matrix_form(e: E.Expr) -> E.Expr:
    """e with every Σ_i that a rule covers written in X, y (innermost sums first)."""
    from .simplify import simplify

    return simplify(map_bottom_up(e, matrix_form_of_sum))


def checked_matrix_form(e: E.Expr, points: int = 2):
    """The matrix form of e if it has sums a rule covers, checked equal to e at random
    points (never shown unchecked); else None."""
    if not has_sums(e):
        return None
    import numpy as np  # only now: a plain diff does not load NumPy

    from .numeric import NoValidPoint, evaluate, sample_point

    m = matrix_form(e)
    if m == e:
        return None
    rng = np.random.default_rng(0)
    try:
        for _ in range(points):
            sizes, env = sample_point([e, m], rng)
            a, b = evaluate(e, env, sizes), evaluate(m, env, sizes)
            if not np.allclose(a, b, rtol=1e-8, atol=1e-10 * max(1.0, float(np.max(np.abs(a))))):
                return None
    except (NoValidPoint, np.linalg.LinAlgError):
        return None
    return m
