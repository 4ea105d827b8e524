"""Canonical form of a differential: read off the gradient, Jacobian or derivative.

For a scalar differential, `pullback(E, W)` returns G with ⟨W, E⟩ = ⟨G, dX⟩: the
trace tricks (cyclic property, transpose of a scalar, Hadamard-trace identity) made
into one recursion, one rule per node. The gradient is pullback(df, 1). The
cotangent W carried down the tree is backprop's "delta".

Jacobians of vector functions come from the forward counterpart `coefficient`:
E = J dx, with coeff(P dx) = P, coeff(v (gᵀdx)) = v gᵀ, coeff(a ⊙ dx) = diag(a).
"""
from __future__ import annotations

from collections import defaultdict

from . import expr as E
from .errors import DerivationError
from .walk import RuleTable, map_bottom_up

PULL_RULES = RuleTable()
pull_rule = PULL_RULES.rule


def _not_linear(e):
    raise DerivationError(
        f"the differential is not linear in the differentials at `{e}` (internal error)"
    )


def _split_differential(factors):
    """(the factor holding the differential, the other factors): a linear form has one."""
    idx = [i for i, f in enumerate(factors) if f.has_differential]
    if len(idx) != 1:
        raise DerivationError("a product holds more than one differential: not a linear form")
    k = idx[0]
    return factors[k], factors[:k] + factors[k + 1 :]


class Pullback:
    """Accumulates, per variable, the cotangents that reach its differential."""

    def __init__(self):
        self.grads: dict = defaultdict(list)
        self.fired: list = []  # (rule, node, cotangent): what steps.py shows

    def pull(self, e: E.Expr, w: E.Expr):
        if not e.has_differential:
            return
        fn = PULL_RULES.get(type(e), None)
        if fn is None:
            if type(e) in PULL_EXEMPT:
                raise DerivationError(PULL_EXEMPT[type(e)])
            _not_linear(e)
        self.fired.append((fn, e, w))
        fn(self, e, w)

    def gradient(self, name: str, shape) -> E.Expr:
        parts = self.grads.get(name)
        return E.add(*parts) if parts else E.Zero(*shape)


@pull_rule(E.Symbol)
def pull_differential(P, e, w):
    """⟨W, dX⟩: W is the contribution to ∇f."""
    P.grads[e.name].append(w)


@pull_rule(E.Add)
def pull_add(P, e, w):
    """⟨W, A + B⟩ = ⟨W, A⟩ + ⟨W, B⟩"""
    for t in e.terms:
        P.pull(t, w)


@pull_rule(E.MatMul)
def pull_matmul(P, e, w):
    """cyclic property of the trace
    ⟨W, c P E Q⟩ = ⟨c Pᵀ W Qᵀ, E⟩; ⟨W, M s⟩ = s ⟨W, M⟩ for a scalar s"""
    f, others = _split_differential(e.factors)
    if f.is_scalar:
        rest = E.mul(E.Const(e.coeff), *others)
        P.pull(f, E.inner(w, rest) if not rest.is_scalar else E.mul(w, rest))
        return
    chain = e.chain
    j = next(i for i, g in enumerate(chain) if g is f)
    left, right = chain[:j], chain[j + 1 :]
    scal = E.mul(E.Const(e.coeff), *e.scalars)
    parts = [scal]
    if left:
        parts.append(E.transpose(E.mul(*left)))
    parts.append(w)
    if right:
        parts.append(E.transpose(E.mul(*right)))
    P.pull(f, E.mul(*parts))


@pull_rule(E.Transpose)
def pull_transpose(P, e, w):
    """a scalar equals its transpose
    ⟨W, Eᵀ⟩ = ⟨Wᵀ, E⟩, so tr(Aᵀ) = tr(A)"""
    P.pull(e.arg, E.transpose(w))


@pull_rule(E.Trace)
def pull_trace(P, e, w):
    """⟨w, tr E⟩ = ⟨w I, E⟩"""
    P.pull(e.arg, E.mul(w, E.Identity(e.arg.rows)))


@pull_rule(E.Sum)
def pull_sum(P, e, w):
    """sum(A) = tr(1ᵀ A 1)
    ⟨w, sum E⟩ = ⟨w 11ᵀ, E⟩"""
    P.pull(e.arg, E.mul(w, E.Ones(*e.arg.shape)))


@pull_rule(E.Hadamard)
def pull_hadamard(P, e, w):
    """Hadamard–trace identity: tr(Aᵀ(B ⊙ C)) = tr((A ⊙ B)ᵀ C)
    ⟨W, A ⊙ E⟩ = ⟨A ⊙ W, E⟩"""
    f, others = _split_differential(e.factors)
    P.pull(f, E.hadamard(w, *others))


