"""Self-check of a derived result against central finite differences.

Along a random direction V of each variable, the change of f predicted by the
result (⟨G, V⟩ for a gradient, J v for a Jacobian, D v for a derivative, dF at
dX = V for a differential) must match (f(X + hV) - f(X - hV)) / 2h. The cost is a
few evaluations of f whatever the size of X. Tests call this same function.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .differential import d
from .numeric import FDCheck, check_directional, evaluate

TOLERANCE = 1e-5
MAX_CHECK_SIZE = 64  # the self-check runs at sizes up to this; larger --dim sizes are not checked


def largest_size(exprs) -> int:
    """The largest numeric dimension of a symbol in exprs (given with --dim)."""
    from .walk import symbols_in

    return max((d for e in exprs for s in symbols_in(e) for d in s.shape if isinstance(d, int)), default=1)


def _predictor(result, dv):
    kind = dv.kind
    if kind == "differential":
        df = d(result.f, {dv.name: dv.variable})

        def predict(env, name, v, sizes):
            return evaluate(df, {**env, "d" + name: v}, sizes)

        return predict

    def predict(env, name, v, sizes):
        value = dv.value(env, sizes)  # over the result's `where` names, if any
        if kind == "gradient":
            return np.array([[np.sum(value * v)]])
        if kind == "jacobian":
            return value @ v
        if kind == "vec-jacobian":  # vec dF = J vec dX
            shape = tuple(sizes.get(x, x) if not isinstance(x, int) else x for x in result.f.shape)
            return (value @ v.reshape(-1, 1, order="F")).reshape(shape, order="F")
        return value * v[0, 0]  # derivative wrt a scalar

    return predict


@dataclass
class VerifyReport:
    checks: list = field(default_factory=list)
    tolerance: float = TOLERANCE

    @property
    def max_error(self) -> float:
        return max((c.error for c in self.checks), default=0.0)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and max(c.excess for c in self.checks) <= self.tolerance

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return f"<matcalc.VerifyReport {self.summary()}>"

    def _repr_latex_(self):
        from .printing.text import latex_number

        verdict = "PASS" if self.passed else "FAIL"
        return f"$\\text{{finite differences: {verdict}, max relative error }} {latex_number(self.max_error)}$"

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        points = len({id(c.point) for c in self.checks})
        if self.passed and self.max_error > self.tolerance:  # agreement within the differences' spread
            excess = max(c.excess for c in self.checks)
            return (f"check: PASS, max relative error {excess:.1e} beyond the uncertainty of the central "
                    f"differences at {points} random point(s)")
        return (
            f"check: {verdict}, max relative error {self.max_error:.1e} against central "
            f"differences at {points} random point(s)"
        )


def verify(result, points: int = 3, seed: int = 0, sizes: dict | None = None) -> VerifyReport:
    """Compare every derivative in `result` (an api.Result) with finite differences."""
    report = VerifyReport()
    seed = seed % 2**32
    for dv in result.derivatives:
        checks: list[FDCheck] = check_directional(
            result.f, {dv.name: dv.variable}, _predictor(result, dv), points=points, seed=seed,
            sizes=sizes, extra=[dv.variable] if dv.named is not None else [dv.expr, dv.variable],
        )
        report.checks.extend(checks)
    return report


__all__ = ["verify", "verify_hessian", "VerifyReport"]


def verify_hessian(result, points: int = 3, seed: int = 0) -> VerifyReport:
    """Each Hessian block against central differences of the gradient, or, for the
    bilinear form d²f alone, d²f(V, V) against second differences of f."""
    from .numeric import sample_point

    report = VerifyReport()
    seed = seed % 2**32
    for (a, b), h in result.blocks.items():
        g, x = result.gradients[a], result.variables[b]

        def predict(env, name, v, sizes, h=h, g=g):
            hv = evaluate(h, env, sizes) @ v.reshape(-1, 1, order="F")
            return hv.reshape(evaluate(g, env, sizes).shape, order="F")

        report.checks.extend(check_directional(g, {b: x}, predict, points=points, seed=seed,
                                               extra=[h, result.f]))
    if not result.blocks:
        rng = np.random.default_rng(seed)
        d2 = result.raw_second_differential
        sizes, _ = sample_point([result.f, d2, *result.variables.values()], rng)
        for _ in range(points):
            from .numeric import FDCheck, Sampler, sample_valid_point

            env = sample_valid_point([result.f, d2, *result.variables.values()], sizes, rng)
            dirs = {n: Sampler(rng).direction(s, sizes) for n, s in result.variables.items()}
            fd2, spread = _second_difference(result.f, env, sizes, dirs)
            predicted = evaluate(d2, {**env, **{"d" + n: v for n, v in dirs.items()}}, sizes)
            size = float(np.max(np.abs(evaluate(result.f, env, sizes))))
            noise = 64 * np.finfo(float).eps * size / (5e-4) ** 2  # rounding of f over (h/2)²
            report.checks.append(FDCheck(",".join(dirs), env, None, fd2, predicted, size, spread, noise))
    return report


def _second_difference(f, env, sizes, dirs, h: float = 1e-3):
    """(f(X + hV) - 2 f(X) + f(X - hV)) / h², Richardson-extrapolated, with its spread."""

    def step(t):
        plus = {**env, **{n: env[n] + t * v for n, v in dirs.items()}}
        minus = {**env, **{n: env[n] - t * v for n, v in dirs.items()}}
        return (evaluate(f, plus, sizes) - 2 * evaluate(f, env, sizes) + evaluate(f, minus, sizes)) / t**2

    d_h, d_half, d_2h = step(h), step(h / 2), step(2 * h)
    estimate = (4 * d_half - d_h) / 3
    coarse = (4 * d_h - d_2h) / 3
    return estimate, float(np.max(np.abs(estimate - coarse)))


def self_check(result, hessian: bool = False) -> dict:
    """The check every command runs on its own answer: passed, the largest error and a summary
    line; skipped (passed, with the reason) where numbers cannot be had."""
    from .numeric import NoValidPoint

    import numpy as np

    from .abstract import AbstractFunctionError

    exprs = [result.f] + [v for v in getattr(result, "variables", {}).values()] + \
        [dv.variable for dv in getattr(result, "derivatives", [])]
    if largest_size(exprs) > MAX_CHECK_SIZE:
        return {"passed": True, "max_error": None,
                "summary": f"check: skipped (a size above {MAX_CHECK_SIZE} from dim=; the same formula "
                           f"is checked at small sizes without dim=)"}
    try:
        rep = verify_hessian(result) if hessian else verify(result)
    except MemoryError:
        return {"passed": True, "max_error": None, "summary": "check: skipped (the sizes do not fit in memory)"}
    except AbstractFunctionError:
        return {"passed": True, "max_error": None,
                "summary": "check: skipped (an abstract function such as f(…) has no numbers)"}
    except (NoValidPoint, np.linalg.LinAlgError, FloatingPointError):
        return {"passed": True, "max_error": None,
                "summary": "check: skipped (no random point found where the expression is defined)"}
    return {"passed": rep.passed, "max_error": rep.max_error, "summary": rep.summary()}
