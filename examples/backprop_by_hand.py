"""Backpropagation by hand, as in the course exercises (sheet 4, exercises 3 and 4).

    python examples/backprop_by_hand.py

A. The network y = relu(X W1) W2 with W1 = [[1, -1], [0.5, 0]], W2 = (0.5, 1)ᵀ and the
   observation x = (1, 2), MSE against y = 0: the schedule matcalc derives, every forward
   value, every δ and gradient, each layer's forward and backward pass on its own
   (matcalc.schedule.layer_backward, with the numbers of the exercise), one gradient
   step with rate 1.
B. The same network with a sigmoid on top and the log-loss.
C. Two steps of SGD by hand for a sigmoid network initialised with zeros:
   L = 1/2 (y - σ(w3ᵀ σ(W2 σ(W1 x))))², observations (x₁, x₂, y) = (1, 1, 1) and
   (5, 2, 0), the second one first, rate 1.

`main()` returns the key numbers (losses, deltas, gradients, updated weights).
"""
import numpy as np

import matcalc
from matcalc.schedule import layer_backward, observations_from, run_pass, sgd

W1 = [[1.0, -1.0], [0.5, 0.0]]
W2 = [[0.5], [1.0]]
X = [[1.0, 2.0]]

MSE = "(y - relu(X W1) W2)^T (y - relu(X W1) W2)"
LOGLOSS = "-(y ln(sigmoid(relu(X W1) W2)) + (1 - y) ln(1 - sigmoid(relu(X W1) W2)))"
SIGMOID_NET = "1/2 (y - sigmoid(w3^T sigmoid(W2 sigmoid(W1 x))))^2"


def fmt(a) -> str:
    """An array as the short list a student writes, on one line (scalars as numbers, no -0)."""
    a = np.round(np.asarray(a, dtype=float), 6) + 0.0
    if a.size == 1:
        return f"{a.item():.6g}"
    if a.ndim == 2 and 1 in a.shape:
        a = a.ravel()

    def show(v):
        return "[" + ", ".join(show(r) for r in v) + "]" if isinstance(v, list) else f"{v:.6g}"

    return show(a.tolist())


def show_pass(say, p, names):
    say("forward values:")
    for k in names:
        say(f"  {k} = {fmt(p.values[k])}")
    say(f"  L = {p.loss:.6g}")
    say("backward (δ_i = ∂L/∂H_i):")
    for k, v in p.deltas.items():
        say(f"  {k} = {fmt(v)}")
    say("gradients:")
    for k, v in p.gradients.items():
        say(f"  ∂L/∂{k} = {fmt(v)}")


