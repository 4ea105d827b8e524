"""Every derivation exercise of the course material: the stated answer and finite differences."""
import numpy as np
import pytest

import matcalc
from matcalc.api import parse_like
from matcalc.numeric import choose_sizes, evaluate, sample_point
from matcalc.simplify import equal
from matcalc.verification import verify
from seed_cases import SEED_CASES

KINDS = {1: "derivative", 6: "jacobian", 7: "differential"}


@pytest.mark.parametrize("number,expr,wrt,decls,expected", SEED_CASES, ids=[f"seed{c[0]}" for c in SEED_CASES])
def test_seed_problem(number, expr, wrt, decls, expected):
    result = matcalc.diff(expr, wrt, **decls)
    assert result.kind == KINDS.get(number, "gradient")
    report = verify(result, points=3)
    assert report.passed, report.summary()
    if expected is not None:
        claimed = parse_like(expected, result)
        assert equal(result.expr, claimed), f"{result.expr} != {expected}"
        # the expected answer itself is right: equal in value at a random point
        exprs = [result.f, result.expr, claimed]
        sizes, env = sample_point(exprs, np.random.default_rng(number))
        np.testing.assert_allclose(evaluate(result.expr, env, sizes), evaluate(claimed, env, sizes), rtol=1e-9)


def test_textbook_forms_read_like_the_book():
    for expr, wrt in (("x^T A x", "x"), ("a^T X A X a", "X"), ("det X", "X"), ("ln det X", "X"), ("X^-1", "X")):
        assert verify(matcalc.diff(expr, wrt)).passed  # the forms below are right, not just pretty
    assert str(matcalc.diff("x^T A x", "x")) == "(A + A^T) x"
    assert str(matcalc.diff("a^T X A X a", "X")) == "a a^T X^T A^T + A^T X^T a a^T"
    assert str(matcalc.diff("det X", "X")) == "det(X) X^-T"
    assert str(matcalc.diff("ln det X", "X")) == "X^-T"
    assert matcalc.diff("a^T X A X a", "X").format("unicode") == "a aᵀ Xᵀ Aᵀ + Aᵀ Xᵀ a aᵀ"
    assert matcalc.diff("X^-1", "X").format("differential") == "df = -X^-1 dX X^-1"


def test_symmetric_gradient_is_symmetrised():
    r = matcalc.diff("tr(A S)", "S", symmetric="S")
    assert equal(r.expr, parse_like("1/2 (A + A^T)", r))
    assert verify(r).passed


def test_sizes_are_non_square_where_allowed():
    r = matcalc.diff("tr(A X B)", "X")
    sizes = choose_sizes([r.f])
    dims = {d for s in (r.f,) for d in sizes}
    assert len(set(sizes[d] for d in dims)) == len(dims)  # all distinct: a misplaced transpose fails


def test_several_variables_at_once():
    r = matcalc.diff("(2x + y) z", "x,y,z", scalar="x,y,z")
    values = r.evaluate({"x": 10, "y": -2, "z": -4})
    assert values["x"].item() == -8 and values["y"].item() == -4 and values["z"].item() == 18
    assert verify(r).passed


def test_chain_rule_exercises():
    r = matcalc.diff("x^2 + x y + (x + y)^2", "x,y", scalar="x,y")
    assert equal(r["x"], parse_like("2x + y + 2(x + y)", r))
    assert equal(r["y"], parse_like("x + 2(x + y)", r))
    assert verify(r).passed
    p = matcalc.diff("-(y ln(sigmoid(w x)) + (1 - y) ln(1 - sigmoid(w x)))", "w", scalar="w,x,y")
    assert verify(p).passed
    value = p.evaluate({"w": 1, "x": -5, "y": 1})["w"].item()
    assert value == pytest.approx((1 / (1 + np.exp(5)) - 1) * -5, rel=1e-12)
    assert value == pytest.approx(4.966, abs=1e-3)
    q = matcalc.diff("-log(sigmoid(y w^T x))", "w", scalar="y")
    assert equal(q.expr, parse_like("-y (1 - sigmoid(y w^T x)) x", q))
    assert verify(q).passed
