"""Softmax of a batch: observations are rows (the course's convention), softmax per row."""
import numpy as np
import pytest

import matcalc
from matcalc.numeric import evaluate
from matcalc.printing.numpy import to_numpy
from matcalc.verification import verify


def test_softmax_of_a_batch_is_row_wise_with_the_course_numbers():
    """The problem book's softmax exercise: logits (1, -2, 0) and (0.5, -1, 0) at once."""
    S = matcalc.parse("softmax(Z)", dim="Z=2x3")
    Z = np.array([[1.0, -2.0, 0.0], [0.5, -1.0, 0.0]])
    got = evaluate(S, {"Z": Z})
    want = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    assert np.allclose(got, want) and np.allclose(got.sum(axis=1), 1)
    code = to_numpy(S)
    assert np.allclose(eval(code, {"np": np, "Z": Z}), want)  # noqa: S307 - our own generated code


@pytest.mark.parametrize("expr,wrt", [
    ("-sum(Y .* log(softmax(X W)))", "W"),          # batch cross-entropy
    ("sum(softmax(X W) .* C)", "W"),
    ("sum(softmax(X W + ones(n) b^T) .* C)", "b"),   # a bias row broadcast over the batch
    ("-sum(y .* log(softmax(W x)))", "W"),          # one observation as a column
    ("sum(log(softmax(Z)) .* C)", "Z"),
])
def test_batch_softmax_derivatives_match_finite_differences(expr, wrt):
    r = matcalc.diff(expr, wrt)
    report = verify(r)
    assert report.passed, (expr, str(r), report)


def test_batch_cross_entropy_is_the_known_delta_for_one_hot_rows():
    """Xᵀ(S ⊙ (Y 1 1ᵀ) − Y) from matcalc; with one-hot rows of Y (Y 1 = 1) it is Xᵀ(S − Y)."""
    r = matcalc.diff("-sum(Y .* log(softmax(X W)))", "W", dim="X=4x3,W=3x2")
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    Y = np.eye(2)[rng.integers(0, 2, 4)]
    S = np.exp(X @ W) / np.exp(X @ W).sum(axis=1, keepdims=True)
    assert np.allclose(evaluate(r.expr, {"X": X, "W": W, "Y": Y}), X.T @ (S - Y))


@pytest.mark.parametrize("expr,wrt,claim", [
    ("-y^T log(softmax(z))", "z", "softmax(z) - y"),
    ("-sum(Y .* log(softmax(X W)))", "W", "X^T (softmax(X W) - Y)"),
])
def test_cross_entropy_claims_are_correct_for_one_hot_labels(expr, wrt, claim):
    """The course's answer softmax(z) - y is right when y sums to 1, and the verdict says so."""
    report = matcalc.check(expr, wrt, claim)
    assert report and "sum" in report.reason and "1" in report.reason
    assert not matcalc.check(expr, wrt, claim.replace("- y", "+ y").replace("- Y", "+ Y"))
