"""Optimizer trajectories: the course's worked numbers, an independent NumPy implementation of every
rule in both conventions, and torch.optim (float64, 1e-10) when torch is installed."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc.schedule import observations_from
from matcalc.cli import main
from matcalc.optimizers import NAMES, Optimizer, run, train

HYPER = dict(lr=0.05, momentum=0.8, alpha=0.9, beta1=0.85, beta2=0.95, eps=1e-3)


def reference(name, convention, grad, w0, steps, h=HYPER):
    """The update rules written out once more, directly in NumPy."""
    w = w0.copy()
    buf = np.zeros_like(w)
    G = np.zeros_like(w)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    out = []
    lr, mu, eps = h["lr"], h["momentum"], h["eps"]
    for t in range(1, steps + 1):
        if name in ("gd", "sgd"):
            w = w - lr * grad(w)
        elif name == "momentum" or (name == "nesterov" and convention == "course"):
            g = grad(w - mu * buf) if name == "nesterov" else grad(w)
            buf = mu * buf + lr * g
            w = w - buf
        elif name == "nesterov":
            g = grad(w)
            buf = mu * buf + g
            w = w - lr * (g + mu * buf)
        elif name in ("rmsprop", "adagrad"):
            g = grad(w)
            G = G + g * g if name == "adagrad" else h["alpha"] * G + (1 - h["alpha"]) * g * g
            w = w - lr * g / (np.sqrt(G + eps) if convention == "course" else np.sqrt(G) + eps)
        elif name == "adam":
            g = grad(w)
            m = h["beta1"] * m + (1 - h["beta1"]) * g
            v = h["beta2"] * v + (1 - h["beta2"]) * g * g
            mh, vh = m / (1 - h["beta1"] ** t), v / (1 - h["beta2"] ** t)
            w = w - lr * mh / (np.sqrt(vh) + eps)
        out.append(w.copy())
    return out


def problem(seed=3):
    """A least-squares loss with a 3×2 weight matrix (any shape must work) and its gradient."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    W0 = rng.standard_normal((3, 2))
    return X, Y, W0, (lambda W: X.T @ (X @ W - Y) / len(X))


