// convscope's web page: analyse the description as it is typed, with what-if settings
// (input size, batch, dtype, optimizer), training memory, a comparison and a shareable link.
// Every text that comes from the description (layer names, types, formulas, messages)
// reaches the page through textContent or attributes, never as HTML; the diagram is SVG
// made by the server, parsed as XML and stripped of anything active before it is shown.
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;  // the last good analysis
let timer = null;
let latest = 0;  // number of the latest analysis asked for (older answers are dropped)
const editor = new Editor($("text"), $("highlight"), $("gutter"));
const diagram = new Zoom($("diagram"));

// An element with text (never parsed as HTML) and attributes.
function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function fmt(n) { return Number(n).toLocaleString("en-US"); }

// Bytes as convscope prints them (KB = 1024 B, two decimals).
function humanBytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = Number(n), i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) { value /= 1024; i++; }
  return `${value.toFixed(2)} ${units[i]}`;
}

// The what-if settings and the texts: what the API is asked and what a link holds.
function settings() {
  const batch = Number($("batch").value);
  return {input: $("input").value.trim(),
          batch: Number.isInteger(batch) && batch >= 1 ? Math.min(batch, 1000000) : 1,
          dtype: $("dtype").value, optimizer: $("optimizer").value};
}

function state() {
  const s = {text: $("text").value, ...settings()};
  if ($("other").value) s.other = $("other").value;
  return s;
}

function field(rf) {
  return rf.global ? "global" : (rf.size || []).join("x");
}

// The module a layer belongs to: its name up to the first '.' or '/' (layer1.0.conv1 ->
// layer1, inception3a/1x1 -> inception3a); null for a name without one.
function blockOf(name) {
  const cut = String(name).search(/[./]/);
  return cut > 0 ? String(name).slice(0, cut) : null;
}

const collapsed = new Set();  // the blocks whose rows are folded (kept across analyses)

function setFolded(key, folded) {
  if (folded) collapsed.add(key); else collapsed.delete(key);
  for (const tr of $("table").querySelectorAll("tr[data-in-block]"))
    if (tr.dataset.inBlock === key) tr.hidden = folded;
  for (const b of $("table").querySelectorAll("tr.block button"))
    if (b.dataset.block === key) {
      b.setAttribute("aria-expanded", String(!folded));
      b.textContent = `${folded ? "\u25b8" : "\u25be"} ${key}`;
    }
}

// A block's own row: its name as a fold button, its layer count and its sums.
function blockRow(key, members) {
  const sum = (f) => members.reduce((a, l) => a + Number(l[f]), 0);
  const button = el("button", "", {type: "button", "data-block": key});
  button.addEventListener("click", () => setFolded(key, !collapsed.has(key)));
  const tr = el("tr", null, {class: "block"});
  tr.append(el("td"), el("td", `${members.length} layers`), el("td", fmt(sum("params")),
            {class: "num"}), el("td", "sum of its layers"), el("td", fmt(sum("macs")),
            {class: "num"}), el("td", field(members[members.length - 1].receptive_field)));
  tr.firstChild.appendChild(button);
  return tr;
}

function layerRow(l, key) {
  const tr = el("tr", null, {class: "layer", "data-index": l.index});
  if (key) tr.setAttribute("data-in-block", key);
  tr.append(el("td", `${l.name} (${l.type})`), el("td", l.output_shape.join("x")),
            el("td", fmt(l.params), {class: "num"}), el("td", l.params ? l.formula : ""),
            el("td", fmt(l.macs), {class: "num"}), el("td", field(l.receptive_field)));
  return tr;
}

