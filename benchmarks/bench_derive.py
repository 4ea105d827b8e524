"""Derivation latency of every seed problem next to SymPy, the MLP Hessian, and the cold
start of the command.

    python benchmarks/bench_derive.py

In-process times are CPU seconds of the thread (the machine is shared: wall time would
count the other workers' load; on an idle core the two agree). The cold start is wall
time, the user's wait (its CPU time counts the threads NumPy starts), with CPU beside it. matcalc is timed as the command works: parse,
derive and the printed text (the display pass runs when the result is formatted), notes
included. SymPy differentiates the same expression (matcalc.to_sympy, built untimed)
with a cold cache: clear_cache() before every call. Whether SymPy's answer is right is decided by central differences of f at a
random point, never by comparing with ours; the ratio's geometric mean is over the rows
where SymPy is right.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

import harness
from harness import CPU, Target, geomean, median_time, optional, print_targets

import matcalc  # noqa: E402
from matcalc.errors import as_flags  # noqa: E402
from seed_cases import SEED_CASES  # noqa: E402

MLP_HESSIAN = ("1/2 (y - W2 sigmoid(W1 x))^T (y - W2 sigmoid(W1 x))", "W1,W2")


def cli_text(expr: str, wrt: str, decls: dict) -> str:
    """What `matcalc diff EXPR --wrt WRT` prints (without the self-check)."""
    result = matcalc.diff(expr, wrt, **decls)
    return "\n".join([result.format("text"), *(as_flags(n) for n in result.notes)])


# ---------------------------------------------------------------- SymPy side


def sympy_problem(expr: str, wrt: str, decls: dict):
    """(f, variable, answer or None, verdict) for SymPy, from matcalc's reading of the text."""
    sp = optional("sympy")
    result = matcalc.diff(expr, wrt, **decls)
    if not result.f.is_scalar:
        return None, None, None, "f not scalar: not compared (SymPy's answer is an array)"
    try:
        f = matcalc.to_sympy(result.f)
        v = matcalc.to_sympy(result.derivatives[0].variable)
        answer = f.diff(v)
    except Exception as err:  # noqa: BLE001 - SymPy's own failure is the finding
        return None, None, None, f"SymPy fails: {type(err).__name__}"
    if answer.has(sp.Derivative):
        return f, v, None, "SymPy: no answer (unevaluated Derivative)"
    return f, v, answer, ("right" if sympy_is_right(result, answer) else f"SymPy wrong: {str(answer)[:30]}")


def sympy_is_right(result, answer) -> bool:
    """⟨SymPy's gradient, V⟩ against central differences of f along a random V."""
    import numpy as np
    import sympy as sp

    from matcalc.numeric import Sampler, central_difference, sample_point

    rng = np.random.default_rng(1)
    var = result.derivatives[0].variable
    sizes, env = sample_point([result.f], rng)
    V = Sampler(rng).direction(var, sizes)
    fd = float(np.sum(central_difference(result.f, env, sizes, var.name, V)))
    value = answer.subs({sp.Symbol(str(k), integer=True, positive=True): n for k, n in sizes.items()})
    numbers = {m: sp.ImmutableMatrix(env[str(m.name)]) for m in value.atoms(sp.MatrixSymbol)}
    numbers.update({s: sp.Float(env[s.name][0, 0]) for s in value.free_symbols
                    if isinstance(s, sp.Symbol) and s.name in env})
    value = value.xreplace(numbers).doit()
    if hasattr(value, "as_explicit"):
        value = value.as_explicit()
    G = np.asarray(value.tolist() if hasattr(value, "tolist") else value, dtype=float)
    if G.size != V.size:
        return False
    predicted = float(np.sum(G.reshape(V.shape) * V))
    return abs(predicted - fd) <= 1e-6 * max(abs(fd), abs(predicted), 1e-3)


