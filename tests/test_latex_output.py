"""LaTeX output: every string users get renders in KaTeX (the web page's copy, under Node.js),
several lines come as one aligned block, left-hand sides spell names as the right-hand
sides do, numbers are typeset. Each printed derivative also reads back (through the LaTeX
input path) to the value of the derivative, itself checked by finite differences."""
from __future__ import annotations

import os
import re
import stat

import numpy as np
import pytest

import matcalc
from katex import aligned_rows, assert_renders, math_body, structure_ok
from printed import assert_printed_value
from matcalc.numeric import evaluate, sample_point
from matcalc.printing.text import latex_name, latex_number, latex_text, to_latex
from matcalc.schedule import run_pass, verify_schedule
from matcalc.verification import verify, verify_hessian
from test_cookbook import CASES


def test_every_cookbook_row_renders():
    """The result, its Jupyter form, df and the derivation of each Cookbook row: ~1500 strings."""
    strings = []
    for _, expr, wrt, decls, _ in CASES:
        r = matcalc.diff(expr, wrt, **decls)
        d = r.derivation()
        strings += [r.format("latex"), r._repr_latex_(), r.differential_text("latex"), d._repr_latex_()]
        strings += [s["latex"] for s in d.to_json()["steps"]]
        dv = r.derivatives[0]
        if dv.kind != "differential":  # the left-hand side names the variable as the right-hand side does
            assert to_latex(dv.variable) in dv.lhs("latex"), (dv.lhs("latex"), to_latex(dv.variable))
    for s in strings:
        structure_ok(s)
    assert_renders(strings)


def _check_rows(r, rows):
    """Each derivative's row (and its matrix form) reads back to its value."""
    by_lhs = {dv.lhs("latex"): dv for dv in r.derivatives}
    current = None
    for lhs, rhs, comment in rows:
        current = by_lhs[lhs] if lhs else current
        assert rhs is not None and current is not None
        shown = current.matrix_form if comment == "(matrix form)" else current.expr
        assert_printed_value(rhs, "latex", shown, r.f, r.wrt, shown.shape)


def test_several_variables_one_aligned_block_with_the_names_spelled_alike():
    r = matcalc.diff("x^T A y + lambda x^T x + mu^T W1 y", "x,y,lambda,W1", vector="mu")
    assert verify(r).passed
    tex = r._repr_latex_()
    rows = aligned_rows(tex)
    assert [lhs for lhs, _, _ in rows] == ["\\nabla_{x} f", "\\nabla_{y} f",
                                           "\\frac{\\partial f}{\\partial \\lambda}", "\\nabla_{W_{1}} f"]
    _check_rows(r, rows)
    assert r.format("latex") == math_body(tex)
    assert_renders([tex, r.format("latex")])


def test_single_result_shows_its_left_hand_side():
    r = matcalc.diff("mu^T S mu", "mu", vector="mu")
    assert verify(r).passed
    tex = r._repr_latex_()
    assert tex.startswith("$\\nabla_{\\mu} f = ") and tex.endswith("$")
    assert_printed_value(math_body(tex).split(" = ", 1)[1], "latex", r.expr, r.f, r.wrt)
    assert r.format("latex") == math_body(tex).split(" = ", 1)[1]  # --format latex: the answer alone
    assert_renders([tex])


def test_sum_over_observations_with_its_matrix_form():
    r = matcalc.diff("sum_i log(1 + exp(-y_i w^T x_i)) + lambda w^T w", "w")
    assert verify(r).passed and r.derivatives[0].matrix_form is not None
    for tex in (r._repr_latex_(), r.format("latex")):
        structure_ok(tex)
        rows = aligned_rows(tex)
        assert [c for _, _, c in rows] == ["", "(matrix form)"]
        _check_rows(r, rows)
    assert_renders([r._repr_latex_(), r.format("latex"), r.steps._repr_latex_()])