// The layer table; consecutive layers of one module (two or more) sit under a row that
// folds them.
function table(report) {
  const head = el("tr");
  for (const h of ["Layer (type)", "Output Shape", "Param #", "Formula", "MACs", "RF"])
    head.appendChild(el("th", h));
  const rows = [], layers = report.layers;
  for (let i = 0; i < layers.length;) {
    const key = blockOf(layers[i].name);
    let j = i + 1;
    while (key && j < layers.length && blockOf(layers[j].name) === key) j++;
    const block = key && j - i >= 2 ? key : null;
    if (block) rows.push(blockRow(block, layers.slice(i, j)));
    for (const l of layers.slice(i, j)) rows.push(layerRow(l, block));
    i = j;
  }
  $("table").replaceChildren(head, ...rows);
  for (const b of $("table").querySelectorAll("tr.block button"))
    setFolded(b.dataset.block, collapsed.has(b.dataset.block));
}

const MEMORY_ROWS = [["param_bytes", "weights (parameters)"], ["buffer_bytes", "buffers (BN statistics)"],
                     ["gradient_bytes", "gradients"], ["optimizer_bytes", "optimizer state"],
                     ["activation_bytes", "saved activations"],
                     ["transient_bytes", "transient (2 x the largest output)"],
                     ["peak_bytes", "peak (estimate: the sum)"]];

function memoryTable(m) {
  if (!m || m.error) {
    $("memory").replaceChildren(el("caption", `training memory: ${m ? m.error : "-"}`));
    return;
  }
  const rows = MEMORY_ROWS.map(([key, label]) => {
    const tr = el("tr", null, {"data-key": key});
    tr.append(el("td", label), el("td", humanBytes(m[key]), {class: "num"}),
              el("td", `${fmt(m[key])} B`, {class: "num bytes", "data-bytes": m[key]}));
    return tr;
  });
  const caption = el("caption", `Training memory: batch ${m.batch}, ${m.dtype}, ${m.optimizer} ` +
                     "(KB = 1024 B)");
  $("memory").replaceChildren(caption, ...rows);
}

// The server's SVG as a node of this page, without scripts, event handlers, styles,
// foreign content or links to elsewhere (the server escapes names; this is a second wall).
const ACTIVE = new Set(["script", "foreignobject", "iframe", "object", "embed", "style",
                        "a", "image", "animate", "set", "animatemotion", "animatetransform"]);

function safeSvg(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (!root || root.localName !== "svg" || doc.getElementsByTagName("parsererror").length)
    return el("p", "(the diagram could not be shown)");
  for (const e of [root, ...root.querySelectorAll("*")]) {
    if (ACTIVE.has(e.localName.toLowerCase())) { e.remove(); continue; }
    for (const a of [...e.attributes]) {
      const name = a.name.toLowerCase();
      if (name.startsWith("on") || name === "style" || name.endsWith("href"))
        e.removeAttribute(a.name);
    }
  }
  return document.importNode(root, true);
}

function showError(message, line) {
  $("error").textContent = message + (line ? `  (line ${line})` : "");
  editor.mark(line || null, message);
  document.querySelector(".results").classList.add("stale");
}

async function post(url, data) {
  return fetch(url, {method: "POST", headers: {"content-type": "application/json"},
                     body: JSON.stringify(data)});
}

// The JSON of an answer, or an error object when the answer is not JSON.
async function answer(res) {
  try {
    return await res.json();
  } catch (e) {
    return {ok: false, error: {message: `the server answered ${res.status} without JSON`}};
  }
}

async function analyze() {
  const mine = ++latest;
  let data;
  try {
    data = await answer(await post("/api/analyze", {text: $("text").value, ...settings()}));
  } catch (e) {
    data = {ok: false, error: {message: `the server cannot be reached (${e})`}};
  }
  if (mine !== latest) return;  // the text changed meanwhile
  if (!data.ok) {
    showError(data.error.message, data.error.line);
    return;
  }
  $("error").textContent = "";
  editor.mark(null);
  document.querySelector(".results").classList.remove("stale");
  current = data;
  $("totals").textContent = data.totals;
  memoryTable(data.memory);
  $("lint").replaceChildren(...(data.lint || []).map((text) => el("li", text)));
  diagram.show(safeSvg(data.svg));
  table(data.report);
  document.querySelectorAll("[data-index]").forEach((e) =>
    e.addEventListener("click", () => select(Number(e.dataset.index))));
  select(data.report.layers.length > 1 ? 1 : 0);
}

