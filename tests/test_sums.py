"""Sums over observations (issue 14): Σ_i input, Σ_i gradients checked by finite
differences, the matrix form checked equal to the Σ form, check accepting both forms."""
import numpy as np
import pytest

import matcalc
from matcalc import expr as E
from matcalc.errors import MatcalcError
from matcalc.numeric import evaluate, sample_point
from matcalc.printing.text import to_latex, to_text, to_unicode
from matcalc.verification import verify
from matcalc.vectorize import matrix_form

LOGISTIC = "sum_{i=1}^n ln(1 + exp(-y_i x_i^T w)) + lambda w^T w"
GAUSS = "-n/2 ln det Sigma - 1/2 sum_{i=1}^n (x_i - mu)^T Sigma^-1 (x_i - mu)"

# (expression, wrt, declarations): the course's Σ_i exercises and a few others
CASES = [
    (LOGISTIC, "w", {}),
    ("sum_i (y_i - x_i^T w)^2", "w", {}),
    ("Σ_{i=1}^{n} (w^T x_i - t_i)^2 + lambda w^T w", "w", {}),
    (GAUSS, "mu", {"vector": "mu", "symmetric": "Sigma"}),
    (GAUSS, "Sigma", {"vector": "mu", "symmetric": "Sigma"}),
    ("sum_i (y_i - W x_i)^T (y_i - W x_i)", "W", {}),
    ("sum_i sum_j exp(-x_i^T A x_j)", "A", {}),
    ("\\sum_{i=1}^{n} \\log(1 + \\exp(x_i^\\top w)) - y_i x_i^\\top w", "w", {}),
]


