"""Soak for issue 16: random expressions wrapped in degenerate parts (rank-deficient det, cancelling
variables, f(0), --vec every third case); each result checked against finite differences, its
printed text re-checked with `check` (must be correct) and its NumPy code evaluated against it.

    python scripts/soak_degenerate.py FIRST_SEED LAST_SEED
"""
import sys, os, time, numpy as np
ROOT = os.path.join(os.path.dirname(__file__), ".."); sys.path.insert(0, os.path.join(ROOT, "tests")); sys.path.insert(0, ROOT)
import matcalc
from matcalc.checking import check
from matcalc.verification import verify
from matcalc.numeric import NoValidPoint, evaluate
from matcalc.errors import MatcalcError
from random_exprs import DECLS, VARIABLES, random_case
from printed import numpy_value, points
WRAPS = ["{}", "{} + det(p q^T)", "{} + gamma u^T Q (r - r)", "{} + softplus(0) + tr(G + G^T - 2 G)", "{} * (1 + det(K L))"]
stats = dict(tried=0, wrong=0, crash=0, roundtrip_bad=0, numpy_bad=0, skipped=0)
t0 = time.time()
for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    base = random_case(seed)
    text = WRAPS[seed % len(WRAPS)].format("(" + base + ")")
    try:
        f = matcalc.parse(text, **DECLS)
        cands = [v for v in VARIABLES + ["p", "Q", "G", "K", "gamma"] if v in f.symbols or v in text]; wrt = [cands[seed % len(cands)]] if cands else None
        if not wrt: continue
        vec = seed % 3 == 0
        r = matcalc.diff(text, wrt, vec=vec, **DECLS)
        stats["tried"] += 1
        try:
            rep = verify(r, points=2, seed=seed)
        except NoValidPoint:
            stats["skipped"] += 1; continue
        if not rep.passed:
            stats["wrong"] += 1; print("WRONG", text, r.format("text")); continue
        dv = r.derivatives[0]
        if dv.kind in ("gradient", "derivative", "jacobian"):
            c = check(text, wrt[0], dv.notation("text"), seed=seed, **DECLS)
            if not c: stats["roundtrip_bad"] += 1; print("ROUNDTRIP", text, dv.notation("text"), c.reason)
        if dv.kind != "differential":
            sizes, envs = points([r.f, dv.expr, dv.variable], 1, seed)
            want = evaluate(dv.expr, envs[0], sizes)
            got = np.asarray(numpy_value(dv.notation("numpy"), envs[0], sizes), dtype=float)
            if got.size != want.size or not np.allclose(got.reshape(want.shape), want, rtol=1e-7, atol=1e-9):
                stats["numpy_bad"] += 1; print("NUMPY", text, dv.notation("numpy"), got.shape, want.shape)
    except (MatcalcError, NoValidPoint) as e:
        stats["skipped"] += 1
    except Exception as e:
        stats["crash"] += 1; print("CRASH", text, type(e).__name__, e)
print(stats, f"{time.time()-t0:.1f}s")
