"""The JSON documents the web API answers with, built from the Python API.

Each job takes a plain dict (the request's fields, already validated by the web layer)
and returns what `matcalc <command> --format json` prints, plus a few fields the page
renders (`lhs_latex`, `steps`, …). No math here: every value comes from the API. The
jobs run in the worker processes of `pool.py`; this module needs no web framework, so
it is importable (and testable) with the core install alone.
"""
from __future__ import annotations

import json

from ..decls import Decls
from ..errors import DeclarationError, MatcalcError

DECL_KEYS = ("scalar", "vector", "matrix", "symmetric", "dim")


def _decls(req: dict) -> Decls:
    return Decls.build(**{k: req[k] for k in DECL_KEYS if req.get(k)})


def _values(at) -> dict:
    """`at` as the CLI writes it ("x=[1,2] A=[[1,2],[3,4]]") or as an object name → value."""
    if not at:
        return {}
    if isinstance(at, dict):
        return {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in at.items()}
    from ..numeric import split_assignments

    return split_assignments([str(at)])


def _self_check(result, hessian: bool = False) -> dict:
    from ..verification import self_check

    return self_check(result, hessian=hessian)


def diff(req: dict):
    """POST /api/diff: `matcalc diff --format json` (+ `steps` per variable when asked)."""
    from .. import api

    result = api.diff(req["expr"], req.get("wrt") or None, _decls(req), vec=bool(req.get("vec")))
    values = _values(req.get("at"))
    numbers = result.evaluate(values) if values else None
    report = _self_check(result) if req.get("check", True) else None
    data = result.to_json()
    items = data if isinstance(data, list) else [data]
    for item, dv in zip(items, result.derivatives):
        item["lhs_latex"] = dv.lhs("latex")
        item["differential_latex"] = result.differential_text("latex")
        if numbers is not None and item["wrt"] in numbers:
            item["value"] = numbers[item["wrt"]].tolist()
        if report is not None:
            item["check"] = report
        if req.get("steps"):
            try:
                derivation = result.derivation(dv.name)
                item["steps"] = derivation.to_json()["steps"]
                item["steps_latex"] = derivation.format("latex")
            except MatcalcError as err:
                item["steps_error"] = str(err)
    return data


def hessian(req: dict):
    """POST /api/hessian: `matcalc hessian --format json` (+ `steps`, `latex_all`)."""
    from ..second_order import hessian as run_hessian

    result = run_hessian(req["expr"], req.get("wrt") or None, _decls(req), vec=bool(req.get("vec")))
    data = result.to_json()
    if req.get("check", True):
        data["check"] = _self_check(result, hessian=True)
    data["latex_all"] = result.format("latex")
    if req.get("steps"):
        try:
            derivations = [result.derivation(n) for n in result.wrt]
            data["steps"] = [d.to_json() for d in derivations]
            blocks = [d.format("latex") for d in derivations]  # one aligned block per variable
            data["steps_latex"] = blocks[0] if len(blocks) == 1 else (
                "\\begin{gathered}\n" + " \\\\[1em]\n".join(blocks) + "\n\\end{gathered}")
        except MatcalcError as err:
            data["steps_error"] = str(err)
    return data


def check(req: dict):
    """POST /api/check: `matcalc check --format json`."""
    from ..checking import check as run_check

    report = run_check(req["expr"], req["wrt"], req["claim"], _decls(req), seed=int(req.get("seed") or 0))
    data = report.to_json()
    data["answer_unicode"] = report.answer_unicode
    return data


def grade_record(req: dict):
    """One row of POST /api/grade (the rows of `matcalc check --file … --format json`)."""
    from ..grading import grade_record as one

    return one((req["index"], req["record"], int(req.get("seed") or 0)))


def backprop(req: dict):
    """POST /api/backprop: `matcalc backprop --format json` (+ `latex`); `layer` for one layer."""
    if req.get("layer"):
        from ..numeric import parse_value
        from ..schedule import _plain, layer_backward

        if req.get("input") is None or req.get("upstream") is None:
            raise MatcalcError("layer= needs input= and upstream= values")

        def value(v):
            return parse_value(v if isinstance(v, str) else json.dumps(v))

        w = value(req["weights"]) if req.get("weights") is not None else None
        out, down, formula = layer_backward(req["layer"], value(req["input"]), value(req["upstream"]), w)
        return {"layer": req["layer"], "output": _plain(out), "downstream": _plain(down), "formula": formula}
    from ..schedule import backprop_numbers
    from ..optimizers import Optimizer
    from ..schedule import backprop as build, verify_schedule

    sched = build(req["expr"], req.get("wrt") or None, _decls(req))
    out = sched.to_json()
    if req.get("check", True):
        try:
            rep = verify_schedule(sched)
            out["check"] = {"passed": rep.passed, "summary": rep.summary()}
        except Exception:  # noqa: BLE001 - the check is advisory where no point is found (as in the CLI)
            pass
    data = req.get("data")
    if data is not None and not isinstance(data, str):
        data = json.dumps(data)
    opt = Optimizer(req.get("optimizer") or "sgd", req.get("convention") or "course", lr=req.get("lr", 0.1),
                    **{k: req.get(k) for k in ("momentum", "alpha", "beta1", "beta2", "eps")})
    numbers = backprop_numbers(sched, _values(req.get("at")), data, opt, int(req.get("n_steps") or 1),
                                req.get("order"), req.get("init"), req.get("batch"))
    if numbers is not None:
        out["numbers"] = numbers
    out["latex"] = sched.format("latex")
    return out


def graph(req: dict):
    """POST /api/graph: `matcalc graph --format json`."""
    from ..compgraph import graph as build

    values = _values(req.get("at")) or None
    return build(req["expr"], _decls(req), at=values).to_json()


def codegen(req: dict):
    """POST /api/codegen: the module `matcalc codegen` writes, for one backend."""
    from ..code_generation import generate

    backend = req.get("backend") or "numpy"
    name = req.get("name") or "value_and_grad"
    if not name.isidentifier():
        raise DeclarationError(f"name= {name!r} is not a Python identifier")
    return {"backend": backend, "name": name,
            "code": generate(req["expr"], req.get("wrt") or None, _decls(req), backend=backend, name=name)}


def warm():
    """Build the grammar and import NumPy once, so that the first request is not the slow one."""
    from .. import api

    api.diff("a^T X A X a", "X")
    hessian({"expr": "x^T A x", "wrt": "x", "check": False})


JOBS = {"diff": diff, "hessian": hessian, "check": check, "grade_record": grade_record,
        "backprop": backprop, "graph": graph, "codegen": codegen}


def _default(o):
    """NumPy scalars and arrays in a document (a check's max_error, values)."""
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def run(name: str, req: dict) -> tuple:
    """(status, body): ("ok", JSON text), ("error", {type, error}) for input errors,
    ("internal", text) for a bug. Never raises."""
    try:
        return "ok", json.dumps(JOBS[name](req), ensure_ascii=False, default=_default)
    except MatcalcError as err:
        return "error", {"type": type(err).__name__, "error": str(err)}
    except RecursionError:
        return "error", {"type": "ResultTooLarge", "error": "the expression is too deeply nested"}
    except MemoryError:
        return "error", {"type": "ResultTooLarge", "error": "the computation needs more memory than allowed"}
    except Exception as err:  # noqa: BLE001 - reported as a bug, the worker goes on
        return "internal", f"{type(err).__name__}: {err}"