def seed_table():
    """Rows (number, expr, matcalc s, sympy s or None, verdict)."""
    sp = optional("sympy")
    if sp is not None:
        from sympy.core.cache import clear_cache
    rows = []
    for number, expr, wrt, decls, _ in SEED_CASES:
        ours = median_time(lambda: cli_text(expr, wrt, decls), repeat=30, clock=CPU)
        theirs, verdict = None, "SymPy not installed"
        if sp is not None:
            f, v, answer, verdict = sympy_problem(expr, wrt, decls)
            if answer is not None:
                theirs = median_time(lambda: f.diff(v), repeat=5, setup=clear_cache, clock=CPU)
        rows.append((number, expr, ours, theirs, verdict))
    return rows


# ---------------------------------------------------------------- cold start


def cold_start(repeat: int = 9) -> dict:
    """name → (median wall s, median CPU s: user + system of the process) for bare Python and the command,
    with and without the self-check, run in interleaved rounds."""
    # as on a user's machine: byte-code cached after the first run (pip compiles at install)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    script = os.path.join(os.path.dirname(sys.executable), "matcalc")
    command = [script] if shutil.which(script) else [sys.executable, "-m", "matcalc"]
    cmds = {"bare": [sys.executable, "-c", "pass"],
            "check": [*command, "diff", "x^T A x", "--wrt", "x"],
            "no-check": [*command, "diff", "x^T A x", "--wrt", "x", "--no-check"]}

    def run(cmd):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
        return wall, usage.ru_utime + usage.ru_stime

    for cmd in cmds.values():
        run(cmd)  # warm the file cache and write the byte-code
    samples = {k: [] for k in cmds}
    for _ in range(harness.repeats(repeat)):
        for k, cmd in cmds.items():
            samples[k].append(run(cmd))
    return {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in samples.items()}


def main() -> list:
    targets = []
    rows = seed_table()
    print(f"{'#':>3}  {'expression':48} {'matcalc ms':>10} {'sympy ms':>9} {'ratio':>6}  sympy")
    ratios = []
    for number, expr, ours, theirs, verdict in rows:
        sms = f"{theirs * 1e3:9.2f}" if theirs is not None else f"{'-':>9}"
        ratio = f"{theirs / ours:5.0f}×" if theirs is not None else f"{'':>6}"
        if verdict == "right":
            ratios.append(theirs / ours)
        print(f"{number:>3}  {expr:48} {ours * 1e3:10.3f} {sms} {ratio}  {verdict}")
    worst = max(rows, key=lambda r: r[2])
    sympy_note = (f"geometric mean over the {len(ratios)} rows where SymPy is right"
                  if ratios else "SymPy not installed")
    targets.append(Target("derivation vs SymPy (cold cache)", 50, "≥", "×",
                          geomean(ratios) if ratios else None, sympy_note))
    targets.append(Target("every seed problem, incl. printing", 1.0, "≤", "ms", worst[2] * 1e3,
                          f"worst: #{worst[0]} {worst[1]}"))

    expr, wrt = MLP_HESSIAN
    t = median_time(lambda: matcalc.hessian(expr, wrt).format("text"), repeat=10, clock=CPU)
    print(f"\nMLP Hessian: matcalc hessian \"{expr}\" --wrt {wrt}: {t * 1e3:.1f} ms")
    targets.append(Target("MLP Hessian, incl. printing", 10, "≤", "ms", t * 1e3, "2-layer sigmoid MLP, wrt W1,W2"))

    cs = cold_start()
    print("\ncold start, median wall (CPU) ms: " + ", ".join(
        f"{label} {cs[k][0] * 1e3:.0f} ({cs[k][1] * 1e3:.0f})" for k, label in
        (("bare", "python -c pass"), ("check", 'matcalc diff "x^T A x" --wrt x'), ("no-check", "--no-check"))))
    for key, limit, label in (("check", 0.12, "self-check on"), ("no-check", 0.07, "--no-check")):
        targets.append(Target(f"cold start over bare Python, {label}", limit, "≤", "s", cs[key][0] - cs["bare"][0],
                              f"wall time; CPU: +{(cs[key][1] - cs['bare'][1]):.3f} s (NumPy's threads count)"))
    print_targets(targets, "derivation targets")
    return targets


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
