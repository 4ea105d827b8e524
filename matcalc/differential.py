"""d(): the differential of an expression, one rule per node type.

The rules are the table a student learns (d(AB) = dA B + A dB, d(A⁻¹) = -A⁻¹ dA A⁻¹,
d det A = det A tr(A⁻¹ dA), ...). Elementwise functions take their derivative from
their record in functions.py. Each rule's docstring is its identity, and the
first line is what the step-by-step view shows when the rule fires. The result is linear in the
differentials dX of the chosen variables; every other symbol is a constant.
"""
from __future__ import annotations

from . import expr as E
from . import functions
from .errors import DerivationError
from .walk import RuleTable

RULES = RuleTable()
rule = RULES.rule


def d(e: E.Expr, wrt) -> E.Expr:
    """The differential of e with respect to the variables named in `wrt`."""
    return _Differentiator(frozenset(wrt)).d(e)


def d_recorded(e: E.Expr, wrt):
    """The differential and the record of the rules that fired: (rule, node, d(node))."""
    D = _Differentiator(frozenset(wrt))
    return D.d(e), D.fired


def rule_text(rule, node: E.Expr) -> str:
    """What a fired rule says, for the steps: its `explain(node)` if it has one (the chain
    rule names the function's own derivative), else its docstring's first line."""
    if getattr(rule, "quiet", False):
        return ""
    explain = getattr(rule, "explain", None)
    if explain is not None:
        return explain(node)
    return (rule.__doc__ or rule.__name__).strip().splitlines()[0]


class _Differentiator:
    def __init__(self, wrt: frozenset):
        self.wrt = wrt
        self.memo: dict = {}
        self.fired: list = []  # (rule, node, d(node)): what steps.py shows

    def depends(self, e: E.Expr) -> bool:
        return any(s in self.wrt for s in e.symbols)

    def d(self, e: E.Expr) -> E.Expr:
        if not self.depends(e):
            return E.Zero(*e.shape)
        got = self.memo.get(e)
        if got is None:
            fn = RULES.get(type(e))
            if fn is None:
                raise DerivationError(f"no differential rule for {type(e).__name__}")
            got = self.memo[e] = fn(self, e)
            self.fired.append((fn, e, got))
        return got


@rule(E.Symbol)
def d_symbol(D, e):
    """dX for a variable; constants have zero differential."""
    return e.differential() if e.name in D.wrt and not e.diff else E.Zero(*e.shape)


@rule(E.Const, E.Identity, E.Zero, E.Ones, E.Commutation)
def d_constant(D, e):
    """d(c) = 0"""
    return E.Zero(*e.shape)


@rule(E.Add)
def d_add(D, e):
    """d(A + B) = dA + dB"""
    return E.add(*(D.d(t) for t in e.terms))


def _product_rule(D, e):
    args = e.args
    return E.add(*(
        e.rebuild(args[:i] + (D.d(a),) + args[i + 1 :]) for i, a in enumerate(args) if D.depends(a)
    ))


def _linear(D, e):
    return e.rebuild((D.d(e.arg),))


@rule(E.MatMul)
def d_matmul(D, e):
    """product rule: d(AB) = dA B + A dB"""
    return _product_rule(D, e)


@rule(E.Hadamard)
def d_hadamard(D, e):
    """product rule for ⊙: d(A ⊙ B) = dA ⊙ B + A ⊙ dB"""
    return _product_rule(D, e)


@rule(E.Kron)
def d_kron(D, e):
    """product rule for ⊗: d(A ⊗ B) = dA ⊗ B + A ⊗ dB"""
    return _product_rule(D, e)


@rule(E.Transpose)
def d_transpose(D, e):
    """d(Xᵀ) = (dX)ᵀ"""
    return _linear(D, e)


@rule(E.Trace)
def d_trace(D, e):
    """d tr X = tr dX"""
    return _linear(D, e)


@rule(E.Sum)
def d_sum(D, e):
    """d sum X = sum dX"""
    return _linear(D, e)


@rule(E.Diag)
def d_diag(D, e):
    """d diag(x) = diag(dx)"""
    return _linear(D, e)


