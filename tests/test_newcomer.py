"""Regressions from a newcomer's trial of the course's exercises typed as printed.

Each answer is also checked against finite differences (verify); each refused spelling
must say what to write instead.
"""
import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc import cli
from matcalc.errors import MatcalcError
from matcalc.numeric import evaluate, sample_point, sample_valid_point
from matcalc.verification import verify


@pytest.mark.parametrize("expr,wrt,decls,expected", [
    # the Gaussian log-likelihood with its constant: m and n are counts, μ a vector
    (r"-\frac{m \cdot n}{2} \ln 2\pi - \frac{n}{2} \ln \det \Sigma - \frac{1}{2} (x - \mu)^T \Sigma^{-1} (x - \mu)",
     "μ", {"symmetric": "Σ"}, "Sigma^-1 (x - mu)"),
    # y_i in a loss is a scalar; λ stays a scalar
    ("ln(1 + exp(-y_i x_i^T w)) + λ w^T w", "w", {}, "-y_i sigmoid(-y_i x_i^T w) x_i + 2 lambda w"),
    # the book's network: W_3 with one output column is read as a column
    (r"\frac{1}{2} \cdot (y - \tanh(\tanh(X \cdot W_1) \cdot W_2) \cdot W_3)^2", "W_3", {}, None),
    # 1ᵀx: the vector of ones
    (r"\mathbf{1}^T x", "x", {}, "ones(n)"),
    ("ones^T x", "x", {}, "ones(n)"),
    # W_{2}, W_2 and W2 are one name
    ("a^T W_{2} x", "W_2", {}, "a x^T"),
    ("a^T W2 x", "W_{2}", {}, "a x^T"),
    # a definition's left-hand side is dropped
    ("L(w) = (y - Xw)^T (y - Xw)", "w", {}, "-2 X^T (y - X w)"),
    # functions of the books
    (r"\tanh^2(t)", "t", {"scalar": "t"}, "2 tanh(t) (1 - tanh(t)^2)"),
    ("tg(t) + arctg(t)", "t", {"scalar": "t"}, "1 + tan(t)^2 + 1 / (1 + t^2)"),
    ("arcsin(t) + sinh(t)", "t", {"scalar": "t"}, "1 / sqrt(1 - t^2) + cosh(t)"),
    # the slides' max gate: the gradient goes to the larger input
    ("max(x, y) z", "x", {"scalar": "x,y,z"}, "z step(x - y)"),
    ("min(x, y) z", "y", {"scalar": "x,y,z"}, "z step(x - y)"),
    ("sum(max(W x, b))", "W", {}, "step(W x - b) x^T"),
])
def test_course_spellings_give_the_course_answer(expr, wrt, decls, expected):
    r = matcalc.diff(expr, wrt, **decls)
    assert verify(r).passed, (expr, str(r))
    if expected is not None:
        _agree(r.expr, r.f, matcalc.api.parse_like(expected, r))


def _agree(got_expr, f, want_expr, seed=0):
    exprs = [f, got_expr, want_expr]
    rng = np.random.default_rng(seed)
    sizes, _ = sample_point(exprs, rng)
    env = sample_valid_point(exprs, sizes, rng)
    got, want = evaluate(got_expr, env, sizes), evaluate(want_expr, env, sizes)
    assert got.shape == want.shape and np.allclose(got, want), (got, want)


@pytest.mark.parametrize("expr,words", [
    (r"\frac{d}{dx} x^2", "wrt=x"),
    (r"\frac{d \ln f(t)}{dt}", "wrt=x"),
    ("dx^2/dx", "wrt=x"),
    ("Ln(x^T x)", "did you mean ln"),
    ("Exp(x^T x)", "did you mean exp"),
    ("lg(x^T x)", "ln(x) / ln(10)"),
])
def test_leibniz_and_misspelt_functions_are_refused_with_the_fix(expr, words):
    with pytest.raises(MatcalcError) as err:
        matcalc.diff(expr, "x")
    assert words in str(err.value)


def test_notes_say_when_a_vector_reading_makes_the_result_not_scalar():
    r = matcalc.diff("tanh(t)", "t")
    assert any("scalar=t" in n for n in r.notes)
    r = matcalc.diff(r"-\log \sigma(yw^T x)", "w")
    assert any("scalar=y" in n for n in r.notes)


def test_differential_claims_in_the_cli():
    """The README's course-notation example: `dL = …` is checked as a differential."""
    args = ["check", "(y - Xw)^T (y - Xw) + λ w^T w", "--wrt", "w",
            "--claim", "dL = -2 (y - Xw)^T X dw + 2 λ w^T dw"]
    res = CliRunner().invoke(cli.main, args)
    assert res.exit_code == 0, res.output
    args[-1] = "dL = 2 (y - Xw)^T X dw + 2 λ w^T dw"  # the book's sign typo
    res = CliRunner().invoke(cli.main, args)
    assert res.exit_code == 1 and "wrong" in res.output


def test_identity_with_a_numbered_subscript_is_the_identity():
    """I_3, I_{3} and I_n are identities (a number fixes the size), not a symbol named I3."""
    from matcalc.reading import symbols_of

    for text in ("x^T I_3 x", "x^T I_{3} x"):
        e = matcalc.parse(text)
        assert set(symbols_of(e)) == {"x"} and symbols_of(e)["x"].shape == (3, 1), text
    assert set(symbols_of(matcalc.parse("x^T I_n x"))) == {"x"}


def test_ones_with_a_numbered_subscript_is_the_ones_vector():
    from matcalc.reading import symbols_of

    assert set(symbols_of(matcalc.parse("1_3^T x"))) == {"x"}


def test_x_left_of_a_weight_matrix_is_a_row_as_the_book_says():
    """Chapter 4: `1/2 (y - σ(σ(x W_1) W_2) W_3)^2` with the book's "x is a row": x is read
    as a 1×n row, y as a scalar, W_3 as a column; the schedule has all three layers."""
    from matcalc.reading import symbols_of
    from matcalc.schedule import backprop, verify_schedule

    text = r"\frac{1}{2} (y - \sigma(\sigma(x W_1) W_2) W_3)^2"
    f = matcalc.parse(text)
    kinds = {n: s.shape for n, s in symbols_of(f).items()}
    assert kinds["x"][0] == 1 and kinds["y"] == (1, 1) and kinds["W3"][1] == 1
    s = backprop(text, "W_1,W_2,W_3")
    assert len([n for n in s.forward if n.role == "pre-activation"]) == 3
    assert verify_schedule(s).passed
