// The page: reads the fields, asks the JSON API, renders the answers with KaTeX.
// No mathematics here: every formula comes from the server. Text from the server is
// inserted with textContent (never as HTML).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const FIELDS = ["expr", "wrt", "scalar", "vector", "matrix", "symmetric", "dim", "at", "claim",
                  "bp-data", "bp-lr", "bp-steps", "bp-order", "bp-optimizer", "backend"];
  const PARAM = {expr: "e", wrt: "w", scalar: "s", vector: "v", matrix: "m", symmetric: "sym", dim: "dim",
                 at: "at", claim: "claim", "bp-data": "data", "bp-lr": "lr", "bp-steps": "steps",
                 "bp-order": "order", "bp-optimizer": "opt", backend: "backend"};
  const DEFAULTS = {"bp-lr": "0.1", "bp-steps": "1", "bp-optimizer": "sgd", backend: "numpy"};
  const state = {lang: "en", tab: "steps", diff: null, hessian: null, seq: {}, controllers: {}};
  let timer = null;

  // ------------------------------------------------------------ words
  function t(key) {
    const table = window.WORDS[state.lang] || {};
    return key in table ? table[key] : (window.WORDS.en[key] !== undefined ? window.WORDS.en[key] : key);
  }
  function translateRule(rule) {
    const rules = (window.RULES || {})[state.lang];
    if (!rules || !rule) return rule || "";
    let out = rule;
    for (const [en, tr] of rules) out = out.replace(new RegExp(en, "g"), tr);
    return out;
  }
  function applyWords() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.title = t("title");
    renderExamples();
  }

  // ------------------------------------------------------------ rendering helpers
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function math(latex, display) {
    const span = el(display ? "div" : "span", display ? "math display" : "math");
    try {
      window.katex.render(latex, span, {displayMode: !!display, throwOnError: false, strict: "ignore", trust: false});
    } catch (err) {
      span.textContent = latex;
    }
    span.dataset.latex = latex;
    return span;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function showError(target, body) {
    clear(target);
    const box = el("div", "error");
    const message = (body && body.error) || String(body);
    const lines = message.split("\n");
    const caret = body && body.caret;
    // the message without its caret lines, then the text with the offending character marked
    const keep = caret ? lines.filter((l) => !(l.startsWith("  ") && (l.trim() === "^" || l.slice(2) === caret.text))) : lines;
    box.appendChild(el("div", "error-message", keep.join("\n")));
    if (caret) {
      const pre = el("pre", "caret");
      const text = caret.text, i = Math.min(caret.column, text.length);
      pre.appendChild(document.createTextNode(text.slice(0, i)));
      pre.appendChild(el("mark", null, text.slice(i, i + 1) || " "));
      pre.appendChild(document.createTextNode(text.slice(i + 1)));
      box.appendChild(pre);
    }
    target.appendChild(box);
  }
  function formatNumber(v) {
    if (Array.isArray(v)) return "[" + v.map(formatNumber).join(", ") + "]";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
    return String(v);
  }

  // ------------------------------------------------------------ requests
  function decls() {
    const out = {};
    for (const k of ["scalar", "vector", "matrix", "symmetric", "dim"]) {
      const v = $(k).value.trim();
      if (v) out[k] = v;
    }
    return out;
  }
  function base() {
    const out = Object.assign({expr: $("expr").value.trim()}, decls());
    const w = $("wrt").value.trim();
    if (w) out.wrt = w;
    return out;
  }
  // One request per kind at a time: a newer one aborts the older, and a late answer is dropped.
  async function ask(kind, path, body) {
    if (state.controllers[kind]) state.controllers[kind].abort();
    const controller = new AbortController();
    state.controllers[kind] = controller;
    const seq = (state.seq[kind] = (state.seq[kind] || 0) + 1);
    let response, data;
    try {
      response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify(body), signal: controller.signal});
      data = await response.json();
    } catch (err) {
      if (err.name === "AbortError") return null;
      return {stale: seq !== state.seq[kind], ok: false, data: {error: String(err)}};
    }
    return {stale: seq !== state.seq[kind], ok: response.ok, data};
  }

  // ------------------------------------------------------------ the main result
  function kindWord(kind) { return t(kind) || kind; }
  function renderResult(data) {
    const box = clear($("result"));
    const items = Array.isArray(data) ? data : [data];
    items.forEach((item, index) => {
      const block = el("div", "result-item");
      block.appendChild(el("div", "label", kindWord(item.kind) + (item.wrt ? " · " + item.wrt : "")));
      if (item.kind === "differential") {
        block.appendChild(math(item.differential_latex || "", true));
      } else {
        block.appendChild(math(item.lhs_latex + " = " + item.latex, true));
      }
      if (item.matrix_form_latex) block.appendChild(math("= " + item.matrix_form_latex, true));
      if (item.kind !== "differential" && item.differential_latex && index === items.length - 1) {  // df once
        const d = el("div", "differential");
        d.appendChild(el("span", "label", t("differential_line") + ": "));
        d.appendChild(math(item.differential_latex, false));
        block.appendChild(d);
      }
      if (item.check) {
        const cls = item.check.max_error === null ? "muted" : (item.check.passed ? "pass" : "fail");
        const word = item.check.max_error === null ? t("selfcheck_skip") : (item.check.passed ? t("selfcheck_pass") : t("selfcheck_fail"));
        const line = el("div", "selfcheck " + cls, (item.check.passed ? "✓ " : "✗ ") + word);
        line.title = item.check.summary;
        block.appendChild(line);
      }
      box.appendChild(block);
    });
    const where = items[0].bindings || [];  // a large answer's shared subexpressions, named once
    if (where.length) {
      const block = el("div", "result-item where");
      block.appendChild(el("div", "label", t("where_line")));
      for (const b of where) block.appendChild(math(b.name_latex + " = " + b.latex, true));
      box.appendChild(block);
    }
    const notes = items[0].notes || [];
    if (notes.length) {
      const ul = el("ul", "notes");
      for (const n of notes) ul.appendChild(el("li", null, n));
      box.appendChild(ul);
    }
  }
  function renderSteps(data) {
    const box = clear($("steps"));
    const items = Array.isArray(data) ? data : [data];
    for (const item of items) {
      if (items.length > 1) box.appendChild(el("h3", null, item.wrt));
      if (item.steps_error) { box.appendChild(el("p", "muted", item.steps_error)); continue; }
      if (!item.steps || !item.steps.length) { box.appendChild(el("p", "muted", t("no_steps"))); continue; }
      const ol = el("ol", "steps");
      for (const s of item.steps) {
        const li = el("li", "step");
        li.appendChild(math(s.latex, true));
        if (s.rule) li.appendChild(el("div", "rule", translateRule(s.rule)));
        ol.appendChild(li);
      }
      box.appendChild(ol);
    }
  }
  function latexSource() {
    const parts = [];
    const d = state.diff;
    if (d) {
      for (const item of (Array.isArray(d) ? d : [d])) {
        parts.push(item.kind === "differential" ? item.differential_latex : item.lhs_latex + " = " + item.latex);
        if (item.kind !== "differential") parts.push(item.differential_latex);
        if (item.steps_latex) parts.push(item.steps_latex);
        for (const b of item.bindings || []) parts.push(b.name_latex + " = " + b.latex);
      }
    }
    if (state.hessian && state.hessian.latex_all) parts.push("% " + t("hessian") + "\n" + state.hessian.latex_all);
    $("latex-text").textContent = parts.join("\n\n");
  }

  async function update() {
    writeURL();
    const body = base();
    if (!body.expr) {
      clear($("result")); clear($("steps")); $("error").hidden = true; $("empty").hidden = false;
      state.diff = null; return;
    }
    $("empty").hidden = true;
    document.body.classList.add("busy");
    const answer = await ask("diff", "api/diff", Object.assign({steps: true}, body));
    document.body.classList.remove("busy");
    if (!answer || answer.stale) return;
    if (!answer.ok) {
      $("error").hidden = false;
      showError($("error"), answer.data);
      state.diff = null;
      clear($("result")); clear($("steps"));
    } else {
      $("error").hidden = true;
      state.diff = answer.data;
      renderResult(answer.data);
      renderSteps(answer.data);
    }
    latexSource();
    updateTab();
  }

  // ------------------------------------------------------------ tabs
  async function updateTab() {
    const body = base();
    if (!body.expr) return;
    const tab = state.tab;
    if (tab === "hessian") {
      const a = await ask("hessian", "api/hessian", Object.assign({steps: true}, body));
      if (!a || a.stale) return;
      const box = clear($("hessian"));
      if (!a.ok) { showError(box, a.data); state.hessian = null; return; }
      state.hessian = a.data;
      if (a.data.latex_all) {  // one block: H = …; several (or a matrix form): an aligned block
        const tex = a.data.latex_all, one = a.data.blocks && a.data.blocks.length === 1;
        box.appendChild(math(one && !tex.includes("\\begin{") ? "H = " + tex : tex, true));
      }
      if (a.data.check) box.appendChild(el("div", "selfcheck " + (a.data.check.passed ? "pass" : "fail"), a.data.check.summary));
      for (const d of a.data.steps || []) {
        const ol = el("ol", "steps");
        for (const s of d.steps) {
          const li = el("li", "step");
          li.appendChild(math(s.latex, true));
          if (s.rule) li.appendChild(el("div", "rule", translateRule(s.rule)));
          ol.appendChild(li);
        }
        box.appendChild(ol);
      }
      latexSource();
    } else if (tab === "check") {
      const claim = $("claim").value.trim();
      const box = clear($("verdict"));
      if (!claim) return;
      if (!body.wrt) { body.wrt = state.diff && !Array.isArray(state.diff) ? state.diff.wrt : ""; }
      const a = await ask("check", "api/check", Object.assign({claim}, body));
      if (!a || a.stale) return;
      if (!a.ok) { showError(box, a.data); return; }
      renderVerdict(box, a.data);
    } else if (tab === "backprop") {
      const req = Object.assign({}, body);
      const at = $("at").value.trim(); if (at) req.at = at;
      const data = $("bp-data").value.trim(); if (data) req.data = data;
      const lr = parseFloat($("bp-lr").value); if (!isNaN(lr)) req.lr = lr;
      const n = parseInt($("bp-steps").value, 10); if (!isNaN(n)) req.steps = n;
      const order = $("bp-order").value.trim(); if (order) req.order = order;
      req.optimizer = $("bp-optimizer").value;
      if ($("bp-init").checked) req.init = "zeros";
      const a = await ask("backprop", "api/backprop", req);
      if (!a || a.stale) return;
      const box = clear($("backprop"));
      if (!a.ok) { showError(box, a.data); return; }
      renderBackprop(box, a.data);
    } else if (tab === "graph") {
      const req = {expr: body.expr};
      for (const k of ["scalar", "vector", "matrix", "symmetric", "dim"]) if (body[k]) req[k] = body[k];
      const at = $("at").value.trim(); if (at) req.at = at;
      const a = await ask("graph", "api/graph", req);
      if (!a || a.stale) return;
      const box = clear($("graph"));
      if (!a.ok) { showError(box, a.data); return; }
      renderGraph(box, a.data);
    } else if (tab === "code") {
      const a = await ask("code", "api/codegen", Object.assign({backend: $("backend").value}, body));
      if (!a || a.stale) return;
      $("code-text").textContent = a.ok ? a.data.code : (a.data.error || "");
    } else if (tab === "latex") {
      latexSource();
    }
  }
  function selectTab(name) {
    state.tab = name;
    document.querySelectorAll("#tabs [role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
    document.querySelectorAll(".panel").forEach((p) => { p.hidden = p.id !== "panel-" + name; });
    writeURL();
    updateTab();
  }

  function renderVerdict(box, r) {
    const ok = r.verdict === "correct";
    box.appendChild(el("div", "verdict " + (ok ? "pass" : "fail"), (ok ? "✓ " : "✗ ") + t(ok ? "verdict_correct" : "verdict_wrong")));
    const dl = el("dl");
    const add = (k, v, cls) => { if (v === null || v === undefined || v === "") return; dl.appendChild(el("dt", null, t(k))); dl.appendChild(el("dd", cls, v)); };
    if (r.diagnosis) add("diagnosis", t("diag_" + r.diagnosis) + " (" + r.diagnosis + ")");
    add("reason", r.reason);
    if (!ok) add("answer", r.answer_unicode || r.answer, "formula");
    box.appendChild(dl);
    const ce = r.counterexample;
    if (ce) {
      box.appendChild(el("h3", null, t("counterexample")));
      const table = el("table", "numbers");
      for (const [k, v] of Object.entries(ce.values)) {
        const tr = el("tr"); tr.appendChild(el("th", null, k)); tr.appendChild(el("td", null, formatNumber(v))); table.appendChild(tr);
      }
      for (const [k, v] of [["claimed", ce.claimed], ["correct_value", ce.correct], ["relative_error", ce.relative_error]]) {
        const tr = el("tr"); tr.appendChild(el("th", null, t(k))); tr.appendChild(el("td", null, formatNumber(v))); table.appendChild(tr);
      }
      box.appendChild(table);
    }
    for (const n of r.notes || []) box.appendChild(el("p", "muted", n));
  }

  function renderBackprop(box, d) {
    if (d.latex) box.appendChild(math(d.latex, true));
    if (d.check) box.appendChild(el("div", "selfcheck " + (d.check.passed ? "pass" : "fail"), d.check.summary));
    const numbers = d.numbers;
    if (!numbers) return;
    const block = (title, values, prefix) => {
      box.appendChild(el("h4", null, title));
      const table = el("table", "numbers");
      for (const [k, v] of Object.entries(values)) {
        const tr = el("tr"); tr.appendChild(el("th", null, (prefix || "") + k)); tr.appendChild(el("td", null, formatNumber(v))); table.appendChild(tr);
      }
      box.appendChild(table);
    };
    const pass = (p) => {
      block(t("forward"), Object.assign({}, p.forward, {L: p.loss}));
      block(t("backward"), p.backward);
      block(t("gradients"), p.gradients, "∂L/∂");
    };
    box.appendChild(el("h3", null, t("numbers")));
    if (numbers.pass) { pass(numbers.pass); return; }
    if (numbers.optimizer) box.appendChild(el("p", "muted", numbers.optimizer.description));
    for (const st of numbers.steps || []) {
      box.appendChild(el("h3", null, (st.title || "") + " " + t("step_n") + " " + st.step + (st.batch ? " (" + st.batch + ")" : "")));
      if (st.forward) pass(st); else block(t("gradients"), st.gradients, "∂L/∂");
      block(t("updated"), st.updated);
    }
  }

  // A layered drawing: inputs on the left, f on the right; each edge carries ∂node/∂child.
  function renderGraph(box, g) {
    const NS = "http://www.w3.org/2000/svg";
    const depth = {};
    const children = {};
    for (const e of g.edges) (children[e.to] = children[e.to] || []).push(e.from);
    const order = g.nodes.map((n) => n.name);
    for (const name of order) depth[name] = Math.max(0, ...(children[name] || []).map((c) => depth[c] + 1));
    const columns = {};
    for (const name of order) (columns[depth[name]] = columns[depth[name]] || []).push(name);
    const colCount = Math.max(...Object.keys(columns).map(Number)) + 1;
    const rows = Math.max(...Object.values(columns).map((c) => c.length));
    const W = 190, H = 92, boxW = 150, boxH = 54;
    const width = colCount * W + 40, height = rows * H + 40;
    const pos = {};
    for (const [c, names] of Object.entries(columns)) {
      names.forEach((name, i) => {
        const offset = (rows - names.length) * H / 2;
        pos[name] = {x: 20 + Number(c) * W, y: 20 + offset + i * H};
      });
    }
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", width);
    svg.setAttribute("class", "graph");
    svg.setAttribute("role", "img");
    const defs = document.createElementNS(NS, "defs");
    defs.innerHTML = '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#667"/></marker>';
    svg.appendChild(defs);
    const text = (x, y, s, cls) => { const e = document.createElementNS(NS, "text"); e.setAttribute("x", x); e.setAttribute("y", y); e.setAttribute("class", cls || ""); e.textContent = s; return e; };
    for (const e of g.edges) {
      const a = pos[e.from], b = pos[e.to];
      const x1 = a.x + boxW, y1 = a.y + boxH / 2, x2 = b.x, y2 = b.y + boxH / 2;
      const line = document.createElementNS(NS, "line");
      line.setAttribute("x1", x1); line.setAttribute("y1", y1); line.setAttribute("x2", x2); line.setAttribute("y2", y2);
      line.setAttribute("marker-end", "url(#arrow)");
      line.setAttribute("class", "edge");
      svg.appendChild(line);
      svg.appendChild(text((x1 + x2) / 2, (y1 + y2) / 2 - 4, e.local, "edge-label"));
    }
    for (const n of g.nodes) {
      const p = pos[n.name];
      const rect = document.createElementNS(NS, "rect");
      rect.setAttribute("x", p.x); rect.setAttribute("y", p.y); rect.setAttribute("width", boxW); rect.setAttribute("height", boxH);
      rect.setAttribute("rx", 8);
      rect.setAttribute("class", n.definition === null ? "node input" : (n.name === "f" ? "node output" : "node"));
      svg.appendChild(rect);
      svg.appendChild(text(p.x + 8, p.y + 18, n.definition === null ? n.name : n.name + " = " + n.definition, "node-label"));
      if (n.value !== null && n.value !== undefined) {
        svg.appendChild(text(p.x + 8, p.y + 34, "= " + formatNumber(n.value), "node-value"));
        svg.appendChild(text(p.x + 8, p.y + 48, "∂f/∂" + n.name + " = " + formatNumber(n.adjoint), "node-adjoint"));
      }
    }
    const wrap = el("div", "graph-wrap");
    wrap.appendChild(svg);
    box.appendChild(wrap);
    box.appendChild(el("h4", null, t("path_sums")));
    const table = el("table", "numbers");
    for (const [x, s] of Object.entries(g.path_sums)) {
      const tr = el("tr");
      tr.appendChild(el("th", null, "∂f/∂" + x));
      tr.appendChild(el("td", "formula", s + (g.simplified[x] !== s ? "  =  " + g.simplified[x] : "")));
      table.appendChild(tr);
    }
    box.appendChild(table);
  }

  // ------------------------------------------------------------ the URL is the state
  function writeURL() {
    const q = new URLSearchParams();
    for (const f of FIELDS) {
      const v = $(f).value.trim();
      if (v && v !== DEFAULTS[f]) q.set(PARAM[f], v);
    }
    if ($("bp-init").checked) q.set("init", "zeros");
    if (state.tab !== "steps") q.set("tab", state.tab);
    if (state.lang !== "en") q.set("lang", state.lang);
    const s = q.toString();
    history.replaceState(null, "", s ? "?" + s : location.pathname);
  }
  function readURL() {
    const q = new URLSearchParams(location.search);
    for (const f of FIELDS) $(f).value = q.get(PARAM[f]) || DEFAULTS[f] || "";
    $("bp-init").checked = q.get("init") === "zeros";
    if (["scalar", "vector", "matrix", "symmetric", "dim", "at"].some((k) => $(k).value)) $("decls-box").open = true;
    state.lang = q.get("lang") === "ru" ? "ru" : (q.get("lang") ? "en" : ((navigator.language || "").startsWith("ru") ? "ru" : "en"));
    const tab = q.get("tab");
    state.tab = document.querySelector(`[data-tab="${CSS.escape(tab || "")}"]`) ? tab : "steps";
  }

  // ------------------------------------------------------------ examples
  let examples = [];
  function renderExamples() {
    const box = clear($("example-list"));
    const groups = {};
    for (const ex of examples) (groups[ex.group] = groups[ex.group] || []).push(ex);
    for (const [g, list] of Object.entries(groups)) {
      const div = el("div", "example-group");
      div.appendChild(el("h3", null, t("group_" + g)));
      for (const ex of list) {
        const b = el("button", "example", ex.title[state.lang] || ex.title.en);
        b.type = "button";
        b.title = ex.expr;
        b.addEventListener("click", () => loadExample(ex));
        div.appendChild(b);
      }
      box.appendChild(div);
    }
  }
  function loadExample(ex) {
    $("expr").value = ex.expr;
    $("wrt").value = ex.wrt || "";
    const d = ex.decls || {};
    for (const k of ["scalar", "vector", "matrix", "symmetric", "dim"]) $(k).value = d[k] || "";
    $("at").value = ex.at || "";
    $("claim").value = ex.claim || "";
    const bp = ex.bp || {};
    $("bp-data").value = bp.data || ""; $("bp-lr").value = bp.lr !== undefined ? bp.lr : "0.1";
    $("bp-steps").value = bp.steps || "1"; $("bp-order").value = bp.order || "";
    $("bp-init").checked = bp.init === "zeros";
    if (Object.keys(d).length || ex.at) $("decls-box").open = true;
    state.tab = ex.tab || "steps";
    selectTab(state.tab);
    update();
    window.scrollTo({top: 0, behavior: "smooth"});
  }

  // ------------------------------------------------------------ copy buttons
  async function copyText(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const area = el("textarea"); area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
      area.remove();
    }
    const old = button.textContent;
    button.textContent = t("copied");
    setTimeout(() => { button.textContent = old; }, 1200);
  }

  // ------------------------------------------------------------ wiring
  function schedule() { clearTimeout(timer); timer = setTimeout(update, 300); }
  function init() {
    readURL();
    applyWords();
    selectTab(state.tab);
    for (const id of ["expr", "wrt", "scalar", "vector", "matrix", "symmetric", "dim"]) $(id).addEventListener("input", schedule);
    for (const id of ["at", "claim", "bp-data", "bp-lr", "bp-steps", "bp-order"]) {
      $(id).addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { writeURL(); updateTab(); }, 300); });
    }
    for (const id of ["bp-optimizer", "bp-init", "backend"]) $(id).addEventListener("change", () => { writeURL(); updateTab(); });
    document.querySelectorAll("#tabs [role=tab]").forEach((b) => b.addEventListener("click", () => selectTab(b.dataset.tab)));
    document.querySelectorAll("button.copy").forEach((b) => b.addEventListener("click", () => copyText($(b.dataset.copy).textContent, b)));
    $("share").addEventListener("click", (ev) => { writeURL(); copyText(location.href, ev.currentTarget); });
    $("lang").addEventListener("click", () => {
      state.lang = state.lang === "en" ? "ru" : "en";
      applyWords(); writeURL();
      if (state.diff) { renderResult(state.diff); renderSteps(state.diff); }
      updateTab();
    });
    fetch("static/examples.json").then((r) => r.json()).then((list) => { examples = list; renderExamples(); });
    fetch("api/health").then((r) => r.json()).then((h) => { $("version").textContent = "v" + h.version; });
    update();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