def test_hessian_blocks_are_one_aligned_block():
    h = matcalc.hessian("x^T A y + x^T x + lambda y^T y", "x,y")
    assert verify_hessian(h).passed
    tex = h._repr_latex_()
    structure_ok(tex)
    rows = aligned_rows(tex)
    assert [lhs for lhs, _, _ in rows] == ["H_{x,y}".replace("y", n).replace("x", m, 1)
                                           for m in "xy" for n in "xy"]
    for (lhs, rhs, _), (key, block) in zip(rows, h.blocks.items()):
        assert_printed_value(rhs, "latex", block, h.f, h.wrt, block.shape)
    one = matcalc.hessian("x^T A x", "x")
    assert verify_hessian(one).passed
    assert one._repr_latex_() == f"$\\nabla^2_{{x}} f = {one.format('latex')}$"
    sums = matcalc.hessian("sum_i (y_i - w^T x_i)^2", "w")
    assert verify_hessian(sums).passed
    assert_renders([tex, h.format("latex"), one._repr_latex_(), sums._repr_latex_(), sums.format("latex"),
                    h.derivation("x")._repr_latex_(), matcalc.hessian("x^T A x", "x").format("latex")])


def test_steps_have_a_rich_display_and_name_the_result_like_the_answer():
    r = matcalc.diff("lambda^2 + lambda a^T x", "lambda")
    assert verify(r).passed
    steps = r.steps
    assert steps[-1].result == r.expr and len(steps) == len(r.derivation().steps)
    tex = steps._repr_latex_()
    structure_ok(tex)
    assert "\\frac{\\partial f}{\\partial \\lambda} = " in tex and "partial lambda" not in tex
    g = matcalc.diff("mu^T mu", "mu", vector="mu")
    assert verify(g).passed and "\\nabla_{\\mu} f = " in g.steps._repr_latex_()
    assert_renders([tex, g.steps._repr_latex_(), steps[-1]._repr_latex_()] + [s._repr_latex_() for s in steps])


def test_backprop_schedule_spells_weights_as_the_formulas_do():
    expr = "1/2 (y - W2 sigmoid(W1 x))^T (y - W2 sigmoid(W1 x))"
    s = matcalc.backprop(expr, "W1,W2")
    assert verify_schedule(s).passed
    tex = s._repr_latex_()
    structure_ok(tex)
    rows = aligned_rows(tex)
    grads = {lhs: rhs for lhs, rhs, _ in rows if lhs.startswith("\\frac")}
    assert list(grads) == ["\\frac{\\partial L}{\\partial W_{1}}", "\\frac{\\partial L}{\\partial W_{2}}"]
    r = matcalc.diff(expr, "W1,W2")
    sizes, env = sample_point([r.f] + [dv.expr for dv in r.derivatives], np.random.default_rng(3))
    p = run_pass(s, env)
    for dv in r.derivatives:  # the schedule's gradients are diff's, which finite differences confirm
        np.testing.assert_allclose(p.gradients[dv.name], evaluate(dv.expr, env, sizes), rtol=1e-9)
    assert verify(r).passed
    assert_renders([tex, s.format("latex")])


def test_solve_is_one_aligned_block():
    expr = "(y - X w)^T (y - X w) + lambda w^T w"
    sol = matcalc.solve(expr, "w")
    r = matcalc.diff(expr, "w")
    assert verify(r).passed
    tex = sol._repr_latex_()
    structure_ok(tex)
    rows = aligned_rows(tex)
    assert rows[0][0] == "\\nabla_{w} f"
    assert_printed_value(rows[0][1], "latex", r.expr, r.f, r.wrt)
    value = next(rhs for lhs, rhs, _ in rows if lhs == "w")
    assert_printed_value(value, "latex", sol["w"], r.f, r.wrt)
    assert any("minimum" in c for _, rhs, c in rows if rhs is None)
    assert_renders([tex, sol.format("latex")])


def test_verify_report_typesets_numbers():
    r = matcalc.diff("x^T A x", "x")
    rep = verify(r)
    tex = rep._repr_latex_()
    assert rep.passed and "\\times10^{-" in tex and not re.search(r"\de[-+]?\d", tex)
    assert latex_number(1.4e-11) == "1.4\\times10^{-11}" and latex_number(0.25) == "0.25"
    assert_renders([tex, matcalc.check("x^T A x", "x", "2 A x")._repr_latex_(),
                    matcalc.check("x^T A x", "x", "(A + A^T) x")._repr_latex_()])


