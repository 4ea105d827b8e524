"""Load test of `matcalc serve`: p50/p99 latency of POST /api/diff at 50 concurrent clients.

    pip install ".[web]"
    python benchmarks/bench_web_load.py [--clients 50] [--requests 2000] [--seconds 60] [--jobs 0]

Starts its own server on a free port of 127.0.0.1 (the only address it sends to), sends
at most --requests requests or runs at most --seconds seconds, whichever comes first,
then stops the server. The requests cycle through the seed problems (with the
finite-difference self-check, as the page asks for it, and with the steps).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx

PROBLEMS = [
    ("x^T A x", "x"), ("ln(x^T A x)", "x"), ("a^T X A X a", "X"), ("x x^T x", "x"), ("X^-1", "X"),
    ("det X", "X"), ("tr(A X B)", "X"), ("tr(A X^T X)", "X"), ("ln det X", "X"), ("tr(A X^T X B X^-T)", "X"),
    ("det(X^T A X)", "X"), ("(y - X w)^T (y - X w) + lambda w^T w", "w"),
    ("sum(log(1 + exp(-y .* (X w)))) + lambda w^T w", "w"), ("tr((X - A)^T (X - A))", "X"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, clients: int, total: int, seconds: float, steps: bool):
    latencies: list = []
    statuses: dict = {}
    sent = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        async def client(k: int):
            nonlocal sent
            i = k
            while sent < total and time.monotonic() < deadline:
                sent += 1
                expr, wrt = PROBLEMS[i % len(PROBLEMS)]
                i += clients
                t0 = time.perf_counter()
                r = await http.post("/api/diff", json={"expr": expr, "wrt": wrt, "steps": steps})
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, statuses, wall


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--jobs", type=int, default=0, help="derivation processes of the server (0: one per core)")
    ap.add_argument("--no-steps", action="store_true", help="ask for the result only, not the steps")
    args = ap.parse_args()

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "matcalc.cli", "serve", "--port", str(port),
                               "--jobs", str(args.jobs)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        lat, statuses, wall = asyncio.run(load(url, args.clients, args.requests, args.seconds, not args.no_steps))
    finally:
        server.terminate()
        server.wait(10)
    ms = [x * 1000 for x in lat]
    print(f"POST /api/diff, {args.clients} concurrent clients, {len(ms)} requests in {wall:.1f} s "
          f"({len(ms) / wall:.0f} req/s), server: 1 uvicorn process, {args.jobs or os.cpu_count()} derivation "
          f"processes, {os.cpu_count()} cores; steps={'no' if args.no_steps else 'yes'}, self-check on")
    print(f"statuses: {statuses}")
    print(f"latency ms: p50 {percentile(ms, 50):.0f}  p90 {percentile(ms, 90):.0f}  p99 {percentile(ms, 99):.0f}  "
          f"max {max(ms):.0f}  mean {statistics.mean(ms):.0f}")


if __name__ == "__main__":
    main()
