"""Shared subexpressions (sharing.py): a deep net through `diff` in linear size, each shared
value and cotangent named once in a `where` list.

Every derivative here is compared with central differences through its named form (the
names evaluated in order, as the self-check does) and with the written-out expression the
names stand for; printed forms are read back or executed and compared by value.
"""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import matcalc
from matcalc import cli, sharing
from matcalc import expr as E
from matcalc.api import binding_values, parse_in_context
from matcalc.checking import check
from matcalc.decls import Decls
from matcalc.latex_input import from_latex
from matcalc.numeric import evaluate
from matcalc.verification import verify
from printed import assert_close, numpy_value, points
from seed_cases import SEED_CASES
from test_cookbook import CASES as COOKBOOK


def mlp(depth: int, act: str = "sigmoid", wrt: str | None = None):
    """1/2 ‖y − act(W_L … act(W1 x))‖², and its weights (all of them unless `wrt`)."""
    net = "x"
    for i in range(1, depth + 1):
        net = f"{act}(W{i} {net})"
    return f"1/2 (y - {net})^T (y - {net})", wrt or ",".join(f"W{i}" for i in range(1, depth + 1))


def _named_and_right(expr, wrt, **kw):
    """diff with names; finite differences through the names; the names stand for the
    written-out derivative (equal values at sampled points)."""
    r = matcalc.diff(expr, wrt, **kw)
    assert r.bindings, f"{expr}: expected where-names, got {r}"
    report = verify(r)
    assert report.passed, report.summary()
    sizes, envs = points([r.f] + [dv.variable for dv in r.derivatives])
    for env in envs:
        named = binding_values(r.bindings, env, sizes)
        for dv in r.derivatives:
            assert_close(evaluate(dv.shown, named, sizes), evaluate(dv.expr, env, sizes), dv.name)
    return r


@pytest.mark.parametrize("depth,act", [(3, "sigmoid"), (4, "tanh"), (7, "sigmoid"), (5, "relu")])
def test_deep_net_wrt_all_weights(depth, act):
    r = _named_and_right(*mlp(depth, act))
    names = [b.name for b in r.bindings]
    assert "t1" in names and "delta1" in names
    assert all(b.definition.size < 20 for b in r.bindings)  # each line a layer, not a tower


def test_deep_net_wrt_its_first_weight():
    r = _named_and_right(*mlp(8, wrt="W1"))
    assert str(r).count("sigmoid") == 8  # each layer's value once


def test_printed_size_and_names_grow_linearly_with_depth():
    sizes, counts = [], []
    for depth in (8, 16, 32):
        r = matcalc.diff(*mlp(depth))
        sizes.append(len(str(r)))
        counts.append(len(r.bindings))
    for a, b in zip(sizes, sizes[1:]):
        assert b / a <= 2.15, sizes  # was about 6× per doubling written out
    assert counts == [2 * d - 1 for d in (8, 16, 32)], counts  # a value and a delta per layer


@pytest.mark.parametrize("expr,wrt,kw", [
    ("-y^T log(softmax(W3 tanh(W2 tanh(W1 x))))", "W1,W2,W3", {}),  # a softmax/tanh chain
    ("sum(log(1 + exp(tanh(A tanh(X w))))) + tanh(A tanh(X w))^T tanh(A tanh(X w))", "w,A", {}),
    ("sum(exp(tanh(W2 tanh(W1 x)))) + sum(tanh(W2 tanh(W1 x)) .* tanh(W2 tanh(W1 x)))", "W1,W2", {}),
    ("1/2 (y - sigmoid(W3 tanh(W2 tanh(W1 x + b1) + b2) + b3))^T (y - sigmoid(W3 tanh(W2 tanh(W1 x + b1) + b2) + b3))",
     "W1,W2,W3,b1,b2,b3", {}),
    ("tr((tanh(tanh(tanh(X W1) W2) W3) - Y)^T (tanh(tanh(tanh(X W1) W2) W3) - Y))", "W1,W2,W3", {}),
    ("sigmoid(a sigmoid(b sigmoid(c sigmoid(e z))))", "a,b,c,e", {"scalar": "a,b,c,e,z"}),
    ("ln(1 + exp(u^T tanh(A tanh(B tanh(C x))))) + sum(tanh(A tanh(B tanh(C x))))", "A,B,C", {}),
])
def test_other_expressions_with_repeated_subexpressions(expr, wrt, kw):
    _named_and_right(expr, wrt, **kw)


