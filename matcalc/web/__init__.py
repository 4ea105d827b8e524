"""`matcalc serve`: a local web page and an HTTP JSON API over the Python API.

Needs the optional extra: `pip install "matcalc-diff[web]"` (FastAPI, uvicorn). The page
and its assets (KaTeX included) ship inside the package, so it works offline.
"""
from __future__ import annotations

MISSING = ('matcalc serve needs the web extra: pip install "matcalc-diff[web]" '
           '(or pip install ".[web]" in a checkout)')


def available() -> bool:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return False
    return True


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, workers: int | None = None,
          time_limit: float = 10.0):
    """Run the server until interrupted (uvicorn, one process; `workers` derivation processes)."""
    import os

    import uvicorn

    from .app import create_app

    os.environ.setdefault("MATCALC_TIME_LIMIT", str(time_limit))
    app = create_app(workers=workers, time_limit=time_limit)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    print(f"matcalc: serving {url} (API docs: {url}docs; Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
