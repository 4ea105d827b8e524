"""`matcalc serve`: the page's assets ship in the package, and the JSON API answers with
the CLI's `--format json` fields, 4xx for bad input, and a time limit per request.

The API tests need the web extra (`pip install ".[web]"`; .ci/run installs it) and are
skipped without it; the asset tests run with the core install alone.
"""
import json
import re
from importlib.resources import files

import pytest

STATIC = files("matcalc.web").joinpath("static")


# ---------------------------------------------------------------- assets (no extra needed)

def test_assets_are_found_via_importlib_resources():
    for name in ("index.html", "app.js", "i18n.js", "style.css", "examples.json", "docs.html",
                 "katex/katex.min.js", "katex/katex.min.css", "katex/LICENSE"):
        path = STATIC.joinpath(*name.split("/"))
        assert path.is_file(), f"{name} is not in the installed package (package-data?)"
        assert path.read_bytes(), name


def test_every_font_the_katex_css_loads_first_is_shipped():
    css = STATIC.joinpath("katex", "katex.min.css").read_text(encoding="utf-8")
    first = re.findall(r"src:url\((fonts/[^)]+\.woff2)\)", css)
    assert len(first) >= 15
    for font in first:
        assert STATIC.joinpath("katex", *font.split("/")).is_file(), font


def test_the_page_loads_nothing_from_outside():
    for name in ("index.html", "app.js", "docs.html", "style.css"):
        text = STATIC.joinpath(name).read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), name
        assert "cdn" not in text.lower(), name


def test_both_languages_have_every_word():
    text = STATIC.joinpath("i18n.js").read_text(encoding="utf-8")
    en = re.search(r"\ben: \{(.*?)\n  \},", text, re.S).group(1)
    ru = re.search(r"\bru: \{(.*?)\n  \},", text, re.S).group(1)
    keys = lambda block: set(re.findall(r"(?:^\s*|,\s+)\"?([\w-]+)\"?: \"", block, re.M))  # noqa: E731
    assert keys(en) - keys(ru) == set(), "words without a Russian translation"
    page = STATIC.joinpath("index.html").read_text(encoding="utf-8")
    for key in re.findall(r'data-i18n(?:-placeholder)?="([\w-]+)"', page):
        assert key in keys(en), key


def test_examples_are_well_formed():
    examples = json.loads(STATIC.joinpath("examples.json").read_text(encoding="utf-8"))
    assert len(examples) >= 25
    for ex in examples:
        assert ex["expr"] and ex["title"]["en"] and ex["title"]["ru"] and ex["group"]


def test_jobs_answer_without_the_web_framework():
    from matcalc.web import jobs

    status, body = jobs.run("diff", {"expr": "x^T A x", "wrt": "x"})
    assert status == "ok" and json.loads(body)["result"] == "(A + A^T) x"
    status, body = jobs.run("diff", {"expr": "x^T A x)", "wrt": "x"})
    assert status == "error" and body["type"] == "ParseError"


# ---------------------------------------------------------------- the API (web extra)

fastapi = pytest.importorskip("fastapi", reason="the web extra is not installed (pip install '.[web]')")
pytest.importorskip("httpx", reason="the web extra is not installed (pip install '.[web]')")

from fastapi.testclient import TestClient  # noqa: E402

TIME_LIMIT = 3.0


@pytest.fixture(scope="module")
def client():
    from matcalc.web.app import create_app

    with TestClient(create_app(workers=2, time_limit=TIME_LIMIT)) as c:
        yield c


def cli_json(*args):
    from click.testing import CliRunner

    from matcalc.cli import main

    out = CliRunner().invoke(main, list(args))
    return json.loads(out.stdout)


def test_diff_has_the_cli_json_fields(client):
    r = client.post("/api/diff", json={"expr": "a^T X A X a", "wrt": "X"})
    assert r.status_code == 200
    got = r.json()
    want = cli_json("diff", "a^T X A X a", "--wrt", "X", "--format", "json")
    for key, value in want.items():
        if key != "check":
            assert got[key] == value, key
    assert got["check"]["passed"] is True
    assert got["result"] == "a a^T X^T A^T + A^T X^T a a^T"
    assert got["lhs_latex"] == "\\nabla_{X} f"


