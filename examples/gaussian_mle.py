"""Maximum likelihood for a multivariate Gaussian: μ̂ = the sample mean, Σ̂ = M / n.

    python examples/gaussian_mle.py

For observations x₁ … xₙ ∈ ℝᵈ from N(μ, S) the log-likelihood is, up to a constant,

    ℓ(μ, S) = -n/2 ln det S - 1/2 Σᵢ (xᵢ - μ)ᵀ S⁻¹ (xᵢ - μ)
            = -n/2 ln det S - 1/2 tr(S⁻¹ M),   M = Σᵢ (xᵢ - μ)(xᵢ - μ)ᵀ (the scatter matrix).

1. ∇_μ of one term -1/2 (x - μ)ᵀ S⁻¹ (x - μ) is S⁻¹ (x - μ); summed over the data,
   S⁻¹ (Σ xᵢ - n μ) = 0 gives μ̂ = x̄.
2. ∇_S of -n/2 ln det S - 1/2 tr(S⁻¹ M) (seed problem 20; S, M symmetric) is
   1/2 S⁻¹ M S⁻¹ - n/2 S⁻¹ = 1/2 S⁻¹ (M - n S) S⁻¹ = 0 gives Ŝ = M / n.
3. The whole log-likelihood in matrix form, data as the rows of X and e = (1, …, 1)ᵀ:
   -n/2 ln det S - 1/2 tr(S⁻¹ (X - e μᵀ)ᵀ (X - e μᵀ)), differentiated in μ and S at once.
4. On sampled data the gradients evaluated by matcalc at (x̄, M/n) are ~0, and not ~0
   at a nearby point.

`main()` returns the gradient norms at the estimates and the estimation errors.
"""
import numpy as np

import matcalc

MEAN_TERM = "-1/2 (x - mu)^T S^-1 (x - mu)"
COV_TERM = "-n/2 ln det S - 1/2 tr(S^-1 M)"
FULL = "-n/2 ln det S - 1/2 tr(S^-1 (X - e mu^T)^T (X - e mu^T))"


def sample(n: int = 500, seed: int = 2):
    rng = np.random.default_rng(seed)
    mu = np.array([1.0, -2.0, 0.5])
    A = rng.normal(size=(3, 3))
    S = A @ A.T + np.eye(3)
    X = rng.multivariate_normal(mu, S, size=n)
    return X, mu, S


