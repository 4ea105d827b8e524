"""Backprop beyond the MLP (issue 19): batches, dropout, attention, batch and layer norm,
an RNN through time, convolution. Every schedule is checked against finite differences
(verify_schedule); the known closed forms are compared with independent NumPy code."""
import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc.cli import main
from matcalc.errors import MatcalcError
from matcalc.schedule import run_pass, verify_schedule

BATCH = "-1/n sum(Y .* log(softmax(relu(X W1 + b1) W2 + b2)))"
DROPOUT = "H = relu(X W1 + b1); D = H .* M / (1 - p); Z = D W2 + b2; L = -1/n sum(Y .* log(softmax(Z)))"
ATTENTION = "Q = X W_q; K = X W_k; V = X W_v; S = Q K^T / sqrt(d); A = softmax(S); L = sum(C .* (A V))"
BATCHNORM = ("mu = 1/n X^T ones; v = 1/n ((X - ones mu^T).^2)^T ones; s = sqrt(v + eps ones); "
             "Xh = (X - ones mu^T) ./ (ones s^T); Y = Xh .* (ones gamma^T) + ones beta^T; L = sum(C .* Y)")
LAYERNORM = ("mu = 1/m X ones; v = 1/m (X - mu ones^T).^2 ones; s = sqrt(v + eps ones); "
             "Xh = (X - mu ones^T) ./ (s ones^T); Y = Xh .* (ones gamma^T) + ones beta^T; L = sum(C .* Y)")
RNN = "a_t = W h_{t-1} + U x_t + b; h_t = tanh(a_t); L = 1/2 (y - V h_T)^T (y - V h_T)"
NORM_DECLS = {"scalar": "eps", "vector": "gamma,beta"}


