"""The `matcalc` command: every format, numbers with --at, exit codes and messages."""
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from matcalc.cli import main
from printed import assert_close, assert_printed_value


def run(*args):
    """Exit code and what the user sees (stdout and stderr together)."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def run_stdout(*args):
    """Exit code and standard output alone (what a pipe receives)."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


CASES = [
    ("x^T A x", "x", []),
    ("a^T X A X a", "X", []),
    ("ln det X", "X", []),
    ("x x^T x", "x", []),
    ("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w", []),
]


def _verified(expr, wrt):
    """The library's answer, checked against finite differences."""
    import matcalc
    from matcalc.verification import verify

    r = matcalc.diff(expr, wrt)
    assert verify(r).passed, r
    return r


@pytest.mark.parametrize("expr,wrt,extra", CASES + [("X^-1", "X", []), ("tr(A X B)", "X", [])])
@pytest.mark.parametrize("fmt", ["text", "unicode", "latex", "numpy", "differential"])
def test_each_format_prints_the_answer(expr, wrt, extra, fmt):
    """What each format prints has the value of the answer (parsed back for the
    notations, executed for NumPy); the answer itself matches finite differences."""
    code, out = run_stdout("diff", expr, "--wrt", wrt, "--format", fmt, *extra)
    assert code == 0, out
    r = _verified(expr, wrt)
    dv = r.derivatives[0]
    printed = out.strip()
    if fmt == "differential":
        assert printed.startswith("df = ")
        assert_printed_value(printed[len("df = "):], "text", r.differential, r.f, r.wrt, r.f.shape)
    else:
        shape = r.f.shape if dv.kind == "differential" else dv.expr.shape
        assert_printed_value(printed, fmt, dv.expr, r.f, r.wrt, shape)


def test_text_output_re_parses_to_an_equal_expression():
    import matcalc
    from matcalc.api import parse_like
    from matcalc.simplify import equal

    for expr, wrt, _ in CASES:
        code, out = run_stdout("diff", expr, "--wrt", wrt)
        r = matcalc.diff(expr, wrt)
        assert equal(parse_like(out.strip(), r), r.expr)


@pytest.mark.parametrize("expr,wrt,extra", CASES)
def test_json_has_the_documented_keys_and_values(expr, wrt, extra):
    code, out = run_stdout("diff", expr, "--wrt", wrt, "--format", "json", *extra)
    assert code == 0, out
    data = json.loads(out)
    for key in ("expr", "wrt", "kind", "result", "unicode", "latex", "numpy", "differential", "shape"):
        assert key in data
    assert data["check"]["passed"]  # the self-check against finite differences
    r = _verified(expr, wrt)
    dv = r.derivatives[0]
    assert data["kind"] == dv.kind and data["shape"] == [str(d) for d in dv.expr.shape]
    for key, notation in (("result", "text"), ("unicode", "unicode"), ("latex", "latex"), ("numpy", "numpy")):
        assert_printed_value(data[key], notation, dv.expr, r.f, r.wrt, what=f"json {key}: {data[key]!r}")
    assert data["differential"].startswith("df = ")
    assert_printed_value(data["differential"][len("df = "):], "text", r.differential, r.f, r.wrt, r.f.shape)


def test_json_of_a_gradient():
    code, out = run_stdout("diff", "x^T A x", "--wrt", "x", "--format", "json")
    data = json.loads(out)
    assert data["kind"] == "gradient" and data["result"] == "(A + A^T) x"


def test_several_variables_and_numbers():
    code, out = run("diff", "(2x + y) z", "--wrt", "x,y,z", "--scalar", "x,y,z", "--at", "x=10", "y=-2", "z=-4")
    assert code == 0, out
    assert "= -8" in out and "= -4" in out and "= 18" in out


