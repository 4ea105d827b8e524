"""Loaded once by the forkserver that forks the workers: matcalc, NumPy and the grammar
are ready before the first request (a replacement worker starts warm)."""
from . import jobs

jobs.warm()