async function select(index) {
  if (!current || !Number.isInteger(index) || !current.report.layers[index]) return;
  const layer = current.report.layers[index];
  document.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
  document.querySelectorAll(`[data-index='${index}']`).forEach((e) =>
    e.classList.add("selected"));
  RF.show($("explorer"), current.report, layer);
  const data = await answer(await post("/api/explain", {text: $("text").value,
                                                        layer: layer.name,
                                                        input: $("input").value.trim()}));
  $("explanation").textContent = data.ok ? data.text : data.error.message;
}

// ------------------------------------------------------------------ the link ---
let linked = 0;
async function updateLink() {
  const mine = ++linked;
  const fragment = await Share.encode(state());
  if (mine === linked) history.replaceState(null, "", "#" + fragment);
}

async function openLink() {
  const s = await Share.decode(location.hash);
  if (!s) return false;
  editor.set(s.text);
  $("input").value = s.input || "";
  $("batch").value = s.batch || 1;
  for (const key of ["dtype", "optimizer"])
    if (s[key] && [...$(key).options].some((o) => o.value === s[key])) $(key).value = s[key];
  if (s.other) { $("compare").open = true; comparison.editor.set(s.other); }
  return true;
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => { analyze(); comparison.run(); updateLink(); }, 250);
  editor.mark(null);
}

async function loadZoo() {
  const names = await (await fetch("/api/zoo")).json();
  for (const {id} of names) {
    $("zoo").appendChild(el("option", id, {value: id}));
    $("zoo2").appendChild(el("option", id, {value: id}));
  }
}

async function zooText(name) {
  const data = await answer(await fetch(`/api/zoo/${encodeURIComponent(name)}`));
  return typeof data.text === "string" ? data.text : null;
}

async function pickTemplate(select, target) {
  if (!select.value) return;
  const text = await zooText(select.value);
  if (text === null) return;
  target.set(text);
  schedule();
}

async function download(kind) {
  const res = await post(`/api/download/${encodeURIComponent(kind)}`,
                         {text: $("text").value, input: $("input").value.trim()});
  if (!res.ok) {
    const data = await answer(res);
    $("error").textContent = data.error ? data.error.message : `download failed (${res.status})`;
    return;
  }
  const blob = await res.blob();
  const name = (res.headers.get("content-disposition") || "").split("filename=")[1] ||
    `model.${kind}`;
  const link = el("a", null, {href: URL.createObjectURL(blob), download: name});
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

async function copyLink() {
  await updateLink();
  try {
    await navigator.clipboard.writeText(location.href);
    $("share-note").textContent = "link copied (it holds the description; nothing is uploaded)";
  } catch (e) {
    $("share-note").textContent = "copy the address bar: it holds the description";
  }
}

const comparison = new Comparison({editor: new Editor($("other"), $("highlight2"), $("gutter2")),
                                   error: $("compare-error"), out: $("comparison"),
                                   request: () => ({text: $("text").value, ...settings()})});

for (const id of ["text", "input", "batch", "dtype", "optimizer", "other"])
  $(id).addEventListener(id === "dtype" || id === "optimizer" ? "change" : "input", schedule);
$("zoo").addEventListener("change", () => pickTemplate($("zoo"), editor));
$("zoo2").addEventListener("change", () => pickTemplate($("zoo2"), comparison.editor));
$("copy-link").addEventListener("click", copyLink);
window.addEventListener("hashchange", async () => {
  if (await openLink()) { analyze(); comparison.run(); }
});
document.querySelectorAll(".downloads button").forEach((b) =>
  b.addEventListener("click", () => download(b.dataset.kind)));
loadZoo();
openLink().then(() => { analyze(); comparison.run(); });