def test_at_with_vectors_and_matrices():
    code, out = run("diff", "x^T A x", "--wrt", "x", "--at", "x=[1,2] A=[[1,2],[3,4]]")
    assert code == 0, out
    # (A + A^T) x = [[2,5],[5,8]] [1,2] = [12, 21]
    assert "[12., 21.]" in out


def test_diff_checks_itself_by_default():
    result = CliRunner().invoke(main, ["diff", "x^T A x", "--wrt", "x"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "(A + A^T) x"
    assert "check: PASS" in result.stderr
    quiet = CliRunner().invoke(main, ["diff", "x^T A x", "--wrt", "x", "--no-check"])
    assert "check" not in quiet.output


@pytest.mark.parametrize("args,words", [
    (["diff", "tr(A X", "--wrt", "X"], ["missing ')'", "^"]),
    (["diff", "sigmod(x)", "--wrt", "x"], ["unknown function", "sigmoid"]),
    (["diff", "det(X)", "--wrt", "X", "--dim", "X=3x4"], ["square", "3×4"]),
    (["diff", "X w + y", "--wrt", "w", "--dim", "X=3x4,y=5"], ["shape mismatch", "3×1", "5×1"]),
    (["diff", "x^T A x", "--wrt", "x", "--dim", "X=3y4"], ["bad size"]),
    (["diff", "x^T A x", "--wrt", "x", "--at", "x=[1,2,3]", "A=[[1,2],[3,4]]"], ["size"]),
    (["diff", "x^T A x", "--wrt", "x", "--at", "x=[1,2]"], ["needs a value for A"]),
    (["diff", "x^T A x", "--wrt", "x", "--at", "x=__import__('os')", "A=1"], ["cannot read"]),
    (["diff", "x^T A x"], ["--wrt"]),
])
def test_bad_input_exits_2_with_a_message(args, words):
    code, out = run(*args)
    assert code == 2, out
    assert "Traceback" not in out
    for w in words:
        assert w in out


def test_variable_not_in_expression_gives_zero_with_a_note():
    code, out = run("diff", "x^T A x", "--wrt", "y")
    assert code == 0
    assert run_stdout("diff", "x^T A x", "--wrt", "y")[1].splitlines()[0] == "0"
    assert "does not occur" in out


def test_installed_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "matcalc.cli", "diff", "x^T A x", "--wrt", "x"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(A + A^T) x"


@pytest.mark.parametrize("expr,wrt", [("a^T X A X a", "X"), ("x^T A x", "x"),
                                      ("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w")])
def test_steps_json_every_step_has_the_value_of_df(expr, wrt):
    """diff --steps --format json: each step's NumPy code and text equal df, and the
    final answer equals the derivative (itself checked against finite differences)."""
    from matcalc.numeric import evaluate

    from printed import numpy_value, points

    code, out = run_stdout("diff", expr, "--wrt", wrt, "--steps", "--format", "json")
    assert code == 0, out
    steps = json.loads(out)["steps"]
    r = _verified(expr, wrt)
    dv = r.derivatives[0]
    sizes, envs = points([r.f, r.differential, dv.expr])
    for env in envs:
        df = evaluate(r.differential, env, sizes)
        for step in steps:
            assert_close(numpy_value(step["numpy"], env, sizes), df, f"step {step['rule']}: {step['numpy']}")
        assert_close(numpy_value(steps[-1]["result_numpy"], env, sizes), evaluate(dv.expr, env, sizes),
                     "result_numpy")
    for step in steps[1:]:  # the first is d(f) itself
        rhs = step["text"].removeprefix("df = ").split("  =>  ")[0]
        assert_printed_value(rhs, "text", r.differential, r.f, r.wrt, r.f.shape, what=step["text"])
    assert_printed_value(steps[-1]["result"], "text", dv.expr, r.f, r.wrt)


def test_python_dash_m_runs_the_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "matcalc", "diff", "x^T A x", "--wrt", "x", "--no-check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "(A + A^T) x", done.stdout + done.stderr
