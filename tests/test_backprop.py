"""Backprop from the same core: schedules, numbers, SGD steps, single layers and graphs,
checked against finite differences and against an independent NumPy forward/backward."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc.schedule import layer_backward, observations_from, run_pass, sgd, verify_schedule
from matcalc.cli import main
from matcalc.numeric import evaluate, sample_point

MLP = "1/2 (y - W3 sigmoid(W2 sigmoid(W1 x)))^T (y - W3 sigmoid(W2 sigmoid(W1 x)))"


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


@pytest.mark.parametrize("expr,wrt,decls", [
    (MLP, "W1,W2,W3", {}),
    ("1/2 (y - sigmoid(sigmoid(X W1) W2) W3)^T (y - sigmoid(sigmoid(X W1) W2) W3)", "W1,W2,W3", {"vector": "W3"}),
    ("-(y^T log(sigmoid(W2 relu(W1 x + b1) + b2)) + (1 - y)^T log(1 - sigmoid(W2 relu(W1 x + b1) + b2)))",
     "W1,b1,W2,b2", {}),
    ("-y^T log(softmax(W2 tanh(W1 x + b1)))", "W1,b1,W2", {}),
    ("(y - relu(X W1) W2)^T (y - relu(X W1) W2)", "W1,W2", {"vector": "W2"}),
])
def test_schedule_gradients_match_diff_and_finite_differences(expr, wrt, decls):
    s = matcalc.backprop(expr, wrt, **decls)
    assert verify_schedule(s).passed
    r = matcalc.diff(expr, wrt, **decls)
    sizes, env = sample_point([r.f] + [dv.expr for dv in r.derivatives], np.random.default_rng(5))
    p = run_pass(s, env)
    for dv in r.derivatives:
        np.testing.assert_allclose(p.gradients[dv.name], evaluate(dv.expr, env, sizes), rtol=1e-9, atol=1e-12)


def test_layer_formulas_read_like_the_material():
    text = matcalc.backprop(MLP, "W1,W2,W3").format("unicode")
    for line in ("H1 = W1 x", "O1 = sigmoid(H1)", "H3 = W3 O2", "δ3 = H3 - y",
                 "δ2 = (1 - O2) ⊙ O2 ⊙ (W3ᵀ δ3)", "∂L/∂W2 = δ2 O1ᵀ", "∂L/∂W1 = δ1 xᵀ"):
        assert line in text, (line, text)


def test_output_deltas_simplify_to_prediction_minus_target():
    s = matcalc.backprop("-(y^T log(sigmoid(W x)) + (1 - y)^T log(1 - sigmoid(W x)))", "W")
    assert s.format("text").count("δ1 = O1 - y") == 1
    s = matcalc.backprop("-y^T log(softmax(W x))", "W")
    assert "δ1 = sum(y) O1 - y" in s.format("text")
    assert any("one-hot" in n for n in s.notes)


def test_the_relu_network_of_the_material():
    """y = relu(X W1) W2 with W1 = [[1, -1], [0.5, 0]], W2 = [0.5, 1]ᵀ, x = (1, 2), MSE against 0."""
    s = matcalc.backprop("(y - relu(X W1) W2)^T (y - relu(X W1) W2)", "W1,W2", vector="W2")
    W1, W2, X, y = np.array([[1, -1], [0.5, 0]]), np.array([[0.5], [1]]), np.array([[1.0, 2.0]]), 0.0
    p = run_pass(s, {"X": X, "y": y, "W1": W1, "W2": W2})
    # an independent forward/backward
    H1 = X @ W1
    O1 = np.maximum(H1, 0)
    yhat = O1 @ W2
    d2 = 2 * (yhat - y)
    d1 = (d2 @ W2.T) * (H1 > 0)
    np.testing.assert_allclose(p.values["H1"], H1)
    np.testing.assert_allclose(p.values["H1"], [[2, -1]])  # the material's (2, -1)
    np.testing.assert_allclose(p.values["O1"], [[2, 0]])
    assert p.values["H2"].item() == 1 and p.loss == 1
    np.testing.assert_allclose(p.gradients["W2"], O1.T @ d2)
    np.testing.assert_allclose(p.gradients["W1"], X.T @ d1)
    # one gradient step with rate 1
    (index, _, updated), = sgd(s, {"W1": W1, "W2": W2}, [{"X": X, "y": y}], 1.0, 1)
    np.testing.assert_allclose(updated["W1"], W1 - X.T @ d1)
    np.testing.assert_allclose(updated["W2"], W2 - O1.T @ d2)


def test_single_layers_backwards():
    out, down, _ = layer_backward("linear", [1, 2], [-1, 0], [[1, -1], [0.5, 0]])
    np.testing.assert_allclose(out, [2, -1])
    np.testing.assert_allclose(down, [-1, -0.5])
    out, down, _ = layer_backward("relu", [2, -1], [-1, -2])
    np.testing.assert_allclose(out, [2, 0])
    np.testing.assert_allclose(down, [-1, 0])
    out, down, _ = layer_backward("linear", [2, 0], [-2], [[0.5], [1]])
    np.testing.assert_allclose(out, [1])
    np.testing.assert_allclose(down, [-1, -2])
    out, down, _ = layer_backward("sigmoid", [0.0], [1.0])
    np.testing.assert_allclose(down, [0.25])


def test_softmax_of_the_material():
    for logits, cls in (([1, -2, 0], 0), ([0.5, -1, 0], 2)):
        p, _, _ = layer_backward("softmax", logits, np.zeros(3))
        e = np.exp(logits)
        np.testing.assert_allclose(p, e / e.sum())
        y = np.eye(3)[cls]
        s = matcalc.backprop("-y^T log(softmax(u))", "u")
        value = run_pass(s, {"u": logits, "y": y}).loss
        assert value == pytest.approx(-np.log(p[cls]))


def test_two_sgd_steps_from_zero_weights():
    """Sigmoid network, two hidden layers of two units, zero init, rate 1, second observation first."""
    expr = "1/2 (y - sigmoid(w3^T sigmoid(W2 sigmoid(W1 x))))^2"
    s = matcalc.backprop(expr, "W1,W2,w3", scalar="y", dim=["W1=2x2", "W2=2x2", "w3=2"])
    obs = observations_from([[1, 1, 1], [5, 2, 0]], s)
    start = {"W1": np.zeros((2, 2)), "W2": np.zeros((2, 2)), "w3": np.zeros((2, 1))}
    history = sgd(s, start, obs, 1.0, 2, [2, 1])
    # an independent NumPy forward/backward
    W1, W2, w3 = (v.copy() for v in start.values())
    for (index, p, updated), (xs, t) in zip(history, [([5, 2], 0.0), ([1, 1], 1.0)]):
        x = np.array(xs, dtype=float).reshape(-1, 1)
        o1 = sigmoid(W1 @ x)
        o2 = sigmoid(W2 @ o1)
        o3 = sigmoid(w3.T @ o2)
        d3 = (o3 - t) * o3 * (1 - o3)
        d2 = (w3 @ d3) * o2 * (1 - o2)
        d1 = (W2.T @ d2) * o1 * (1 - o1)
        g3, g2, g1 = o2 @ d3, d2 @ o1.T, d1 @ x.T
        assert p.loss == pytest.approx(0.5 * (t - o3.item()) ** 2)
        W1, W2, w3 = W1 - g1, W2 - g2, w3 - g3
        np.testing.assert_allclose(updated["W1"], W1, atol=1e-15)
        np.testing.assert_allclose(updated["W2"], W2, atol=1e-15)
        np.testing.assert_allclose(updated["w3"], w3, atol=1e-15)
    assert history[0][0] == 2 and history[1][0] == 1
    np.testing.assert_allclose(history[0][2]["w3"], [[-0.0625], [-0.0625]])


def test_computational_graph_examples():
    g = matcalc.graph("(2x + y) z", scalar="x,y,z", at={"x": 10, "y": -2, "z": -4})
    assert g.adjoints["x"] == -8 and g.adjoints["y"] == -4 and g.adjoints["z"] == 18
    assert g.values["f"] == -72
    g = matcalc.graph("x^2 + x y + (x + y)^2", scalar="x,y")
    assert matcalc.simplify.equal(g.path_sums["x"], matcalc.parse("2x + y + 2(x + y)", scalar="x,y"))
    assert matcalc.simplify.equal(g.path_sums["y"], matcalc.parse("x + 2(x + y)", scalar="x,y"))
    dot = g.format("dot")
    assert dot.startswith("digraph") and "->" in dot


def test_deep_networks_give_linear_schedules():
    sizes = []
    for depth in (10, 20, 40):
        e = "x"
        for i in range(1, depth + 1):
            e = f"sigmoid(W{i} {e})"
        s = matcalc.backprop(f"1/2 (y - {e})^T (y - {e})", ",".join(f"W{i}" for i in range(1, depth + 1)))
        sizes.append(len(s.format("text")))
        assert len(s.deltas) == depth
    assert sizes[1] / sizes[0] < 2.3 and sizes[2] / sizes[1] < 2.3


def test_cli_backprop_and_graph():
    runner = CliRunner()
    r = runner.invoke(main, ["backprop", MLP, "--wrt", "W1,W2,W3"])
    assert r.exit_code == 0 and "δ1 =" in r.stdout and "PASS" in r.stderr
    r = runner.invoke(main, ["backprop", "(y - relu(X W1) W2)^T (y - relu(X W1) W2)", "--wrt", "W1,W2",
                             "--vector", "W2", "--at", "X=[[1,2]]", "y=0", "W1=[[1,-1],[0.5,0]]", "W2=[0.5,1]",
                             "--format", "json"])
    data = json.loads(r.stdout)
    assert data["numbers"]["pass"]["gradients"]["W2"] == [4.0, 0.0]
    r = runner.invoke(main, ["backprop", "--layer", "relu", "--layer-input", "[2,-1]", "--upstream", "[-1,-2]"])
    assert "downstream = [-1.0, -0.0]" in r.stdout or "downstream = [-1.0, 0.0]" in r.stdout
    r = runner.invoke(main, ["backprop", "1/2 (y - sigmoid(w3^T sigmoid(W2 sigmoid(W1 x))))^2", "--wrt",
                             "W1,W2,w3", "--scalar", "y", "--dim", "W1=2x2,W2=2x2,w3=2", "--init", "zeros",
                             "--data", "[[1,1,1],[5,2,0]]", "--order", "2,1", "--iterations", "2", "--lr", "1"])
    assert r.exit_code == 0 and "SGD step 2 (observation 1)" in r.stdout
    r = runner.invoke(main, ["graph", "(2x + y) z", "--scalar", "x,y,z", "--at", "x=10", "y=-2", "z=-4"])
    assert "df/dx = 2 z = -8" in r.stdout
    r = runner.invoke(main, ["backprop", "x^T W", "--wrt", "W"])
    assert r.exit_code == 2 and "scalar loss" in r.output


def test_backprop_with_an_abstract_activation_says_the_check_was_skipped():
    from click.testing import CliRunner

    from matcalc.cli import main

    r = CliRunner().invoke(main, ["backprop", "1/2 (y - f(W_2 f(W_1 x)))^T (y - f(W_2 f(W_1 x)))",
                                  "--wrt", "W_1,W_2"])
    assert r.exit_code == 0 and "check: skipped" in r.output, r.output


def test_softmax_layer_on_a_batch_is_row_wise():
    """The problem book's softmax exercise feeds two observations (rows) at once."""
    import numpy as np

    from matcalc.schedule import layer_backward

    x = np.array([[1.0, -2.0, 0.0], [0.5, -1.0, 0.0]])
    g = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    out, down, _ = layer_backward("softmax", x, g)

    def loss(z):  # Σ upstream ⊙ softmax(z), softmax over each row
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return float(np.sum(g * e / e.sum(axis=1, keepdims=True)))

    h, numeric = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        dz = np.zeros_like(x)
        dz[idx] = h
        numeric[idx] = (loss(x + dz) - loss(x - dz)) / (2 * h)
    np.testing.assert_allclose(down, numeric, atol=1e-8)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
