"""d(): the differential of an expression, one rule per node type.

The rules are the table a student learns (d(AB) = dA B + A dB, d(A⁻¹) = -A⁻¹ dA A⁻¹,
d det A = det A tr(A⁻¹ dA), ...). Elementwise functions take their derivative from
one table, so adding a function is one line there. The result is linear in the
differentials dX of the chosen variables; every other symbol is a constant.
"""
from __future__ import annotations

from typing import Callable

from . import expr as E
from .abstract import derivative_rule
from .errors import DerivationError
from .walk import RuleTable

# f'(u) for each elementwise function, built from the constructors.
DERIVATIVES: dict[str, Callable[[E.Expr], E.Expr]] = {
    "exp": lambda u: E.func("exp", u),
    "log": lambda u: E.power(u, -1),
    "sigmoid": lambda u: E.hadamard(E.func("sigmoid", u), E.sub(E.ones_like(u), E.func("sigmoid", u))),
    "tanh": lambda u: E.sub(E.ones_like(u), E.power(E.func("tanh", u), 2)),
    "relu": lambda u: E.func("step", u),
    "abs": lambda u: E.func("sign", u),
    "softplus": lambda u: E.func("sigmoid", u),
    "sin": lambda u: E.func("cos", u),
    "cos": lambda u: E.neg(E.func("sin", u)),
    "step": lambda u: E.Zero(*u.shape),
    "sign": lambda u: E.Zero(*u.shape),
}

RULES = RuleTable()
rule = RULES.rule


def d(e: E.Expr, wrt) -> E.Expr:
    """The differential of e with respect to the variables named in `wrt`."""
    return _Differentiator(frozenset(wrt)).d(e)


def d_recorded(e: E.Expr, wrt):
    """The differential and the rules that fired, as (rule function name, node) pairs."""
    D = _Differentiator(frozenset(wrt))
    return D.d(e), D.fired


class _Differentiator:
    def __init__(self, wrt: frozenset):
        self.wrt = wrt
        self.memo: dict = {}
        self.fired: list = []  # (rule function name, node): what steps.py shows

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
            self.fired.append((fn.__name__, e))
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


@rule(E.MatMul, E.Hadamard, E.Kron)
def d_product(D, e):
    """d(AB) = dA B + A dB: the product rule, for ·, ⊙ and ⊗ alike"""
    args = e.args
    return E.add(*(
        e.rebuild(args[:i] + (D.d(a),) + args[i + 1 :]) for i, a in enumerate(args) if D.depends(a)
    ))


@rule(E.Transpose, E.Trace, E.Sum, E.Diag, E.DiagPart, E.Vec)
def d_linear(D, e):
    """d L(A) = L(dA) for a linear L: ᵀ, tr, sum, diag, vec"""
    return e.rebuild((D.d(e.arg),))


@rule(E.Inverse)
def d_inverse(D, e):
    """d(A⁻¹) = -A⁻¹ dA A⁻¹"""
    return E.mul(E.Const(-1), e, D.d(e.arg), e)


@rule(E.Det)
def d_det(D, e):
    """d det A = det A · tr(A⁻¹ dA)"""
    return E.mul(e, E.trace(E.mul(E.inv(e.arg), D.d(e.arg))))


def _elementwise(fprime: E.Expr, du: E.Expr) -> E.Expr:
    """f'(u) du for a scalar u, f'(u) ⊙ du elementwise."""
    return E.mul(fprime, du) if du.is_scalar else E.hadamard(fprime, du)


@rule(E.Func)
def d_func(D, e):
    """d f(u) = f'(u) du, elementwise f'(u) ⊙ du (chain rule)"""
    if e.name == "log" and isinstance(e.arg, E.Det):
        # d ln det A = tr(A⁻¹ dA): the det A factors cancel
        return E.trace(E.mul(E.inv(e.arg.arg), D.d(e.arg.arg)))
    deriv = DERIVATIVES.get(e.name) or derivative_rule(e.name)  # f'(u) for an abstract f
    if deriv is None:
        raise DerivationError(f"no derivative known for the function {e.name}")
    return _elementwise(deriv(e.arg), D.d(e.arg))


@rule(E.Softmax)
def d_softmax(D, e):
    """d softmax(u) = s ⊙ du − s (sᵀ du), s = softmax(u)"""
    du = D.d(e.arg)
    return E.sub(E.hadamard(e, du), E.mul(e, E.transpose(e), du))


@rule(E.Power)
def d_power(D, e):
    """d(uᵖ) = p u^(p-1) du, elementwise for arrays"""
    p = e.exponent
    return _elementwise(E.scale(p, E.power(e.base, p - 1)), D.d(e.base))


def missing_rules() -> list:
    return RULES.missing()
