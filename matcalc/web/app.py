"""`matcalc serve`: the page and the JSON API (FastAPI), over the Python API.

The routes validate the request's fields and hand them to a worker process (pool.py),
which calls the Python API (jobs.py) and answers with the CLI's `--format json`
document. Input errors are 400 with the library's message (and the caret position of a
syntax error); a request over the size limit is 413, one over the time limit 422, and
503 when every worker stays busy. The server keeps no state between requests.
"""
from __future__ import annotations

import asyncio
import json
import os
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any, Literal, Optional, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..errors import error_body  # one error record for the API and the CLI's --format json
from .pool import Busy, TimeLimit, WorkerDied, WorkerPool

MAX_BODY = 256 * 1024  # bytes of one request body (a batch of /api/grade records included)
MAX_TEXT = 4000  # characters of one expression or claim
MAX_RECORDS = 500  # records of one /api/grade request


def static_dir() -> str:
    """The page's files, found inside the installed package."""
    return str(files("matcalc.web").joinpath("static"))


Names = Optional[Union[str, list[str]]]


class Declarations(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scalar: Names = Field(None, description="Names that are scalars: 'x,y' or ['x', 'y']")
    vector: Names = Field(None, description="Names that are column vectors")
    matrix: Names = Field(None, description="Names that are matrices")
    symmetric: Names = Field(None, description="Symmetric matrices")
    dim: Optional[Union[str, list[str], dict[str, Union[str, int]]]] = Field(
        None, description="Sizes: 'X=3x4,w=5', ['X=n x m'] or {'X': '3x4'}")


Text = Field(..., min_length=1, max_length=MAX_TEXT)
Values = Optional[Union[str, dict[str, Any]]]


class DiffRequest(Declarations):
    expr: str = Field(..., min_length=1, max_length=MAX_TEXT, examples=["a^T X A X a"],
                      description="The expression, in text, Unicode or LaTeX notation")
    wrt: Optional[str] = Field(None, max_length=200, examples=["X"], description="Variable(s): 'x' or 'W1,W2'")
    at: Values = Field(None, description="A point: 'x=[1,2] A=[[1,2],[3,4]]' or {'x': [1, 2]}")
    vec: bool = Field(False, description="Matrix-valued F: the Jacobian of vec F (Kronecker form)")
    check: bool = Field(True, description="Compare with finite differences (the `check` field)")
    steps: bool = Field(False, description="Add the derivation (`steps`, `steps_latex`) to each result")


class HessianRequest(Declarations):
    expr: str = Field(..., min_length=1, max_length=MAX_TEXT, examples=["x^T A x"])
    wrt: Optional[str] = Field(None, max_length=200, examples=["x"])
    vec: bool = False
    check: bool = True
    steps: bool = False


class CheckRequest(Declarations):
    expr: str = Field(..., min_length=1, max_length=MAX_TEXT, examples=["x^T A x"])
    wrt: str = Field(..., min_length=1, max_length=200, examples=["x"])
    claim: str = Field(..., min_length=1, max_length=MAX_TEXT, examples=["2 A x"],
                       description="The claimed gradient, Jacobian or differential (`dL = …`, `∇f = …` allowed)")
    seed: int = 0


class GradeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(..., max_length=MAX_RECORDS, examples=[[
        {"id": "s1", "expression": "x^T A x", "wrt": "x", "claim": "2 A x"}]],
        description="Records with id, expression, wrt, claim and optionally scalar, vector, matrix, symmetric, dim")
    seed: int = 0


class BackpropRequest(Declarations):
    expr: Optional[str] = Field(None, max_length=MAX_TEXT,
                                examples=["1/2 (y - W3 sigmoid(W2 sigmoid(W1 x)))^T (y - W3 sigmoid(W2 sigmoid(W1 x)))"])
    wrt: Optional[str] = Field(None, max_length=200, examples=["W1,W2,W3"])
    at: Values = Field(None, description="Numbers for one forward/backward pass")
    data: Optional[Union[str, list[Any]]] = Field(None, description="Observations for the optimizer's steps")
    lr: float = 0.1
    steps: int = Field(1, ge=1, le=100, description="Optimizer steps (with data)")
    order: Optional[str] = None
    optimizer: Literal["gd", "sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"] = "sgd"
    batch: Optional[str] = None
    momentum: Optional[float] = None
    alpha: Optional[float] = None
    beta1: Optional[float] = None
    beta2: Optional[float] = None
    eps: Optional[float] = None
    convention: Literal["course", "torch"] = "course"
    init: Optional[Literal["zeros"]] = None
    check: bool = True
    layer: Optional[str] = Field(None, max_length=40, description="One layer backwards: relu, sigmoid, linear, …")
    input: Optional[Union[str, list[Any], float]] = None
    upstream: Optional[Union[str, list[Any], float]] = None
    weights: Optional[Union[str, list[Any], float]] = None


class GraphRequest(Declarations):
    expr: str = Field(..., min_length=1, max_length=MAX_TEXT, examples=["(2x + y) z"])
    at: Values = Field(None, examples=["x=10 y=-2 z=-4"])


class CodegenRequest(Declarations):
    expr: str = Field(..., min_length=1, max_length=MAX_TEXT, examples=["(y - X w)^T (y - X w)"])
    wrt: Optional[str] = Field(None, max_length=200, examples=["w"])
    backend: Literal["numpy", "torch", "jax"] = "numpy"
    name: str = Field("value_and_grad", max_length=80)


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413 before any route reads it."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._too_large(send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._too_large(send)
            if not message.get("more_body"):
                break
        body, done = b"".join(chunks), False

        async def replay():
            nonlocal done
            if done:
                return await receive()
            done = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _too_large(self, send):
        payload = json.dumps(error_body("RequestTooLarge",
                                        f"the request is larger than {self.limit} bytes, the limit")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def create_app(workers: int | None = None, time_limit: float | None = None) -> FastAPI:
    """The application. `workers` derivation processes (default: one per core), each job
    limited to `time_limit` seconds (default 10; env MATCALC_WORKERS, MATCALC_TIME_LIMIT)."""
    workers = workers or int(os.environ.get("MATCALC_WORKERS", "0")) or None
    time_limit = time_limit or float(os.environ.get("MATCALC_TIME_LIMIT", "10"))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool = WorkerPool(workers, time_limit)
        await pool.start()
        app.state.pool = pool
        yield
        await pool.close()

    app = FastAPI(
        title="matcalc", version=__version__, lifespan=lifespan,
        description="Matrix differentials in textbook notation: gradients, Hessians, steps, verdicts on "
                    "answers, backprop schedules. Every answer has the fields of the CLI's `--format json`. "
                    "Errors: 400 (bad input, with the library's message), 413 (body too large), "
                    "422 (invalid fields, or over the time limit), 503 (every worker busy).",
        docs_url=None, redoc_url=None,  # the bundled pages load from a CDN; /docs is served offline below
    )
    app.add_middleware(BodyLimit)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        body = error_body("RequestValidationError", "; ".join(parts) or "invalid request")
        return JSONResponse(body, status_code=422)

    async def run(request: Request, job: str, fields: dict, time_limit: float | None = None):
        pool: WorkerPool = request.app.state.pool
        try:
            status, body = await pool.run(job, fields, time_limit)
        except TimeLimit as err:
            return JSONResponse(error_body("TimeLimit", str(err)), status_code=422)
        except Busy as err:
            return JSONResponse(error_body("Busy", str(err)), status_code=503, headers={"Retry-After": "5"})
        except WorkerDied as err:
            return JSONResponse(error_body("WorkerDied", str(err)), status_code=500)
        if status == "ok":
            return Response(body, media_type="application/json")
        if status == "error":
            return JSONResponse(error_body(body["type"], body["error"]), status_code=400)
        return JSONResponse(error_body("InternalError", f"internal error (a bug in matcalc, please report it "
                                                        f"with the input): {body}"), status_code=500)

    responses = {400: {"description": "Bad input: {error, type, caret}"},
                 413: {"description": "Request body too large"},
                 422: {"description": "Invalid fields, or the time limit was reached"},
                 503: {"description": "Every worker is busy"}}

    @app.post("/api/diff", responses=responses, tags=["api"])
    async def api_diff(req: DiffRequest, request: Request):
        """Gradient, Jacobian or differential: `matcalc diff --format json` (a list for several variables)."""
        return await run(request, "diff", req.model_dump())

    @app.post("/api/hessian", responses=responses, tags=["api"])
    async def api_hessian(req: HessianRequest, request: Request):
        """Second derivative: `matcalc hessian --format json`."""
        return await run(request, "hessian", req.model_dump())

    @app.post("/api/check", responses=responses, tags=["api"])
    async def api_check(req: CheckRequest, request: Request):
        """Is the claim the derivative? `matcalc check --format json`: verdict, diagnosis, counterexample."""
        return await run(request, "check", req.model_dump())

    @app.post("/api/grade", responses=responses, tags=["api"])
    async def api_grade(req: GradeRequest, request: Request):
        """A batch of records: `matcalc check --file … --format json` ({results, summary}). Each record
        is checked in its own job with its own time limit; a record that fails is an `error` row."""
        async def one(i, record):
            response = await run(request, "grade_record", {"index": i, "record": record, "seed": req.seed})
            if response.status_code == 200:
                return json.loads(response.body)
            rid = str(record.get("id", i))
            reason = json.loads(response.body)["error"].splitlines()[0]
            return {"id": rid, "verdict": "error", "diagnosis": None, "reason": reason, "answer": ""}

        rows = await asyncio.gather(*(one(i + 1, r) for i, r in enumerate(req.records)))
        from ..grading import summary

        return {"results": rows, "summary": summary(rows)}

    @app.post("/api/backprop", responses=responses, tags=["api"])
    async def api_backprop(req: BackpropRequest, request: Request):
        """Backprop schedule, with numbers (`at`, or `data` for optimizer steps): `matcalc backprop --format json`."""
        fields = req.model_dump()
        fields["n_steps"] = fields.pop("steps")
        if not fields.get("expr") and not fields.get("layer"):
            return JSONResponse(error_body("MatcalcError", "backprop needs a loss expression (or layer= for one "
                                                           "layer)"), status_code=400)
        return await run(request, "backprop", fields)

    @app.post("/api/graph", responses=responses, tags=["api"])
    async def api_graph(req: GraphRequest, request: Request):
        """Computational graph of a scalar expression of scalars: `matcalc graph --format json`."""
        return await run(request, "graph", req.model_dump())

    @app.post("/api/codegen", responses=responses, tags=["api"])
    async def api_codegen(req: CodegenRequest, request: Request):
        """Python source of value_and_grad for NumPy, PyTorch or JAX: {backend, name, code}."""
        return await run(request, "codegen", req.model_dump())

    @app.get("/api/health", tags=["api"])
    async def health():
        return {"ok": True, "version": __version__}

    root = static_dir()

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(os.path.join(root, "index.html"), headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return FileResponse(os.path.join(root, "docs.html"))

    app.mount("/static", StaticFiles(directory=root), name="static")
    return app


def app():
    """The factory uvicorn runs (`uvicorn --factory matcalc.web.app:app`)."""
    return create_app()
