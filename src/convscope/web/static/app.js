// convscope's web page: analyse the description as it is typed.
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;  // the last good analysis
let timer = null;

function gutter(badLine) {
  const lines = $("text").value.split("\n").length;
  $("gutter").innerHTML = Array.from({length: lines}, (_, i) =>
    i + 1 === badLine ? `<span class="bad">${i + 1}</span>` : `${i + 1}`).join("\n");
}

function fmt(n) { return n.toLocaleString("en-US"); }

function table(report) {
  const rows = report.layers.map((l) =>
    `<tr class="layer" data-index="${l.index}"><td>${l.name} (${l.type})</td>` +
    `<td>${l.output_shape.join("x")}</td><td class="num">${fmt(l.params)}</td>` +
    `<td>${l.params ? l.formula : ""}</td><td class="num">${fmt(l.macs)}</td>` +
    `<td>${l.receptive_field.global ? "global" : (l.receptive_field.size || []).join("x")}` +
    `</td></tr>`);
  $("table").innerHTML = "<tr><th>Layer (type)</th><th>Output Shape</th><th>Param #</th>" +
    "<th>Formula</th><th>MACs</th><th>RF</th></tr>" + rows.join("");
}

async function post(url, data) {
  const res = await fetch(url, {method: "POST", headers: {"content-type": "application/json"},
                                body: JSON.stringify(data)});
  return res;
}

async function analyze() {
  const text = $("text").value;
  const res = await post("/api/analyze", {text, input: $("input").value.trim()});
  const data = await res.json();
  if (!data.ok) {
    $("error").textContent = data.error.message +
      (data.error.line ? `  (line ${data.error.line})` : "");
    gutter(data.error.line);
    document.querySelector(".results").classList.add("stale");
    return;
  }
  $("error").textContent = "";
  gutter(null);
  document.querySelector(".results").classList.remove("stale");
  current = data;
  $("totals").textContent = data.totals;
  $("diagram").innerHTML = data.svg;
  table(data.report);
  document.querySelectorAll("[data-index]").forEach((e) =>
    e.addEventListener("click", () => select(Number(e.dataset.index))));
  select(data.report.layers.length > 1 ? 1 : 0);
}

async function select(index) {
  if (!current) return;
  const layer = current.report.layers[index];
  document.querySelectorAll(".selected").forEach((e) => e.classList.remove("selected"));
  document.querySelectorAll(`[data-index='${index}']`).forEach((e) =>
    e.classList.add("selected"));
  RF.show($("explorer"), current.report, layer);
  const res = await post("/api/explain", {text: $("text").value, layer: layer.name,
                                          input: $("input").value.trim()});
  const data = await res.json();
  $("explanation").textContent = data.ok ? data.text : data.error.message;
}

function schedule() { clearTimeout(timer); timer = setTimeout(analyze, 250); gutter(null); }

async function loadZoo() {
  const names = await (await fetch("/api/zoo")).json();
  for (const {id} of names) {
    const option = document.createElement("option");
    option.value = option.textContent = id;
    $("zoo").appendChild(option);
  }
}

async function pickTemplate() {
  const name = $("zoo").value;
  if (!name) return;
  const data = await (await fetch(`/api/zoo/${name}`)).json();
  $("text").value = data.text;
  analyze();
}

async function download(kind) {
  const res = await post(`/api/download/${kind}`, {text: $("text").value,
                                                   input: $("input").value.trim()});
  if (!res.ok) {
    const data = await res.json();
    $("error").textContent = data.error ? data.error.message : `download failed (${res.status})`;
    return;
  }
  const blob = await res.blob();
  const name = (res.headers.get("content-disposition") || "").split("filename=")[1] ||
    `model.${kind}`;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

$("text").addEventListener("input", schedule);
$("input").addEventListener("input", schedule);
$("zoo").addEventListener("change", pickTemplate);
document.querySelectorAll(".downloads button").forEach((b) =>
  b.addEventListener("click", () => download(b.dataset.kind)));
loadZoo();
gutter(null);
analyze();
