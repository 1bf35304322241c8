"""Reading the wiring of a Keras config (config.py): which tensors a layer call reads
(Keras's ``keras_history`` references, in Keras 3's and Keras 2's forms), the shapes a
layer was built with, and what makes a mapping a Keras model config."""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from ..layers.bridge import Malformed
from ..layers.fields import (
    COUNT,
    LIST,
    MAPPING,
    SHAPE,
    TEXT,
    field,
)
from ..limits import MAX_DEPTH, shown

MODELS = ("Functional", "Sequential", "Model")
Ref = tuple[str, int, int]  # (layer name, call index, output index), Keras's keras_history
def not_a_model(config: Any) -> str:
    received = f"class_name {shown(config.get('class_name'))}" if isinstance(config, dict) \
        else f"a {type(config).__name__}"
    return ("not a Keras model config (expected a mapping with class_name Sequential, "
            f"Functional or Model and a 'config' mapping; received {received})")


def is_keras_config(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") in MODELS and \
        isinstance(value.get("config"), dict)


def history(value: dict[str, Any]) -> tuple[Ref, Any]:
    """The reference and shape of one ``__keras_tensor__``."""
    cfg = value.get("config")
    hist = cfg.get("keras_history") if isinstance(cfg, dict) else None
    if not (isinstance(hist, list) and len(hist) == 3 and isinstance(hist[0], str)
            and COUNT.check(hist[1]) and COUNT.check(hist[2])):
        raise Malformed(f"a tensor's keras_history must be [layer name, node index, tensor "
                        f"index]; received {shown(hist)}")
    return (hist[0], hist[1], hist[2]), cfg.get("shape")  # type: ignore[union-attr]


def tensors(value: Any) -> list[tuple[Ref, Any]]:
    """Every Keras 3 tensor reference in a call's args, in order, with its shape."""
    out = []
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Malformed(f"a call's arguments are nested more than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            if item.get("class_name") == "__keras_tensor__":
                out.append(history(item))
                continue
            stack += [(v, depth + 1) for v in reversed(list(item.values()))]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in reversed(item)]
    return out


def ref(value: Any, what: str) -> Ref:
    if not (isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str)
            and COUNT.check(value[1]) and COUNT.check(value[2])):
        raise Malformed(f"{what} must be [layer name, node index, tensor index]; "
                        f"received {shown(value)}")
    return (value[0], value[1], value[2])


def calls(layer: dict[str, Any]) -> list[list[Ref]]:
    """The input references of each call of a layer (Keras 3 or Keras 2 format)."""
    out = []
    for node in field(layer, "inbound_nodes", LIST, []):
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            out.append([r for r, _ in tensors(node.get("args", []))])
        elif isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs]]
            out.append([ref(n, "an inbound node") for n in node])
        else:
            raise Malformed(f"'inbound_nodes' must hold mappings (Keras 3) or lists "
                            f"(Keras 2); received {shown(node)}")
    return out


def refs(value: Any, what: str) -> list[Ref]:
    """input_layers / output_layers: [name, node, index] or a list of them."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [ref(value, what)]
    if value is not None and not isinstance(value, list):
        raise Malformed(f"{what} must be a list of [layer name, node index, tensor index]; "
                        f"received {shown(value)}")
    return [ref(v, what) for v in value or []]


def build_shape(layer: dict[str, Any]) -> list[Any] | None:
    """The input shape Keras recorded when building the layer (``build_config``)."""
    build = layer.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    return shape if SHAPE.check(shape) else None


def built_rank(layer: dict[str, Any], fallback: Any) -> int | None:
    """Axes of the layer's input, batch included (Keras 3 records ``build_config``)."""
    shape = build_shape(layer) or (fallback if SHAPE.check(fallback) else None)
    return len(shape) if shape else None


def batch_shape(cfg: dict[str, Any]) -> list[Any] | None:
    for key in ("batch_shape", "batch_input_shape"):
        if cfg.get(key) is not None:
            return list(field(cfg, key, SHAPE))
    if cfg.get("shape") is not None:
        return [None, *field(cfg, "shape", SHAPE)]
    return None


def entry(layer: Any, where: str) -> tuple[str, dict[str, Any]]:
    """A layer of a model's 'layers' list: its class name and its config."""
    if not isinstance(layer, dict):
        raise SpecError(f"{where}: a layer must be a mapping with 'class_name' and 'config'; "
                        f"received {shown(layer)}")
    return field(layer, "class_name", TEXT, where=where), field(layer, "config", MAPPING,
                                                                 where=where)
