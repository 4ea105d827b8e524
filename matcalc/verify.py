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


def _predictor(result, dv):
    kind = dv.kind
    if kind == "differential":
        df = d(result.f, {dv.name: dv.variable})

        def predict(env, name, v, sizes):
            return evaluate(df, {**env, "d" + name: v}, sizes)

        return predict

    def predict(env, name, v, sizes):
        value = evaluate(dv.expr, env, sizes)
        if kind == "gradient":
            return np.array([[np.sum(value * v)]])
        if kind == "jacobian":
            return value @ v
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

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        points = len({id(c.point) for c in self.checks})
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
            sizes=sizes, extra=[dv.expr, dv.variable],
        )
        report.checks.extend(checks)
    return report


__all__ = ["verify", "VerifyReport"]