def main(verbose: bool = True) -> dict:
    say = print if verbose else (lambda *a, **k: None)

    # 1. the mean: one observation's term (mu is Greek, i.e. a scalar by default: declare it a vector)
    r_mu = matcalc.diff(MEAN_TERM, "mu", symmetric="S", vector="mu")
    say(f"1. One observation's term: f(μ) = {MEAN_TERM}   (vector=\"mu\", symmetric=\"S\")")
    say(r_mu.derivation().format("unicode"))
    say("Summed over the data: ∇_μ ℓ = Σᵢ S⁻¹ (xᵢ - μ) = S⁻¹ (Σᵢ xᵢ - n μ) = 0  ⇒  μ̂ = (1/n) Σᵢ xᵢ = x̄\n")

    # 2. the covariance
    r_S = matcalc.diff(COV_TERM, "S", symmetric="S,M", scalar="n")
    say(f"2. f(S) = {COV_TERM}   (symmetric=\"S,M\", scalar=\"n\")")
    say(r_S.derivation().format("unicode"))
    factored = "1/2 S^-1 (M - n S) S^-1"
    rep = matcalc.check(COV_TERM, "S", factored, symmetric="S,M", scalar="n")
    say(f"Factored, ∇_S ℓ = {factored}: {rep.format().splitlines()[0]}")
    assert rep, rep.format()
    say("S⁻¹ is invertible, so ∇_S ℓ = 0  ⇔  M - n S = 0  ⇒  Ŝ = M / n (with μ = μ̂)\n")

    # 3. both at once, the data as the rows of X
    decl = dict(symmetric="S", scalar="n", vector="mu,e")
    r_full = matcalc.diff(FULL, "mu,S", **decl)
    say(f"3. The whole log-likelihood: ℓ(μ, S) = {FULL}\n   (rows of X = observations, e = ones)")
    say(r_full.format("unicode"))
    say("   with eᵀe = n and Xᵀe = Σᵢ xᵢ this is the same pair of equations:")
    rep = matcalc.check(FULL, "mu", "S^-1 (X^T e - (e^T e) mu)", **decl)
    say(f"   ∇_μ ℓ = S⁻¹ (Xᵀ e - (eᵀe) μ): {rep.format().splitlines()[0]}\n")
    assert rep, rep.format()

    # 4. numbers
    X, mu_true, S_true = sample()
    n, d = X.shape
    mu_hat = X.mean(axis=0)
    M = (X - mu_hat).T @ (X - mu_hat)
    S_hat = M / n
    say(f"4. {n} samples from N(μ, S), μ = {mu_true}")
    say(f"   μ̂ = x̄   = {np.round(mu_hat, 4)}")
    say(f"   Ŝ = M/n = {np.round(S_hat, 3).tolist()}")
    say(f"   true S  = {np.round(S_true, 3).tolist()}")
    assert np.allclose(S_hat, np.cov(X.T, bias=True))

    e = np.ones((n, 1))
    col = mu_hat.reshape(-1, 1)

    def full_gradients(mu, S):
        g = r_full.evaluate({"X": X, "e": e, "mu": mu.reshape(-1, 1), "S": S, "n": n})
        return g["mu"], g["S"]

    g_mu, g_S = full_gradients(mu_hat, S_hat)
    grad_mu_norm = float(np.linalg.norm(g_mu))
    grad_S_norm = float(np.linalg.norm(g_S))
    say(f"   matcalc's ∇_μ ℓ at (μ̂, Ŝ): ‖·‖ = {grad_mu_norm:.2e}")
    say(f"   matcalc's ∇_S ℓ at (μ̂, Ŝ): ‖·‖ = {grad_S_norm:.2e}")

    # the per-observation gradient, summed, and the M-form gradient in S
    per_obs = sum(r_mu.evaluate({"x": x.reshape(-1, 1), "mu": col, "S": S_hat})["mu"] for x in X[:50])
    # matcalc's NumPy expression np.linalg.solve(S, x - mu) on all observations at once:
    # x = the d×n matrix of observations as columns, mu a d×1 column (x - mu broadcasts)
    per_obs_all = eval(r_mu.format("numpy"), {"np": np},  # noqa: S307 - matcalc's own NumPy code
                       {"x": X.T, "mu": col, "S": S_hat}).sum(axis=1)
    assert np.allclose(per_obs.ravel(), np.linalg.solve(S_hat, (X[:50] - mu_hat).sum(axis=0)))
    g_S_M = r_S.evaluate({"S": S_hat, "M": M, "n": n})["S"]
    say(f"   Σᵢ S⁻¹(xᵢ - μ̂) over all observations (step 1's formula): ‖·‖ = {np.linalg.norm(per_obs_all):.2e}")
    say(f"   1/2 S⁻¹ M S⁻¹ - n/2 S⁻¹ at Ŝ (step 2's formula): ‖·‖ = {np.linalg.norm(g_S_M):.2e}")

    # the scale of these gradients: move away from the estimates
    g_mu_off, g_S_off = full_gradients(mu_hat + 0.1, 1.1 * S_hat)
    say(f"   for comparison at (μ̂ + 0.1, 1.1 Ŝ): ‖∇_μ ℓ‖ = {np.linalg.norm(g_mu_off):.2f}, "
        f"‖∇_S ℓ‖ = {np.linalg.norm(g_S_off):.2f}")
    assert grad_mu_norm < 1e-8 and grad_S_norm < 1e-8
    assert np.linalg.norm(g_mu_off) > 1 and np.linalg.norm(g_S_off) > 1
    assert np.linalg.norm(per_obs_all) < 1e-9 and np.linalg.norm(g_S_M) < 1e-9

    return {"grad_mu_norm": grad_mu_norm, "grad_S_norm": grad_S_norm,
            "grad_mu_norm_off": float(np.linalg.norm(g_mu_off)),
            "grad_S_norm_off": float(np.linalg.norm(g_S_off)),
            "mu_error": float(np.linalg.norm(mu_hat - mu_true)),
            "S_error": float(np.linalg.norm(S_hat - S_true) / np.linalg.norm(S_true)),
            "mu_hat": mu_hat, "S_hat": S_hat}


if __name__ == "__main__":
    main()
