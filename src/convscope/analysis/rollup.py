"""Rows rolled up to a module depth (torchinfo's ``depth``; ``convscope summary --depth N``).

Layer names are module paths (``layer1.0.conv1``; imported models use their modules' own
paths). At depth N every layer whose name has more than N parts joins the row of its
N-part prefix (``layer1`` at depth 1, ``layer1.0`` at depth 2); depth 0 puts every layer
but the inputs in one row named after the model. A rolled-up row sums its layers' counts
(parameters, MACs, other operations, activation memory), so every column still adds up to
the report's totals, and shows the output shape and receptive field of its last layer.
Inputs always keep their own rows. The result is a new frozen Report; the totals do not
change.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import SpecError
from .report import LayerStats, Report

SUMMED = ("params", "trainable_params", "non_trainable_params", "buffers", "param_bytes",
          "macs", "other_ops", "activation_elements", "activation_bytes", "torch_params")


def row_key(stats: LayerStats, depth: int, model: str) -> str:
    """The row a layer belongs to at ``depth``: its name cut to ``depth`` parts."""
    if stats.kind == "input":
        return stats.name
    return ".".join(stats.name.split(".")[:depth]) or model


def merged(key: str, members: list[LayerStats], index: int, owner: dict[str, str],
           shapes: dict[str, tuple[int, ...]]) -> LayerStats:
    """One row for ``members`` (in order): sums, and the last member's output."""
    inside = {s.name for s in members}
    inputs = tuple(dict.fromkeys(owner[ref] for s in members for ref in s.inputs
                                 if ref not in inside))
    sources = tuple(dict.fromkeys(ref for s in members for ref in s.inputs if ref not in inside))
    last = members[-1]
    kinds = ", ".join(dict.fromkeys(s.type for s in members))
    return replace(
        last, index=index, name=key, kind="block", type=f"{len(members)} layers", path=(key,),
        inputs=inputs, input_shapes=tuple(shapes[r] for r in sources),
        formula=f"sum over {len(members)} layers ({kinds})", hyper={}, window=(), tag="block",
        **{field: sum(getattr(s, field) for s in members) for field in SUMMED})


def rollup(report: Report, depth: int) -> Report:
    """``report`` with one row per module at ``depth`` (see the module docstring)."""
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise SpecError(f"depth must be an integer >= 0; received {depth!r}")
    groups: dict[str, list[LayerStats]] = {}
    for stats in report.layers:
        groups.setdefault(row_key(stats, depth, report.model), []).append(stats)
    owner = {s.name: key for key, members in groups.items() for s in members}
    shapes = {s.name: s.output_shape for s in report.layers}
    rows = []
    for key, members in groups.items():
        if len(members) == 1:  # a layer keeps its own row, under its module's name
            only = members[0]
            rows.append(replace(only, index=len(rows), name=key,
                                inputs=tuple(dict.fromkeys(owner[r] for r in only.inputs))))
        else:
            rows.append(merged(key, members, len(rows), owner, shapes))
    return replace(report, layers=tuple(rows))