def test_the_softmax_cross_entropy_keeps_its_simple_delta():
    """ln softmax(u) is rewritten before names are given, so no name splits it: the output
    delta is softmax − y, as written out."""
    r = _named_and_right("-y^T log(softmax(W3 tanh(W2 tanh(W1 x))))", "W1,W2,W3")
    assert "^-1" not in str(r)


@pytest.mark.parametrize("number,expr,wrt,decls,expected", SEED_CASES, ids=[f"seed{c[0]}" for c in SEED_CASES])
def test_seed_problems_have_no_names(number, expr, wrt, decls, expected):
    assert not matcalc.diff(expr, wrt, **decls).bindings


@pytest.mark.parametrize("row", COOKBOOK, ids=[c[0] for c in COOKBOOK])
def test_cookbook_rows_have_no_names(row):
    _, expr, wrt, decls, _ = row
    assert not matcalc.diff(expr, wrt, **decls).bindings


def test_threshold_rule():
    """Tried from MIN_NONLINEAR nonlinear operations on; a name used once, or smaller than
    MIN_SIZE nodes, is written out; names are kept only when they at least halve the answer."""
    for depth, tried in ((2, False), (3, True)):
        expr, wrt = mlp(depth)
        r = matcalc.diff(expr, wrt)
        names = frozenset(dv.name for dv in r.derivatives)
        assert (sharing.nonlinear(r.f, names) >= sharing.MIN_NONLINEAR) == tried == bool(r.bindings)
        assert verify(r).passed
    x = E.Symbol("x", "n", 1)
    big = E.func("tanh", E.mul(E.Symbol("A", "n", "n"), E.func("tanh", x)))  # 5 nodes
    b1 = sharing.Binding(E.Symbol("#1", "n", 1), big, "value", 0)
    b2 = sharing.Binding(E.Symbol("#2", "n", 1), E.transpose(E.transpose(x)), "value", 1)
    twice = E.hadamard(b1.symbol, E.func("exp", b1.symbol))
    kept, named, written = sharing.choose([b1, b2], {"x": twice})
    assert kept == {"#1"} and (named, written) == (4 + 6, 12)
    kept, _, _ = sharing.choose([b1], {"x": E.func("exp", b1.symbol)})
    assert not kept  # used once
    assert not sharing.worth_it(10, 12) and sharing.worth_it(6, 12)


def _read_back(r, text: str, notation: str, shape):
    dims = {b.name: b.symbol.shape for b in r.bindings}
    text = from_latex(text) if notation == "latex" else text
    return parse_in_context(text, r.f, r.wrt, Decls(dims=dims), shape)


@pytest.mark.parametrize("notation", ["text", "unicode", "latex"])
def test_printed_names_read_back_with_their_values(notation):
    r = matcalc.diff(*mlp(3))
    out = r.format(notation)
    assert ("\\text{where}" if notation == "latex" else "where") in out
    defs = [line.split(" = ", 1)[1] for line in r.where(notation)]
    back = [_read_back(r, t, notation, b.symbol.shape) for t, b in zip(defs, r.bindings)]
    sizes, envs = points([r.f] + [dv.variable for dv in r.derivatives])
    for env in envs:
        want = binding_values(r.bindings, env, sizes)
        got = dict(env)
        for b, e in zip(r.bindings, back):
            got[b.name] = evaluate(e, got, sizes)
            assert_close(got[b.name], want[b.name], f"{notation} {b.name}")
        for dv in r.derivatives:
            shown = _read_back(r, dv.notation(notation), notation, dv.shown.shape)
            assert_close(evaluate(shown, got, sizes), evaluate(dv.expr, env, sizes), dv.name)


def test_numpy_output_computes_the_gradients():
    r = matcalc.diff(*mlp(3))
    lines = r.format("numpy").splitlines()
    assert lines[0].startswith("t1 = ")
    sizes, envs = points([r.f] + [dv.variable for dv in r.derivatives])
    for env in envs:
        values = dict(env)
        for line in lines:
            if " = " in line and ":" not in line.split(" = ")[0]:
                name, code = line.split(" = ", 1)
                values[name] = np.asarray(numpy_value(code, values, sizes)).reshape(-1, 1)
            else:
                name, code = line.split(": ", 1)
                dv = next(d for d in r.derivatives if d.name == name)
                assert_close(numpy_value(code, values, sizes), evaluate(dv.expr, env, sizes), name)


