"""examples/tour.ipynb executes under nbconvert (a fresh kernel, as a user runs it) and
every LaTeX output it shows (text/latex) renders in KaTeX."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import matcalc
from katex import assert_renders, math_body, structure_ok
from printed import assert_printed_value
from matcalc.verification import verify

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "tour.ipynb"


def test_tour_notebook_executes_and_its_latex_renders(tmp_path):
    pytest.importorskip("nbconvert", reason="nbconvert is not installed (pip install -e '.[test]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[test]')")
    done = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                           str(NOTEBOOK), "--output-dir", str(tmp_path), "--ExecutePreprocessor.timeout=120"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    cells = json.loads((tmp_path / NOTEBOOK.name).read_text(encoding="utf-8"))["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    latex = ["".join(o["data"]["text/latex"]) for o in outputs if "text/latex" in o.get("data", {})]
    assert len(latex) >= 10, latex
    for tex in latex:
        structure_ok(tex)
    assert_renders(latex)
    # the first result is the gradient of a^T X A X a, shown with its left-hand side
    r = matcalc.diff("a^T X A X a", wrt="X")
    assert verify(r).passed
    lhs, rhs = math_body(latex[0]).split(" = ", 1)
    assert lhs == "\\nabla_{X} f"
    assert_printed_value(rhs, "latex", r.expr, r.f, r.wrt)
