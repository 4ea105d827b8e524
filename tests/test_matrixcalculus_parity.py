"""matrixcalculus.org's documented input examples run, with the meaning it gives them
(its defaults: a…g scalars, h…z vectors, capitals matrices), each derivative checked
against the answer in matcalc's notation and by finite differences; then the rest of its
input language: norm1/norm2, vector(c)/matrix(c), .^ with a symbolic exponent, and the
elementwise functions."""
from __future__ import annotations

import pytest

import matcalc
from matcalc.errors import MatcalcError
from matcalc.verification import verify
from test_paper_latex import _agree

# (its example, wrt, the derivative in matcalc's notation)
DOCUMENTED = [
    ("0.5*x'*A*x", "x", "1/2 (A + A^T) x"),
    ("A*exp(x)", "x", "A diag(exp(x))"),
    ("(y.*v)'*x", "x", "y .* v"),
    ("a^b", "a", "b a^(b - 1)"),
    ("a^b", "b", "a^b ln(a)"),
    ("norm1(A*x-y)", "x", "A^T sign(A x - y)"),
    ("norm2(A*x-y)^2", "x", "2 A^T (A x - y)"),
    ("sum(log(exp(-y.*(X*w)) + vector(1)))", "w", "-X^T (y .* sigmoid(-y .* (X w)))"),
    ("tr(A*X'*B*X*C)", "X", "B X C A + B^T X A^T C^T"),
    ("log(det(inv(X)))", "X", "-X^-T"),
]
MORE = [
    ("norm1(X)", "X", "sign(X)"),  # the entrywise 1-norm of a matrix, as it defines norm1
    ("norm2(X)^2", "X", "2 X"),  # the Frobenius norm of a matrix
    ("x'*matrix(2)*x", "x", "4 ones(n, n) x"),
    ("vector(c)'*x", "x", "c ones(n)"),
    ("sum(x.^y)", "x", "y .* x.^(y - 1)"),
    ("sum(x.^y)", "y", "x.^y .* log(x)"),
    ("logdet(X)", "X", "X^-T"),
    ("sum(sign(x).*x)", "x", "sign(x)"),
    ("sin(a) + cos(b) + tan(c) + arcsin(d/4) + arccos(e/4) + arctan(f) + sinh(g) + cosh(a*b)", "a",
     "cos(a) + b sinh(a b)"),
    ("arcsin(d/4) + arccos(e/4)", "d", "1 / (4 sqrt(1 - d^2 / 16))"),
    ("tan(c) + arctan(c)", "c", "1 + tan(c)^2 + 1 / (1 + c^2)"),
]


@pytest.mark.parametrize("expr,wrt,expected", DOCUMENTED + MORE, ids=[f"{c[0]} wrt {c[1]}" for c in DOCUMENTED + MORE])
def test_its_examples_run_with_its_meaning(expr, wrt, expected):
    r = matcalc.diff(expr, wrt, scalar="a,b,c,d,e,f,g")
    assert verify(r).passed, r
    _agree(r, expected)


def test_symbolic_exponents_print_as_written_and_say_the_domain():
    r = matcalc.diff("a^b", "a,b", scalar="a,b")
    assert r.format("text") == "df/da = b a^b / a\ndf/db = a^b log(a)"
    assert any("exp(b ln a), defined for a > 0" in n for n in r.notes)
    assert verify(r).passed
    with pytest.raises(MatcalcError, match=r"X \.\^ b"):
        matcalc.diff("X^b", "X", scalar="b")


def test_norm_orders():
    with pytest.raises(MatcalcError, match="p = 1 and p = 2"):
        matcalc.diff("norm(x, 3)", "x")
    with pytest.raises(MatcalcError, match="spectral norm"):
        matcalc.diff("norm(X, 2)", "X", matrix="X")
    r = matcalc.diff("norm(x, 1) + norm(x, 2)", "x")
    assert verify(r).passed
    _agree(r, "sign(x) + x / ||x||")
