"""L2-regularised logistic regression: gradient and Hessian by matcalc, then training.

    python examples/logistic_regression.py

Labels are ±1 and the loss (seed problem 19) is

    f(w) = sum(log(1 + exp(-y .* (X w)))) + λ wᵀw.

1. matcalc derives ∇f and the Hessian H, printing the steps.
2. Gradient descent with the generated `value_and_grad` (step 1/L with the bound
   L = λ_max(XᵀX)/4 + 2λ read off the Hessian: σ(1 − σ) ≤ 1/4).
3. Newton's method w ← w − H⁻¹∇f, H evaluated from the NumPy expression matcalc
   prints for the Hessian, drives ‖∇f‖ to ~0 in a few steps.

`main()` returns the training accuracy, the final gradient norm and the step counts.
"""
import numpy as np

import matcalc
from matcalc.code_generation import load

LOSS = "sum(log(1 + exp(-y .* (X w)))) + lambda w^T w"
LAMBDA = 0.1


def synthetic_data(n: int = 300, seed: int = 1):
    """Two overlapping clouds in the plane plus an intercept column; labels ±1."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    centers = np.array([1.5, 1.0])
    points = y[:, None] * centers + rng.normal(size=(n, 2))
    X = np.column_stack([np.ones(n), points])
    return X, y


def main(verbose: bool = True) -> dict:
    say = print if verbose else (lambda *a, **k: None)
    X, y = synthetic_data()
    n, m = X.shape
    lam = LAMBDA
    say(f"f(w) = {LOSS}   (labels ±1, λ = {lam}, n = {n}, features: 1, x₁, x₂)\n")

    # 1. gradient and Hessian
    r = matcalc.diff(LOSS, "w")
    say("The gradient, step by step:")
    say(r.derivation().format("unicode"))
    h = matcalc.hessian(LOSS, "w")
    say("\nThe Hessian (d of the gradient, dw held constant):")
    say("\n".join(h.derivation().format("unicode").splitlines()[-3:]))
    say(f"\n∇f = {r.format('unicode')}")
    say(f"H  = {h.format('unicode')}")
    say("Since y∘² = 1 and σ(u)(1 − σ(u)) ∈ (0, 1/4], H = Xᵀ diag(p) X + 2λI with 0 < p ≤ 1/4:"
        " positive definite, f strictly convex.")

    claim = "-X^T (y .* sigmoid(-y .* (X w))) + 2 lambda w"
    rep = matcalc.check(LOSS, "w", claim)
    say(f"\nThe course's answer {claim}: {rep.format().splitlines()[0]}")
    assert rep, rep.format()

    hessian_code = h.format("numpy")
    say(f"\nHessian as one NumPy expression:\n  {hessian_code}")

    def hessian_at(w):
        return eval(hessian_code, {"np": np}, {"X": X, "y": y, "w": w, "lambda_": lam})  # noqa: S307 - our own code

    src = matcalc.codegen(LOSS, "w")
    value_and_grad = load(src)

    # the Hessian against central differences of the generated gradient
    w_probe = np.array([0.1, -0.2, 0.3])
    eps = 1e-6
    H_fd = np.column_stack([(value_and_grad(w_probe + eps * e, y, X, lam)[1]
                             - value_and_grad(w_probe - eps * e, y, X, lam)[1]) / (2 * eps)
                            for e in np.eye(m)])
    hess_err = float(np.max(np.abs(hessian_at(w_probe) - H_fd)) / np.max(np.abs(H_fd)))
    say(f"Hessian vs finite differences of the gradient at w = {w_probe}: relative error {hess_err:.1e}")
    assert hess_err < 1e-6

    # 2. gradient descent
    L_smooth = np.linalg.eigvalsh(X.T @ X)[-1] / 4 + 2 * lam
    step = 1.0 / L_smooth
    w = np.zeros(m)
    gd_steps = 200
    say(f"\nGradient descent from w = 0, step 1/L = {step:.5f}:")
    for k in range(gd_steps + 1):
        value, grad = value_and_grad(w, y, X, lam)
        if k in (0, 1, 10, 50, 100, gd_steps):
            say(f"  step {k:4d}: f = {value:.8f}   ‖∇f‖ = {np.linalg.norm(grad):.2e}")
        if k < gd_steps:
            w = w - step * grad
    gd_grad_norm = float(np.linalg.norm(grad))

    # 3. Newton with matcalc's Hessian
    say("\nNewton's method from there, w ← w − H⁻¹ ∇f:")
    newton_steps = 0
    for newton_steps in range(1, 21):
        value, grad = value_and_grad(w, y, X, lam)
        w = w - np.linalg.solve(hessian_at(w), grad)
        value, grad = value_and_grad(w, y, X, lam)
        say(f"  Newton step {newton_steps}: f = {value:.12f}   ‖∇f‖ = {np.linalg.norm(grad):.2e}")
        if np.linalg.norm(grad) < 1e-10:
            break
    grad_norm = float(np.linalg.norm(grad))
    assert grad_norm < 1e-10, f"Newton did not converge: ‖∇f‖ = {grad_norm}"

    # a second opinion on ∇f = 0: matcalc evaluates its own symbolic gradient there
    sym_grad = r.evaluate({"X": X, "y": y.reshape(-1, 1), "w": w.reshape(-1, 1), "lambda": lam})["w"]
    assert np.linalg.norm(sym_grad) < 1e-9

    accuracy = float(np.mean(np.sign(X @ w) == y))
    probs = 1 / (1 + np.exp(-(X @ w)))
    say(f"\nw = {np.round(w, 4)}  (intercept, x₁, x₂)")
    say(f"‖∇f(w)‖ = {grad_norm:.1e} (generated code), {np.linalg.norm(sym_grad):.1e} (matcalc's evaluate): a minimum")
    say(f"training accuracy: {accuracy:.1%}   P(y = +1) for the first 5 points: {np.round(probs[:5], 3)}, "
        f"labels {y[:5].astype(int)}")
    assert accuracy > 0.85
    return {"accuracy": accuracy, "grad_norm": grad_norm, "gd_grad_norm": gd_grad_norm,
            "newton_steps": newton_steps, "loss": float(value), "hessian_fd_error": hess_err, "w": w}


if __name__ == "__main__":
    main()