def test_diff_with_steps_and_several_variables(client):
    r = client.post("/api/diff", json={"expr": "x^T A y", "wrt": "x,y", "steps": True, "check": False})
    assert r.status_code == 200
    items = r.json()
    assert [i["wrt"] for i in items] == ["x", "y"]
    for item in items:
        assert item["steps"][0]["rule"] == "take the differential"
        assert item["steps_latex"].startswith("\\begin{aligned}")
        assert "check" not in item


def test_diff_with_numbers_and_declarations(client):
    r = client.post("/api/diff", json={"expr": "(2x + y) z", "wrt": "x,y,z", "scalar": ["x", "y", "z"],
                                       "at": {"x": 10, "y": -2, "z": -4}})
    assert r.status_code == 200
    assert [i["value"] for i in r.json()] == [[[-8.0]], [[-4.0]], [[18.0]]]
    r2 = client.post("/api/diff", json={"expr": "(2x + y) z", "wrt": "x", "scalar": "x,y,z",
                                        "at": "x=10 y=-2 z=-4"})
    assert r2.json()["value"] == [[-8.0]]


def test_a_syntax_error_is_400_with_the_caret(client):
    r = client.post("/api/diff", json={"expr": "x^T A x)", "wrt": "x"})
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "ParseError" and "unbalanced parentheses" in body["error"]
    assert body["caret"] == {"text": "x^T A x)", "column": 7}


def test_shape_and_declaration_errors_are_400(client):
    r = client.post("/api/diff", json={"expr": "x^T A y + B", "wrt": "x"})
    assert r.status_code == 400 and r.json()["error"]
    r = client.post("/api/diff", json={"expr": "x^T A x", "wrt": "x", "dim": "x=3x4x5"})
    assert r.status_code == 400 and r.json()["type"] == "DeclarationError"


