"""The finite-difference checker: passes right answers, catches wrong ones."""
import dataclasses

import pytest

import matcalc
from matcalc.api import parse_like
from matcalc.verification import verify


def with_answer(result, text):
    """The same result with its derivative replaced by another expression."""
    wrong = parse_like(text, result)
    dv = dataclasses.replace(result.derivatives[0], expr=wrong)
    return dataclasses.replace(result, derivatives=[dv])


@pytest.mark.parametrize("expr,wrt,wrong", [
    ("x^T A x", "x", "2 A x"),                 # right only for symmetric A
    ("a^T X A X a", "X", "X^T A^T a a^T + a a^T X^T A^T"),   # one term transposed
    ("det X", "X", "det(X) X^-1"),              # layout mistake
    ("ln det X", "X", "-X^-T"),                 # sign
    ("tr(A X B)", "X", "2 A^T B^T"),            # constant factor
    ("(y - X w)^T (y - X w)", "w", "-X^T (y - X w)"),  # factor 2 missing
    ("x x^T x", "x", "x^T x I + x x^T"),        # Jacobian term missing
])
def test_wrong_answers_fail(expr, wrt, wrong):
    r = matcalc.diff(expr, wrt)
    assert verify(r).passed
    bad = verify(with_answer(r, wrong))
    assert not bad.passed
    assert "FAIL" in bad.summary()


def test_report_is_truthy_and_summarises():
    rep = verify(matcalc.diff("x^T A x", "x"))
    assert rep and rep.max_error < 1e-6
    assert "PASS" in rep.summary()
