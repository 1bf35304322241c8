"""The columns a table can show (``--columns``), shared by table and markdown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..analysis.report import LayerStats
from ..layers.base import shape_str
from ..units import axes_list, human_bytes, rf_text, thousands


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[LayerStats], str]
    numeric: bool = False
    help: str = ""


def _rf_axes(stats: LayerStats, attr: str) -> str:
    field = stats.receptive_field
    if field.is_global or not field.axes:
        return "-"
    return axes_list(tuple(getattr(a, attr) for a in field.axes))


COLUMNS: dict[str, Column] = {
    "layer": Column("Layer (type)", lambda s: f"{s.name} ({s.type})", help="name and type"),
    "output": Column("Output Shape", lambda s: shape_str(s.output_shape), help="H x W x C"),
    "params": Column("Param #", lambda s: thousands(s.params), True, "parameters (Keras count)"),
    "input": Column("Input Shape", lambda s: ", ".join(shape_str(x) for x in s.input_shapes),
                    help="input shape(s)"),
    "formula": Column("Formula", lambda s: s.formula if s.params else "",
                      help="the parameter arithmetic, e.g. 5x5x1x6+6"),
    "trainable": Column("Trainable", lambda s: thousands(s.trainable_params), True,
                        "trainable parameters"),
    "non_trainable": Column("Non-trainable", lambda s: thousands(s.non_trainable_params), True,
                            "non-trainable parameters (BN statistics, frozen layers)"),
    "buffers": Column("Buffers", lambda s: thousands(s.buffers), True, "PyTorch buffers"),
    "param_bytes": Column("Param memory", lambda s: human_bytes(s.param_bytes), True,
                          "parameter bytes in the chosen dtype"),
    "macs": Column("MACs", lambda s: thousands(s.macs), True,
                   "multiply-adds of conv/dense, bias excluded"),
    "flops": Column("FLOPs", lambda s: thousands(s.flops), True, "2 x MACs"),
    "other_ops": Column("Other ops", lambda s: thousands(s.other_ops), True,
                        "element-wise operations"),
    "memory": Column("Activations", lambda s: human_bytes(s.activation_bytes), True,
                     "output activation bytes"),
    "rf": Column("RF", lambda s: rf_text(s.receptive_field), help="receptive field size"),
    "rf_stride": Column("RF stride", lambda s: _rf_axes(s, "stride"),
                        help="receptive-field stride (jump)"),
    "rf_start": Column("RF start", lambda s: _rf_axes(s, "start"),
                       help="input index where output 0's field starts"),
    "filter": Column("Filter", lambda s: s.hyper.get("filter", ""), help="kernel (x filters)"),
    "stride": Column("Stride", lambda s: s.hyper.get("stride", ""), help="stride"),
    "padding": Column("Padding", lambda s: s.hyper.get("padding", ""), help="padding"),
    "connected": Column("Connected to", lambda s: ", ".join(s.inputs), help="input layers"),
}
DEFAULT = ("layer", "output", "params")


def choose(extra: str | None) -> list[str]:
    """Default columns plus ``extra`` ('formula,macs' or 'all')."""
    from ..errors import SpecError, closest

    names = list(DEFAULT)
    if not extra:
        return names
    wanted = list(COLUMNS) if extra.strip() == "all" else [
        w.strip() for w in extra.split(",") if w.strip()]
    for word in wanted:
        if word not in COLUMNS:
            raise SpecError(f"unknown column '{word}'.{closest(word, list(COLUMNS))} Columns: "
                            f"{', '.join(COLUMNS)}, or all")
        if word not in names:
            names.append(word)
    return names
