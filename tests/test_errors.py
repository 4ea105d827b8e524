"""The error catalogue: every kind of bad input gets exit code 2 and a message that
names the problem (and the fix where there is one); bugs get exit code 3; limits hold."""
import sys
import time

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import matcalc
from matcalc import cli
from matcalc.errors import MatcalcError

CATALOGUE = [
    # (what, args, key words)
    ("matrix literal", ["diff", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} x", "--wrt", "x"],
     ["--at A=[[1,2],[3,4]]"]),
    ("double sum over entries", ["diff", "\\sum_{i,j} (x_{ij} - a_{ij})^2", "--wrt", "X"],
     ["sum_i sum_j", "sum((X - A) .^ 2)"]),
    ("softmax cross-entropy with rows w_k", ["diff", "-\\log \\frac{\\exp(w_y^T x)}{\\sum_{k=1}^K \\exp(w_k^T x)}",
                                             "--wrt", "W"], ["-yᵀ log(softmax(W x))"]),
    ("syntax error with a caret", ["diff", "x^T A x +* b", "--wrt", "x"], ["syntax error", "^", "expected"]),
    ("unbalanced parenthesis", ["diff", "tr(A X", "--wrt", "X"], ["missing ')'"]),
    ("stray parenthesis", ["diff", "A x)", "--wrt", "x"], ["no matching '('"]),
    ("unclosed norm", ["diff", "||x", "--wrt", "x"], ["closing ||"]),
    ("unknown function", ["diff", "sigmod(x)", "--wrt", "x"], ["unknown function `sigmod`", "sigmoid"]),
    ("unknown name", ["diff", "sigmod x", "--wrt", "x"], ["unknown name `sigmod`", "sigmoid"]),
    ("derivative notation", ["diff", "d/dx x^2", "--wrt", "x"], ["--wrt"]),
    ("shape mismatch", ["diff", "X w + y", "--wrt", "w", "--dim", "X=3x4,y=5"],
     ["shape mismatch", "`X w`", "3×1", "`y`", "5×1"]),
    # (`a b` alone is read as scalars with a note, as the course's `x y`; this has no reading)
    ("product mismatch", ["diff", "A x y", "--wrt", "x"], ["`A x` is n×1", "`y` is p×1"]),
    ("det of non-square", ["diff", "det(X)", "--wrt", "X", "--dim", "X=3x4"], ["determinant", "square", "3×4"]),
    ("inverse of non-square", ["diff", "inv(X)", "--wrt", "X", "--dim", "X=2x3"], ["inverse", "square", "2×3"]),
    ("trace of non-square", ["diff", "tr(X)", "--wrt", "X", "--dim", "X=2x3"], ["trace", "square"]),
    ("ln det of non-square", ["diff", "ln det X", "--wrt", "X", "--dim", "X=2x3"], ["determinant", "square"]),
    ("log of a square matrix", ["diff", "tr(log(X))", "--wrt", "X"], ["ambiguous", "log.(X)", "ln det X"]),
    ("scalar plus square matrix", ["diff", "lambda + X", "--wrt", "X", "--dim", "X=3x3"],
     ["cannot add the scalar", "lambda I"]),
    ("scalar plus matrix", ["diff", "lambda + X", "--wrt", "X"], ["cannot add the scalar", "lambda ones"]),
    ("division by a matrix", ["diff", "x / A", "--wrt", "x"], ["division", "not a scalar"]),
    ("bad --dim", ["diff", "X w", "--wrt", "w", "--dim", "X=3y4"], ["bad size"]),
    ("bad --wrt", ["diff", "x^T x", "--wrt", "1x"], ["not a variable name"]),
    ("two kinds", ["diff", "x^T x", "--wrt", "x", "--scalar", "x", "--vector", "x"], ["two different kinds"]),
    ("--at missing value", ["diff", "x^T A x", "--wrt", "x", "--at", "x=[1,2]"], ["needs a value for A"]),
    ("--at wrong shape", ["diff", "x^T A x", "--wrt", "x", "--at", "x=[1,2]", "A=[[1,2,3],[4,5,6]]"], ["size"]),
    ("--at scalar given a vector", ["diff", "lambda x", "--wrt", "x", "--at", "lambda=[1,2]", "x=[1,2]"],
     ["scalar"]),
    ("--at not numbers", ["diff", "x^T x", "--wrt", "x", "--at", "x=[a,b]"], ["cannot read"]),
    ("no --wrt", ["diff", "x^T A x"], ["--wrt"]),
    ("empty expression", ["diff", "", "--wrt", "x"], ["empty"]),
    ("fractional matrix power", ["diff", "A^0.5", "--wrt", "A"], ["fractional powers"]),
    ("symbolic exponent of a matrix", ["diff", "X^n", "--wrt", "X"], ["symbolic exponent", "X .^ n"]),
    ("inverse of zero", ["diff", "inv(A - A) x", "--wrt", "x"], ["zero matrix"]),
]


