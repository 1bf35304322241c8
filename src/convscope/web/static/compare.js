// convscope's web page: the description against a second one, side by side, with the
// ratios of `convscope compare` (second / first) in total and per stage (the runs of
// layers at one spatial size; the server computes them: teach/compare.py, analysis/stages.py).
// Names come from the descriptions and are shown as text only.
"use strict";

class Comparison {
  // parts: {editor, error, out, request: () => the first description and the settings}
  constructor(parts) {
    Object.assign(this, parts);
    this.latest = 0;
  }

  static cell(tag, text, attrs) {
    const e = document.createElement(tag);
    e.textContent = text === null || text === undefined ? "-" : String(text);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  static row(tag, cells) {
    const tr = document.createElement("tr");
    tr.append(...cells.map((c) => Array.isArray(c) ? Comparison.cell(tag, ...c)
                                                   : Comparison.cell(tag, c)));
    return tr;
  }

  async run() {
    const other = this.editor.textarea.value;
    const mine = ++this.latest;
    if (!other.trim()) {
      this.out.replaceChildren();
      this.error.textContent = "";
      this.editor.mark(null);
      return;
    }
    let data;
    try {
      const res = await fetch("/api/compare", {
        method: "POST", headers: {"content-type": "application/json"},
        body: JSON.stringify({...this.request(), other})});
      data = await res.json();
    } catch (e) {
      data = {ok: false, error: {message: `the comparison failed (${e})`}};
    }
    if (mine !== this.latest) return;
    if (!data.ok) {
      const second = data.error.message.startsWith("the second description");
      this.error.textContent = data.error.message;
      this.editor.mark(second ? data.error.line : null, data.error.message);
      return;
    }
    this.error.textContent = "";
    this.editor.mark(null);
    this.show(data);
  }

  show(data) {
    const [a, b] = data.labels;
    const totals = document.createElement("table");
    totals.className = "compare-totals";
    totals.append(Comparison.cell("caption", `${b} against ${a} (ratio = ${b} / ${a})`),
                  Comparison.row("th", ["", a, b, "ratio"]));
    for (const r of data.rows) {
      const tr = Comparison.row("td", [r.name, r.cells[0], r.cells[1],
                                       [r.ratio_text, {class: "num ratio"}]]);
      tr.dataset.metric = r.name;
      if (r.ratio !== null) tr.lastChild.dataset.ratio = String(r.ratio);
      totals.appendChild(tr);
    }
    const stages = document.createElement("table");
    stages.className = "compare-stages";
    stages.append(Comparison.cell("caption", "per stage (layers at one spatial size)"),
                  Comparison.row("th", ["stage", `${a}: layers`, "trainable params",
                                        `${b}: layers`, "trainable params",
                                        "params ratio", "MACs ratio"]));
    for (const s of data.stages) {
      const side = (x) => x ? [`${x.first} .. ${x.last} (${x.layers})`,
                               [Number(x.trainable_params).toLocaleString("en-US"), {class: "num"}]]
                            : ["-", "-"];
      const tr = Comparison.row("td", [s.name, ...side(s.sides[0]), ...side(s.sides[1]),
                                       [s.ratio_text.trainable_params, {class: "num ratio"}],
                                       [s.ratio_text.macs, {class: "num"}]]);
      tr.dataset.stage = s.name;
      const r = s.ratios.trainable_params;
      if (r !== null) tr.children[5].dataset.ratio = String(r);
      stages.appendChild(tr);
    }
    this.out.replaceChildren(totals, stages);
  }
}
