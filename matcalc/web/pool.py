"""Worker processes with a time limit per job: a job that overruns is killed, not waited for.

`concurrent.futures.ProcessPoolExecutor` cannot stop one running job, so a pathological
input would keep a worker busy forever. Here each worker is a process with its own pipe;
the event loop hands a job to an idle worker and waits on the pipe with a deadline. On
timeout the worker is killed and a fresh one takes its place (forked from a forkserver
that has matcalc and NumPy loaded and warm, so a replacement is ready in milliseconds).
The pool holds no request state: a server with several of them (uvicorn workers,
replicas) answers every request the same.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import time


class TimeLimit(Exception):
    """The job did not finish within the time limit (its worker was killed)."""


class Busy(Exception):
    """No worker became free within the queue limit."""


class WorkerDied(Exception):
    """The worker ended without an answer (killed from outside, out of memory)."""


def _worker_main(conn):
    from . import jobs

    while True:
        try:
            name, req = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        conn.send(jobs.run(name, req))


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["matcalc.web._preload"])
        return ctx
    return multiprocessing.get_context("spawn")


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="matcalc-worker")
        self.process.start()
        child.close()
        self.jobs = 0

    def kill(self):
        try:
            self.process.kill()
            self.process.join(5)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.conn.close()


class WorkerPool:
    """`await pool.run("diff", {...})` → (status, body) from `jobs.run`, or TimeLimit / Busy /
    WorkerDied. `size` workers; `time_limit` seconds per job; `queue_limit` seconds to wait
    for a free worker."""

    def __init__(self, size: int | None = None, time_limit: float = 10.0, queue_limit: float = 30.0):
        self.size = max(1, size or os.cpu_count() or 1)
        self.time_limit = time_limit
        self.queue_limit = queue_limit
        self._ctx = _context()
        self._idle: asyncio.Queue | None = None
        self._all: set = set()
        self.killed = 0  # workers killed for overrunning (for the tests and the logs)

    async def start(self):
        self._idle = asyncio.Queue()
        loop = asyncio.get_running_loop()
        workers = await asyncio.gather(*(loop.run_in_executor(None, self._spawn) for _ in range(self.size)))
        for w in workers:
            self._idle.put_nowait(w)

    def _spawn(self) -> _Worker:
        w = _Worker(self._ctx)
        self._all.add(w)
        return w

    async def _replace(self, w: _Worker):
        self._all.discard(w)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, w.kill)
        self._idle.put_nowait(await loop.run_in_executor(None, self._spawn))

    async def run(self, name: str, req: dict, time_limit: float | None = None):
        if self._idle is None:
            raise RuntimeError("WorkerPool.start() was not awaited")
        limit = self.time_limit if time_limit is None else time_limit
        try:
            w = await asyncio.wait_for(self._idle.get(), self.queue_limit)
        except asyncio.TimeoutError:
            raise Busy(f"every worker is busy (waited {self.queue_limit:g} s)") from None
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = w.conn.fileno()
        try:
            w.conn.send((name, req))
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
            started = time.monotonic()
            try:
                await asyncio.wait_for(ready, limit)
            finally:
                loop.remove_reader(fd)
            answer = w.conn.recv()
        except asyncio.TimeoutError:
            self.killed += 1
            asyncio.ensure_future(self._replace(w))
            raise TimeLimit(f"the computation took longer than {limit:g} s, the time limit per request") from None
        except (EOFError, OSError, BrokenPipeError):
            asyncio.ensure_future(self._replace(w))
            raise WorkerDied("the computation ended without an answer (out of memory?)") from None
        except asyncio.CancelledError:  # the client went away: the worker's answer is unknown
            asyncio.ensure_future(self._replace(w))
            raise
        w.jobs += 1
        self._idle.put_nowait(w)
        self.last_seconds = time.monotonic() - started
        return answer

    async def close(self):
        loop = asyncio.get_running_loop()
        workers = list(self._all)
        self._all.clear()
        await asyncio.gather(*(loop.run_in_executor(None, w.kill) for w in workers))
