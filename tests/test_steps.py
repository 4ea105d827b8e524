"""Step-by-step derivations: every step's NumPy form equals the previous one at random
points and random differentials, and the last step reads off the `diff` result."""
import re

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc.cli import main
from matcalc.numeric import evaluate, sample_point
from matcalc.printing.numpy import py_name
from seed_cases import SEED_CASES


def _env_for(derivation, seed):
    exprs = [derivation.f] + [s.rhs for s in derivation.steps]
    sizes, env = sample_point(exprs, np.random.default_rng(seed))
    names = {py_name(str(d)): n for d, n in sizes.items()}
    for k, v in env.items():
        names[py_name(k)] = v.item() if v.shape == (1, 1) else (v[:, 0] if v.shape[1] == 1 else v)
    return sizes, env, names


def _check_chain(derivation, result_expr, seed=0):
    sizes, env, names = _env_for(derivation, seed)
    data = derivation.to_json()["steps"]
    values = [np.asarray(eval(step["numpy"], {"np": np}, dict(names)), dtype=float) for step in data]
    for before, after, step in zip(values, values[1:], data[1:]):
        np.testing.assert_allclose(after, before, rtol=1e-8, atol=1e-10, err_msg=step["text"])
    # each step's Expr also evaluates to the same value as its NumPy form
    for step, value in zip(derivation.steps, values):
        np.testing.assert_allclose(np.reshape(evaluate(step.rhs, env, sizes), np.shape(value)), value,
                                   rtol=1e-8, atol=1e-10)
    last = derivation.steps[-1]
    assert last.result is not None or derivation.steps[-1].result_name == ""
    if last.result is not None:
        np.testing.assert_allclose(evaluate(last.result, env, sizes), evaluate(result_expr, env, sizes),
                                   rtol=1e-10)


@pytest.mark.parametrize("number,expr,wrt,decls,expected", SEED_CASES, ids=[f"seed{c[0]}" for c in SEED_CASES])
def test_every_seed_derivation_is_a_chain_of_equal_steps(number, expr, wrt, decls, expected):
    r = matcalc.diff(expr, wrt, **decls)
    d = r.derivation()
    assert len(d.steps) >= 2
    for seed in (0, 1):
        _check_chain(d, r.expr, seed)
    assert all(s.rule for s in d.steps), [s.rule for s in d.steps]


def test_the_course_material_solution_of_problem_5():
    text = matcalc.diff("a^T X A X a", "X").derivation().format("unicode")
    lines = text.splitlines()
    assert lines[0] == "df = d(aᵀ X A X a)"
    assert "aᵀ dX A X a + aᵀ X A dX a" in lines[1] and "product rule" in lines[1]
    assert "tr(aᵀ dX A X a) + tr(aᵀ X A dX a)" in lines[2] and "trace" in lines[2]
    assert "tr(A X a aᵀ dX) + tr(a aᵀ X A dX)" in lines[3] and "cyclic" in lines[3]
    assert "tr((A X a aᵀ + a aᵀ X A) dX)" in lines[4] and "∇f = a aᵀ Xᵀ Aᵀ + Aᵀ Xᵀ a aᵀ" in lines[4]
    assert len(lines) == 5  # no redundant or no-op steps


@pytest.mark.parametrize("expr,wrt,decls", [
    ("x^T A x", "x", {}), ("(y - X w)^T (y - X w) + lambda w^T w", "w", {}),
    ("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w", {}), ("ln(x^T A x)", "x", {}),
])
def test_hessian_derivations(expr, wrt, decls):
    h = matcalc.hessian(expr, wrt, **decls)
    d = h.derivation()
    sizes, env, names = _env_for(d, 3)
    # the two blocks (df, then d∇f) are each chains of equal steps
    data = d.to_json()["steps"]
    split = next(i for i, s in enumerate(d.steps) if s.lhs != "df")
    for block in (data[:split], data[split:]):
        values = [np.asarray(eval(s["numpy"], {"np": np}, dict(names)), dtype=float) for s in block]
        for a, b in zip(values, values[1:]):
            np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(evaluate(d.steps[-1].result, env, sizes), evaluate(h.expr, env, sizes), rtol=1e-10)


def test_latex_is_a_complete_align_block_in_ascii():
    for expr, wrt, decls in [("a^T X A X a", "X", {}), ("ln det X", "X", {}),
                             ("-n/2 ln det S - 1/2 tr(S^-1 M)", "S", {"symmetric": "S,M", "scalar": "n"}),
                             ("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w", {})]:
        tex = matcalc.diff(expr, wrt, **decls).derivation().format("latex")
        assert tex.startswith("\\begin{aligned}") and tex.endswith("\\end{aligned}")
        assert tex.isascii(), [c for c in tex if not c.isascii()]
        assert tex.count("\\left") == tex.count("\\right")
        assert tex.count("{") == tex.count("}")
        assert re.search(r"&=", tex)


def test_cli_steps_in_every_format():
    runner = CliRunner()
    for fmt in ("text", "unicode", "latex", "json"):
        r = runner.invoke(main, ["diff", "a^T X A X a", "--wrt", "X", "--steps", "--format", fmt])
        assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["diff", "x^T A x", "--wrt", "x", "--steps"])
    assert "grad f = (A + A^T) x" in r.stdout
    r = runner.invoke(main, ["hessian", "x^T A x", "--wrt", "x", "--steps"])
    assert "H = A + A^T" in r.stdout


def test_examples_file_is_current():
    import pathlib
    import runpy

    here = pathlib.Path(__file__).resolve().parent.parent / "examples"
    module = runpy.run_path(str(here / "derivations.py"))
    assert module["main"](markdown=True).strip() == (here / "derivations.md").read_text().strip()
