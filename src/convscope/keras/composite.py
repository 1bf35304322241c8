"""Keras layers that become a short chain of convscope layers (not one kind: they stay out
of the kinds' ``keras_classes``), and Keras Applications' own CustomScaleLayer.

A reader here returns a list of items. Every item but the last is a helper layer named
``<keras name>/<suffix>``; the last one carries the Keras layer's own name, so per-layer
numbers still line up with Keras's. ``_from`` lists where an item's inputs come from: an
int is the Keras layer's input of that index, ``"prev"`` the item before it (the default
for every item after the first; the first reads all the layer's inputs).

* ``CustomScaleLayer`` (InceptionResNetV2): ``inputs[0] + inputs[1] * scale`` ->
  rescaling(scale) of input 1, then add.
* ``Cropping1D/2D/3D``: one slice per cropped axis (an end crop needs the axis's size,
  which Keras records in ``build_config``).
* Keras operations on tensors (``module`` keras.src.ops...: ``x + 3.0``, ``x * (1 / 6)``
  in MobileNetV3's hard sigmoid): with a number -> ``rescaling``; on two tensors ->
  the element-wise merge (add, subtract, multiply, maximum, minimum).
"""

from __future__ import annotations

from typing import Any

from ..layers.bridge import Malformed, Unsupported
from ..layers.fields import COUNT, NUMBER, Kind, field, is_number
from ..layers.keras_read import channels_last
from ..limits import shown
from .mapping import map_layer

Item = dict[str, Any]


def custom_scale(cfg: dict[str, Any], in_shape: list[Any] | None) -> list[Item]:
    scale = field(cfg, "scale", NUMBER)
    return [{"type": "rescaling", "scale": scale, "_from": [1], "_suffix": "scale"},
            {"type": "add", "_from": [0, "prev"]}]


CROPS = Kind("an integer from 0, a [before, after] pair, or one such pair per axis",
             lambda v: COUNT.check(v) or isinstance(v, list) and 0 < len(v) <= 3 and all(
                 COUNT.check(p) or isinstance(p, list) and len(p) == 2
                 and all(COUNT.check(x) for x in p) for p in v))


def crop_pairs(value: Any, ndim: int) -> list[tuple[int, int]]:
    """Keras's ``cropping``: n, (before, after) for 1-D, or one n / pair per axis."""
    if isinstance(value, int):
        return [(value, value)] * ndim
    if ndim == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        return [(value[0], value[1])]
    if len(value) != ndim:
        raise Malformed(f"'cropping' must give {ndim} axes; received {shown(value)}")
    return [(v, v) if isinstance(v, int) else (v[0], v[1]) for v in value]


def cropping(ndim: int) -> Any:
    def read(cfg: dict[str, Any], in_shape: list[Any] | None) -> list[Item]:
        channels_last(cfg)
        pairs = crop_pairs(field(cfg, "cropping", CROPS, 0), ndim)
        items: list[Item] = []
        for axis, (before, after) in enumerate(pairs):
            if not before and not after:
                continue
            item: Item = {"type": "slice", "axis": axis, "start": before,
                          "_suffix": f"axis{axis}"}
            if after:
                size = in_shape[axis + 1] if in_shape and len(in_shape) == ndim + 2 else None
                if not isinstance(size, int):
                    raise Unsupported(f"Cropping{ndim}D with an end crop on an input of "
                                      "unrecorded size")
                item["stop"] = size - after
            items.append(item)
        if not items:  # nothing cropped: an identity slice keeps the layer
            items.append({"type": "slice", "axis": 0, "start": 0})
        return items
    return read


COMPOSITE = {
    "CustomScaleLayer": custom_scale,
    **{f"Cropping{n}D": cropping(n) for n in (1, 2, 3)},
}


MERGES = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "Maximum": "maximum",
          "Minimum": "minimum"}


def is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def operation(class_name: str, args: Any) -> list[Item]:
    """A Keras operation recorded as a layer: ``ops.add(x, 3.0)``, ``x * c``, ``a + b``."""
    args = args if isinstance(args, list) else []
    consts = [a for a in args if not is_tensor(a)]
    if len(args) != 2 or len(consts) > 1:
        raise Unsupported(f"the operation {class_name} with arguments {shown(args)}")
    if not consts:
        if class_name not in MERGES:
            raise Unsupported(f"the operation {class_name} of two tensors")
        return [{"type": MERGES[class_name]}]
    c, first = consts[0], not is_tensor(args[0])
    if not is_number(c):
        raise Unsupported(f"the operation {class_name} with the constant {shown(c)}")
    scale, offset = {"Add": (1.0, c), "Multiply": (c, 0.0),
                     "Subtract": (-1.0, c) if first else (1.0, -c)}.get(class_name, (None, None))
    if class_name in ("Divide", "TrueDivide") and not first and c:
        scale, offset = 1.0 / c, 0.0
    if scale is None:
        raise Unsupported(f"the operation {class_name} with a constant")
    return [{"type": "rescaling", "scale": scale, "offset": offset}]


def call_args(layer: dict[str, Any], k: int) -> Any:
    """The arguments of call ``k`` (Keras 3), constants included: ``[tensor, 3.0]``."""
    nodes = layer.get("inbound_nodes")
    node = nodes[k] if isinstance(nodes, list) and k < len(nodes) else None
    return node.get("args") if isinstance(node, dict) else None


def read_parts(layer: dict[str, Any], class_name: str, cfg: dict[str, Any], rank: int | None,
               in_shape: Any, args: Any) -> list[Item]:
    """The items of one Keras layer call: an operation, a composite layer or one layer."""
    module = layer.get("module")
    if isinstance(module, str) and module.startswith("keras.src.ops"):
        return operation(class_name, args)
    if class_name in COMPOSITE:
        return COMPOSITE[class_name](cfg, in_shape)
    return [map_layer(class_name, cfg, rank)]
