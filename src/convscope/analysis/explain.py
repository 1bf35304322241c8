"""``convscope explain``: every number of a layer derived step by step, and the receptive-
field recursion table of a whole model (seed 001), in plain words for a student."""

from __future__ import annotations

from ..errors import ConvscopeError, closest
from ..ir import Graph, Node
from ..layers.base import GLOBAL, IDENTITY, RFStep, prod, shape_str
from ..layers.regrid import Regroup
from ..units import frac_text, human_bytes
from . import analyze
from .receptive_field import Field, receptive_fields


def _merged(graph: Graph, node: Node, fields: dict[str, Field]) -> Field | None:
    """The field entering ``node`` (one input: its field; several: the output's own)."""
    if len(node.inputs) != 1:
        return None
    return fields[node.inputs[0]]


def rf_lines(graph: Graph, node: Node, fields: dict[str, Field]) -> list[str]:
    """RF_l = RF_(l-1) + (k - 1) x jump, with this layer's numbers."""
    out = fields[node.name]
    if node.layer.kind == "input":
        return ["receptive field: 1 (each input position sees itself)"]
    step = node.layer.rf_step(graph.input_shapes(node), graph.shapes[node.name])
    before = _merged(graph, node, fields)
    if out.is_global:
        return ["receptive field: global (every output value depends on the whole input)"]
    if before is None:
        sizes = "x".join(frac_text(a.size) for a in out.axes)
        mins = "x".join(frac_text(a.min_size) for a in out.axes)
        return [f"receptive field: {len(node.inputs)} paths merge here; the field is their "
                f"union, {sizes} (the smallest path sees {mins})"
                + ("" if out.aligned else "; the paths are misaligned (different strides or "
                   "centers)")]
    if isinstance(step, Regroup):
        sizes = "x".join(frac_text(a.size) for a in out.axes)
        return [f"receptive field: {sizes}; each value keeps its field as its position moves "
                "between axes" + ("" if out.comps is not None else
                                  " (back on a map: positions moved into the channels widen "
                                  "it, positions now further apart multiply the jump)")]
    if step == IDENTITY or step == GLOBAL or not isinstance(step, RFStep):
        sizes = "x".join(frac_text(a.size) for a in out.axes)
        return [f"receptive field: unchanged, {sizes} (this layer looks at one position)"]
    lines = ["receptive field (seed 001): RF = RF_before + (k - 1) x jump_before; "
             "jump = jump_before x s"]
    seen = set()
    alike = len(set(zip(before.axes, step.kernel, step.stride, strict=True))) == 1
    for axis, (a_in, a_out, k, s) in enumerate(zip(before.axes, out.axes, step.kernel,
                                                   step.stride, strict=True)):
        key = (a_in, k, s)
        if key in seen:
            continue
        seen.add(key)
        name = "all axes" if alike else f"axis {axis}"
        lines.append(f"  {name}: RF = {frac_text(a_in.size)} + ({k} - 1) x "
                     f"{frac_text(a_in.stride)} = {frac_text(a_out.size)}; jump = "
                     f"{frac_text(a_in.stride)} x {frac_text(s)} = {frac_text(a_out.stride)}; "
                     f"the field of output 0 starts at input position {frac_text(a_out.start)}")
    return lines


def explain_layer(graph: Graph, name: str, batch: int = 1, dtype: str = "float32") -> str:
    if name not in graph.index:
        names = [n.name for n in graph.nodes]
        raise ConvscopeError(f"no layer named '{name}'.{closest(name, names)} Layers: "
                             f"{', '.join(names[:12])}{', ...' if len(names) > 12 else ''}")
    node = graph.node(name)
    stats = analyze(graph, batch, dtype).layer(name)
    fields = receptive_fields(graph)
    ins = ", ".join(shape_str(s) for s in stats.input_shapes) or "-"
    lines = [f"Layer '{name}' ({stats.type}), {node.where}: input {ins} -> output "
             f"{shape_str(stats.output_shape)} (H x W x C, one sample)", ""]
    lines += node.layer.explain(graph.input_shapes(node), graph.shapes[name])
    lines += rf_lines(graph, node, fields)
    values = prod(stats.output_shape)
    size = stats.param_bytes // stats.params if stats.params else None
    lines.append(f"memory: the output holds {'*'.join(map(str, stats.output_shape))} = "
                 f"{values:,} values; x {batch} sample(s) x {dtype} = "
                 f"{human_bytes(stats.activation_bytes)}")
    if stats.params:
        lines.append(f"parameter memory: {stats.params:,} x {size} B = "
                     f"{human_bytes(stats.param_bytes)} (KB = 1024 B)")
    return "\n".join(lines) + "\n"


def rf_table(graph: Graph) -> str:
    """The receptive-field recursion of seed 001 for every layer."""
    fields = receptive_fields(graph)
    header = ["layer", "kernel", "stride", "jump before", "receptive field", "output"]
    rows = []
    for node in graph.nodes:
        field = fields[node.name]
        shape = shape_str(graph.shapes[node.name])
        if node.layer.kind == "input":
            rows.append([node.name, "", "", "", "1", shape])
            continue
        step = node.layer.rf_step(graph.input_shapes(node), graph.shapes[node.name])
        before = _merged(graph, node, fields)
        if field.is_global:
            rows.append([node.name, "", "", "", "global", shape])
        elif isinstance(step, RFStep) and before is not None and not before.is_global:
            a_in, a_out = before.axes[0], field.axes[0]
            same = len({(a.size, a.stride) for a in field.axes}) == 1
            text = (f"{frac_text(a_out.size)} = {frac_text(a_in.size)} + ({step.kernel[0]} - 1)"
                    f" x {frac_text(a_in.stride)}") if same else \
                "x".join(frac_text(a.size) for a in field.axes)
            rows.append([node.name, "x".join(map(str, step.kernel)),
                         "x".join(frac_text(s) for s in step.stride),
                         frac_text(a_in.stride), text, shape])
        else:
            note = " (union of paths)" if len(node.inputs) > 1 else ""
            rows.append([node.name, "", "", "", "x".join(frac_text(a.size) for a in field.axes)
                         + note, shape])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"Receptive field recursion of '{graph.name}' (seed 001): RF_l = RF_(l-1) + "
             "(k_l - 1) x (s_1 x ... x s_(l-1)); 'jump before' is that product",
             "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines) + "\n"
