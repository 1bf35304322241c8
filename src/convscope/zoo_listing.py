"""``convscope zoo``: the zoo ids with input, parameters and MACs."""

from __future__ import annotations

import json

from . import zoo
from .analysis import analyze
from .layers.base import shape_str
from .spec.load import load, load_description


def zoo_rows() -> list[dict[str, object]]:
    rows = []
    for name in zoo.names():
        description, _ = load_description(name)
        report = analyze(load(name))
        rows.append({"id": name, "input": shape_str(report.inputs[0][1]),
                     "params": report.totals.params, "macs": report.totals.macs,
                     "layers": len(report.layers) - len(report.inputs),
                     "description": " ".join(str(description.get("description", "")).split())})
    return rows


def zoo_table(fmt: str = "table") -> str:
    rows = zoo_rows()
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt == "markdown":
        out = ["| id | input | params | MACs | description |", "| --- | --- | ---: | ---: | --- |"]
        out += [f"| {r['id']} | {r['input']} | {r['params']:,} | {r['macs']:,} | "
                f"{r['description']} |" for r in rows]
        return "\n".join(out) + "\n"
    width = max(len(str(r["id"])) for r in rows)
    lines = [f"{'id':{width}}  {'input':>13}  {'params':>12}  {'MACs':>15}  description"]
    for r in rows:
        desc = str(r["description"])
        desc = desc if len(desc) <= 60 else desc[:57] + "..."
        lines.append(f"{r['id']:{width}}  {r['input']:>13}  {r['params']:>12,}  "
                     f"{r['macs']:>15,}  {desc}")
    lines.append("MACs per sample (multiply-adds of conv/dense; FLOPs = 2 x MACs).")
    return "\n".join(lines) + "\n"
