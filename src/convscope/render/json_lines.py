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

LINE = '{"index": %s, "name": %s, %s"inputs": [%s], %s"receptive_field": %s, "hyper": %s}'
KIND = '"type": %s, "kind": %s, '
COUNTS = ('"input_shape": %s, "input_shapes": [%s], "output_shape": %s, "params": %s, '
          '"trainable_params": %s, "non_trainable_params": %s, "buffers": %s, '
          '"torch_params": %s, "formula": %s, "param_bytes": %s, "macs": %s, "flops": %s, '
          '"other_ops": %s, "activation_elements": %s, "activation_bytes": %s, ')
FIELD = ('{"global": false, "size": [%s], "min_size": [%s], "stride": [%s], '
         '"padding": [%s], "start": [%s], "center": [%s], "aligned": %s}')


FIELD2 = FIELD % (*("%d, %d",) * 6, "%s")


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
    rows = []
    for a in field.axes:
        size, low, stride, start = a.size, a.min_size, a.stride, a.start
        if type(size) is not int or type(low) is not int or type(stride) is not int or \
                type(start) is not int or not size & 1:  # an even size: a centre x.5
            raise Unusual(a)
        rows.append((size, low, stride, -start, start, start + (size - 1) // 2))
    if len(rows) == 2:  # the usual case, in one step
        (a0, a1, a2, a3, a4, a5), (b0, b1, b2, b3, b4, b5) = rows
        return FIELD2 % (a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5,
                         "true" if field.aligned else "false")
    columns = list(zip(*rows, strict=True)) or [()] * 6  # no spatial axis: six empty lists
    return FIELD % (*(", ".join(map(int.__repr__, column)) for column in columns),
                    "true" if field.aligned else "false")


class LineWriter:
    """Writes layer lines, remembering the encoded text of values seen before (shapes,
    ``hyper`` mappings, the receptive field a layer passes on unchanged)."""

    def __init__(self) -> None:
        self.shapes: dict[Any, str] = {}
        self.hypers: dict[Any, str] = {}
        self.fields: dict[int, tuple[Field, str]] = {}
        self.kinds: dict[Any, str] = {}
        self.segments: dict[Any, str] = {}

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
        return LINE % (s.index, text(s.name), self.kind(s),
                       ", ".join([text(n) for n in s.inputs]), self.counts(s),
                       self.field(s.receptive_field), self.hyper(s.hyper))

    def kind(self, s: LayerStats) -> str:
        key = (s.type, s.kind)
        found = self.kinds.get(key)
        if found is None:
            found = self.kinds[key] = KIND % (text(s.type), text(s.kind))
        return found

    def counts(self, s: LayerStats) -> str:
        """From input_shape to activation_bytes, the same for every layer that shares a
        layer, its shapes and its trainability (the types were checked by ``direct``)."""
        key = (s.input_shapes, s.output_shape, s.params, s.trainable_params,
               s.non_trainable_params, s.buffers, s.torch_params, s.formula, s.param_bytes,
               s.macs, s.other_ops, s.activation_elements, s.activation_bytes)
        found = self.segments.get(key)
        if found is None:
            shapes = [self.shape(x) for x in s.input_shapes]
            found = self.segments[key] = COUNTS % (
                shapes[0] if shapes else "null", ", ".join(shapes), self.shape(s.output_shape),
                s.params, s.trainable_params, s.non_trainable_params, s.buffers,
                s.torch_params, text(s.formula), s.param_bytes, s.macs, s.flops, s.other_ops,
                s.activation_elements, s.activation_bytes)
        return found


def layer_lines(layers: tuple[LayerStats, ...]) -> list[str]:
    """One ``json.dumps(layer_json(s))`` line per layer."""
    writer = LineWriter()
    return [writer.line(s) for s in layers]