def test_invalid_fields_are_422_with_a_message(client):
    r = client.post("/api/diff", json={"wrt": "x"})
    assert r.status_code == 422 and "expr" in r.json()["error"]
    r = client.post("/api/diff", json={"expr": "x", "colour": "red"})
    assert r.status_code == 422 and "colour" in r.json()["error"]
    r = client.post("/api/diff", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_a_large_body_is_refused_with_413(client):
    r = client.post("/api/diff", json={"expr": "x" * 300_000, "wrt": "x"})
    assert r.status_code == 413 and r.json()["type"] == "RequestTooLarge"
    r = client.post("/api/diff", json={"expr": "x +" * 2000 + " x", "wrt": "x"})
    assert r.status_code == 422  # over the length of one expression


def test_a_pathological_input_hits_the_time_limit_and_the_server_goes_on(client):
    nested = "".join("ln(1 + (x^T A x)^2 " for _ in range(10)) + ")" * 10  # ~20 s of work
    r = client.post("/api/hessian", json={"expr": nested, "wrt": "x"})
    assert r.status_code == 422
    assert r.json()["type"] == "TimeLimit" and f"{TIME_LIMIT:g} s" in r.json()["error"]
    assert client.app.state.pool.killed >= 1
    for _ in range(3):  # the killed worker was replaced: every worker answers
        assert client.post("/api/diff", json={"expr": "x^T x", "wrt": "x"}).status_code == 200


def test_hessian(client):
    r = client.post("/api/hessian", json={"expr": "(y - X w)^T (y - X w) + lambda w^T w", "wrt": "w", "steps": True})
    assert r.status_code == 200
    body = r.json()
    want = cli_json("hessian", "(y - X w)^T (y - X w) + lambda w^T w", "--wrt", "w", "--format", "json")
    assert body["result"] == want["result"] and body["kind"] == want["kind"]
    assert body["check"]["passed"] and body["steps"][0]["steps"]


def test_check_gives_verdict_diagnosis_and_counterexample(client):
    r = client.post("/api/check", json={"expr": "a^T X A X a", "wrt": "X", "claim": "A X a a^T + a a^T X A"})
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "wrong" and body["diagnosis"] == "transpose"
    assert body["counterexample"]["values"] and body["answer"]
    right = client.post("/api/check", json={"expr": "(y - Xw)^T (y - Xw) + λ w^T w", "wrt": "w",
                                            "claim": "dL = -2 (y - Xw)^T X dw + 2 λ w^T dw"}).json()
    assert right["verdict"] == "correct"


def test_grade_a_batch(client):
    records = [{"id": "a", "expression": "x^T A x", "wrt": "x", "claim": "(A + A^T) x"},
               {"id": "b", "expression": "x^T A x", "wrt": "x", "claim": "2 A x"},
               {"id": "c", "expression": "x^T A x)", "wrt": "x", "claim": "x"},
               {"id": "d", "expression": "ln det X", "wrt": "X", "claim": "X^-T"}]
    r = client.post("/api/grade", json={"records": records})
    assert r.status_code == 200
    body = r.json()
    assert [row["verdict"] for row in body["results"]] == ["correct", "wrong", "error", "correct"]
    assert body["summary"] == {"correct": 2, "wrong": 1, "error": 1}


def test_backprop_with_numbers(client):
    r = client.post("/api/backprop", json={
        "expr": "(y - relu(X W1) W2)^T (y - relu(X W1) W2)", "wrt": "W1,W2", "vector": "W2",
        "at": "X=[[1,2]] y=0 W1=[[1,-1],[0.5,0]] W2=[0.5,1]"})
    assert r.status_code == 200
    body = r.json()
    assert body["wrt"] == ["W1", "W2"] and body["backward"] and body["gradients"]
    assert body["numbers"]["pass"]["loss"] == pytest.approx(1.0)
    layer = client.post("/api/backprop", json={"layer": "relu", "input": [2, -1], "upstream": [-1, -2]}).json()
    assert layer["downstream"] == [-1.0, 0.0]


def test_backprop_sgd_steps(client):
    r = client.post("/api/backprop", json={
        "expr": "1/2 (y - sigmoid(w3^T sigmoid(W2 sigmoid(W1 x))))^2", "wrt": "W1,W2,w3", "scalar": "y",
        "dim": "W1=2x2,W2=2x2,w3=2", "init": "zeros", "data": [[1, 1, 1], [5, 2, 0]], "order": "2,1",
        "steps": 2, "lr": 1})
    assert r.status_code == 200
    assert len(r.json()["numbers"]["steps"]) == 2


def test_graph_and_codegen(client):
    g = client.post("/api/graph", json={"expr": "(2x + y) z", "scalar": "x,y,z", "at": "x=10 y=-2 z=-4"}).json()
    adj = {n["name"]: n["adjoint"] for n in g["nodes"]}
    assert (adj["x"], adj["y"], adj["z"]) == (-8.0, -4.0, 18.0)
    for backend in ("numpy", "torch", "jax"):
        c = client.post("/api/codegen", json={"expr": "(y - X w)^T (y - X w)", "wrt": "w", "backend": backend})
        assert c.status_code == 200 and "def value_and_grad" in c.json()["code"]
    bad = client.post("/api/graph", json={"expr": "a^T X A X a"})
    assert bad.status_code == 400 and "scalar" in bad.json()["error"]


def test_the_page_docs_and_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "static/app.js" in page.text
    assert client.get("/static/katex/katex.min.js").status_code == 200
    assert client.get("/static/katex/fonts/KaTeX_Main-Regular.woff2").status_code == 200
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/diff", "/api/check", "/api/hessian", "/api/backprop", "/api/grade"} <= set(spec["paths"])


def test_serve_without_the_extra_names_it(monkeypatch):
    from click.testing import CliRunner

    from matcalc import web
    from matcalc.cli import main

    monkeypatch.setattr(web, "available", lambda: False)
    out = CliRunner().invoke(main, ["serve"])
    assert out.exit_code == 2 and "[web]" in out.output
