"""``convscope zoo``: the zoo ids with input, parameters and MACs."""

from __future__ import annotations

import json

from . import zoo
from .analysis import analyze
from .description.load import load, load_description
from .layers.base import shape_str


def zoo_rows() -> list[dict[str, object]]:
    rows = []
    for name in zoo.names():
        description, _ = load_description(name)
        report = analyze(load(name))
        rows.append({"id": name, "input": shape_str(report.inputs[0][1]),
                     "params": report.totals.params,
                     "trainable_params": report.totals.trainable_params,
                     "macs": report.totals.macs,
                     "layers": len(report.layers) - len(report.inputs),
                     "description": " ".join(str(description.get("description", "")).split())})
    return rows


def zoo_table(fmt: str = "table") -> str:
    rows = zoo_rows()
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt == "markdown":
        out = ["| id | input | params | trainable | MACs | description |",
               "| --- | --- | ---: | ---: | ---: | --- |"]
        out += [f"| {r['id']} | {r['input']} | {r['params']:,} | {r['trainable_params']:,} | "
                f"{r['macs']:,} | {r['description']} |" for r in rows]
        return "\n".join(out) + "\n"
    width = max(len(str(r["id"])) for r in rows)
    lines = [f"{'id':{width}}  {'input':>10}  {'params':>12}  {'trainable':>12}  {'MACs':>15}  "
             "description"]
    for r in rows:
        desc = str(r["description"])
        desc = desc if len(desc) <= 50 else desc[:47] + "..."
        lines.append(f"{r['id']:{width}}  {r['input']:>10}  {r['params']:>12,}  "
                     f"{r['trainable_params']:>12,}  {r['macs']:>15,}  {desc}")
    lines.append("Params as Keras counts them (batch-norm statistics included); trainable = "
                 "PyTorch's parameters(). MACs per sample (FLOPs = 2 x MACs).")
    return "\n".join(lines) + "\n"
