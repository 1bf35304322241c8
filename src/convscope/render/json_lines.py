"""The layers of a JSON report, one line each, written directly (issue 16).

Each line is exactly ``json.dumps(layer_json(stats))`` (render/data.py), without building
the mapping first: on a 100,000-layer chain building and encoding the mappings was the
larger part of rendering. Text goes through the standard library's own encoder
(``encode_basestring_ascii``, as ``json.dumps`` with ``ensure_ascii``), integers through
``int.__repr__`` (as the encoder), and values met again (a type, a formula, a shape, a
``hyper`` mapping) are encoded once. A layer holding anything else than text, plain
integers and whole receptive-field values (a float after upsampling, a count that is not
an ``int``) is encoded by ``json.dumps`` itself, so the text is the same either way.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from ..analysis.receptive_field import Field
from ..analysis.report import LayerStats
from .data import field_json, layer_json

LINE = ('{"index": %s, "name": %s, "type": %s, "kind": %s, "inputs": [%s], '
        '"input_shape": %s, "input_shapes": [%s], "output_shape": %s, "params": %s, '
        '"trainable_params": %s, "non_trainable_params": %s, "buffers": %s, '
        '"torch_params": %s, "formula": %s, "param_bytes": %s, "macs": %s, "flops": %s, '
        '"other_ops": %s, "activation_elements": %s, "activation_bytes": %s, '
        '"receptive_field": %s, "hyper": %s}')
FIELD = ('{"global": false, "size": [%s], "min_size": [%s], "stride": [%s], '
         '"padding": [%s], "start": [%s], "center": [%s], "aligned": %s}')


class Unusual(Exception):  # noqa: N818 - not an error: json.dumps writes this layer
    """A value the direct writer leaves to json.dumps."""


def ints(values: Any) -> str:
    """'1, 2, 3' for plain ints (as the encoder writes a list of them)."""
    if not all(type(v) is int for v in values):
        raise Unusual(values)
    return ", ".join(map(int.__repr__, values))


def text(value: Any) -> str:
    """A JSON string, as ``json.dumps`` writes it (ASCII, escaped)."""
    if type(value) is not str:
        raise Unusual(value)
    return encode_basestring_ascii(value)  # type: ignore[no-any-return]


def axes_text(field: Field) -> str:
    """A receptive field whose values are all plain ints (centres whole), in JSON."""
    columns: list[list[int]] = [[], [], [], [], [], []]
    for a in field.axes:
        size, low, stride, start = a.size, a.min_size, a.stride, a.start
        if type(size) is not int or type(low) is not int or type(stride) is not int or \
                type(start) is not int or size % 2 == 0:  # an even size: a centre x.5
            raise Unusual(a)
        for column, value in zip(columns, (size, low, stride, -start, start,
                                           start + (size - 1) // 2), strict=True):
            column.append(value)
    return FIELD % (*(", ".join(map(int.__repr__, c)) for c in columns),
                    "true" if field.aligned else "false")


class LineWriter:
    """Writes layer lines, remembering the encoded text of values seen before (shapes,
    ``hyper`` mappings, the receptive field a layer passes on unchanged)."""

    def __init__(self) -> None:
        self.shapes: dict[Any, str] = {}
        self.hypers: dict[Any, str] = {}
        self.fields: dict[int, tuple[Field, str]] = {}

    def shape(self, shape: Any) -> str:
        found = self.shapes.get(shape)
        if found is None:
            found = self.shapes[shape] = f"[{ints(shape)}]"
        return found

    def hyper(self, hyper: Any) -> str:
        """Memoised when every value is text (as every kind's ``hyper`` writes them): other
        values that compare equal may encode differently (``1`` and ``true``); no other
        value equals a text."""
        key = tuple(hyper.items())
        found = self.hypers.get(key)
        if found is None:
            found = json.dumps(dict(hyper))
            if all(type(v) is str for _, v in key):
                self.hypers[key] = found
        return found

    def field(self, field: Field) -> str:
        found = self.fields.get(id(field))
        if found is None:
            if field.is_global or type(field.aligned) is not bool:
                written = json.dumps(field_json(field))
            else:
                written = axes_text(field)
            found = self.fields[id(field)] = (field, written)  # the field keeps its id
        return found[1]

    def line(self, s: LayerStats) -> str:
        """``json.dumps(layer_json(s))``."""
        try:
            return self.direct(s)
        except Unusual:
            return json.dumps(layer_json(s))

    def direct(self, s: LayerStats) -> str:
        if not (type(s.index) is int and type(s.params) is int
                and type(s.trainable_params) is int and type(s.non_trainable_params) is int
                and type(s.buffers) is int and type(s.torch_params) is int
                and type(s.param_bytes) is int and type(s.macs) is int
                and type(s.other_ops) is int and type(s.activation_elements) is int
                and type(s.activation_bytes) is int):
            raise Unusual(s)
        shapes = [self.shape(x) for x in s.input_shapes]
        return LINE % (
            s.index, text(s.name), text(s.type), text(s.kind),
            ", ".join([text(n) for n in s.inputs]), shapes[0] if shapes else "null",
            ", ".join(shapes), self.shape(s.output_shape), s.params, s.trainable_params,
            s.non_trainable_params, s.buffers, s.torch_params, text(s.formula),
            s.param_bytes, s.macs, s.flops, s.other_ops, s.activation_elements,
            s.activation_bytes, self.field(s.receptive_field), self.hyper(s.hyper))


def layer_lines(layers: tuple[LayerStats, ...]) -> list[str]:
    """One ``json.dumps(layer_json(s))`` line per layer."""
    writer = LineWriter()
    return [writer.line(s) for s in layers]