def part_a(say) -> dict:
    say("=" * 78)
    say("A. y = relu(X W1) W2, MSE against y = 0")
    say("=" * 78)
    s = matcalc.backprop(MSE, "W1,W2", vector="W2")
    say(f"L = {MSE}   (W2 declared a vector; observations are rows of X)\n")
    say(s.format("unicode"))
    point = {"X": X, "y": 0, "W1": W1, "W2": W2}
    p = run_pass(s, point)
    say("\nWith x = (1, 2), W1 = [[1, -1], [0.5, 0]], W2 = (0.5, 1)ᵀ, y = 0:")
    show_pass(say, p, ["H1", "O1", "H2"])

    say("\nLayer by layer, with the numbers of the exercise (layer_backward):")
    out1, back1, how1 = layer_backward("linear", [1, 2], [-1, 0], weights=W1)
    say(f"  а,б. linear layer 1 ({how1})")
    say(f"       forward (1, 2) ↦ {fmt(out1)};  upstream (-1, 0) ↦ downstream {fmt(back1)}")
    out2, back2, how2 = layer_backward("relu", [2, -1], [-1, -2])
    say(f"  в,г. relu ({how2})")
    say(f"       forward (2, -1) ↦ {fmt(out2)};  upstream (-1, -2) ↦ downstream {fmt(back2)}")
    out3, back3, how3 = layer_backward("linear", [2, 0], [-2], weights=W2)
    say(f"  д,е. linear layer 3 ({how3})")
    say(f"       forward (2, 0) ↦ {fmt(out3)};  upstream -2 ↦ downstream {fmt(back3)}")
    say(f"  ж.   MSE = (y - ŷ)² = (0 - {fmt(out3)})² = {p.loss:.6g};  ∂MSE/∂ŷ = 2 (ŷ - y) = {fmt(p.deltas['δ2'])}")
    say("       The exercise passes back 2 (y - ŷ) = -2, i.e. -∂MSE/∂ŷ (the direction of descent),")
    say("       so its numbers (-2 → (-1, -2) → (-1, 0) → (-1, -0.5)) are the δ's above with the")
    say("       opposite sign. Chained with +∂MSE/∂ŷ the same layers give exactly matcalc's δ's:")
    d2 = p.deltas["δ2"]
    _, up_o1, _ = layer_backward("linear", p.values["O1"].ravel(), d2.ravel(), weights=W2)
    _, d1, _ = layer_backward("relu", p.values["H1"].ravel(), up_o1)
    _, up_x, _ = layer_backward("linear", [1, 2], d1, weights=W1)
    say(f"       δ2 = {fmt(d2)} → δ2 W2ᵀ = {fmt(up_o1)} → ⊙ step(H1) = {fmt(d1)} (= δ1) → δ1 W1ᵀ = {fmt(up_x)} (= ∂L/∂x)")
    assert np.allclose(d1, p.deltas["δ1"].ravel())
    assert np.allclose(out1, [2, -1]) and np.allclose(out2, [2, 0]) and np.allclose(out3, [1])
    assert np.allclose(back1, [-1, -0.5]) and np.allclose(back2, [-1, 0]) and np.allclose(back3, [-1, -2])

    say("\n  з.   one gradient step with rate 1, W ← W − ∂L/∂W:")
    (_, _, new), = sgd(s, {"W1": W1, "W2": W2}, [{"X": X, "y": 0}], lr=1, steps=1)
    say(f"       W1 = {fmt(W1)} − {fmt(p.gradients['W1'])} = {fmt(new['W1'])}")
    say(f"       W2 = {fmt(W2)} − {fmt(p.gradients['W2'])} = {fmt(new['W2'])}")
    after = run_pass(s, {**point, **new})
    say(f"       loss after the step: {after.loss:.6g} (was {p.loss:.6g}); H1 = {fmt(after.values['H1'])}: "
        "both ReLUs are now off for this x")
    assert p.loss == 1.0
    assert np.allclose(p.gradients["W1"], [[1, 0], [2, 0]]) and np.allclose(p.gradients["W2"], [[4], [0]])
    assert np.allclose(new["W1"], [[0, -1], [-1.5, 0]]) and np.allclose(new["W2"], [[-3.5], [1]])
    return {"mse": p.loss, "mse_delta2": float(d2.item()), "mse_delta1": p.deltas["δ1"].ravel(),
            "mse_grad_W1": p.gradients["W1"], "mse_grad_W2": p.gradients["W2"].ravel(),
            "mse_W1_new": new["W1"], "mse_W2_new": new["W2"].ravel(), "mse_loss_after": after.loss}


