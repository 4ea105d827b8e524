"""LaTeX strings rendered by KaTeX (the copy the web page ships) under Node.js.

`assert_renders(strings)` sends every string to one node process (tests/katex_render.js)
and fails naming each string KaTeX refuses. The strings are what users get: a
`_repr_latex_` (delimited by $…$ or $$…$$), or `--format latex` output (bare math).
Without Node.js the caller's test is skipped with a message. `structure_ok` and
`aligned_rows` check what KaTeX would accept but print wrongly: lines joined without an
environment, a `%` that swallows the closing `$`.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import matcalc

KATEX = Path(matcalc.__file__).parent / "web" / "static" / "katex" / "katex.min.js"
SCRIPT = Path(__file__).with_name("katex_render.js")


def math_body(tex: str) -> str:
    """The math inside `$$…$$` or `$…$`; bare math as it is."""
    tex = tex.strip()
    if len(tex) > 4 and tex.startswith("$$") and tex.endswith("$$"):
        return tex[2:-2]
    if len(tex) > 2 and tex.startswith("$") and tex.endswith("$"):
        return tex[1:-1]
    return tex


def render_failures(strings) -> list:
    """(string, KaTeX's message) for every string that does not render."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (apt-get install nodejs): the KaTeX rendering is not tested")
    bodies = [math_body(s) for s in strings]
    done = subprocess.run([node, str(SCRIPT), str(KATEX)], input=json.dumps(bodies), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [(strings[i], message) for i, message in json.loads(done.stdout)]


def assert_renders(strings):
    strings = list(strings)
    assert strings, "no LaTeX to render"
    failures = render_failures(strings)
    assert not failures, f"{len(failures)} of {len(strings)} LaTeX strings do not render:\n" + "\n".join(
        f"{message}\n    in {tex!r}" for tex, message in failures[:10])


def aligned_rows(tex: str) -> list:
    """(lhs, rhs, comment) of each line of an aligned block (rhs None for a text-only line)."""
    body = math_body(tex)
    assert body.startswith("\\begin{aligned}\n") and body.endswith("\n\\end{aligned}"), body
    rows = []
    for line in body.split("\n")[1:-1]:
        line = line.rstrip().removesuffix("\\\\").rstrip()
        m = re.search(r"(\\quad | && )\\text\{(.*)\}$", line)
        comment = m.group(2) if m else ""
        line = line[:m.start()] if m else line
        lhs, sep, rhs = line.partition("&=")
        rows.append((lhs.strip(), rhs.strip() if sep else None, comment))
    return rows


def structure_ok(tex: str):
    """Several lines only inside an environment, every line but the last ending in \\\\;
    no comment sign (it would swallow the closing $); ASCII only."""
    body = math_body(tex)
    assert tex.isascii(), [c for c in tex if not c.isascii()]
    assert not re.search(r"(?<!\\)%", body), body
    lines = body.split("\n")
    if len(lines) > 1:
        assert lines[0].startswith("\\begin{") and lines[-1].startswith("\\end{"), body
        assert all(ln.rstrip().endswith("\\\\") for ln in lines[1:-2]), body
