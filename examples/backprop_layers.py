"""Backprop beyond the MLP: one worked derivation per layer (the problem book's 5.2, 5.3,
chapters 6 and 7).

    python examples/backprop_layers.py

Each section states the layer, lets matcalc derive the δ schedule (forward equations,
then δ of every named intermediate, then the weight gradients), checks the schedule
against central differences, and compares the numbers with the formula the textbooks
give, computed independently with NumPy.

1. A batch: softmax regression with a hidden layer, bias rows, mean over the batch.
2. Dropout: a constant mask M, H ⊙ M / (1 − p); δ through it.
3. Batch norm from its definition: μ, σ², X̂, γ, β; the compact δ formula.
4. Layer norm: the same over the features of each row.
5. An RNN through time: h_t = tanh(W h_{t−1} + U x_t + b), T = 4; BPTT.
6. Attention: softmax(Q Kᵀ/√d) V with Q = X W_q, K = X W_k, V = X W_v.
7. A 1-D convolution: the kernel's δ is a convolution, the input's a transposed one.

`main()` returns, per section, the largest difference from the independent formula.
"""
import numpy as np

import matcalc
from matcalc.schedule import run_pass, verify_schedule

rng = np.random.default_rng(19)


def softmax_rows(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def derive(title, expr, wrt, **kw):
    print(f"\n=== {title}\n{expr}\n")
    s = matcalc.backprop(expr, wrt, **kw)
    print(s.format("unicode"))
    for note in s.notes:
        print("note:", note)
    report = verify_schedule(s)
    print(report.summary())
    assert report.passed
    return s


def batch():
    s = derive("1. A batch of n observations (rows of X), one-hot rows of Y",
               "-1/n sum(Y .* log(softmax(relu(X W1 + b1) W2 + b2)))", "W1,b1,W2,b2")
    X, W1, b1, W2, b2 = (rng.standard_normal(sh) for sh in ((6, 3), (3, 4), (4,), (4, 2), (2,)))
    Y = np.eye(2)[rng.integers(0, 2, 6)]
    p = run_pass(s, {"X": X, "Y": Y, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "n": 6})
    H1 = X @ W1 + b1
    d2 = (softmax_rows(np.maximum(H1, 0) @ W2 + b2) - Y) / 6  # the textbook δ: (S − Y)/n
    d1 = d2 @ W2.T * (H1 > 0)
    print("with one-hot rows the output δ is (softmax − Y)/n; ∂L/∂b = δᵀ1 sums δ over the batch")
    return max(np.abs(p.gradients["W1"] - X.T @ d1).max(), np.abs(p.gradients["b2"].ravel() - d2.sum(0)).max())


def dropout():
    s = derive("2. Dropout with a constant mask M (keep probability 1 − p)",
               "H = relu(X W1 + b1); D = H .* M / (1 - p); Z = D W2 + b2; L = -1/n sum(Y .* log(softmax(Z)))",
               "W1,b1,W2,b2", scalar="p")
    X, W1, b1, W2, b2 = (rng.standard_normal(sh) for sh in ((6, 3), (3, 4), (4,), (4, 2), (2,)))
    M = (rng.random((6, 4)) > 0.3).astype(float)
    Y = np.eye(2)[rng.integers(0, 2, 6)]
    p = run_pass(s, {"X": X, "Y": Y, "M": M, "p": 0.3, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "n": 6})
    H = np.maximum(X @ W1 + b1, 0)
    dZ = (softmax_rows(H * M / 0.7 @ W2 + b2) - Y) / 6
    print("the δ goes back only through the kept units, scaled by 1/(1 − p): δH = M ⊙ δD / (1 − p)")
    return np.abs(p.deltas["δH"] - (dZ @ W2.T) * M / 0.7).max()


NORM = ("mu = 1/{k} {mean}; v = 1/{k} {var}; s = sqrt(v + eps ones); Xh = (X - {center}) ./ ({spread}); "
        "Y = Xh .* (ones gamma^T) + ones beta^T; L = sum(C .* Y)")
BATCHNORM = NORM.format(k="n", mean="X^T ones", var="((X - ones mu^T).^2)^T ones", center="ones mu^T",
                        spread="ones s^T")
LAYERNORM = NORM.format(k="m", mean="X ones", var="(X - mu ones^T).^2 ones", center="mu ones^T",
                        spread="s ones^T")


def norm(title, expr, axis):
    s = derive(title, expr, "X,gamma,beta", scalar="eps", vector="gamma,beta")
    X, C = rng.standard_normal((6, 3)) * 2 + 1, rng.standard_normal((6, 3))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    p = run_pass(s, {"X": X, "C": C, "gamma": gamma, "beta": beta, "eps": 1e-3, "n": 6, "m": 3})
    Xh, G = p.values["Xh"], p.deltas["δXh"]
    sigma = np.sqrt(X.var(axis=axis, keepdims=True) + 1e-3)
    compact = (G - G.mean(axis=axis, keepdims=True) - Xh * (G * Xh).mean(axis=axis, keepdims=True)) / sigma
    print("the compact formula: ∂L/∂X = (1/σ) ⊙ (G − mean(G) − X̂ ⊙ mean(G ⊙ X̂)), G = ∂L/∂X̂ = δXh,\n"
          f"means over the {'batch (columns)' if axis == 0 else 'features (rows)'}: "
          f"it equals matcalc's ∂L/∂X to {np.abs(p.gradients['X'] - compact).max():.1e}")
    return np.abs(p.gradients["X"] - compact).max()


def rnn():
    T = 4
    s = derive(f"5. An RNN unrolled through T = {T} steps, shared W, U, b",
               "a_t = W h_{t-1} + U x_t + b; h_t = tanh(a_t); L = 1/2 (y - V h_T)^T (y - V h_T)",
               "W,U,b,V", unroll=T)
    W, U, V = rng.standard_normal((3, 3)) / 2, rng.standard_normal((3, 2)), rng.standard_normal((2, 3))
    b, h0, y = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(2)
    xs = [rng.standard_normal(2) for _ in range(T)]
    p = run_pass(s, {"W": W, "U": U, "V": V, "b": b, "h0": h0, "y": y,
                     **{f"x{t + 1}": x for t, x in enumerate(xs)}})
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x + b))
    dh, gW = V.T @ (V @ hs[-1] - y), np.zeros_like(W)
    norms = []
    for t in range(T, 0, -1):
        norms.append(np.linalg.norm(dh))
        da = dh * (1 - hs[t] ** 2)
        gW += np.outer(da, hs[t - 1])
        dh = W.T @ da
    print("‖δh_t‖ for t = T … 1:", ", ".join(f"{v:.3g}" for v in norms), "(shrinking: vanishing gradients)")
    return np.abs(p.gradients["W"] - gW).max()