@pytest.mark.parametrize("what,args,words", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_catalogue(what, args, words):
    r = CliRunner().invoke(cli.main, args)
    assert r.exit_code == 2, (what, r.output)
    assert "Traceback" not in r.output
    for w in words:
        assert w in r.output, (what, w, r.output)


def test_absent_variable_is_zero_with_a_note():
    r = CliRunner().invoke(cli.main, ["diff", "x^T A x", "--wrt", "y"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == "0"
    assert "does not occur" in r.stderr


def test_non_differentiable_points_are_named():
    r = CliRunner().invoke(cli.main, ["diff", "sum(relu(W x))", "--wrt", "W"])
    assert r.exit_code == 0
    assert "subgradient step(0) = 0" in r.stderr
    assert "sign(0) = 0" in matcalc.diff("sum(abs(x))", "x").notes[0]


def test_internal_errors_exit_3(monkeypatch, capsys):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(matcalc.api, "diff", broken)
    monkeypatch.setattr(sys, "argv", ["matcalc", "diff", "x^T x", "--wrt", "x"])
    with pytest.raises(SystemExit) as exit_info:
        cli.run()
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "boom" in err and "x^T x" in err


# ---------------------------------------------------------------- limits


def test_input_length_and_depth_limits():
    with pytest.raises(MatcalcError, match="too long"):
        matcalc.parse("x + " * 6000 + "x")
    with pytest.raises(MatcalcError, match="nested too deeply"):
        matcalc.parse("exp(" * 500 + "x" + ")" * 500, scalar="x")


def test_deep_but_allowed_inputs_are_fast():
    t0 = time.perf_counter()
    assert matcalc.diff("(" * 1000 + "x^T x" + ")" * 1000, "x").format() == "2 x"
    chain = " ".join(f"A{i}" for i in range(250)) + " X " + " ".join(f"B{i}" for i in range(250))
    r = matcalc.diff(f"tr({chain})", "X")
    assert r.kind == "gradient"
    nested = matcalc.diff("exp(" * 200 + "x^T x" + ")" * 200, "x")
    assert nested.kind == "gradient"
    assert time.perf_counter() - t0 < 30


def test_result_size_limit(monkeypatch):
    from matcalc import expr

    monkeypatch.setattr(expr, "MAX_TREE_SIZE", 50)
    with pytest.raises(MatcalcError, match="too large"):
        matcalc.diff("exp(exp(exp(exp(x^T A x))))", "x").format()


# ---------------------------------------------------------------- fuzzing

ALPHABET = "xyAXwab()^T-1+*./ |'ᵀ⁻¹23detrlnexpsum,λ{}_"
VALID = ["a^T X A X a", "ln det X", "tr(A X^T X B X^-T)", "x x^T x",
         "sum(log(1 + exp(-y .* (X w))))", "||X||_F^2", "x'*A*x", "(y - X w)^T (y - X w)"]


def _outcome(text):
    """Parse and differentiate: only clean errors may come out."""
    try:
        f = matcalc.parse(text)
    except MatcalcError:
        return
    names = sorted(f.symbols)
    if names:
        try:
            matcalc.diff(text, names[0].lstrip("d")).format()
        except MatcalcError:
            pass


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=ALPHABET, max_size=30))
def test_random_strings_give_clean_errors(text):
    _outcome(text)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(VALID), st.integers(0, 40), st.sampled_from(ALPHABET), st.sampled_from(["ins", "del", "sub"]))
def test_mutated_inputs_give_clean_errors(base, pos, ch, op):
    pos = min(pos, len(base))
    if op == "ins":
        text = base[:pos] + ch + base[pos:]
    elif op == "del":
        text = base[:pos] + base[pos + 1:]
    else:
        text = base[:pos] + ch + base[pos + 1:]
    _outcome(text)


def test_pi_is_a_number_and_a_missing_data_matrix_names_the_fix():
    from click.testing import CliRunner

    from matcalc.cli import main

    r = CliRunner().invoke(main, ["diff", "\\pi x^2", "--wrt", "x", "--scalar", "x", "--at", "x=1"])
    assert r.exit_code == 0 and "6.28319" in r.output, r.output
    r = CliRunner().invoke(main, ["solve", "\\sum_{i=1}^n (y_i - w \\cdot x_i)^2", "--wrt", "w",
                                  "--at", "x=[1,2]", "y=[2,3]"])
    assert r.exit_code == 2 and "--scalar w" in r.output and "data matrix" in r.output, r.output
    r = CliRunner().invoke(main, ["solve", "\\sum_{i=1}^n (y_i - w \\cdot x_i)^2", "--wrt", "w",
                                  "--scalar", "w", "--at", "x=[1,2]", "y=[2,3]"])
    assert r.exit_code == 0 and "w = 1.6" in r.output, r.output


def test_solve_for_a_name_that_is_not_in_f_says_to_define_it():
    r = CliRunner().invoke(cli.main, ["solve", "L(y, \\hat{y}) = \\frac{1}{m}(y - \\hat{y})^T (y - \\hat{y})",
                                      "--wrt", "w"])
    assert r.exit_code == 2 and "ŷ = X w; L =" in r.output, r.output


def test_a_file_that_is_not_utf8_is_bad_input(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"x^T \xff x")
    r = CliRunner().invoke(cli.main, ["diff", f"@{bad}", "--wrt", "x"])
    assert r.exit_code == 2 and "not UTF-8" in r.output, r.output


@pytest.mark.parametrize("text,plain,wrt", [
    ("\\mathcal{L} = x^T x", "x^T x", "x"),
    ("\\ln L(x \\mid \\mu, \\Sigma) = -\\frac{n}{2} \\ln \\det \\Sigma", "-n/2 ln det Σ", "Σ"),
])
def test_latex_left_hand_sides(text, plain, wrt):
    import matcalc
    from matcalc.verification import verify

    r = matcalc.diff(text, wrt)
    assert str(r) == str(matcalc.diff(plain, wrt)) and verify(r).passed
