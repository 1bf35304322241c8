// convscope's web page: analyse the description as it is typed.
// Every text that comes from the description (layer names, types, formulas, messages)
// reaches the page through textContent or attributes, never as HTML; the diagram is SVG
// made by the server, parsed as XML and stripped of anything active before it is shown.
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;  // the last good analysis
let timer = null;
let latest = 0;  // number of the latest analysis asked for (older answers are dropped)

// An element with text (never parsed as HTML) and attributes.
function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function gutter(badLine) {
  const lines = $("text").value.split("\n").length;
  const parts = [];
  for (let i = 1; i <= lines; i++) {
    if (i > 1) parts.push(document.createTextNode("\n"));
    parts.push(i === badLine ? el("span", i, {class: "bad"}) : document.createTextNode(i));
  }
  $("gutter").replaceChildren(...parts);
}

function fmt(n) { return Number(n).toLocaleString("en-US"); }

function field(rf) {
  return rf.global ? "global" : (rf.size || []).join("x");
}

function table(report) {
  const head = el("tr");
  for (const h of ["Layer (type)", "Output Shape", "Param #", "Formula", "MACs", "RF"])
    head.appendChild(el("th", h));
  const rows = report.layers.map((l) => {
    const tr = el("tr", null, {class: "layer", "data-index": l.index});
    tr.append(el("td", `${l.name} (${l.type})`), el("td", l.output_shape.join("x")),
              el("td", fmt(l.params), {class: "num"}), el("td", l.params ? l.formula : ""),
              el("td", fmt(l.macs), {class: "num"}), el("td", field(l.receptive_field)));
    return tr;
  });
  $("table").replaceChildren(head, ...rows);
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
  gutter(line || null);
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
    data = await answer(await post("/api/analyze", {text: $("text").value,
                                                    input: $("input").value.trim()}));
  } catch (e) {
    data = {ok: false, error: {message: `the server cannot be reached (${e})`}};
  }
  if (mine !== latest) return;  // the text changed meanwhile
  if (!data.ok) {
    showError(data.error.message, data.error.line);
    return;
  }
  $("error").textContent = "";
  gutter(null);
  document.querySelector(".results").classList.remove("stale");
  current = data;
  $("totals").textContent = data.totals;
  $("lint").replaceChildren(...(data.lint || []).map((text) => {
    const item = document.createElement("li");
    item.textContent = text;  // text, never HTML
    return item;
  }));
  $("diagram").replaceChildren(safeSvg(data.svg));
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

function schedule() { clearTimeout(timer); timer = setTimeout(analyze, 250); gutter(null); }

async function loadZoo() {
  const names = await (await fetch("/api/zoo")).json();
  for (const {id} of names) {
    const option = el("option", id, {value: id});
    $("zoo").appendChild(option);
  }
}

async function pickTemplate() {
  const name = $("zoo").value;
  if (!name) return;
  const data = await answer(await fetch(`/api/zoo/${encodeURIComponent(name)}`));
  if (typeof data.text !== "string") return;
  $("text").value = data.text;
  analyze();
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

$("text").addEventListener("input", schedule);
$("input").addEventListener("input", schedule);
$("zoo").addEventListener("change", pickTemplate);
document.querySelectorAll(".downloads button").forEach((b) =>
  b.addEventListener("click", () => download(b.dataset.kind)));
loadZoo();
gutter(null);
analyze();
