"""Property tests over random well-typed expressions (tests/random_exprs.py).

The expressions come from a hypothesis strategy (`cases()`), so a failing case shrinks
to a small expression; each contains the variable it was built for. For every one: each
derivative matches finite differences; the expression printed as text and unicode, and
its derivative printed as text, unicode and LaTeX, parse back to an equal value; the NumPy printer's code evaluates to
the evaluator's value; simplification and normal form keep the value.
`python scripts/soak.py 10000` runs the first property on many more expressions.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import matcalc
from matcalc.numeric import NoValidPoint, evaluate, sample_point
from matcalc.printing.numpy import to_numpy
from matcalc.printing.text import to_text, to_unicode
from matcalc.simplify import normal_form, simplify
from matcalc.verification import verify
from printed import numpy_value, read_back
from random_exprs import DECLS, VARIABLES, cases

SETTINGS = dict(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SEED = 0  # of the sampled points; the expressions carry the randomness


def _point(exprs, seed=SEED):
    try:
        return sample_point(exprs, np.random.default_rng(seed))
    except NoValidPoint:
        return None, None


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


@settings(**SETTINGS)
@given(cases())
def test_derivatives_match_finite_differences(case):
    f = matcalc.parse(case.text, **DECLS)
    wrt = [v for v in VARIABLES if v in f.symbols]
    assert case.wrt in wrt
    r = matcalc.diff(case.text, wrt, **DECLS)
    try:
        rep = verify(r, points=2, seed=SEED)
    except NoValidPoint:
        return
    assert rep.passed, f"{case.text}\n{r.format('text')}\n{rep.summary()}"


@pytest.mark.parametrize("printer", [to_text, to_unicode], ids=["text", "unicode"])
@settings(**SETTINGS)
@given(case=cases())
def test_printed_expression_reads_back_with_equal_value(printer, case):
    f = matcalc.parse(case.text, **DECLS)
    again = matcalc.parse(printer(f), **DECLS)
    sizes, env = _point([f, again])
    if env is None:
        return
    _close(evaluate(again, env, sizes), evaluate(f, env, sizes))


@pytest.mark.parametrize("notation", ["text", "unicode", "latex"])
@settings(**{**SETTINGS, "max_examples": 40})
@given(case=cases())
def test_printed_derivative_reads_back_with_equal_value(notation, case):
    """The answer as the user sees it parses back, in the context of the problem, to
    the value of the derivative; that derivative matches finite differences
    (test_derivatives_match_finite_differences, same cases)."""
    r = matcalc.diff(case.text, case.wrt, **DECLS)
    dv = r.derivatives[0]
    shape = r.f.shape if dv.kind == "differential" else dv.expr.shape
    back = read_back(dv.notation(notation), notation, r.f, r.wrt, shape)
    sizes, env = _point([r.f, dv.expr, back])
    if env is None:
        return
    _close(evaluate(back, env, sizes), evaluate(dv.expr, env, sizes))


@settings(**SETTINGS)
@given(cases())
def test_simplify_and_normal_form_keep_the_value(case):
    f = matcalc.parse(case.text, **DECLS)
    sizes, env = _point([f])
    if env is None:
        return
    value = evaluate(f, env, sizes)
    for g in (simplify(f), normal_form(f)):
        _close(evaluate(g, env, sizes), value)
    assert normal_form(normal_form(f)).key == normal_form(f).key  # idempotent


@settings(**SETTINGS)
@given(cases())
def test_numpy_printer_matches_the_evaluator(case):
    f = matcalc.parse(case.text, **DECLS)
    sizes, env = _point([f])
    if env is None:
        return
    value = numpy_value(to_numpy(f), env, sizes)
    expected = evaluate(f, env, sizes)
    _close(np.reshape(value, expected.shape), expected)
