"""The computational graph of a scalar expression: elementary operations as nodes, the
local derivative on every edge, and ∂f/∂x as the sum over paths of edge products.

Each node of the expression tree (a sum, a product, a power, a function) is a node
of the graph, named v1, v2, … (the output is f); the local derivative ∂node/∂child
comes from the same d() as everything else, with the child as the variable. Reverse
accumulation of the edge products gives the path sums; with numbers (`at`) every
node gets its value and its adjoint ∂f/∂node.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import expr as E
from .decls import Decls
from .differential import d
from .errors import ShapeError
from .identify import substitute
from .reading import parse as _parse
from .display import display
from .printing.text import latex_aligned, latex_display, latex_lhs, latex_name, latex_number, to_latex, to_text, to_unicode
from .simplify import simplify


@dataclass
class Node:
    name: str
    symbol: E.Symbol
    definition: E.Expr | None  # over the children's symbols; None for an input
    children: list = field(default_factory=list)  # names
    local: dict = field(default_factory=dict)  # child name → ∂node/∂child (over symbols)


@dataclass
class Graph:
    source: str
    f: E.Expr
    nodes: list  # topological order, inputs first, the output last
    path_sums: dict  # variable → ∂f/∂x written as the sum over paths (in the variables)
    simplified: dict  # variable → the same, simplified
    values: dict | None = None  # name → number (with `at`)
    adjoints: dict | None = None  # name → ∂f/∂node (with `at`)

    def _value(self, name):
        return "" if self.values is None else f" = {self.values[name]:.6g}"

    def format(self, fmt: str = "text") -> str:
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
        if fmt == "dot":
            return self.dot()
        show = to_unicode if fmt == "unicode" else to_text
        d_ = "∂" if fmt == "unicode" else "d"
        out = ["nodes:"]
        for n in self.nodes:
            body = "input" if n.definition is None else show(n.definition)
            out.append(f"  {n.name} = {body}{self._value(n.name)}")
        out.append("edges (local derivatives):")
        for n in self.nodes:
            for c, g in n.local.items():
                val = "" if self.values is None or isinstance(g, E.Const) else f" = {self._edge_value(n, c):.6g}"
                out.append(f"  {c} -> {n.name}: {d_}{n.name}/{d_}{c} = {show(g)}{val}")
        out.append("path sums:")
        for x, ps in self.path_sums.items():
            simp = self.simplified[x]
            extra = "" if simp == ps else f"  (= {show(simp)})"
            val = "" if self.adjoints is None else f" = {self.adjoints[x]:.6g}"
            out.append(f"  {d_}f/{d_}{x} = {show(ps)}{extra}{val}")
        return "\n".join(out)

    def _edge_value(self, node, child):
        from .numeric import evaluate

        env = {k: v for k, v in self.values.items()}
        return float(evaluate(node.local[child], env).reshape(-1)[0])

    def __repr__(self):
        return f"<matcalc.Graph of {self.source!r}>\n{self.format('unicode')}"

    def _repr_latex_(self):
        """The nodes' definitions and the path sums as one aligned block."""
        rows = [(latex_name(n.name), to_latex(n.definition)) for n in self.nodes if n.definition is not None]
        for x, ps in self.path_sums.items():
            simp = self.simplified[x]
            rows.append((latex_lhs("derivative", x), to_latex(ps)))
            if simp != ps:
                rows.append(("", to_latex(simp)))
            if self.adjoints is not None:
                rows.append(("", latex_number(self.adjoints[x], 6)))
        return latex_display(latex_aligned(rows))

    def _repr_html_(self):
        """Jupyter: the graph as SVG drawn by Graphviz's `dot` when it is installed, else the text."""
        svg = render_svg(self.dot())
        if svg is not None:
            return svg
        import html

        return f"<pre>{html.escape(self.format('unicode'))}</pre>"

    def dot(self) -> str:
        lines = ["digraph f {", "  rankdir=LR;"]
        for n in self.nodes:
            label = n.name if n.definition is None else f"{n.name} = {to_text(n.definition)}"
            if self.values is not None:
                label += f"\\n{self.values[n.name]:.6g}"
                if self.adjoints is not None:
                    label += f"\\n∂f/∂{n.name} = {self.adjoints[n.name]:.6g}"
            lines.append(f'  "{n.name}" [label="{label}"];')
        for n in self.nodes:
            for c, g in n.local.items():
                lab = to_text(g) + ("" if self.values is None else f" = {self._edge_value(n, c):.6g}")
                lines.append(f'  "{c}" -> "{n.name}" [label="{lab}"];')
        lines.append("}")
        return "\n".join(lines)

    def to_json(self):
        return {
            "expr": self.source,
            "nodes": [{"name": n.name, "definition": None if n.definition is None else to_text(n.definition),
                       "value": None if self.values is None else self.values[n.name],
                       "adjoint": None if self.adjoints is None else self.adjoints[n.name]}
                      for n in self.nodes],
            "edges": [{"from": c, "to": n.name, "local": to_text(g)} for n in self.nodes for c, g in n.local.items()],
            "path_sums": {x: to_text(e) for x, e in self.path_sums.items()},
            "simplified": {x: to_text(e) for x, e in self.simplified.items()},
        }