def softmax_rows(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("expr,wrt,decls,unroll", [
    (BATCH, "W1,b1,W2,b2", {}, None),
    (DROPOUT, "W1,b1,W2,b2", {"scalar": "p"}, None),
    (ATTENTION, "W_q,W_k,W_v", {"scalar": "d"}, None),
    (BATCHNORM, "X,gamma,beta", NORM_DECLS, None),
    (LAYERNORM, "X,gamma,beta", NORM_DECLS, None),
    (RNN, "W,U,b,V,h_0", {}, 3),
])
def test_every_layer_passes_the_finite_difference_check(expr, wrt, decls, unroll):
    s = matcalc.backprop(expr, wrt, unroll=unroll, **decls)
    report = verify_schedule(s)
    assert report.passed, report.summary()
    assert set(s.gradients) == {matcalc.decls.canonical_name(w) for w in wrt.split(",")}


def test_bias_rows_of_a_batch_and_the_mean():
    s = matcalc.backprop(BATCH, "W1,b1,W2,b2")
    text = s.format("text")
    for line in ("H1 = X W1 + ones(n) b1^T", "O2 = softmax(H2)", "δ2 = (O2 .* (Y ones(m) ones(1, m)) - Y) / n",
                 "dL/db1 = δ1^T ones(n)", "dL/dW2 = O1^T δ2"):
        assert line in text, (line, text)
    assert any("bias broadcast" in n for n in s.notes) and any("one-hot" in n for n in s.notes)
    # numbers against an independent NumPy forward/backward, one-hot rows
    rng = np.random.default_rng(1)
    X, W1, b1, W2, b2 = (rng.standard_normal(sh) for sh in ((5, 3), (3, 4), (4,), (4, 2), (2,)))
    Y = np.eye(2)[rng.integers(0, 2, 5)]
    p = run_pass(s, {"X": X, "Y": Y, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "n": 5})
    H1 = X @ W1 + b1
    O1 = np.maximum(H1, 0)
    d2 = (softmax_rows(O1 @ W2 + b2) - Y) / 5
    d1 = (d2 @ W2.T) * (H1 > 0)
    np.testing.assert_allclose(p.gradients["W2"], O1.T @ d2, atol=1e-12)
    np.testing.assert_allclose(p.gradients["b2"].ravel(), d2.sum(axis=0), atol=1e-12)
    np.testing.assert_allclose(p.gradients["W1"], X.T @ d1, atol=1e-12)
    np.testing.assert_allclose(p.gradients["b1"].ravel(), d1.sum(axis=0), atol=1e-12)


def test_dropout_delta_goes_through_the_mask():
    s = matcalc.backprop(DROPOUT, "W1,b1,W2,b2", scalar="p")
    deltas = {sym.name: e for sym, e in s.deltas}
    assert str(deltas["δH"]) == "(M .* δD) / (1 - p)"
    rng = np.random.default_rng(2)
    X, W1, b1, W2, b2 = (rng.standard_normal(sh) for sh in ((6, 3), (3, 4), (4,), (4, 2), (2,)))
    M = (rng.random((6, 4)) > 0.5).astype(float)
    Y = np.eye(2)[rng.integers(0, 2, 6)]
    p = run_pass(s, {"X": X, "Y": Y, "M": M, "p": 0.5, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "n": 6})
    H = np.maximum(X @ W1 + b1, 0)
    dZ = (softmax_rows((H * M / 0.5) @ W2 + b2) - Y) / 6
    dH = (dZ @ W2.T) * M / 0.5
    np.testing.assert_allclose(p.deltas["δH"], dH, atol=1e-12)
    np.testing.assert_allclose(p.gradients["W1"], X.T @ (dH * (X @ W1 + b1 > 0)), atol=1e-12)


def test_attention_deltas():
    s = matcalc.backprop(ATTENTION, "W_q,W_k,W_v", scalar="d")
    text = s.format("unicode")
    for line in ("δS = A ⊙ δA - A ⊙ ((A ⊙ δA) ones(n) ones(1, n))", "δQ = δS K / √(d)",
                 "δK = δSᵀ Q / √(d)", "δV = Aᵀ C", "∂L/∂W_q = Xᵀ δQ", "∂L/∂W_v = Xᵀ δV"):
        assert line in text, (line, text)
    rng = np.random.default_rng(3)
    X, Wq, Wk, Wv, C = (rng.standard_normal(sh) for sh in ((4, 3), (3, 2), (3, 2), (3, 5), (4, 5)))
    p = run_pass(s, {"X": X, "W_q": Wq, "W_k": Wk, "W_v": Wv, "C": C, "d": 2.0})
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    A = softmax_rows(Q @ K.T / np.sqrt(2))
    dA = C @ V.T
    dS = A * (dA - (A * dA).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(p.gradients["W_q"], X.T @ dS @ K / np.sqrt(2), atol=1e-12)
    np.testing.assert_allclose(p.gradients["W_k"], X.T @ dS.T @ Q / np.sqrt(2), atol=1e-12)
    np.testing.assert_allclose(p.gradients["W_v"], X.T @ A.T @ C, atol=1e-12)


@pytest.mark.parametrize("expr,axis", [(BATCHNORM, 0), (LAYERNORM, 1)])
def test_norms_give_the_compact_formula(expr, axis):
    """∂L/∂X = (1/σ) ⊙ (G − mean(G) − X̂ ⊙ mean(G ⊙ X̂)), G = ∂L/∂X̂, means over the batch
    (batch norm: down the columns) or over the features (layer norm: along the rows)."""
    s = matcalc.backprop(expr, "X,gamma,beta", **NORM_DECLS)
    rng = np.random.default_rng(4)
    X, C = rng.standard_normal((5, 3)) * 2 + 1, rng.standard_normal((5, 3))
    gamma, beta, eps = rng.standard_normal(3), rng.standard_normal(3), 1e-3
    p = run_pass(s, {"X": X, "C": C, "gamma": gamma, "beta": beta, "eps": eps, "n": 5, "m": 3})
    mean = X.mean(axis=axis, keepdims=True)
    sigma = np.sqrt(X.var(axis=axis, keepdims=True) + eps)
    Xh = (X - mean) / sigma
    np.testing.assert_allclose(p.values["Xh"], Xh, atol=1e-12)
    G = p.deltas["δXh"]
    np.testing.assert_allclose(G, C * gamma, atol=1e-12)
    compact = (G - G.mean(axis=axis, keepdims=True) - Xh * (G * Xh).mean(axis=axis, keepdims=True)) / sigma
    np.testing.assert_allclose(p.gradients["X"], compact, atol=1e-10)
    np.testing.assert_allclose(p.gradients["gamma"].ravel(), (C * Xh).sum(axis=0), atol=1e-12)
    np.testing.assert_allclose(p.gradients["beta"].ravel(), C.sum(axis=0), atol=1e-12)


def test_rnn_through_time():
    s = matcalc.backprop(RNN, "W,U,b,V", unroll=3)
    text = s.format("unicode")
    for line in ("a3 = W h2 + U x3 + b", "h3 = tanh(a3)", "δh2 = Wᵀ δa3", "∂L/∂W = δa3 h2ᵀ + δa2 h1ᵀ + δa1 h0ᵀ"):
        assert line in text, (line, text)
    notes = " ".join(s.notes)
    assert "δh_t = Wᵀ δa_{t+1}" in notes and "∂L/∂W = Σ_t δa_t h_{t-1}ᵀ" in notes and "vanishing" in notes
    # numbers against an independent BPTT
    rng = np.random.default_rng(5)
    W, U, V = rng.standard_normal((3, 3)) / 2, rng.standard_normal((3, 2)), rng.standard_normal((2, 3))
    b, h0, y = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(2)
    xs = [rng.standard_normal(2) for _ in range(3)]
    env = {"W": W, "U": U, "V": V, "b": b, "h0": h0, "y": y, **{f"x{t + 1}": x for t, x in enumerate(xs)}}
    p = run_pass(s, env)
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x + b))
    dh = V.T @ (V @ hs[-1] - y)
    gW = np.zeros_like(W)
    for t in range(3, 0, -1):
        da = dh * (1 - hs[t] ** 2)
        gW += np.outer(da, hs[t - 1])
        dh = W.T @ da
    np.testing.assert_allclose(p.gradients["W"], gW, atol=1e-12)


