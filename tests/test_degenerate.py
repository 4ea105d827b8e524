"""Never silently wrong in degenerate cases; `check` not fooled; no crash, no false alarm.

Each derivative asserted here is also compared with central differences (verify), and
each printed answer is read back or executed and compared by value.
"""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc import cli
from matcalc.checking import check
from matcalc.errors import MatcalcError, ShapeError
from matcalc.numeric import evaluate
from matcalc.verification import verify
from printed import assert_close, numpy_value, points, read_back


def _verified(expr, wrt, **kw):
    r = matcalc.diff(expr, wrt, **kw)
    assert verify(r).passed, (expr, wrt)
    return r


# ---------------------------------------------------------------- singular by shape


@pytest.mark.parametrize("expr,wrt,kw", [
    ("det(x y^T)", "x", {}),
    ("det(x y^T) + a^T x", "x", {}),
    ("det(Z P)", "Z", {"dim": "Z=4x3,P=3x4"}),
    ("ln(1 + det(A^T b c^T))", "A", {}),
])
def test_det_of_a_matrix_singular_by_its_shape_is_zero(expr, wrt, kw):
    r = _verified(expr, wrt, **kw)
    sizes, envs = points([r.f, r.expr, r.derivatives[0].variable])
    for env in envs:  # the derivative of the det part is 0: the answer matches the numbers
        assert np.all(np.isfinite(evaluate(r.expr, env, sizes)))
    assert "det" not in str(r.expr)


def test_det_through_a_symbolic_size_states_its_assumption():
    r = _verified("det(Z P)", "Z")
    assert any("assumes m ≥ n" in n for n in r.notes), r.notes


def test_inverse_of_a_matrix_singular_by_its_shape_is_refused():
    with pytest.raises(ShapeError, match="singular"):
        matcalc.diff("x^T inv(x y^T) x", "x")


# ---------------------------------------------------------------- printed answers keep their values


@pytest.mark.parametrize("expr,wrt,vec", [
    ("lambda (b w^T) .^ 2", "w", True),
    ("lambda (b w^T) .^ 2", "b", True),
    ("X .* (a b^T)", "X", True),
    ("sigmoid(W x)", "W", True),
    ("lambda (b w^T) .^ 2", "lambda", False),
])
def test_numpy_answer_has_the_value_of_the_text_answer(expr, wrt, vec):
    r = _verified(expr, wrt, vec=vec)
    dv = r.derivatives[0]
    sizes, envs = points([r.f, dv.expr, dv.variable])
    for env in envs:
        want = evaluate(dv.expr, env, sizes)
        got = np.asarray(numpy_value(dv.notation("numpy"), env, sizes))
        assert got.size == want.size and got.ndim <= 2, (got.shape, want.shape)
        assert_close(got, want, dv.notation("numpy"))


@pytest.mark.parametrize("expr,wrt", [
    ("x^T softplus(D - D) y", "x"),
    ("x^T softmax(w - w)", "x"),
    ("x^T exp(D - D) y", "x"),
    ("alpha logsumexp(w - w)", "alpha"),
    ("tr(B + lambda I)", "lambda"),
    ("x^T (A + lambda I) x", "lambda"),
])
def test_printed_text_parses_back_to_an_equal_value(expr, wrt):
    r = _verified(expr, wrt)
    dv = r.derivatives[0]
    back = read_back(dv.notation("text"), "text", r.f, [wrt], dv.expr.shape)
    sizes, envs = points([r.f, dv.expr, dv.variable])
    for env in envs:
        assert_close(evaluate(back, env, sizes), evaluate(dv.expr, env, sizes), dv.notation("text"))


def test_identity_of_an_undetermined_size_is_refused():
    with pytest.raises(ShapeError, match="not determined"):
        matcalc.diff("alpha tr(I)", "alpha")
    assert str(matcalc.diff("tr(B + lambda I)", "lambda")) == "tr(eye(n))"


def test_a_cancelled_variable_keeps_its_written_shape():
    r = _verified("alpha x^T P (v - v)", "P", dim="P=3x4")
    assert r.expr.shape == (3, 4)
    assert r.format("numpy") == "np.zeros((3, 4))"
    out = r.evaluate({"alpha": 1, "x": [1, 2, 3], "P": np.ones((3, 4)), "v": [1, 2, 3, 4]})
    assert out["P"].shape == (3, 4) and not out["P"].any()
    r = matcalc.diff("alpha x^T P (v - v)", "P")
    assert r.expr.shape == r.derivatives[0].variable.shape and any("cancels" in n for n in r.notes)


# ---------------------------------------------------------------- check is not fooled


