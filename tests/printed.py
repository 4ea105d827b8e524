"""Values of printed answers: read a text, unicode, LaTeX or NumPy answer back and
compare it with the expression it was printed from, at sampled points.

Used by the round-trip tests and by the CLI format tests, so that a format test
asserts the value of what the user sees, not only an exit code.
"""
from __future__ import annotations

import numpy as np

from matcalc.api import parse_in_context
from matcalc.latex_input import from_latex
from matcalc.numeric import evaluate, sample_point, sample_valid_point
from matcalc.printing.numpy import py_name


def read_back(printed: str, notation: str, f, wrt, shape):
    """The printed answer parsed in the context of f (same kinds and sizes, dX allowed
    for the variables in wrt), LaTeX through the LaTeX input path."""
    text = from_latex(printed) if notation == "latex" else printed
    return parse_in_context(text, f, wrt, None, shape)


def numpy_value(code: str, env: dict, sizes: dict) -> np.ndarray:
    """The value of matcalc's generated NumPy expression `code` at the point env
    (vectors as 1-D arrays, scalars as floats, as the generated code expects)."""
    names = {py_name(str(d)): n for d, n in sizes.items()}
    for k, v in env.items():
        names[py_name(k)] = v.item() if v.shape == (1, 1) else (v[:, 0] if v.shape[1] == 1 else v)
    return np.asarray(eval(code, {"np": np}, names))  # our own generated code, not user text


def points(exprs, count: int = 2, seed: int = 0):
    """(sizes, [env, …]): `count` points where every expression is defined."""
    rng = np.random.default_rng(seed)
    sizes, _ = sample_point(exprs, rng)
    return sizes, [sample_valid_point(exprs, sizes, rng) for _ in range(count)]


def assert_close(got, want, what: str = ""):
    got = np.asarray(got, dtype=float)
    assert got.size == want.size, f"{what}: {got.shape} values, expected {want.shape}"
    got = got.reshape(want.shape)
    scale = max(np.max(np.abs(want)), 1e-8)
    err = np.max(np.abs(got - want)) / scale
    assert err < 1e-8, f"{what}: value differs (relative error {err:.1e})"


def assert_same_value(shown, back, context, seed: int = 0, what: str = ""):
    """The expressions shown and back agree at two sampled points (and have one shape)."""
    sizes, envs = points([*context, shown, back], seed=seed)
    for env in envs:
        want, got = evaluate(shown, env, sizes), evaluate(back, env, sizes)
        assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
        assert_close(got, want, what)


def assert_printed_value(printed: str, notation: str, shown, f, wrt, shape=None, what: str = ""):
    """The answer `printed` in `notation` (text, unicode, latex or numpy) has the value
    of the expression `shown` it stands for."""
    what = what or f"{notation} output {printed!r}"
    if notation == "numpy":
        sizes, envs = points([f, shown])
        for env in envs:
            assert_close(numpy_value(printed, env, sizes), evaluate(shown, env, sizes), what)
        return
    back = read_back(printed, notation, f, wrt, shown.shape if shape is None else shape)
    assert_same_value(shown, back, [f], what=what)