def test_graph_rich_displays(tmp_path, monkeypatch):
    g = matcalc.graph("(2x + y) z", scalar="x,y,z", at={"x": 10, "y": -2, "z": -4})
    tex = g._repr_latex_()
    structure_ok(tex)
    rows = aligned_rows(tex)
    assert ("\\frac{\\partial f}{\\partial x}", "2 z", "") in rows and ("", "-8", "") in rows
    r = matcalc.diff("(2x + y) z", "x", scalar="x,y,z")
    assert verify(r).passed and r.evaluate({"x": 10, "y": -2, "z": -4})["x"].item() == -8
    assert_renders([tex])
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz: the text, escaped
    html = g._repr_html_()
    assert html.startswith("<pre>") and "x -&gt; v1" in html
    fake = tmp_path / "dot"  # a stand-in for Graphviz: the DOT source reaches it, its SVG comes back
    fake.write_text("#!/bin/sh\ngrep -q 'digraph f' && echo '<?xml version=\"1.0\"?><svg>graph</svg>'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert g._repr_html_() == "<svg>graph</svg>\n"


def test_graph_svg_from_graphviz_when_installed():
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz is not installed: Graph._repr_html_ shows the text")
    g = matcalc.graph("x y + x", scalar="x,y")
    assert "<svg" in g._repr_html_()


def test_plain_text_in_latex():
    assert latex_text("d(X⁻¹) = −X⁻¹ dX X⁻¹, 50% of {a_b}") == \
        "d(X$^{-1}$) = -X$^{-1}$ dX X$^{-1}$, 50\\% of \\{a\\_b\\}"
    assert latex_text("u⁻¹ᵀ ŷ β̂") == "u$^{-1}{}^\\top$ $\\hat{y}$ $\\hat{\\beta}$"
    assert latex_name("lambda") == "\\lambda" and latex_name("W1") == "W_{1}" and latex_name("y_hat") == "\\hat{y}"
    assert_renders([f"\\text{{{latex_text(s)}}}" for s in ("a ⪰ 0 ≻ b → c ← d ‖x‖² ∂f/∂x", "½ x′ 𝟙 ∞ ±")])


def test_cli_latex_of_several_lines_renders():
    """`--format latex` of diff with several variables, hessian blocks, Σ_i, backprop, solve and
    --steps: one block each (steps: one per variable), each rendering in KaTeX."""
    from click.testing import CliRunner

    from matcalc.cli import main

    runs = [["diff", "x^T A y + lambda x^T x", "--wrt", "x,y,lambda"],
            ["diff", "sum_i (y_i - w^T x_i)^2", "--wrt", "w"],
            ["diff", "x^T A y", "--wrt", "x", "--steps"],
            ["hessian", "x^T A y", "--wrt", "x,y"],
            ["backprop", "1/2 (y - W2 sigmoid(W1 x))^T (y - W2 sigmoid(W1 x))", "--wrt", "W1,W2"],
            ["solve", "(y - X w)^T (y - X w) + lambda w^T w", "--wrt", "w", "--positive", "lambda"]]
    outputs = []
    for args in runs:
        r = CliRunner().invoke(main, [*args, "--format", "latex"])
        assert r.exit_code == 0, r.output
        structure_ok(r.stdout.strip())
        outputs.append(r.stdout.strip())
    rows = aligned_rows(outputs[0])
    diffed = matcalc.diff("x^T A y + lambda x^T x", "x,y,lambda")
    assert verify(diffed).passed
    _check_rows(diffed, rows)
    assert_renders(outputs)


def test_web_hessian_latex_renders():
    """The page's Hessian panel: all blocks and the derivations of both variables, one string each."""
    from matcalc.web.jobs import hessian

    data = hessian({"expr": "x^T A y + x^T x", "wrt": "x,y", "steps": True, "check": False})
    assert verify_hessian(matcalc.hessian("x^T A y + x^T x", "x,y")).passed
    assert data["steps_latex"].startswith("\\begin{gathered}") and data["steps_latex"].count("\\begin{aligned}") == 2
    assert_renders([data["steps_latex"], data["latex_all"]])