def attention():
    s = derive("6. Scaled dot-product attention",
               "Q = X W_q; K = X W_k; V = X W_v; S = Q K^T / sqrt(d); A = softmax(S); L = sum(C .* (A V))",
               "W_q,W_k,W_v", scalar="d")
    X, Wq, Wk, Wv, C = (rng.standard_normal(sh) for sh in ((5, 4), (4, 2), (4, 2), (4, 3), (5, 3)))
    p = run_pass(s, {"X": X, "W_q": Wq, "W_k": Wk, "W_v": Wv, "C": C, "d": 2.0})
    Q, K = X @ Wq, X @ Wk
    A = softmax_rows(Q @ K.T / np.sqrt(2))
    dA = C @ (X @ Wv).T
    dS = A * (dA - (A * dA).sum(axis=1, keepdims=True))  # the row-wise softmax backward
    print("δS = A ⊙ (δA − rowsum(A ⊙ δA) 1ᵀ): each row of softmax backwards on its own")
    return max(np.abs(p.gradients["W_q"] - X.T @ dS @ K / np.sqrt(2)).max(),
               np.abs(p.gradients["W_k"] - X.T @ dS.T @ Q / np.sqrt(2)).max())


def convolution():
    s = derive("7. A 1-D convolutional layer, then a second convolution, squared error",
               "1/2 (y - conv(relu(conv(x, k1) + b1), k2))^T (y - conv(relu(conv(x, k1) + b1), k2))",
               "k1,b1,k2,x", dim="x=10,k1=3,k2=3")
    x, k1, b1, k2, y = (rng.standard_normal(n) for n in (10, 3, 8, 3, 6))
    p = run_pass(s, {"x": x, "k1": k1, "b1": b1, "k2": k2, "y": y})
    h = np.correlate(x, k1, "valid") + b1
    d2 = np.correlate(np.maximum(h, 0), k2, "valid") - y
    d1 = np.convolve(d2, k2, "full") * (h > 0)  # the transposed convolution of the δ
    print("conv(x, k) is the valid cross-correlation yᵢ = Σⱼ x_{i+j} kⱼ; its adjoint in x is the\n"
          "transposed (full) convolution convT(δ, k), in k the correlation conv(x, δ)")
    return max(np.abs(p.gradients["k1"].ravel() - np.correlate(x, d1, "valid")).max(),
               np.abs(p.gradients["x"].ravel() - np.convolve(d1, k1, "full")).max())


def main():
    out = {"batch": batch(), "dropout": dropout(),
           "batchnorm": norm("3. Batch norm, written from its definition (means over the batch)", BATCHNORM, 0),
           "layernorm": norm("4. Layer norm (means over the features of each row)", LAYERNORM, 1),
           "rnn": rnn(), "attention": attention(), "convolution": convolution()}
    print("\nlargest difference from the independent formulas:", f"{max(out.values()):.1e}")
    return out


if __name__ == "__main__":
    main()
