"""``convscope help TOPIC``: the description syntax, the layer types, the JSON contract."""

from __future__ import annotations

import textwrap

from .analysis.report import CONVENTIONS
from .errors import SpecError, closest


def _syntax() -> str:
    from .description import oneline, parse

    return ("ONE-LINE FORM\n" + (oneline.__doc__ or "").split("\n", 2)[2]
            + "\nDESCRIPTION FILES (YAML or JSON)\n" + (parse.__doc__ or "").split("\n", 2)[2])


def _layers() -> str:
    from .layers import LAYER_KINDS

    lines = ["Layer types (a type name, or any alias, in a description's 'type'):", ""]
    for kind in LAYER_KINDS:
        aliases = ", ".join(sorted(kind.aliases))
        lines.append(f"{kind.kind:15} {kind.summary}")
        if aliases:
            lines.append(f"{'':15} aliases: {aliases}")
    lines += ["", "Structures: sequential (layers), parallel (branches, merge), residual (body, "
              "shortcut, merge).", "Any item: name, inputs, repeat, first, trainable."]
    return "\n".join(lines) + "\n"


def _json() -> str:
    from .render import data

    return (data.__doc__ or "") + """
Top level: convscope_version, model, input (the first input's shape), inputs {name: shape},
outputs {name: shape}, batch, dtype, dtype_bytes, layers [...], totals {...}, warnings [...],
conventions [...].

Each layer: index, name, type, kind, inputs, input_shape, input_shapes, output_shape, params,
trainable_params, non_trainable_params, buffers, formula, param_bytes, macs, flops, other_ops,
activation_elements, activation_bytes, receptive_field {global, size, min_size, stride, padding,
start, center, aligned}, hyper {filter, stride, padding}.

Totals: params, trainable_params, non_trainable_params, buffers, param_bytes, macs, flops,
other_ops, activation_elements, activation_bytes, input_elements, input_bytes, receptive_field.
"""


def _lint() -> str:
    from .analysis import lint

    lines = [(lint.__doc__ or "").strip(), "", "Rules:"]
    for rule in lint.RULES:
        text = textwrap.fill(" ".join((rule.__doc__ or "").split()), 88, initial_indent="  ",
                             subsequent_indent="  ")
        lines += ["", f"{rule.__name__.replace('_', '-')}:", text]
    return "\n".join(lines) + "\n"


TOPICS = {
    "lint": _lint,
    "syntax": _syntax,
    "layers": _layers,
    "json": _json,
    "conventions": lambda: "\n".join(CONVENTIONS) + "\n",
}


def topic(name: str) -> str:
    if name == "topics":
        return "Help topics: " + ", ".join(TOPICS) + "\n  convscope help syntax\n"
    if name not in TOPICS:
        raise SpecError(f"no help topic '{name}'.{closest(name, list(TOPICS))} Topics: "
                        f"{', '.join(TOPICS)}")
    return TOPICS[name]()