def part_b(say) -> dict:
    say("\n" + "=" * 78)
    say("B. A sigmoid on top and the log-loss (a classifier), the same x and weights, y = 0")
    say("=" * 78)
    s = matcalc.backprop(LOGLOSS, "W1,W2", vector="W2", scalar="y", dim=["X=1x2"])
    say(f"L = {LOGLOSS}\n   (one observation: X is 1×2, y a scalar)\n")
    say(s.format("unicode"))
    p = run_pass(s, {"X": X, "y": 0, "W1": W1, "W2": W2})
    say("")
    show_pass(say, p, ["H1", "O1", "H2", "O2"])
    prob = float(p.values["O2"].item())
    y = 0.0
    dL_dp = -(y / prob) + (1 - y) / (1 - prob)
    out, back, how = layer_backward("sigmoid", [p.values["H2"].item()], [dL_dp])
    say("\nа. sigmoid layer: " + how)
    say(f"   forward 1 ↦ σ(1) = {fmt(out)};  σ'(1) = σ(1)(1 − σ(1)) = {prob * (1 - prob):.6g}")
    say(f"б. log-loss: L = -(y ln p + (1 − y) ln(1 − p)) = -ln(1 − {prob:.6g}) = {p.loss:.6g};  "
        f"∂L/∂p = -y/p + (1 − y)/(1 − p) = {dL_dp:.6g}")
    say(f"в. backward through log-loss and sigmoid: {dL_dp:.6g} · {prob * (1 - prob):.6g} = {fmt(back)} = p − y "
        f"(matcalc's δ2 = O2 − y = {fmt(p.deltas['δ2'])});")
    say("   below the sigmoid the backward pass is unchanged, only the upstream δ2 = p − y differs.")
    (_, _, new), = sgd(s, {"W1": W1, "W2": W2}, [{"X": X, "y": 0}], lr=1, steps=1)
    say(f"   one step with rate 1: W1 = {fmt(new['W1'])}, W2 = {fmt(new['W2'])}")
    assert np.isclose(back.item(), prob - y) and np.isclose(p.deltas["δ2"].item(), prob - y)
    assert np.isclose(p.loss, -np.log(1 - 1 / (1 + np.exp(-1))))
    return {"logloss": p.loss, "logloss_p": prob, "logloss_delta2": float(p.deltas["δ2"].item()),
            "logloss_grad_W2": p.gradients["W2"].ravel(), "logloss_W1_new": new["W1"]}


def part_c(say) -> dict:
    say("\n" + "=" * 78)
    say("C. Two SGD steps by hand: sigmoid network, zero initial weights, rate 1")
    say("=" * 78)
    s = matcalc.backprop(SIGMOID_NET, "W1,W2,w3", scalar="y", dim=["W1=2x2", "W2=2x2", "w3=2"])
    say(f"L = {SIGMOID_NET}   (W1, W2 2×2, w3 ∈ ℝ², y a scalar)\n")
    say(s.format("unicode"))
    data = [[1, 1, 1], [5, 2, 0]]
    observations = observations_from(data, s)
    zeros = {"W1": np.zeros((2, 2)), "W2": np.zeros((2, 2)), "w3": np.zeros((2, 1))}
    history = sgd(s, zeros, observations, lr=1, steps=2, order=[2, 1])
    out = {}
    for step, (index, p, weights) in enumerate(history, 1):
        x1, x2, y = data[index - 1]
        say(f"\nStep {step}: observation {index}, x = ({x1}, {x2}), y = {y}")
        show_pass(say, p, ["H1", "O1", "H2", "O2", "H3", "O3"])
        say("updated weights (W ← W − 1 · ∂L/∂W):")
        for k, v in weights.items():
            say(f"  {k} = {fmt(v)}")
        out[f"sgd_loss_{step}"] = p.loss
        out[f"sgd_weights_{step}"] = weights
        out[f"sgd_deltas_{step}"] = {k: v.ravel() for k, v in p.deltas.items()}
    say("\nWith zero weights every hidden unit computes the same thing: the rows of W1 and W2 and the")
    say("entries of w3 stay equal (the symmetry zero initialisation never breaks), and in the first step")
    say("only w3 moves, since δ2 = δ3 (O2 ⊙ (1 − O2) ⊙ w3) is 0 while w3 = 0; W1 is still 0 after two steps.")
    w = history[-1][2]
    assert np.allclose(history[0][2]["w3"], -0.0625) and np.allclose(history[0][2]["W2"], 0)
    assert np.allclose(w["W1"], 0) and np.allclose(w["W2"], w["W2"][0, 0])
    return out


def main(verbose: bool = True) -> dict:
    say = print if verbose else (lambda *a, **k: None)
    out = {}
    out.update(part_a(say))
    out.update(part_b(say))
    out.update(part_c(say))
    return out


if __name__ == "__main__":
    main()
