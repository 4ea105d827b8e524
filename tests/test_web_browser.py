"""The page in a real browser: headless Chromium, driven over the DevTools protocol.

Starts `matcalc serve` on a free port of 127.0.0.1, types `a^T X A X a` into the page
as a person would (key by key), and asserts that the gradient and the steps are
rendered by KaTeX, that the URL carries the state, that the Russian switch translates
the step annotations, and that the browser logged no error. A screenshot is saved to
build/artifacts/web_page.png (or $MATCALC_ARTIFACTS). Skipped, with the reason, where
Chromium or the web extra is missing (.ci/run installs both).
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install '.[web]')")
pytest.importorskip("uvicorn", reason="the web extra is not installed (pip install '.[web]')")
ws_client = pytest.importorskip("websockets.sync.client", reason="websockets is not installed (the test extra)")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ARTIFACTS = Path(os.environ.get("MATCALC_ARTIFACTS") or Path(__file__).resolve().parent.parent / "build" / "artifacts")


def _browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)



def _stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()

@pytest.fixture(scope="module")
def server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "matcalc.cli", "serve", "--port", str(port), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/health", 30)
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(proc)


class Page:
    """The smallest DevTools-protocol client: calls, and the events seen meanwhile."""

    def __init__(self, ws_url: str):
        self.ws = ws_client.connect(ws_url, max_size=None, open_timeout=10).__enter__()
        self.next_id = 0
        self.events: list = []

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def js(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.js(expression):
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}")

    def type(self, selector: str, text: str):
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        for ch in text:  # one key at a time: the page's debounce sees a person typing
            self.call("Input.dispatchKeyEvent", type="keyDown", text=ch, key=ch, unmodifiedText=ch)
            self.call("Input.dispatchKeyEvent", type="keyUp", key=ch)

    def errors(self) -> list:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                out.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                entry = p["entry"]
                if entry.get("source") == "network" and "/api/" in entry.get("url", "") \
                        and "status of 400" in entry.get("text", ""):
                    continue  # a half-typed expression: the API's answer is 400 with a message, as designed
                out.append("log: " + entry.get("text", "") + " " + entry.get("url", ""))
        return out


@pytest.fixture(scope="module")
def browser():
    path = _browser()
    if path is None:
        pytest.skip("SKIPPED: no Chromium found (apt-get install chromium; .ci/run installs it): "
                    "the real-browser test of the page did not run")
    profile = tempfile.mkdtemp(prefix="matcalc-chromium-")
    proc = subprocess.Popen([path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                             "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}",
                             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                             "--window-size=1200,1500", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            pytest.skip(f"SKIPPED: {path} did not start (exit {proc.poll()}): the real-browser test did not run")
        targets = json.loads(_wait_http(f"http://127.0.0.1:{port}/json/list", 10))
        page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        for domain in ("Runtime", "Log", "Page"):
            page.call(f"{domain}.enable")
        yield page
        page.ws.close()
    finally:
        _stop(proc)
        shutil.rmtree(profile, ignore_errors=True)


def test_type_an_expression_and_see_gradient_and_steps(server, browser):
    page = browser
    page.call("Page.navigate", url=server)
    page.wait_for("document.readyState === 'complete' && !!window.katex && document.querySelectorAll('button.example').length > 20")
    page.type("#expr", "a^T X A X a")
    page.type("#wrt", "X")
    page.wait_for("document.querySelectorAll('#steps li.step .katex').length >= 4")

    shown = page.js("[...document.querySelectorAll('#result .math[data-latex]')].map(e => e.dataset.latex)")
    assert "\\nabla_{X} f = a a^\\top X^\\top A^\\top + A^\\top X^\\top a a^\\top" in shown
    assert page.js("!!document.querySelector('#result .katex-display .katex-html')")  # rendered, not raw text
    assert "checked against finite differences" in page.js("document.querySelector('#result').innerText")
    rules = page.js("[...document.querySelectorAll('#steps .rule')].map(e => e.textContent)")
    assert rules[0] == "take the differential" and any("cyclic property of the trace" in r for r in rules)
    assert "e=a%5ET+X+A+X+a" in page.js("location.search") and "w=X" in page.js("location.search")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
    (ARTIFACTS / "web_page.png").write_bytes(base64.b64decode(shot["data"]))

    # the Russian switch translates the interface and the step annotations
    page.js("document.getElementById('lang').click()")
    page.wait_for("document.querySelector('#steps .rule') && document.querySelector('#steps .rule').textContent === 'берём дифференциал'")
    assert page.js("document.querySelector('[data-tab=check]').textContent") == "Проверить мой ответ"
    page.js("document.getElementById('lang').click()")

    # a syntax error: shown under the box, the offending character marked
    page.js("document.getElementById('expr').select()")
    page.type("#expr", "x^T A x)")
    page.wait_for("!document.getElementById('error').hidden && !!document.querySelector('#error mark')")
    assert page.js("document.querySelector('#error mark').textContent") == ")"

    assert page.errors() == []


def test_a_shared_link_restores_the_state_and_checks_an_answer(server, browser):
    page = browser
    query = "?e=x%5ET+A+x&w=x&claim=2+A+x&tab=check"
    page.call("Page.navigate", url=server + query)
    page.wait_for("document.querySelector('#verdict .verdict') !== null")
    assert "Wrong" in page.js("document.querySelector('#verdict .verdict').textContent")
    assert page.js("document.querySelectorAll('#verdict table.numbers tr').length") >= 3  # the counterexample
    page.js("document.querySelector('[data-tab=code]').click()")
    page.wait_for("document.getElementById('code-text').textContent.includes('def value_and_grad')")
    page.js("document.querySelector('[data-tab=graph]').click()")
    page.js("document.getElementById('expr').value = '(2x + y) z'; document.getElementById('wrt').value = 'x';"
            "document.getElementById('scalar').value = 'x,y,z'; document.getElementById('at').value = 'x=10 y=-2 z=-4';"
            "document.getElementById('expr').dispatchEvent(new Event('input'))")
    page.wait_for("document.querySelectorAll('#graph svg rect').length >= 5")
    assert "∂f/∂x = -8" in page.js("document.querySelector('#graph svg').textContent")
    assert page.errors() == []
