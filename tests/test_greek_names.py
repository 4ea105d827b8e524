"""Unicode, ASCII and LaTeX spellings of a Greek name are one name, in every argument of
every command and API function (expression, wrt, declarations, sizes, claims, values)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc import cli
from matcalc.schedule import backprop
from matcalc.checking import check
from matcalc.code_generation import generate
from matcalc.compgraph import graph
from matcalc.second_order import hessian
from matcalc.verification import verify

MU = ("μ", "mu", r"\mu")
SIGMA = ("Σ", "Sigma", r"\Sigma")
LAM = ("λ", "lambda", r"\lambda")


def _expr(mu, sigma):
    """The Gaussian log-likelihood term with the names spelled as given (LaTeX needs a space)."""
    m, s = (mu + " " if mu.startswith("\\") else mu), (sigma + " " if sigma.startswith("\\") else sigma)
    return f"-1/2 (x - {m})^T {s}^-1 (x - {m})"


SPELLINGS = list(itertools.product(MU, SIGMA))


@pytest.mark.parametrize("mu, sigma", SPELLINGS)
def test_api_diff_every_spelling(mu, sigma):
    expr = _expr(mu, sigma)
    if "\\" in expr and not expr.lstrip().startswith("$"):
        expr = expr.replace("^-1", "^{-1}")
    for wrt_mu in MU:
        r = matcalc.diff(expr, wrt_mu, symmetric=sigma, dim={sigma: 3})
        assert r.kind == "gradient" and r.expr.shape == (3, 1), (expr, wrt_mu, str(r))
        assert str(r) == "Sigma^-1 (x - mu)"
        assert verify(r).passed
        values = r.evaluate({mu: [1, 2, 3], "x": [0, 0, 1], sigma: np.eye(3) * 2})
        np.testing.assert_allclose(values["mu"].ravel(), [-0.5, -1, -1])


@pytest.mark.parametrize("lam", LAM)
def test_api_every_function(lam):
    expr = f"(y - X w)^T (y - X w) + {lam} {'' if lam[0] != chr(92) else ''}w^T w".replace(f"{lam} w", f"{lam} w")
    r = matcalc.diff(expr, LAM[(LAM.index(lam) + 1) % 3])
    assert str(r) == "w^T w" and verify(r).passed
    assert check(expr, "w", f"2 X^T (X w - y) + 2 {LAM[(LAM.index(lam) + 2) % 3]} w")
    h = hessian(expr, "w")
    assert "lambda" in str(h)
    s = backprop(f"1/2 (y - W x)^T (y - W x) + {lam} tr(W^T W)", "W")
    assert "lambda" in s.format("text")
    code = generate(expr, "w")
    assert "lambda_" in code
    g = graph(f"({lam} + b) c", scalar=f"{LAM[0]},b,c", at={LAM[1]: 2, "b": 1, "c": 3})
    assert g.adjoints["lambda"] == 3
    assert str(matcalc.parse(f"{lam} x", scalar=LAM[2])) == "lambda x"


def test_declarations_in_every_spelling_agree():
    expr = "ln det Σ + μ^T μ"
    base = matcalc.diff(expr, "Σ,μ", vector="mu")
    for m, s in SPELLINGS:
        r = matcalc.diff(expr, f"{s},{m}", matrix=s, vector=m, dim={s: "n", m: "n"})
        assert r.format("text") == base.format("text")
        r = matcalc.diff(expr, [s, m], dim=[f"{s}=n", f"{m}=n"])
        assert r.format("text") == base.format("text")


def _run(args):
    r = CliRunner().invoke(cli.main, args)
    return r.exit_code, r.output


@pytest.mark.parametrize("mu, sigma", [("μ", "Σ"), ("mu", "Sigma"), ("μ", "Sigma"), ("mu", "Σ")])
def test_cli_every_command_and_flag(mu, sigma):
    expr = "-1/2 (x - μ)ᵀ Σ⁻¹ (x - μ)"
    code, out = _run(["diff", expr, "--wrt", mu, "--symmetric", sigma, "--dim", f"{sigma}=2",
                      "--at", f"{mu}=[1,2]", "x=[0,0]", f"{sigma}=[[1,0],[0,1]]"])
    assert code == 0 and out.splitlines()[0] == "Sigma^-1 (x - mu)", out
    assert "[-1, -2]" in out.replace(".", "")
    code, out = _run(["diff", expr, "--wrt", mu, "--vector", mu, "--matrix", sigma])
    assert code == 0 and "(x - mu)" in out
    code, out = _run(["check", expr, "--wrt", mu, "--claim", f"{sigma}^-1 (x - {mu})", "--symmetric", sigma])
    assert code == 0 and out.startswith("correct"), out
    code, out = _run(["verify", expr, "--wrt", mu, "--symmetric", sigma])
    assert code == 0 and "PASS" in out
    code, out = _run(["hessian", expr, "--wrt", mu, "--symmetric", sigma])
    assert code == 0 and "Sigma^-1" in out
    code, out = _run(["codegen", expr, "--wrt", mu, "--symmetric", sigma])
    assert code == 0 and "grad_mu" in out


@pytest.mark.parametrize("lam", LAM)
def test_cli_backprop_and_graph(lam):
    code, out = _run(["backprop", "1/2 (y - W x)^T (y - W x) + λ tr(W^T W)", "--wrt", "W",
                      "--at", "W=[[1,0],[0,1]]", "x=[1,2]", "y=[0,1]", f"{lam}=0.5"])
    assert code == 0 and "lambda" in out, out
    code, out = _run(["graph", "(λ + b) c", "--scalar", f"{lam},b,c", "--at", f"{lam}=2", "b=1", "c=3"])
    assert code == 0 and "3" in out, out
