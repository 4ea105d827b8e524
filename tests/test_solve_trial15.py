"""Regression tests for the newcomer's trial of issue 15 (solve, classify, backprop). Every answer
asserted here is also checked by numbers: an independent NumPy formula, a rank, or an eigenvalue."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc import functions
from matcalc.classify import _instance, classify_hessian, prove
from matcalc.cli import _solve_report, main
from matcalc.errors import DerivationError
from matcalc.numeric import evaluate
from matcalc.optimum import NoSolution, never_invertible, solve, stationary

run = CliRunner().invoke
GAUSS_ONE = r"-\frac{n}{2} \ln \det \Sigma - \frac{1}{2} (x - \mu)^T \Sigma^{-1} (x - \mu)"


# 1. a stationary point outside f's domain is an honest answer, not a LinAlgError
@pytest.mark.parametrize("wrt", ["Σ", "μ,Σ"])
def test_singular_covariance_from_one_observation(wrt):
    r = run(main, ["solve", GAUSS_ONE, "--wrt", wrt, "--symmetric", "Σ"])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output and "internal error" not in r.output
    assert "no stationary point where f is defined" in r.stdout and "singular" in r.stdout
    assert "check: not run" in r.stderr
    sol = stationary(GAUSS_ONE, wrt, symmetric="Σ")  # the numbers: Σ̂ has rank ≤ 1 < m
    sizes, env = _instance(sol, np.random.default_rng(0))
    S = env["Sigma"]
    assert S.shape[0] >= 2 and np.linalg.matrix_rank(S) <= 1


def test_held_out_rank_deficient_solution():
    sol = solve("-k ln det W - tr(W^-1 a a^T)", "W", symmetric="W", scalar="k")
    assert sol.verdict.kind == "no stationary point where f is defined"
    assert sol.checks.get("outside_domain")
    sizes, env = _instance(solve("-k ln det W - tr(W^-1 a a^T)", "W", symmetric="W", scalar="k", check=False),
                           np.random.default_rng(1))
    np.testing.assert_allclose(env["W"], env["a"] @ env["a"].T / env["k"], rtol=1e-10)
    assert np.linalg.matrix_rank(env["W"]) == 1


def test_numerical_failures_become_matcalc_errors(monkeypatch):
    import matcalc.classify as C

    def boom(*a, **k):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(C, "classify_solution", boom)
    with pytest.raises(DerivationError, match="numerical failure"):
        solve("(y - X w)^T (y - X w)", "w")


# 2. the joint Gaussian at the default seed: no false alarm, and it is a maximum
def test_joint_gaussian_readme_example_passes_at_default_seed():
    expr = "-n/2 ln det S - 1/2 tr(S^-1 (X - e mu^T)^T (X - e mu^T))"
    r = run(main, ["solve", expr, "--wrt", "mu,S", "--symmetric", "S", "--scalar", "n", "--vector", "mu,e"])
    assert r.exit_code == 0, r.output
    assert "maximum" in r.stdout and "check: PASS" in r.stderr and "bug in matcalc" not in r.stderr
    sol = solve(expr, "mu,S", symmetric="S", scalar="n", vector="mu,e")
    assert sol.checks["gradient_zero"] and sol.checks["optimiser_agrees"], sol.checks
    sizes, env = _instance(sol, np.random.default_rng(5))
    X, e = env["X"], env["e"]
    np.testing.assert_allclose(env["mu"], X.T @ e / (e.T @ e), rtol=1e-10)
    R = X - e @ env["mu"].T
    np.testing.assert_allclose(env["S"], R.T @ R / env["n"], rtol=1e-9)


def test_optimiser_is_never_blamed_when_the_gradient_vanishes():
    checks = {"gradient_residual": 1e-16, "gradient_zero": True, "optimiser_distance": 0.3,
              "optimiser_agrees": False, "optimiser_gain": 1e-3}
    report, notes = _solve_report(checks, [])
    assert report["passed"] and any("better value" in n for n in notes)
    report, _ = _solve_report({**checks, "gradient_zero": False, "gradient_residual": 1e-2}, [])
    assert not report["passed"]


# 3. singular linear systems: the Lagrangian of the nearest symmetric matrix
def test_lagrangian_nearest_symmetric_matrix():
    expr = r"tr((X - A)^T(X - A)) + tr(\Lambda^T(X - X^T))"
    r = run(main, ["solve", expr, "--wrt", "X,Λ"])
    assert r.exit_code == 0, r.output
    assert "X = 1/2 (A + Aᵀ)" in r.stdout and "invertible" not in r.stdout
    assert "up to its symmetric part" in r.stdout and "minimum" in r.stdout
    sol = solve(expr, "X,Λ")
    assert sol.verdict.kind == "minimum" and sol.verdict.multipliers == ["Lambda"]
    assert sol.checks["gradient_zero"] and sol.checks["optimiser_agrees"]
    sizes, env = _instance(sol, np.random.default_rng(3))
    A = env["A"]
    np.testing.assert_allclose(env["X"], (A + A.T) / 2, rtol=1e-12)
    np.testing.assert_allclose(env["Lambda"], (A - A.T) / 2, rtol=1e-12)


def test_held_out_transpose_forms():
    # the nearest skew-symmetric matrix, through the same Lagrangian mechanism
    sol = solve("tr((X - B)^T(X - B)) + tr(M^T(X + X^T))", "X,M")
    sizes, env = _instance(sol, np.random.default_rng(4))
    np.testing.assert_allclose(env["X"], (env["B"] - env["B"].T) / 2, rtol=1e-12)
    # a X + b Xᵀ with a² ≠ b²: invertible, solved by transposing
    sol = solve("tr(X^T X) + 1/2 tr(X X) - 2 tr(C^T X)", "X")
    sizes, env = _instance(sol, np.random.default_rng(5))
    X, C = env["X"], env["C"]
    np.testing.assert_allclose(2 * X + X.T, 2 * C, rtol=1e-12)  # ∇f = 2X + Xᵀ − 2C = 0
    # an inconsistent system: only X − Xᵀ is determined, the symmetric part of C is not 0
    with pytest.raises(NoSolution, match="inconsistent"):
        stationary("tr(X^T X) - tr(X X) + 2 tr(C^T X)", "X")
    r = run(main, ["solve", "tr(X^T X) - tr(X X) + 2 tr(C^T X)", "--wrt", "X", "--gd"])
    assert r.exit_code == 2 and "no stationary point" in r.output


def test_never_invertible_is_detected_numerically():
    ee = matcalc.parse("e e^T", vector="e")
    assert never_invertible(ee) is not None
    v = np.ones((3, 1))
    assert np.linalg.matrix_rank(v @ v.T) == 1
    assert never_invertible(matcalc.parse("X^T X")) is None  # invertible for tall X
    with pytest.raises(matcalc.MatcalcError, match="never invertible"):
        stationary("(e^T x - b)^2", "x", vector="e", scalar="b")


# 4. the second-order test samples generic matrices; PᵀDP with D ⪰ 0 is proved
def test_quadratic_form_with_arbitrary_matrix_cannot_tell():
    r = run(main, ["hessian", "x^T A x", "--wrt", "x", "--classify"])
    assert r.exit_code == 0 and "cannot tell" in r.stdout and "depends on A" in r.stdout
    assert "minimum iff A + Aᵀ ≻ 0" in r.stdout
    A = np.random.default_rng(0).standard_normal((4, 4))
    lam = np.linalg.eigvalsh(A + A.T)
    assert lam.min() < 0 < lam.max()  # a generic A: indefinite
    r = run(main, ["hessian", "x^T A x", "--wrt", "x", "--classify", "--symmetric", "A"])
    assert "minimum (proof)" in r.stdout and "A ≻ 0" in r.stdout


def test_logistic_hessian_is_proved_positive_definite():
    f = "sum(log(1 + exp(-y .* (X w)))) + lambda w^T w"
    res = matcalc.hessian(f, "w")
    v = classify_hessian(res, {"lambda"})
    assert v.proof and v.kind == "minimum" and v.assumptions == []
    assert any("Gram form Pᵀ D P" in r for r in v.reasons)
    rng = np.random.default_rng(0)
    for _ in range(3):  # the numbers: Xᵀ diag(σ(1−σ) y²) X + 2λI at random points
        X, y, w = rng.standard_normal((6, 3)), rng.standard_normal((6, 1)), rng.standard_normal((3, 1))
        env = {"X": X, "y": y, "w": w, "lambda": np.array([[0.3]])}
        H = evaluate(res.blocks[("w", "w")], env)
        assert np.linalg.eigvalsh((H + H.T) / 2).min() > 0


@pytest.mark.parametrize("f", [f for f in functions.FUNCTIONS_LIST if f.values], ids=lambda f: f.name)
def test_function_ranges_hold(f):
    u = np.linspace(-30, 30, 2001)
    v = f.numpy(np, u)
    lo, hi = f.values
    assert np.all(v >= lo) and np.all(v <= hi)


def test_proof_rules_for_elementwise_signs():
    sign = lambda text, **kw: prove(matcalc.parse(text, **kw))[0]  # noqa: E731
    assert sign("X^T diag(exp(X w)) X") == "psd"
    assert sign("X^T diag(tanh(X w)) X") is None  # tanh has both signs
    assert sign("-(X^T diag(sigmoid(X w)) X) - I") == "nd"


# 5. assumptions come from the proof
def test_ridge_needs_no_rank_assumption_and_works_for_wide_x():
    sol = solve("(y - X w)^T (y - X w) + lambda w^T w", "w", positive="lambda")
    assert sol.assumptions == [] and sol.verdict.assumptions == []
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((3, 5)), rng.standard_normal((3, 1))  # rank 3 < 5 columns
    w = sol.at({"X": X, "y": y, "lambda": 0.5})["w"]
    np.testing.assert_allclose(2 * X.T @ (X @ w - y) + 2 * 0.5 * w, 0, atol=1e-12)


# 6. backprop never ignores --lr / --iterations
def test_backprop_steps_on_the_at_observation():
    r = run(main, ["backprop", "(y - w x)^2", "--wrt", "w", "--scalar", "w,x,y", "--at", "w=0", "x=2", "y=3",
                   "--lr", "1", "--iterations", "1", "--format", "json"])
    assert r.exit_code == 0, r.output
    steps = json.loads(r.stdout)["numbers"]["steps"]
    w, x, y = 0.0, 2.0, 3.0
    w -= 1 * (-2 * x * (y - w * x))  # the same step in NumPy terms
    assert steps[0]["updated"]["w"] == pytest.approx(w) == 12.0
    r = run(main, ["backprop", "(y - w x)^2", "--wrt", "w", "--scalar", "w,x,y", "--lr", "1"])
    assert r.exit_code == 2 and "--lr" in r.output and "--data" in r.output


# 7. solve --at: the optimum in numbers
def test_solve_at_gives_the_course_number():
    r = run(main, ["solve", "(y - w x)^T (y - w x)", "--wrt", "w", "--scalar", "w", "--at", "x=[1,2]", "y=[2,3]"])
    assert r.exit_code == 0, r.output
    x, y = np.array([1.0, 2.0]), np.array([2.0, 3.0])
    assert x @ y / (x @ x) == pytest.approx(1.6)
    assert "w = 1.6" in r.stdout
    r = run(main, ["solve", "(y - w x)^T (y - w x)", "--wrt", "w", "--scalar", "w", "--at", "x=[1,2]"])
    assert r.exit_code == 2 and "--at needs a value for y" in r.output


def test_gaussian_covariance_in_the_courses_sum_form():
    """Σ̂ and μ̂ from the Σ_i form as the course prints it (newcomer trial 3): Σ⁻¹ comes out of
    the sum, so multiplying through by Σ makes ∇f affine; compared with NumPy's formulas."""
    from matcalc.classify import _instance

    expr = ("-\\frac{n}{2} \\ln \\det \\Sigma - \\frac{1}{2} \\sum_{i=1}^{n} (x_i - \\mu)^\\mathsf{T} "
            "\\Sigma^{-1} (x_i - \\mu)")
    sol = matcalc.solve(expr, "μ,Σ", symmetric="Σ")
    assert sol.checks["gradient_zero"] and sol.verdict.kind == "maximum"
    mu = next(p for p in sol.pieces if p.variable.name == "mu")
    assert str(mu.value) in ("(sum_i x_i) / n", "1/n (sum_i x_i)")
    sizes, env = _instance(sol, np.random.default_rng(3))
    X = env["X"]
    mean = X.mean(axis=0).reshape(-1, 1)
    np.testing.assert_allclose(env["mu"], mean)
    R = X - mean.T
    np.testing.assert_allclose(env["Sigma"], R.T @ R / X.shape[0], rtol=1e-9)