@pull_rule(E.Diag)
def pull_diag(P, e, w):
    """tr(A diag(x)) = diag(A)ᵀ x
    ⟨W, diag(e)⟩ = ⟨diagvec(W), e⟩"""
    P.pull(e.arg, E.diag_part(w))


@pull_rule(E.DiagPart)
def pull_diag_part(P, e, w):
    """tr(A diag(x)) = diag(A)ᵀ x
    ⟨w, diagvec(E)⟩ = ⟨diag(w), E⟩"""
    P.pull(e.arg, E.diag(w))


@pull_rule(E.SumOver)
def pull_sum_over(P, e, w):
    """the cotangent stays inside the sum
    ⟨W, Σ_i E_i⟩ = Σ_i ⟨W, E_i⟩"""
    inner = Pullback()
    inner.pull(e.body, w)
    P.fired.extend(inner.fired)
    for name, parts in inner.grads.items():
        P.grads[name].append(E.sum_over(e.index, e.n, E.add(*parts)))


@pull_rule(E.Conv)
def pull_conv(P, e, w):
    """the adjoint of a convolution is the transposed convolution
    ⟨W, conv(E, k)⟩ = ⟨convT(W, k), E⟩; ⟨W, conv(x, E)⟩ = ⟨conv(x, W), E⟩"""
    if e.signal.has_differential:
        P.pull(e.signal, E.conv_transpose(w, e.kernel))
    else:
        P.pull(e.kernel, E.conv(e.signal, w))


@pull_rule(E.ConvT)
def pull_conv_transpose(P, e, w):
    """the adjoint of a transposed convolution is the convolution
    ⟨Z, convT(E, k)⟩ = ⟨conv(Z, k), E⟩; ⟨Z, convT(w, E)⟩ = ⟨conv(Z, w), E⟩"""
    if e.signal.has_differential:
        P.pull(e.signal, E.conv(w, e.kernel))
    else:
        P.pull(e.kernel, E.conv(w, e.signal))


pull_differential.quiet = pull_add.quiet = pull_trace.quiet = True  # bookkeeping, not teaching

# The linear node types (`linear` in expr.py) without a pull rule: their adjoints need
# block and unvec nodes matcalc lacks, so a derivative through them is read off with
# vec_coefficient instead (the vec Jacobian). Nonlinear nodes never hold a differential.
PULL_EXEMPT = {  # node type → the message a user gets (the value is what they read)
    E.Kron: "no gradient through a Kronecker product (its adjoint needs block sums): use vec=True",
    E.Vec: "no gradient through vec (its adjoint needs unvec): use vec=True",
    E.Indexed: "the gradient with respect to a matrix whose rows appear one at a time (w_k, x_i inside "
               "a sum) is not derived in the Σ form: write the sum with the whole matrix, e.g. "
               "Σ_k exp(w_kᵀ x) = sum(exp(W x)), Σ_i x_iᵀ w = 1ᵀ X w; the softmax cross-entropy "
               "-log(exp(w_yᵀ x) / Σ_k exp(w_kᵀ x)) is -yᵀ log(softmax(W x)) with a one-hot y",
}


def pullback(df: E.Expr, variables: dict) -> dict:
    """name → G with df = Σ ⟨G, dX⟩, for a scalar differential df."""
    P = Pullback()
    P.pull(df, E.Const(1))
    return {name: P.gradient(name, s.shape) for name, s in variables.items()}


# ---------------------------------------------------------------- forward: E = J dx


COEFF_RULES = RuleTable()  # forward: E = J dx
VEC_RULES = RuleTable()  # vec E = J vec dX


def coefficient(e: E.Expr, var: E.Symbol) -> E.Expr:
    """J with e = J dx, for e a column vector linear in the column-vector differential dx."""
    if not e.has_differential:
        return E.Zero(e.rows, var.rows)
    if e.is_scalar and not isinstance(e, E.Symbol):
        return E.transpose(pullback(e, {var.name: var})[var.name])
    fn = COEFF_RULES.get(type(e))
    out = fn(e, var) if fn is not None else None
    if out is None:
        raise DerivationError(
            f"cannot bring `{e}` to the form J d{var.name}; use format=differential"
        )
    return out


@COEFF_RULES.rule(E.Symbol)
def coeff_differential(e, var):
    """dx = I dx"""
    return E.Identity(var.rows)


@COEFF_RULES.rule(E.Add)
def coeff_add(e, var):
    """J(A + B) = J(A) + J(B)"""
    return E.add(*(coefficient(t, var) for t in e.terms))


@COEFF_RULES.rule(E.SumOver)
def coeff_sum_over(e, var):
    """Σ_i J_i dx = (Σ_i J_i) dx"""
    return E.sum_over(e.index, e.n, coefficient(e.body, var))


@COEFF_RULES.rule(E.Hadamard)
def coeff_hadamard(e, var):
    """a ⊙ E = diag(a) E"""
    f, others = _split_differential(e.factors)
    return E.mul(E.diag(E.hadamard(*others)), coefficient(f, var))