@pytest.mark.parametrize("convention", ["course", "torch"])
@pytest.mark.parametrize("name", NAMES)
def test_every_rule_matches_an_independent_numpy_implementation(name, convention):
    X, Y, W0, grad = problem()
    opt = Optimizer(name, convention, **HYPER)
    history = run(opt, lambda w, chosen: (0.0, {"W": grad(w["W"])}, []), {"W": W0}, 1, 6)
    for st, ref in zip(history, reference(name, convention, grad, W0, 6)):
        np.testing.assert_allclose(st.weights["W"], ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_trajectories_agree_with_torch_optim(name):
    torch = pytest.importorskip("torch")
    X, Y, W0, grad = problem(7)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    W = torch.tensor(W0.copy(), requires_grad=True)
    h = HYPER
    make = {
        "gd": lambda p: torch.optim.SGD(p, lr=h["lr"]),
        "sgd": lambda p: torch.optim.SGD(p, lr=h["lr"]),
        "momentum": lambda p: torch.optim.SGD(p, lr=h["lr"], momentum=h["momentum"]),
        "nesterov": lambda p: torch.optim.SGD(p, lr=h["lr"], momentum=h["momentum"], nesterov=True),
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr=h["lr"], alpha=h["alpha"], eps=h["eps"]),
        "adagrad": lambda p: torch.optim.Adagrad(p, lr=h["lr"], eps=h["eps"]),
        "adam": lambda p: torch.optim.Adam(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"]),
    }[name]
    opt_t = make([W])
    ours = run(Optimizer(name, "torch", **h), lambda w, chosen: (0.0, {"W": grad(w["W"])}, []), {"W": W0}, 1, 8)
    for st in ours:
        opt_t.zero_grad()
        loss = ((Xt @ W - Yt) ** 2).sum() / (2 * len(X))
        loss.backward()
        opt_t.step()
        np.testing.assert_allclose(st.weights["W"], W.detach().numpy(), rtol=0, atol=1e-10)


def masha():
    s = matcalc.backprop("(y - w x)^2", "w", scalar="w,x,y")
    return s, observations_from("[[1,2],[2,3]]", s)


def test_the_problem_books_gd_and_sgd_numbers():
    """Chapter 3, exercise 1: x = (1, 2), y = (2, 3), w₀ = 0, η = 0.1; GD takes the mean gradient."""
    s, obs = masha()
    gd = train(s, {"w": 0.0}, obs, Optimizer("gd", lr=0.1), 3, batch="full")
    assert [round(st.weights["w"].item(), 10) for st in gd] == [0.8, 1.2, 1.4]
    assert [st.gradients["w"].item() for st in gd][:2] == [-8.0, -4.0]
    sgd = train(s, {"w": 0.0}, obs, Optimizer("sgd", lr=0.1), 4, batch=1)
    np.testing.assert_allclose([st.weights["w"].item() for st in sgd], [0.4, 1.28, 1.424, 1.4848])


@pytest.mark.parametrize("name", ["momentum", "nesterov", "rmsprop", "adam", "adagrad"])
def test_the_problem_books_other_optimizers_follow_the_reference(name):
    s, obs = masha()
    h = dict(lr=0.1, momentum=0.9, alpha=0.9, beta1=0.9, beta2=0.9, eps=1e-8)
    steps = train(s, {"w": 0.0}, obs, Optimizer(name, **h), 2, batch=1)
    xs, ys = [1.0, 2.0], [2.0, 3.0]
    k = iter(range(10))

    def grad(w):  # observation 1, then 2
        i = next(k) % 2
        return -2 * xs[i] * (ys[i] - w * xs[i])

    ref = reference(name, "course", grad, np.zeros((1, 1)), 2, h)
    np.testing.assert_allclose([st.weights["w"].item() for st in steps], [r.item() for r in ref], rtol=1e-12)


def test_mini_batches_take_the_mean_over_the_batch():
    s, obs = masha()
    obs = obs + obs
    steps = train(s, {"w": 0.0}, obs, Optimizer("sgd", lr=0.1), 2, batch=2, order=[1, 2, 3, 4])
    assert steps[0].observations == [1, 2] and steps[1].observations == [3, 4]
    assert steps[0].gradients["w"].item() == pytest.approx(-8.0)


def test_cli_names_full_batch_gd_and_prints_a_table_per_step():
    runner = CliRunner()
    base = ["backprop", "(y - w x)^2", "--wrt", "w", "--scalar", "w,x,y", "--data", "[[1,2],[2,3]]",
            "--at", "w=0", "--lr", "0.1", "--iterations", "2"]
    r = runner.invoke(main, base + ["--optimizer", "gd"])
    assert r.exit_code == 0, r.output
    assert "GD step 1 (full batch: mean over 2 observations)" in r.stdout and "w = 1.2" in r.stdout
    assert "SGD" not in r.stdout
    r = runner.invoke(main, base + ["--optimizer", "adam", "--beta1", "0.9", "--beta2", "0.9", "--format", "json"])
    data = json.loads(r.stdout)
    assert data["numbers"]["optimizer"]["name"] == "adam"
    first = data["numbers"]["steps"][0]
    assert first["title"] == "Adam" and first["batch"] == "observation 1"
    assert set(first["state"]["w"]) == {"m", "v"}
    assert first["updated"]["w"] == pytest.approx(0.1, rel=1e-6)  # Adam's first step is ±η
    r = runner.invoke(main, base + ["--optimizer", "nesterov", "--convention", "torch"])
    assert r.exit_code == 0 and "torch.optim" in r.stdout
    r = runner.invoke(main, base + ["--optimizer", "momentum", "--momentum", "1.5"])
    assert r.exit_code == 2 and "momentum must be in [0, 1)" in r.output
    r = runner.invoke(main, base + ["--batch", "zero"])
    assert r.exit_code == 2 and "--batch" in r.output
