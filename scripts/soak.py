"""Soak run: differentiate many random expressions and check each against finite differences.

    python scripts/soak.py [COUNT] [--seed S]

Prints how many expressions were tried, how many derivatives were checked, and every
failure (wrong derivative, crash) with its input.
"""
import argparse
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import matcalc  # noqa: E402
from matcalc.numeric import NoValidPoint  # noqa: E402
from matcalc.verification import verify  # noqa: E402
from random_exprs import DECLS, VARIABLES, random_case  # noqa: E402


def check_one(seed: int):
    text = random_case(seed)
    f = matcalc.parse(text, **DECLS)
    wrt = [v for v in VARIABLES if v in f.symbols]
    if not wrt:
        return text, 0, None
    r = matcalc.diff(text, wrt, **DECLS)
    try:
        rep = verify(r, points=2, seed=seed)
    except NoValidPoint:
        return text, 0, "skipped: no point in the domain"
    if not rep.passed:
        return text, len(wrt), f"WRONG: {rep.summary()} result {r.format('text')}"
    return text, len(wrt), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int, nargs="?", default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tried = checked = wrong = crashed = skipped = 0
    t0 = time.time()
    for seed in range(args.seed, args.seed + args.count):
        tried += 1
        try:
            text, n, problem = check_one(seed)
        except Exception:  # noqa: BLE001 - report every crash
            crashed += 1
            print(f"CRASH seed={seed}: {random_case(seed)}\n{traceback.format_exc(limit=3)}")
            continue
        checked += n
        if problem and problem.startswith("skipped"):
            skipped += 1
        elif problem:
            wrong += 1
            print(f"seed={seed}: {text}\n  {problem}")
    print(f"tried {tried} expressions, checked {checked} derivatives: {wrong} wrong, "
          f"{crashed} crashed, {skipped} skipped (no valid point), {time.time() - t0:.1f} s")
    return 1 if wrong or crashed else 0


if __name__ == "__main__":
    sys.exit(main())