def _same(a, b, seed=0):
    sizes, env = sample_point([a, b], np.random.default_rng(seed))
    return np.allclose(evaluate(a, env, sizes), evaluate(b, env, sizes), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("expr,wrt,decls", CASES)
def test_gradient_in_sum_form_checked(expr, wrt, decls):
    r = matcalc.diff(expr, wrt, **decls)
    assert verify(r).passed
    g = r.derivatives[0].expr
    m = matrix_form(g)
    assert _same(g, m) and _same(g, m, 1)
    for printer in (to_text, to_unicode):  # printed Σ form parses back to the same values
        back = matcalc.parse(printer(g), **decls)
        assert _same(back, g), printer(g)


def test_logistic_prints_both_forms():
    r = matcalc.diff(LOGISTIC, "w")
    dv = r.derivatives[0]
    assert isinstance(dv.expr, E.Add) and any(isinstance(t, E.SumOver) for t in dv.expr.terms)
    assert dv.matrix_form is not None and "sum_" not in to_text(dv.matrix_form)
    assert "(matrix form)" in r.format("text")
    assert "\\sum_{i=1}^{n}" in r.format("latex")


def test_course_answers_accepted_in_both_forms():
    for claim in ("sum_i -y_i sigmoid(-y_i x_i^T w) x_i + 2 lambda w",
                  "-X^T (y .* sigmoid(-y .* (X w))) + 2 lambda w"):
        assert matcalc.check(LOGISTIC, "w", claim), claim
    assert not matcalc.check(LOGISTIC, "w", "sum_i y_i sigmoid(-y_i x_i^T w) x_i + 2 lambda w")
    mle = dict(vector="mu", symmetric="Sigma")
    assert matcalc.check(GAUSS, "mu", "sum_i Sigma^-1 (x_i - mu)", **mle)
    assert matcalc.check(GAUSS, "mu", "Sigma^-1 (X^T ones - n mu)", **mle)  # n is the count
    assert not matcalc.check(GAUSS, "mu", "Sigma^-1 (X^T ones - mu)", **mle)


def test_mle_mu_is_sum_form():
    g = matcalc.diff(GAUSS, "mu", vector="mu", symmetric="Sigma").derivatives[0].expr
    assert g == matcalc.parse("sum_i Sigma^-1 (x_i - mu)", vector="mu", symmetric="Sigma")


def test_vectorisation_table():
    for sigma, mat in [("sum_i x_i x_i^T", "X^T X"), ("sum_i y_i x_i", "X^T y"),
                       ("sum_i x_i^T w", "ones^T X w")]:
        s = matcalc.parse(sigma)
        m = matrix_form(s)
        assert "sum_" not in to_text(m), to_text(m)
        assert _same(s, m) and _same(s, matcalc.parse(mat)), (sigma, to_text(m))


def test_hessian_and_steps():
    h = matcalc.hessian(LOGISTIC, "w")
    assert h is not None
    steps = matcalc.diff("sum_i (y_i - x_i^T w)^2", "w").derivation().format("text")
    assert "d Σ_i f_i = Σ_i d f_i" in steps


def test_evaluate_with_data():
    r = matcalc.diff(LOGISTIC, "w")
    X = np.array([[1.0, 2], [3, 4], [5, 6]])
    y = np.array([1.0, -1, 1])
    w = np.array([0.1, 0.2])
    got = r.evaluate({"X": X, "y": y, "w": w, "lambda": 0.5})["w"].ravel()
    s = 1 / (1 + np.exp(y * (X @ w)))
    assert np.allclose(got, -X.T @ (y * s) + 2 * 0.5 * w)


@pytest.mark.parametrize("bad", ["sum_i x_i^T w + x^T w", "sum_i X_i w"])
def test_errors(bad):
    with pytest.raises(MatcalcError):
        matcalc.diff(bad, "w")


def test_unicode_sigma_sign_vs_matrix():  # Unicode spelling: Σ_i a sum, bare Σ a name
    e = matcalc.parse("Σ_i x_i^T w")
    assert isinstance(e, E.SumOver)
    assert isinstance(matcalc.parse("Σᵢ x_i"), E.SumOver)


def test_hessian_matrix_form_is_the_gram_form():
    """Σ_i σ_i(1-σ_i) y_i² x_i x_iᵀ + 2λI = Xᵀ diag(…) X + 2λI, checked against the Σ form
    and finite differences; the MSE Hessian is 2 XᵀX with the sign pulled out of the sum."""
    from matcalc.second_order import hessian
    from matcalc.verification import verify_hessian

    h = hessian(LOGISTIC, "w")
    assert verify_hessian(h).passed
    m = h.matrix_forms[("w", "w")]
    assert "sum_" not in to_text(m) and "diag(" in to_text(m)
    assert "(matrix form)" in h.format("text")
    mse = hessian("sum_i (y_i - x_i^T w)^2", "w")
    assert verify_hessian(mse).passed
    assert to_text(mse.expr) == "2 (sum_i x_i x_i^T)" and to_text(mse.matrix_forms[("w", "w")]) == "2 X^T X"


@pytest.mark.parametrize("expr,wrt", [
    (LOGISTIC, "w"),
    ("sum_i (x_i - mu)^T (x_i - mu) + sum_i exp(-x_i^T w) x_i^T w", "w,mu"),
])
def test_generated_code_for_sums_runs_and_is_vectorized_where_it_can(expr, wrt):
    """The matrix form is what the code computes (no Python loop for the logistic loss); a
    term no rule covers keeps its loop, and nothing with a free index leaves it."""
    import subprocess
    import sys

    from matcalc.code_generation import generate

    src = generate(expr, wrt, check=True, vector="mu" if "mu" in wrt else ())
    if expr == LOGISTIC:
        assert "for i in" not in src
    done = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# A summation sign without its index, as the course prints it, is the sum over the index
# its body leaves free: the same tree as the explicit sum_i, with a note.
IMPLICIT = [
    ("sum (y_i - b)^2", "sum_i (y_i - b)^2", "b", {"scalar": "b,y_i"}),
    ("∑ (y_i - w^T x_i)^2", "sum_i (y_i - w^T x_i)^2", "w", {}),
    ("\\sum (y_i - \\hat{\\beta})^2 + \\lambda \\hat{\\beta}^2", "sum_i (y_i - β̂)^2 + λ β̂^2", "β̂", {}),
    ("-n/2 ln det Σ - 1/2 Σ (x_i - μ)^T Σ^-1 (x_i - μ)", GAUSS, "μ", {"symmetric": "Σ"}),
    ("-\\frac{1}{2} \\sum (x_i - \\mu)^T \\Sigma^{-1} (x_i - \\mu)",
     "-1/2 sum_i (x_i - mu)^T Sigma^-1 (x_i - mu)", "μ", {"symmetric": "Σ"}),
]


@pytest.mark.parametrize("implicit,explicit,wrt,decls", IMPLICIT)
def test_sum_without_index_is_the_sum_over_the_free_index(implicit, explicit, wrt, decls):
    assert matcalc.parse(implicit, **decls) == matcalc.parse(explicit, **decls)
    r = matcalc.diff(implicit, wrt, **decls)
    assert any("sum over the observations" in n for n in r.notes), r.notes
    assert verify(r).passed and r.derivatives[0].expr == matcalc.diff(explicit, wrt, **decls).derivatives[0].expr


def test_sum_without_index_keeps_its_meanings_elsewhere():
    assert isinstance(matcalc.parse("sum(x)"), E.Sum)  # no index inside: the sum of the entries
    assert not any(isinstance(n, E.SumOver) for n in _nodes(matcalc.parse("(y_i - b)^2", scalar="b,y_i")))
    quadratic = matcalc.parse("(x_i - μ)^T Σ (x_i - μ)")  # Σ after a factor: the matrix, one observation
    assert not any(isinstance(n, E.SumOver) for n in _nodes(quadratic)) and "Sigma" in quadratic.symbols
    sigma_times = matcalc.parse("Σ (x - μ)")  # no index inside: the matrix Σ times a vector
    assert sigma_times.shape[1] == 1 and "Sigma" in sigma_times.symbols
    with pytest.raises(MatcalcError, match="sum_i sum_j"):
        matcalc.parse("sum (x_i - y_j)^2", scalar="x_i,y_j")


def _nodes(e):
    yield e
    for a in e.args:
        yield from _nodes(a)


def test_unicode_output_tells_the_sum_sign_from_the_matrix():
    """∑ (the summation sign) in Unicode output, Σ the covariance: both in one answer."""
    r = matcalc.diff(GAUSS, "mu", vector="mu", symmetric="Sigma")
    text = r.format("unicode")
    assert "∑_i Σ⁻¹" in text
    back = matcalc.parse(to_unicode(r.derivatives[0].expr), vector="mu", symmetric="Sigma")
    assert _same(back, r.derivatives[0].expr)
