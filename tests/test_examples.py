"""The walk-throughs in examples/ run, and their key numbers are right."""
import pathlib
import runpy
import subprocess
import sys

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run_main(name: str) -> dict:
    module = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"examples_{name}")
    return module["main"]()


def test_linear_regression(capsys):
    out = run_main("linear_regression")
    printed = capsys.readouterr().out
    assert "∇f = -2 Xᵀ (y - X w)" in printed
    assert "H = 2 Xᵀ X + 2 λ I" in printed
    assert "[product rule" in printed and "identification" in printed
    assert out["final_error"] < 1e-9
    assert out["ols_gd_error"] < 1e-9 and out["ridge_gd_error"] < 1e-9
    assert out["ols_grad_norm_at_solution"] < 1e-9 and out["ridge_grad_norm_at_solution"] < 1e-9
    assert out["ols_iterations"] < 1000 and out["ridge_iterations"] < 1000
    # the two solutions differ: ridge shrinks the weights
    assert np.linalg.norm(out["ridge_w"]) < np.linalg.norm(out["ols_w"])


def test_logistic_regression(capsys):
    out = run_main("logistic_regression")
    printed = capsys.readouterr().out
    assert "training accuracy" in printed
    assert "sigmoid" in printed and "diag(" in printed
    assert out["grad_norm"] < 1e-10
    assert out["gd_grad_norm"] < 1.0  # gradient descent gets close, Newton finishes
    assert out["newton_steps"] <= 6
    assert out["accuracy"] > 0.85
    assert out["hessian_fd_error"] < 1e-6


def test_gaussian_mle(capsys):
    out = run_main("gaussian_mle")
    printed = capsys.readouterr().out
    assert "S⁻¹ (x - μ)" in printed
    assert "1/2 S⁻¹ M S⁻¹ - 1/2 n S⁻¹" in printed
    assert out["grad_mu_norm"] < 1e-8 and out["grad_S_norm"] < 1e-8
    assert out["grad_mu_norm_off"] > 1 and out["grad_S_norm_off"] > 1
    assert out["mu_error"] < 0.3 and out["S_error"] < 0.2  # 500 samples: close to the truth


def test_backprop_by_hand(capsys):
    out = run_main("backprop_by_hand")
    printed = capsys.readouterr().out
    assert "δ1 = (δ2 W2ᵀ) ⊙ step(H1)" in printed
    assert "forward (1, 2) ↦ [2, -1]" in printed
    assert "upstream (-1, -2) ↦ downstream [-1, 0]" in printed
    assert "upstream -2 ↦ downstream [-1, -2]" in printed
    # A. ReLU network, MSE
    assert out["mse"] == pytest.approx(1.0)
    assert out["mse_delta2"] == pytest.approx(2.0)
    np.testing.assert_allclose(out["mse_delta1"], [1, 0])
    np.testing.assert_allclose(out["mse_grad_W1"], [[1, 0], [2, 0]])
    np.testing.assert_allclose(out["mse_grad_W2"], [4, 0])
    np.testing.assert_allclose(out["mse_W1_new"], [[0, -1], [-1.5, 0]])
    np.testing.assert_allclose(out["mse_W2_new"], [-3.5, 1])
    assert out["mse_loss_after"] == pytest.approx(0.0)
    # B. sigmoid + log-loss: δ = p − y
    p = 1 / (1 + np.exp(-1))
    assert out["logloss_p"] == pytest.approx(p)
    assert out["logloss"] == pytest.approx(-np.log(1 - p))
    assert out["logloss_delta2"] == pytest.approx(p)
    np.testing.assert_allclose(out["logloss_grad_W2"], [2 * p, 0])
    np.testing.assert_allclose(out["logloss_W1_new"], [[1 - p / 2, -1], [0.5 - p, 0]])
    # C. two SGD steps, zero init, second observation first
    assert out["sgd_loss_1"] == pytest.approx(0.125)
    np.testing.assert_allclose(out["sgd_deltas_1"]["δ3"], [0.125])
    np.testing.assert_allclose(out["sgd_weights_1"]["w3"].ravel(), [-0.0625, -0.0625])
    s = 1 / (1 + np.exp(0.0625))  # O3 at step 2
    assert out["sgd_loss_2"] == pytest.approx(0.5 * (1 - s) ** 2)
    d3 = s * (1 - s) * (s - 1)
    np.testing.assert_allclose(out["sgd_deltas_2"]["δ3"], [d3])
    d2 = d3 * 0.25 * -0.0625
    np.testing.assert_allclose(out["sgd_deltas_2"]["δ2"], [d2, d2])
    np.testing.assert_allclose(out["sgd_weights_2"]["w3"].ravel(), [-0.0625 - d3 * 0.5] * 2)
    np.testing.assert_allclose(out["sgd_weights_2"]["W2"], np.full((2, 2), -d2 * 0.5))
    np.testing.assert_allclose(out["sgd_weights_2"]["W1"], np.zeros((2, 2)))


@pytest.mark.parametrize("name", ["linear_regression", "backprop_by_hand"])
def test_runs_as_a_script(name):
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()


def test_backprop_layers(capsys):
    out = run_main("backprop_layers")
    printed = capsys.readouterr().out
    assert printed.count("check: PASS") == 7 and "FAIL" not in printed
    for line in ("δH = (M ⊙ δD) / (1 - p)", "∂L/∂W_q = Xᵀ δQ", "∂L/∂x = convT(δ1, k1)", "Σ_t δa_t h_{t-1}ᵀ"):
        assert line in printed, line
    assert max(out.values()) < 1e-9