@COEFF_RULES.rule(E.MatMul)
def coeff_matmul(e, var):
    """P E = P J(E); v (gᵀ dx) = (v gᵀ) dx; P (A + B) r and diag(u) r = r ⊙ u distributed"""
    f, others = _split_differential(e.factors)
    if f.is_scalar:  # v (gᵀ dx) = (v gᵀ) dx
        return E.mul(E.Const(e.coeff), *others, coefficient(f, var))
    chain = e.chain
    j = next(i for i, g in enumerate(chain) if g is f)
    scal = E.mul(E.Const(e.coeff), *e.scalars)
    if j == len(chain) - 1:  # P dx
        return E.mul(scal, *chain[:j], coefficient(f, var))
    right = E.mul(*chain[j + 1 :])
    if isinstance(f, E.Add):  # distribute: P (A + B) r
        return E.add(*(coefficient(E.mul(scal, *chain[:j], t, right), var) for t in f.terms))
    if isinstance(f, E.MatMul):
        return coefficient(E.mul(scal, *chain[:j], f, right), var)
    if isinstance(f, E.Diag) and right.cols == 1:  # diag(u) r = r ⊙ u
        return coefficient(E.mul(scal, *chain[:j], E.hadamard(right, f.arg)), var)
    return None


# ---------------------------------------------------------------- vec: vec E = J vec dX


def vec_coefficient(e: E.Expr, var: E.Symbol) -> E.Expr:
    """J with vec(E) = J vec(dX), for E (any shape) linear in dX (any shape).

    The Kronecker rules: vec(P dX Q) = (Qᵀ ⊗ P) vec dX, vec(dXᵀ) = K vec dX,
    vec(A ⊙ dX) = diag(vec A) vec dX, vec(M s) = vec(M) (∇s)ᵀ for a scalar s.
    """
    if not e.has_differential:
        return E.Zero(E._dim_mul(e.rows, e.cols), E._dim_mul(var.rows, var.cols))
    if e.is_scalar and not isinstance(e, E.Symbol):
        return E.transpose(E.vec(pullback(e, {var.name: var})[var.name]))
    fn = VEC_RULES.get(type(e))
    if fn is None:
        raise DerivationError(f"cannot bring `{e}` to the form J vec(d{var.name})")
    return fn(e, var)


@VEC_RULES.rule(E.Symbol)
def vec_differential(e, var):
    """vec dX = I vec dX"""
    return E.Identity(E._dim_mul(var.rows, var.cols))


@VEC_RULES.rule(E.Add)
def vec_add(e, var):
    """vec(A + B) = vec A + vec B"""
    return E.add(*(vec_coefficient(t, var) for t in e.terms))


@VEC_RULES.rule(E.SumOver)
def vec_sum_over(e, var):
    """vec Σ_i E_i = Σ_i vec E_i"""
    return E.sum_over(e.index, e.n, vec_coefficient(e.body, var))


@VEC_RULES.rule(E.Transpose)
def vec_transpose(e, var):
    """vec(Eᵀ) = K vec E"""
    return E.mul(E.commutation(e.arg.rows, e.arg.cols), vec_coefficient(e.arg, var))


@VEC_RULES.rule(E.Hadamard)
def vec_hadamard(e, var):
    """vec(A ⊙ E) = diag(vec A) vec E"""
    f, others = _split_differential(e.factors)
    return E.mul(E.diag(E.vec(E.hadamard(*others))), vec_coefficient(f, var))


@VEC_RULES.rule(E.MatMul)
def vec_matmul(e, var):
    """vec(P E Q) = (Qᵀ ⊗ P) vec E; vec(M s) = vec(M) (∇s)ᵀ for a scalar s"""
    f, others = _split_differential(e.factors)
    if f.is_scalar:
        return E.mul(E.vec(E.mul(E.Const(e.coeff), *others)), vec_coefficient(f, var))
    chain = e.chain
    j = next(i for i, g in enumerate(chain) if g is f)
    left = E.mul(*chain[:j]) if j else E.Identity(f.rows)
    right = E.mul(*chain[j + 1 :]) if j + 1 < len(chain) else E.Identity(f.cols)
    scal = E.mul(E.Const(e.coeff), *e.scalars)
    return E.mul(scal, E.kron(E.transpose(right), left), vec_coefficient(f, var))


@VEC_RULES.rule(E.Vec)
def vec_vec(e, var):
    """vec(vec E) = vec E"""
    return vec_coefficient(e.arg, var)


def substitute(e: E.Expr, mapping: dict) -> E.Expr:
    """Replace leaves (e.g. dt → 1) and rebuild through the constructors."""
    return map_bottom_up(e, lambda n: mapping.get(n, n))
