"""Input in the notations people paste: LaTeX (auto-detected or --input latex), unicode,
and the expression from standard input or a file."""
import pytest
from click.testing import CliRunner

import matcalc
from matcalc.cli import main
from matcalc.simplify import equal


@pytest.mark.parametrize("latex,plain", [
    (r"\operatorname{tr}(A X)", "tr(A X)"),
    (r"\mathrm{tr}(A X^{\top} X)", "tr(A X^T X)"),
    (r"x^{\top} A x", "x^T A x"),
    (r"X^{-1}", "inv(X)"),
    (r"\ln\det X", "ln det X"),
    (r"\lambda \|w\|_2^2", "lambda w^T w"),
    (r"\frac{1}{2}\|x\|_2^2", "1/2 x^T x"),
    (r"\sigma(w^\top x)", "sigmoid(w^T x)"),
    (r"\|X\|_F^2", "tr(X^T X)"),
    (r"\operatorname{tr}\left(A X^{-\top}\right) B", "tr(A X^-T) B"),
    (r"\mathbf{a}^\top \mathbf{X} \mathbf{b}", "a^T X b"),
    (r"x \odot y", "x .* y"),
    (r"$x^\top x$", "x^T x"),
    (r"\sqrt{x^\top x}", "sqrt(x^T x)"),
])
def test_latex(latex, plain):
    assert equal(matcalc.parse(latex), matcalc.parse(plain))


@pytest.mark.parametrize("text,plain", [
    ("xᵀAx", "x^T A x"), ("X⁻¹", "X^-1"), ("λ wᵀw", "lambda w^T w"), ("x ⊙ y", "x .* y"),
    ("x ∘ y", "x .* y"), ("A·x", "A x"), ("‖x‖²", "x^T x"),
])
def test_unicode(text, plain):
    assert equal(matcalc.parse(text), matcalc.parse(plain))


def test_unknown_latex_command_is_a_clear_error():
    with pytest.raises(matcalc.ParseError, match=r"\\foo"):
        matcalc.parse(r"\foo x")


def test_expression_from_stdin_file_and_latex_flag(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["diff", "-", "--wrt", "x", "--no-check"], input="x^T A x\n")
    assert r.exit_code == 0 and r.stdout.strip() == "(A + A^T) x"
    path = tmp_path / "f.txt"
    path.write_text(r"\ln\det X")
    r = runner.invoke(main, ["diff", f"@{path}", "--wrt", "X", "--no-check"])
    assert r.stdout.strip() == "X^-T"
    r = runner.invoke(main, ["--input", "latex", "diff", "x^{T} x", "--wrt", "x", "--no-check"])
    assert r.stdout.strip() == "2 x"
    r = runner.invoke(main, ["diff", "@/no/such/file", "--wrt", "x"])
    assert r.exit_code == 2 and "cannot read" in r.output


def test_help_has_examples_and_version():
    runner = CliRunner()
    for cmd in ("diff", "check", "verify", "hessian", "backprop", "graph", "codegen"):
        r = runner.invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Examples:" in r.output, cmd
    r = runner.invoke(main, ["--version"])
    assert r.exit_code == 0 and "matcalc" in r.output