@rule(E.DiagPart)
def d_diag_part(D, e):
    """d diag(X) = diag(dX)"""
    return _linear(D, e)


@rule(E.Vec)
def d_vec(D, e):
    """d vec X = vec dX"""
    return _linear(D, e)


@rule(E.Inverse)
def d_inverse(D, e):
    """d(X⁻¹) = −X⁻¹ dX X⁻¹"""
    return E.mul(E.Const(-1), e, D.d(e.arg), e)


@rule(E.Det)
def d_det(D, e):
    """d det X = det X tr(X⁻¹ dX)"""
    return E.mul(e, E.trace(E.mul(E.inv(e.arg), D.d(e.arg))))


def _elementwise(fprime: E.Expr, du: E.Expr) -> E.Expr:
    """f'(u) du for a scalar u, f'(u) ⊙ du elementwise."""
    return E.mul(fprime, du) if du.is_scalar else E.hadamard(fprime, du)


def _is_log_det(e: E.Expr) -> bool:
    return isinstance(e, E.Func) and e.name == "log" and isinstance(e.arg, E.Det)


@rule(E.Func)
def d_func(D, e):
    """chain rule: d f(u) = f'(u) du, elementwise f'(u) ⊙ du"""
    if _is_log_det(e):
        # d ln det A = tr(A⁻¹ dA): the det A factors cancel
        return E.trace(E.mul(E.inv(e.arg.arg), D.d(e.arg.arg)))
    f = functions.get(e.name, "derivative")
    return _elementwise(f.derivative(e.arg), D.d(e.arg))


def _explain_func(e: E.Expr) -> str:
    if _is_log_det(e):
        return "d ln det X = tr(X⁻¹ dX)"
    return "chain rule: " + functions.get(e.name, "step text").step


d_func.explain = _explain_func


@rule(E.Softmax)
def d_softmax(D, e):
    """d softmax(u) = s ⊙ du − s (sᵀ du), s = softmax(u); row-wise for a batch Z:
    dS = S ⊙ dZ − ((S ⊙ dZ) 1 1ᵀ) ⊙ S"""
    du = D.d(e.arg)
    if e.cols == 1:
        return E.sub(E.hadamard(e, du), E.mul(e, E.transpose(e), du))
    k = e.cols
    weighted = E.hadamard(e, du)
    return E.sub(weighted, E.hadamard(E.mul(weighted, E.Ones(k, 1), E.Ones(1, k)), e))


@rule(E.Conv)
def d_conv(D, e):
    """a convolution is bilinear: d conv(x, k) = conv(dx, k) + conv(x, dk)"""
    return E.add(E.conv(D.d(e.signal), e.kernel), E.conv(e.signal, D.d(e.kernel)))


@rule(E.ConvT)
def d_conv_transpose(D, e):
    """a transposed convolution is bilinear: d convT(w, k) = convT(dw, k) + convT(w, dk)"""
    return E.add(E.conv_transpose(D.d(e.signal), e.kernel), E.conv_transpose(e.signal, D.d(e.kernel)))


@rule(E.LogSumExp)
def d_logsumexp(D, e):
    """d logsumexp(u) = softmax(u)ᵀ du"""
    return E.mul(E.transpose(E.softmax(e.arg)), D.d(e.arg))


@rule(E.Power)
def d_power(D, e):
    """d(uᵖ) = p uᵖ⁻¹ du, elementwise for arrays"""
    p = e.exponent
    return _elementwise(E.scale(p, E.power(e.base, p - 1)), D.d(e.base))


@rule(E.SumOver)
def d_sum_over(D, e):
    """sum rule: d Σ_i f_i = Σ_i d f_i"""
    return E.sum_over(e.index, e.n, D.d(e.body))


@rule(E.Indexed)
def d_indexed(D, e):
    """d(x_i) = (dX)_i: the i-th row of dX"""
    return e.rebuild((D.d(e.data),))


d_symbol.quiet = d_constant.quiet = d_add.quiet = True  # bookkeeping, not teaching


def missing_rules() -> list:
    return RULES.missing()