def test_a_loss_summed_over_the_steps():
    s = matcalc.backprop("h_t = tanh(W h_{t-1} + U x_t); L = sum_t (1/2 (y_t - V h_t)^T (y_t - V h_t))",
                         "W,U,V", unroll=2)
    assert verify_schedule(s).passed
    assert [sym.name for sym, _ in s.deltas] == ["δh2", "δh1"]


def test_program_errors():
    with pytest.raises(MatcalcError, match="not a definition"):
        matcalc.backprop("X W; L = sum(X)", "W")
    with pytest.raises(MatcalcError, match="defined twice"):
        matcalc.backprop("A = X W; A = X W; L = sum(A)", "W")
    with pytest.raises(MatcalcError, match="scalar loss"):
        matcalc.backprop("A = X W; L = A", "W")
    with pytest.raises(MatcalcError, match="time index t"):
        matcalc.backprop("A = X W; L = sum(A)", "W", unroll=2)
    with pytest.raises(MatcalcError, match="unroll"):
        matcalc.backprop("h_t = tanh(W h_{t-1}); L = sum(h_T)", "W", unroll=0)


def test_cli_layers():
    runner = CliRunner()
    r = runner.invoke(main, ["backprop", ATTENTION, "--wrt", "W_q,W_k,W_v", "--scalar", "d"])
    assert r.exit_code == 0 and "δQ = δS K / sqrt(d)" in r.stdout and "PASS" in r.stderr
    r = runner.invoke(main, ["backprop", RNN, "--wrt", "W,U,b,V", "--unroll", "2", "--at", "W=[[0.5,0],[0,0.5]]",
                             "U=[[1],[0]]", "b=[0,0]", "V=[[1,1]]", "h0=[0,0]", "x1=1", "x2=-1", "y=1"])
    assert r.exit_code == 0 and "δh1 =" in r.stdout and "dL/dW =" in r.stdout
    r = runner.invoke(main, ["backprop", "A = X W; L = A", "--wrt", "W"])
    assert r.exit_code == 2 and "scalar loss" in r.output


