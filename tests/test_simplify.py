"""The normal form: rules keep the value, equal expressions get equal keys."""
import numpy as np
import pytest

import matcalc
from matcalc.numeric import evaluate, sample_point
from matcalc.simplify import equal, normal_form, simplify


@pytest.mark.parametrize("text", [
    "det(2 X Y)",            # det(cAB) keeps c (a regression: the number was dropped)
    "inv(3 X Y)",
    "tr(2 a b^T)",
    "det((X Y)^T)",
    "tr(A X^T)",
    "(A B)^T x",
    "sum(x .* y)",
    "exp(x) ./ (1 + exp(x))",
    "sign(x) ./ abs(x)",
    "diag(x) diag(y) z",
    "x .* x .* x.^-1",
])
def test_rules_keep_the_value(text):
    e = matcalc.parse(text, dim="X=3x3,Y=3x3")
    sizes, env = sample_point([e], np.random.default_rng(1))
    for g in (simplify(e), normal_form(e)):
        np.testing.assert_allclose(evaluate(g, env, sizes), evaluate(e, env, sizes), rtol=1e-10)


@pytest.mark.parametrize("a,b", [
    ("A x + A^T x", "(A + A^T) x"),
    ("x^T a", "a^T x"),
    ("tr(A B C)", "tr(C A B)"),
    ("tr(A B)", "tr(B^T A^T)"),
    ("(A B)^-1", "B^-1 A^-1"),
    ("x x^T x", "(x^T x) x"),
    ("exp(x) .* sigmoid(-x)", "sigmoid(x)"),
    ("det(X^T)", "det(X)"),
    ("2 (x - a)", "2 x - 2 a"),
    ("X X^-1 y", "y"),
])
def test_equal_expressions_have_equal_normal_forms(a, b):
    assert equal(matcalc.parse(a, dim="A=3x3,B=3x3,C=3x3"), matcalc.parse(b, dim="A=3x3,B=3x3,C=3x3"))


def test_normal_form_is_idempotent_and_transposes_sit_on_leaves():
    e = matcalc.parse("((A B + C)^T x)^T (D y)")
    n = normal_form(e)
    assert normal_form(n).key == n.key
    assert "T((" not in n.key and "T([" not in n.key


# simplify offers each node only the rules for its type (simplify._RULE_TYPES): the same
# result as offering every rule to every node, on random derivatives and their normal forms.
from hypothesis import HealthCheck, given, settings  # noqa: E402

from random_exprs import DECLS, cases  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases())
def test_rules_by_node_type_change_nothing(case):
    import matcalc.simplify as S

    r = matcalc.diff(case.text, case.wrt, **DECLS)
    raw = r.raw_differential
    by_type = (S.simplify(raw), S.normal_form(raw), S.expanded(raw))
    everything, S._rules_for = S._rules_for, lambda rules, node_type: rules
    try:
        every_rule = (S.simplify(raw), S.normal_form(raw), S.expanded(raw))
    finally:
        S._rules_for = everything
    assert by_type == every_rule, case.text
