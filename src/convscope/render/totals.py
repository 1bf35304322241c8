"""The totals and conventions lines shared by the text formats."""

from __future__ import annotations

from ..analysis.report import Report
from ..layers.base import shape_str
from ..units import axes_list, human_bytes, rf_text, si, thousands


def scope(report: Report) -> str:
    return "per sample" if report.batch == 1 else f"per batch of {report.batch}"


def receptive_field_line(report: Report) -> str:
    name, _ = report.outputs[0]
    field = report.totals.receptive_field
    if field.is_global:
        extent = f"{shape_str(field.extent)} input" if field.extent else "input"
        return f"Receptive field of '{name}': global (every output sees the whole {extent})"
    if not field.axes:
        return f"Receptive field of '{name}': - (no spatial axes)"
    stride = axes_list(tuple(a.stride for a in field.axes))
    start = axes_list(tuple(a.start for a in field.axes))
    return (f"Receptive field of '{name}': {rf_text(field)}, stride {stride}, "
            f"start {start}")


def totals_lines(report: Report) -> list[str]:
    t = report.totals
    size = report.dtype_bytes
    return [
        f"Total params: {thousands(t.params)} ({human_bytes(t.param_bytes)})",
        f"Trainable params: {thousands(t.trainable_params)} "
        f"({human_bytes(t.trainable_params * size)})",
        f"Non-trainable params: {thousands(t.non_trainable_params)} "
        f"({human_bytes(t.non_trainable_params * size)})",
        f"PyTorch view: {thousands(t.torch_params)} parameters + {thousands(t.buffers)} "
        "buffer values",
        f"MACs: {thousands(t.macs)} ({si(t.macs)}); FLOPs = 2 x MACs = {thousands(t.flops)} "
        f"({si(t.flops)}); other element-wise ops: {thousands(t.other_ops)} [{scope(report)}]",
        f"Activations: {thousands(t.activation_elements)} values = "
        f"{human_bytes(t.activation_bytes)}; input {thousands(t.input_elements)} values = "
        f"{human_bytes(t.input_bytes)} [{report.dtype}, {scope(report)}]",
        receptive_field_line(report),
    ]


def conventions_lines(report: Report) -> list[str]:
    return [f"Params stored as {report.dtype} ({report.dtype_bytes} B each).",
            *report.conventions]