CONV = "1/2 (y - conv(relu(conv(x, k1) + b1), k2))^T (y - conv(relu(conv(x, k1) + b1), k2))"


def test_convolution_kernel_and_input_deltas():
    s = matcalc.backprop(CONV, "k1,b1,k2,x", dim="x=9,k1=3,k2=2")
    assert verify_schedule(s).passed
    text = s.format("text")
    for line in ("H1 = conv(x, k1) + b1", "δ1 = convT(δ2, k2) .* step(H1)", "dL/dk1 = conv(x, δ1)",
                 "dL/dk2 = conv(O1, δ2)", "dL/dx = convT(δ1, k1)"):
        assert line in text, (line, text)
    rng = np.random.default_rng(6)
    x, k1, b1, k2 = rng.standard_normal(9), rng.standard_normal(3), rng.standard_normal(7), rng.standard_normal(2)
    y = rng.standard_normal(6)
    p = run_pass(s, {"x": x, "k1": k1, "b1": b1, "k2": k2, "y": y})
    # an independent loop implementation: yᵢ = Σⱼ x_{i+j} kⱼ and its adjoints
    h = np.array([x[i:i + 3] @ k1 for i in range(7)]) + b1
    o = np.maximum(h, 0)
    out = np.array([o[i:i + 2] @ k2 for i in range(6)])
    d2 = out - y
    do = np.zeros(7)
    gk2 = np.zeros(2)
    for i in range(6):
        do[i:i + 2] += d2[i] * k2
        gk2 += d2[i] * o[i:i + 2]
    d1 = do * (h > 0)
    gx, gk1 = np.zeros(9), np.zeros(3)
    for i in range(7):
        gx[i:i + 3] += d1[i] * k1
        gk1 += d1[i] * x[i:i + 3]
    for name, want in (("k1", gk1), ("k2", gk2), ("x", gx), ("b1", d1)):
        np.testing.assert_allclose(p.gradients[name].ravel(), want, atol=1e-12, err_msg=name)


def test_convolution_needs_sizes_and_codegen_runs():
    with pytest.raises(MatcalcError, match="sizes"):
        matcalc.diff("sum(conv(x, k))", "k", vector="x,k")
    with pytest.raises(MatcalcError, match="longer"):
        matcalc.diff("sum(conv(x, k))", "k", dim="x=2,k=3")
    with pytest.raises(MatcalcError, match="2 arguments"):
        matcalc.diff("sum(conv(x))", "x", dim="x=3")
    from matcalc.code_generation import generate

    source = generate("1/2 ||y - conv(x, k)||^2", "k,x", matcalc.decls.Decls.build(dim="x=6,k=3"))
    ns: dict = {}
    exec(source, ns)  # noqa: S102 - our own generated code
    rng = np.random.default_rng(7)
    x, k, y = rng.standard_normal(6), rng.standard_normal(3), rng.standard_normal(4)
    value, grad_k, grad_x = ns["value_and_grad"](x=x, k=k, y=y)
    r = np.correlate(x, k, "valid") - y
    assert value == pytest.approx(0.5 * r @ r)
    np.testing.assert_allclose(grad_k, [r @ x[j:j + 4] for j in range(3)], atol=1e-12)
    np.testing.assert_allclose(grad_x, np.convolve(r, k, "full"), atol=1e-12)
