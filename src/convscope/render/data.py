"""Machine-readable reports: JSON (a stable contract, see README) and CSV.

All counts are raw integers. Shapes are lists in H, W(, D), C order without the
batch. Receptive-field values are per-axis lists (ints, or floats where a
field is fractional after upsampling); a global field has ``"global": true``,
``size`` = the input's spatial size and null stride / padding / start / center.
"""

from __future__ import annotations

import io
import json
from typing import Any

from ..analysis.receptive_field import Field
from ..analysis.report import LayerStats, Report
from ..layers.base import shape_str
from ..units import number
from ..version import __version__


def field_json(field: Field) -> dict[str, Any]:
    if field.is_global:
        return {"global": True, "size": list(field.extent), "min_size": list(field.extent),
                "stride": None, "padding": None, "start": None, "center": None,
                "aligned": field.aligned}
    return {"global": False,
            **{key: [number(getattr(a, key)) for a in field.axes]
               for key in ("size", "min_size", "stride", "padding", "start", "center")},
            "aligned": field.aligned}


def layer_json(s: LayerStats) -> dict[str, Any]:
    return {
        "index": s.index, "name": s.name, "type": s.type, "kind": s.kind,
        "inputs": list(s.inputs),
        "input_shape": list(s.input_shapes[0]) if s.input_shapes else None,
        "input_shapes": [list(x) for x in s.input_shapes],
        "output_shape": list(s.output_shape),
        "params": s.params, "trainable_params": s.trainable_params,
        "non_trainable_params": s.non_trainable_params, "buffers": s.buffers,
        "torch_params": s.torch_params, "formula": s.formula, "param_bytes": s.param_bytes,
        "macs": s.macs, "flops": s.flops, "other_ops": s.other_ops,
        "activation_elements": s.activation_elements, "activation_bytes": s.activation_bytes,
        "receptive_field": field_json(s.receptive_field),
        "hyper": dict(s.hyper),
    }


def report_json(report: Report, layers: bool = True) -> dict[str, Any]:
    """The report as JSON-ready values; ``layers=False`` leaves the list of layers empty
    (render_json writes them, see json_lines.py)."""
    t = report.totals
    return {
        "convscope_version": __version__,
        "model": report.model,
        "input": list(report.inputs[0][1]),
        "inputs": {name: list(shape) for name, shape in report.inputs},
        "outputs": {name: list(shape) for name, shape in report.outputs},
        "batch": report.batch, "dtype": report.dtype, "dtype_bytes": report.dtype_bytes,
        "layers": [layer_json(s) for s in report.layers] if layers else [],
        "totals": {
            "params": t.params, "trainable_params": t.trainable_params,
            "non_trainable_params": t.non_trainable_params, "buffers": t.buffers,
            "torch_params": t.torch_params, "param_bytes": t.param_bytes, "macs": t.macs,
            "flops": t.flops,
            "other_ops": t.other_ops, "activation_elements": t.activation_elements,
            "activation_bytes": t.activation_bytes, "input_elements": t.input_elements,
            "input_bytes": t.input_bytes, "receptive_field": field_json(t.receptive_field),
        },
        "warnings": list(report.warnings),
        "conventions": list(report.conventions),
    }


def render_json(report: Report) -> str:
    """Indented at the top level, one compact line per layer: readable and fast."""
    from .json_lines import layer_lines

    data = report_json(report, layers=False)
    del data["layers"]
    body = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in data.items()]
    rows = ",\n".join(f"    {line}" for line in layer_lines(report.layers))
    body.insert(list(data).index("dtype_bytes") + 1, f'  "layers": [\n{rows}\n  ]')
    return "{\n" + ",\n".join(body) + "\n}\n"


CSV_FIELDS = ("index", "name", "type", "kind", "inputs", "input_shape", "output_shape", "params",
              "trainable_params", "non_trainable_params", "buffers", "formula", "param_bytes",
              "macs", "flops", "other_ops", "activation_elements", "activation_bytes",
              "rf_size", "rf_stride", "rf_start")


def render_csv(report: Report) -> str:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for s in report.layers:
        f = field_json(s.receptive_field)
        rf = (["global", "", ""] if f["global"] else
              ["x".join(map(str, f["size"])), ";".join(map(str, f["stride"])),
               ";".join(map(str, f["start"]))])
        writer.writerow([s.index, s.name, s.type, s.kind, " ".join(s.inputs),
                         " + ".join(shape_str(x) for x in s.input_shapes),
                         shape_str(s.output_shape), s.params, s.trainable_params,
                         s.non_trainable_params, s.buffers, s.formula, s.param_bytes, s.macs,
                         s.flops, s.other_ops, s.activation_elements, s.activation_bytes, *rf])
    return buf.getvalue()
