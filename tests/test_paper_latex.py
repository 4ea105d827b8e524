"""LaTeX input as papers and the Matrix Cookbook write it: \\operatorname{Tr}, |X|,
\\left|\\det X\\right|, bold names (a vector or a matrix, never a scalar), \\|w\\|_1, \\sum,
\\top and \\intercal. Each by the value of the derivative (against the answer written in
matcalc's notation) and by finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import matcalc
from matcalc.api import parse_like
from matcalc.errors import MatcalcError
from matcalc.latex_input import bold_names
from matcalc.numeric import evaluate, sample_point, sample_valid_point
from matcalc.verification import verify

# (LaTeX, wrt, declarations, the derivative in matcalc notation)
CASES = [
    (r"\operatorname{Tr}(A X)", "X", {}, "A^T"),
    (r"\mathrm{Tr}\left(X^\intercal X\right)", "X", {}, "2 X"),
    (r"\operatorname{tr}(X^{\top} B)", "X", {}, "B"),
    (r"|X|", "X", {}, "det(X) X^-T"),
    (r"\ln |X|", "X", {}, "X^-T"),
    (r"\left|\det X\right|", "X", {}, "abs(det(X)) X^-T"),
    (r"\ln\left|\det\left(X^\top A X\right)\right|", "X", {"dim": "A=n,X=n"}, "2 X^-T"),
    (r"\boldsymbol{\beta}^\top \boldsymbol{\beta}", "beta", {}, "2 beta"),
    (r"\mathbf{\mu}^\top A \mathbf{\mu}", "mu", {}, "(A + A^T) mu"),
    (r"\|\mathbf{y} - \mathbf{X}\boldsymbol{\beta}\|_2^2", "beta", {}, "-2 X^T (y - X beta)"),
    (r"(\mathbf{x} - \boldsymbol{\mu})^\top \boldsymbol{\Sigma}^{-1} (\mathbf{x} - \boldsymbol{\mu})", "mu",
     {"symmetric": "Sigma"}, "-2 Sigma^-1 (x - mu)"),
    (r"\|w\|_1", "w", {}, "sign(w)"),
    (r"\lambda \|\mathbf{w}\|_1 + \frac{1}{2}\|\mathbf{w}\|_2^2", "w", {}, "lambda sign(w) + w"),
    (r"\sum_{i=1}^{n} \left(y_i - \mathbf{w}^\top \mathbf{x}_i\right)^2", "w", {}, "-2 X^T (y - X w)"),
    (r"x^\intercal A x", "x", {}, "(A + A^T) x"),
    (r"x^{\top} A x", "x", {}, "(A + A^T) x"),
]


def _agree(r, expected_text):
    expected = parse_like(expected_text, r)
    exprs = [r.f, r.expr, expected]
    rng = np.random.default_rng(0)
    sizes, _ = sample_point(exprs, rng)
    for _ in range(2):
        env = sample_valid_point(exprs, sizes, rng)
        got, want = evaluate(r.expr, env, sizes), evaluate(expected, env, sizes)
        assert got.shape == want.shape
        assert np.max(np.abs(got - want)) <= 1e-8 * max(np.max(np.abs(want)), 1e-8), (str(r), expected_text)


@pytest.mark.parametrize("latex,wrt,decls,expected", CASES, ids=[c[0] for c in CASES])
def test_paper_latex(latex, wrt, decls, expected):
    r = matcalc.diff(latex, wrt, **decls)
    assert verify(r).passed, r
    _agree(r, expected)


def test_bold_names_are_vectors_or_matrices_not_scalars():
    bold = bold_names(r"\boldsymbol{\beta}^\top \mathbf{x} + \bm W + \mathbf{1}^\top \mathbf{w}_1")
    assert bold == {"beta", "x", "W", "w"}  # the name as written bold; its index or number follows it
    assert matcalc.Decls(bold=bold).is_bold("w1") and matcalc.Decls(bold=bold).is_bold("x_i")
    for latex, name in [(r"\boldsymbol{\beta}^\top \boldsymbol{\beta}", "beta"),
                        (r"\mathbf{\mu}^\top \mathbf{\mu}", "mu"), (r"\lambda \boldsymbol{\theta}^\top \boldsymbol{\theta}", "theta")]:
        r = matcalc.diff(latex, name)
        assert r.kind == "gradient" and r.derivatives[0].variable.cols == 1 and not r.derivatives[0].variable.is_scalar
        assert not any("read as a scalar" in n for n in r.notes), r.notes
        assert verify(r).passed
    plain = matcalc.diff(r"\beta \beta", "beta")  # not bold: the Greek default, a scalar
    assert plain.derivatives[0].variable.is_scalar
    transposed = matcalc.diff(r"\beta^\top \beta", "beta")  # not bold but written βᵀ: a vector, with a note
    assert not transposed.derivatives[0].variable.is_scalar and any("transposed" in n for n in transposed.notes)
    declared = matcalc.diff(r"\boldsymbol{\beta}^\top \boldsymbol{\beta}", "beta", scalar="beta")  # a declaration wins
    assert declared.derivatives[0].variable.is_scalar and verify(declared).passed


def test_one_norm_has_the_subgradient_note_and_matrices_a_clear_message():
    r = matcalc.diff(r"\|w\|_1", "w")
    assert any("subgradient sign(0) = 0" in n for n in r.notes)
    with pytest.raises(MatcalcError, match="1-norm of a matrix"):
        matcalc.diff(r"\|X\|_1", "X", matrix="X")
    with pytest.raises(MatcalcError, match="wrt=x"):
        matcalc.diff(r"\frac{\partial}{\partial x} x^\top x", "x")