def test_json_carries_the_names_once():
    expr, wrt = mlp(3)
    run = CliRunner().invoke(cli.main, ["diff", expr, "--wrt", wrt, "--format", "json"])
    assert run.exit_code == 0, run.output
    items = json.loads(run.output)
    assert [i["wrt"] for i in items] == ["W1", "W2", "W3"]
    assert all(i["check"]["passed"] for i in items)
    names = [b["name"] for b in items[0]["bindings"]]
    assert names[:3] == ["t1", "t2", "t3"] and all("bindings" not in i for i in items[1:])
    r = matcalc.diff(expr, wrt)
    assert [b["result"] for b in items[0]["bindings"]] == [line.split(" = ", 1)[1] for line in r.where("text")]
    assert items[1]["result"] == r.derivatives[1].notation("text")


def test_cli_prints_the_where_list_and_passes_its_self_check():
    expr, wrt = mlp(4)
    run = CliRunner().invoke(cli.main, ["diff", expr, "--wrt", wrt])
    assert run.exit_code == 0, run.output
    assert "\nwhere\n  t1 = sigmoid(W1 x)\n" in run.stdout and "check: PASS" in run.stderr


def test_check_accepts_a_right_claim_against_a_named_answer():
    """W1 of a 5-layer net: the claim written out by hand (the nested deltas)."""
    depth = 5
    expr, _ = mlp(depth)
    values = ["x"]
    for i in range(1, depth + 1):
        values.append(f"sigmoid(W{i} {values[-1]})")
    delta = f"(({values[depth]} - y) .* {values[depth]} .* (1 - {values[depth]}))"
    for i in range(depth - 1, 0, -1):
        delta = f"((W{i + 1}^T {delta}) .* {values[i]} .* (1 - {values[i]}))"
    assert matcalc.diff(expr, "W1").bindings
    right = check(expr, "W1", f"{delta} x^T")
    assert right.correct, right.reason
    wrong = check(expr, "W1", f"-{delta} x^T")
    assert not wrong.correct
    assert ", where t1 = sigmoid(W1 x)" in wrong.answer


def test_names_avoid_the_names_of_the_expression():
    net = "tanh(t3 tanh(t2 tanh(t1 x)))"
    r = _named_and_right(f"1/2 (y - {net})^T (y - {net})", "t1,t2,t3", matrix="t1,t2,t3")
    assert {b.name[0] for b in r.bindings} == {"u", "d"}  # u1, u2, …, delta1


def test_values_at_a_point_and_the_differential():
    expr, wrt = mlp(3)
    r = matcalc.diff(expr, wrt)
    sizes, (env,) = points([r.f] + [dv.variable for dv in r.derivatives], count=1)
    values = r.evaluate(env)
    for dv in r.derivatives:
        assert_close(values[dv.name], evaluate(dv.expr, env, sizes), dv.name)
    assert r.format("differential").startswith("df = ") and ", where " in r.format("differential")
    rng = np.random.default_rng(1)
    dirs = {"d" + dv.name: rng.standard_normal(env[dv.name].shape) for dv in r.derivatives}
    named = binding_values(r.bindings, {**env, **dirs}, sizes)
    assert_close(evaluate(r.differential, named, sizes), evaluate(r.raw_differential, {**env, **dirs}, sizes))


def test_the_web_api_sends_the_names_with_their_latex():
    from matcalc.web import jobs

    expr, wrt = mlp(3)
    status, body = jobs.run("diff", {"expr": expr, "wrt": wrt})
    assert status == "ok"
    items = json.loads(body)
    where = items[0]["bindings"]
    assert [b["name_latex"] for b in where[:2]] == ["t_{1}", "t_{2}"] and where[0]["latex"] == "\\sigma\\left(W_{1} x\\right)"
    assert all(i["check"]["passed"] for i in items)


def test_latex_is_one_aligned_block_with_the_names_and_renders():
    from katex import aligned_rows, assert_renders, math_body, structure_ok

    r = _named_and_right(*mlp(3))
    tex = r._repr_latex_()
    structure_ok(tex)
    rows = aligned_rows(tex)
    assert [lhs for lhs, _, _ in rows[:3]] == ["\\nabla_{W_{1}} f", "\\nabla_{W_{2}} f", "\\nabla_{W_{3}} f"]
    assert rows[3][1:] == (None, "where") and rows[4][0] == "t_{1}" and rows[-1][0] == "\\delta_{1}"
    assert r.format("latex") == math_body(tex)
    assert_renders([tex, r.format("latex")])