def render_svg(dot_source: str, timeout: float = 10.0):
    """SVG from Graphviz's `dot` (found on PATH), or None when it is missing or fails."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-Tsvg"], input=dot_source, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout
    return out[out.find("<svg"):] if done.returncode == 0 and "<svg" in out else None


def build_graph(f: E.Expr, source: str = "", at: dict | None = None) -> Graph:
    if not f.is_scalar or any(not s.is_scalar for s in _inputs(f)):
        raise ShapeError("matcalc graph draws scalar expressions of scalar variables "
                         "(declare them with scalar=x,y,z)")
    nodes: list = []
    by_key: dict = {}
    counter = [0]

    def visit(n: E.Expr) -> E.Expr:
        """The symbol standing for n (its node is created once), or n itself for constants."""
        if n in by_key:
            return by_key[n].symbol
        if isinstance(n, E.Symbol):
            node = Node(n.name, n, None)
        elif not n.symbols:
            return n
        else:
            kids = [visit(a) for a in n.args]
            definition = n.rebuild(tuple(kids))
            counter[0] += 1
            node = Node(f"v{counter[0]}", E.Symbol(f"v{counter[0]}", 1, 1), definition)
            for k in kids:
                if isinstance(k, E.Symbol) and k.name not in node.local:
                    dk = d(definition, {k.name: k})
                    node.local[k.name] = simplify(substitute(dk, {k.differential(): E.Const(1)}))
                    node.children.append(k.name)
        by_key[n] = node
        nodes.append(node)
        return node.symbol

    visit(f)
    out = nodes[-1]
    if out.definition is not None:
        out.name = "f"
        out.symbol = E.Symbol("f", 1, 1)
    # reverse accumulation of symbolic edge products: adjoint(child) += adjoint(node) · local
    adjoint: dict = {out.name: E.Const(1)}
    for n in reversed(nodes):
        a = adjoint.get(n.name)
        if a is None or n.definition is None:
            continue
        for c, g in n.local.items():
            adjoint[c] = E.add(adjoint[c], E.mul(a, g)) if c in adjoint else E.mul(a, g)
    definitions = {n.symbol: n.definition for n in nodes if n.definition is not None}

    def expand(e: E.Expr) -> E.Expr:  # node symbols → their definitions, in the variables
        for _ in range(len(nodes) + 1):
            new = substitute(e, definitions)
            if new == e:
                return e
            e = new
        return e

    inputs = [n for n in nodes if n.definition is None]
    path_sums = {n.name: expand(adjoint.get(n.name, E.Const(0))) for n in inputs}
    simplified = {x: display(simplify(e)) for x, e in path_sums.items()}
    g = Graph(source, f, nodes, path_sums, simplified)
    if at is not None:
        _numbers(g, at)
    return g


def _inputs(f):
    from .walk import symbols_in

    return symbols_in(f)


def _numbers(g: Graph, at: dict):
    from .numeric import _as2d, complete_values, evaluate, given_point, parse_value, require_finite

    from .decls import canonical_name

    env = {canonical_name(k): _as2d(parse_value(v) if isinstance(v, str) else v) for k, v in at.items()}
    env = complete_values(env, [n.name for n in g.nodes if n.definition is None], "graph: ")
    with given_point():
        for n in g.nodes:
            if n.definition is not None:
                env[n.name] = evaluate(n.definition, env)
        g.values = {n.name: float(env[n.name].reshape(-1)[0]) for n in g.nodes}
        adj = {g.nodes[-1].name: 1.0}
        for n in reversed(g.nodes):
            if n.definition is None or n.name not in adj:
                continue
            for c, local in n.local.items():
                adj[c] = adj.get(c, 0.0) + adj[n.name] * float(evaluate(local, env).reshape(-1)[0])
    g.adjoints = {n.name: adj.get(n.name, 0.0) for n in g.nodes}
    require_finite(g.values)
    require_finite({f"df/d{k}": v for k, v in g.adjoints.items()})


def graph(expr: str, decls: Decls | None = None, at: dict | None = None, **kw) -> Graph:
    """The computational graph of a scalar `expr` of scalar variables."""
    decls = Decls.from_arguments(decls, kw)
    return build_graph(_parse(expr, decls), expr, at)