@pytest.mark.parametrize("expr,wrt,claim", [
    ("alpha x^T x", "x", "2 abs(alpha) x"),
    ("relu(alpha)", "alpha", "1"),
    ("abs(alpha)", "alpha", "1"),
    ("det X", "X", "abs(det(X)) X^-T"),
    ("tr(X + lambda I)", "lambda", "3"),
    ("ln det(alpha X)", "alpha", "3/alpha"),
    ("x^T x", "x", "2.00000001 x"),
    ("x^T A x", "x", "1.00000001 (A + A^T) x"),
])
def test_classic_mistakes_are_rejected(expr, wrt, claim):
    r = check(expr, wrt, claim)
    assert not r, r.reason
    ce = r.counterexample
    assert ce is not None
    assert max(np.max(np.abs(np.asarray(v, dtype=float))) for v in ce.values.values()) <= 100


@pytest.mark.parametrize("expr,wrt,claim", [
    ("sum(sigmoid(x) + sigmoid(-x))", "x", "0 x"),
    ("sum(softmax(y))", "y", "0"),
    ("softplus(x) - softplus(-x) - x", "x", "0"),
    ("x^T A x", "x", "A x + A^T x"),
    ("ln det X", "X", "inv(X)^T"),
])
def test_correct_claims_are_accepted(expr, wrt, claim):
    r = check(expr, wrt, claim)
    assert r, r.reason
    assert _verified(expr, wrt)


def test_a_claim_that_needs_a_square_matrix_is_judged_for_square_x():
    r = check("tr(inv(X^T C X) A)", "X", "-X^-T A^T X^-1 C^-T X^-T - X^-T A X^-1 C^-1 X^-T")
    assert r and "square X" in r.reason and r.notes
    r = check("x^T A b", "x", "A^T b")  # not about squareness: still a shape mistake
    assert not r and r.diagnosis == "shape"


def test_inverse_for_inverse_transpose_is_right_only_for_symmetric_x():
    r = check("a^T X^-1 b", "X", "-X^-1 a b^T X^-1")
    assert not r and r.diagnosis == "symmetric" and "X" in r.reason


# ---------------------------------------------------------------- no crash, no false alarm


def _run(*args):
    r = CliRunner().invoke(cli.main, list(args))
    assert "Traceback" not in r.output and not isinstance(r.exception, (TypeError, KeyError, ValueError)), r.output
    return r


@pytest.mark.parametrize("args,words", [
    (("hessian", "tr(B - B)", "--wrt", "B"), "PASS"),
    (("hessian", "a^T X b", "--wrt", "X"), "PASS"),
    (("hessian", "w^T D w", "--wrt", "D"), "PASS"),
    (("diff", "sin(100000 alpha)", "--wrt", "alpha"), "PASS"),
    (("diff", "ln det X", "--wrt", "X", "--dim", "X=5000"), "skipped"),
    (("diff", "ln det X", "--wrt", "X", "--dim", "X=100000x100000"), "skipped"),
])
def test_self_check_has_no_false_alarm_and_a_size_cap(args, words):
    r = _run(*args)
    assert r.exit_code == 0 and words in r.output and "bug in matcalc" not in r.output, r.output
    assert "PASS, max relative error 1.0e+00" not in r.output


@pytest.mark.parametrize("args,words", [
    (("diff", "x^T A^-1 x", "--wrt", "x", "--at", "x=[1,2]", "A=[[1,2],[2,4]]"), "outside the domain"),
    (("diff", "ln det X", "--wrt", "X", "--at", "X=[[1,2],[2,4]]"), "outside the domain"),
    (("diff", "x^T x", "--wrt", "x", "--at", "x=[1e400,2]"), "not finite"),
    (("diff", "x^T x", "--wrt", "x", "--at", "x=[1,2]", "x=[1,3]"), "twice"),
    (("diff", "x^T x", "--wrt", "x", "--at", "x=[1,2]", "y=[1,3]"), "--at names y"),
    (("diff", "alpha tr(I)", "--wrt", "alpha"), "not determined"),
])
def test_bad_points_are_messages(args, words):
    r = _run(*args)
    assert r.exit_code == 2 and words in r.output, r.output


@pytest.mark.parametrize("name,content,words", [
    ("empty.jsonl", b"", "empty"),
    ("bin.jsonl", b"\xff\xfe\x00bin", "UTF-8"),
    ("bad.yaml", b"a: [b\n", "YAML"),
    ("huge.csv", b"id,expression,wrt,claim\n1," + b"x" * 140000 + b",x,1\n", "CSV"),
])
def test_bad_batch_files_are_messages(tmp_path, name, content, words):
    pytest.importorskip("yaml") if name.endswith("yaml") else None
    path = tmp_path / name
    path.write_bytes(content)
    r = _run("check", "--file", str(path))
    assert r.exit_code == 2 and words in r.output, r.output


def test_odd_records_and_negative_jobs(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"expression": "x^T x", "wrt": "x", "claim": "2 x", "symmetric": 5}) + "\n")
    r = _run("check", "--file", str(path))
    assert r.exit_code == 1 and "symmetric must be a name" in r.output, r.output
    r = _run("check", "--file", str(path), "--jobs", "-1")
    assert r.exit_code == 2 and "--jobs" in r.output, r.output


def test_library_errors_are_matcalc_errors():
    with pytest.raises(MatcalcError):
        matcalc.diff("x^T x", "x").evaluate({"x": [1, 2], "y": [1]})
