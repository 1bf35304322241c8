"""Keras model configs -> convscope descriptions, without TensorFlow and without Keras.

Reads what Keras writes: ``model.to_json()``, the ``config.json`` inside a ``.keras``
file (a zip archive; the weights are not read), or the config dict of a live model.
Sequential and functional models, nested models (inlined, their layers named
``outer_layer/inner_layer``), shared layers (a layer called twice becomes two layers,
the second one ``shares`` the first one's weights; a nested model called twice likewise,
layer by layer), Keras 3's ``inbound_nodes``
(``__keras_tensor__`` with ``keras_history``) and Keras 2's (``[[name, node, tensor,
kwargs], ...]``). A layer class convscope has no rule for becomes an ``opaque`` layer
with the output shape Keras recorded, and a note names it (its parameters are then not
counted).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..names import unique_name
from .mapping import Unsupported, map_layer

MODELS = ("Functional", "Sequential", "Model")
Ref = tuple[str, int, int]  # (layer name, call index, output index), Keras's keras_history


def read_config(path: str | Path) -> dict[str, Any]:
    """The model config of a .keras archive or a .json file (model.to_json())."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".keras" or zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                if "config.json" not in archive.namelist():
                    raise SpecError(f"not a Keras 3 .keras archive (no config.json inside; "
                                    f"found {', '.join(archive.namelist()[:5])})", str(path))
                text = archive.read("config.json").decode("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        raise SpecError(f"cannot read the Keras model: {err}", str(path)) from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"JSON syntax error: {err.msg}",
                        f"{path}:{err.lineno}:{err.colno}") from None
    if not is_keras_config(config):
        raise SpecError("not a Keras model config (expected class_name Sequential, Functional "
                        "or Model with a 'config')", str(path))
    return config


def is_keras_config(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") in MODELS and \
        isinstance(value.get("config"), dict)


def tensor_refs(value: Any) -> list[Ref]:
    """Every Keras 3 tensor reference in a call's args, in order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            name, node, index = value["config"]["keras_history"]
            return [(name, node, index)]
        return [r for v in value.values() for r in tensor_refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in tensor_refs(v)]
    return []


def tensor_shapes(value: Any) -> dict[Ref, list[Any]]:
    """Keras 3 records the shape of every tensor passed to a call."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            name, node, index = value["config"]["keras_history"]
            return {(name, node, index): value["config"].get("shape")}
        return {k: s for v in value.values() for k, s in tensor_shapes(v).items()}
    if isinstance(value, list):
        return {k: s for v in value for k, s in tensor_shapes(v).items()}
    return {}


def calls(layer: dict[str, Any]) -> list[list[Ref]]:
    """The input references of each call of a layer (Keras 3 or Keras 2 format)."""
    out = []
    for node in layer.get("inbound_nodes", []):
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            out.append(tensor_refs(node.get("args", [])))
        else:  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
            out.append([(str(n[0]), int(n[1]), int(n[2])) for n in node])
    return out


def refs(value: Any) -> list[Ref]:
    """input_layers / output_layers: [name, node, index] or a list of them."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [(value[0], int(value[1]), int(value[2]))]
    return [(str(v[0]), int(v[1]), int(v[2])) for v in value or []]


def built_rank(layer: dict[str, Any], fallback: list[Any] | None) -> int | None:
    """Axes of the layer's input, batch included (Keras 3 records ``build_config``)."""
    shape = (layer.get("build_config") or {}).get("input_shape") or fallback
    return len(shape) if isinstance(shape, list) else None


def batch_shape(cfg: dict[str, Any]) -> list[Any] | None:
    for key in ("batch_shape", "batch_input_shape"):
        if cfg.get(key) is not None:
            return list(cfg[key])
    if cfg.get("shape") is not None:
        return [None, *cfg["shape"]]
    return None


class Reader:
    """Walks (possibly nested) model configs and writes the description's items."""

    def __init__(self, input_override: tuple[int, ...] | None = None) -> None:
        self.items: list[dict[str, Any]] = []
        self.inputs: dict[str, list[int]] = {}
        self.notes: list[str] = []
        self.shapes: dict[Ref, list[Any]] = {}  # per model scope: recorded tensor shapes
        self.override = input_override
        self.taken: set[str] = set()
        # layer or nested model (by scoped name) -> the items its first call added
        self.first_call: dict[str, list[dict[str, Any]]] = {}

    # ---- inputs -------------------------------------------------------------
    def add_input(self, name: str, shape: list[Any] | None) -> str:
        if self.override is not None and not self.inputs:
            self.inputs[name] = list(self.override)
            return name
        if shape is None:
            raise SpecError(f"Keras input '{name}' has no recorded shape; give the input "
                            "shape with --input (H x W x C)")
        dims = shape[1:]
        if any(d is None for d in dims):
            raise SpecError(f"Keras input '{name}' has unknown sizes "
                            f"({', '.join('None' if d is None else str(d) for d in dims)}); "
                            "give the input shape with --input (H x W x C)")
        self.inputs[name] = [int(d) for d in dims]
        return name

    def unique(self, name: str) -> str:
        return unique_name(name, self.taken)

    # ---- one layer call -----------------------------------------------------
    def add_layer(self, layer: dict[str, Any], name: str, inputs: list[str],
                  rank: int | None, shares: str = "", out_shape: list[Any] | None = None,
                  trainable: bool = True) -> str:
        cfg = layer.get("config", {})
        class_name = layer.get("class_name", "?")
        try:
            item = map_layer(class_name, cfg, rank)
        except Unsupported as why:
            item = self.opaque(class_name, name, str(why), out_shape)
        except (KeyError, TypeError, IndexError, ValueError) as err:
            raise SpecError(f"Keras layer '{name}' ({class_name}): unexpected config "
                            f"({type(err).__name__}: {err})") from None
        item = {**item, "name": name, "inputs": inputs}
        if shares:
            item["shares"] = shares
        if not (cfg.get("trainable", True) and trainable):
            item["trainable"] = False
        self.items.append(item)
        return name

    def opaque(self, class_name: str, name: str, why: str,
               out_shape: list[Any] | None) -> dict[str, Any]:
        if out_shape is None or any(d is None for d in out_shape[1:]):
            raise SpecError(f"Keras layer '{name}' ({class_name}): convscope cannot read "
                            f"{why}, and Keras recorded no output shape to stand in for it")
        self.notes.append(f"Keras layer '{name}' ({class_name}): convscope cannot read {why}; "
                          "kept as an opaque layer with Keras's output shape, its parameters "
                          "not counted")
        return {"type": "opaque", "op": class_name, "shape": [int(d) for d in out_shape[1:]]}

    # ---- models -------------------------------------------------------------
    def model(self, model: dict[str, Any], prefix: str, bound: list[str] | None,
              trainable: bool = True) -> list[str]:
        """Add a model's layers; ``bound``: the outer tensors its inputs are (nested)."""
        cfg = model["config"]
        trainable = trainable and cfg.get("trainable", True)
        if model["class_name"] == "Sequential":
            return self.sequential(cfg, prefix, bound, trainable)
        return self.functional(cfg, prefix, bound, trainable)

    def sequential(self, cfg: dict[str, Any], prefix: str, bound: list[str] | None,
                   trainable: bool) -> list[str]:
        layers = list(cfg.get("layers", []))
        current: str | None = bound[0] if bound else None
        rank: int | None = None
        if layers and layers[0].get("class_name") == "InputLayer":
            first = layers.pop(0)
            shape = batch_shape(first["config"])
            rank = len(shape) if shape else None
            if current is None:
                current = self.add_input(prefix + first["config"].get("name", "input"), shape)
        if current is None:
            build = cfg.get("build_input_shape") or (cfg.get("build_config") or {}).get(
                "input_shape")
            shape = list(build) if build else None
            rank = len(shape) if shape else None
            current = self.add_input(self.unique(prefix + "input"), shape)
        for i, layer in enumerate(layers):
            name = self.unique(prefix + layer["config"].get("name", layer["class_name"].lower()))
            if layer.get("class_name") in MODELS:
                current = self.model(layer, name + "/", [current], trainable)[0]
                continue
            after = layers[i + 1] if i + 1 < len(layers) else {}
            out_shape = (after.get("build_config") or {}).get("input_shape")
            current = self.add_layer(layer, name, [current], built_rank(layer, None) or rank,
                                     out_shape=out_shape, trainable=trainable)
            rank = None  # known again from the next layer's build_config
        return [current]

    def functional(self, cfg: dict[str, Any], prefix: str, bound: list[str] | None,
                   trainable: bool) -> list[str]:
        layers = {layer["name"] if "name" in layer else layer["config"]["name"]: layer
                  for layer in cfg.get("layers", [])}
        produced: dict[Ref, str] = {}
        shapes: dict[Ref, list[Any]] = {}
        for layer in layers.values():
            for node in layer.get("inbound_nodes", []):
                if isinstance(node, dict):
                    shapes |= tensor_shapes(node.get("args", []))
        for k, (name, _, _) in enumerate(refs(cfg.get("input_layers"))):
            layer = layers[name]
            if bound is not None:
                produced[(name, 0, 0)] = bound[k]
            else:
                produced[(name, 0, 0)] = self.add_input(
                    self.unique(prefix + name), batch_shape(layer["config"]))
        pending = [(name, k, inputs) for name, layer in layers.items()
                   if layer.get("class_name") != "InputLayer"
                   for k, inputs in enumerate(calls(layer))]
        while pending:
            ready = [p for p in pending if all(r in produced for r in p[2])]
            if not ready:
                missing = sorted({r[0] for p in pending for r in p[2] if r not in produced})
                raise SpecError(f"Keras model '{cfg.get('name')}': layers "
                                f"{', '.join(missing[:5])} are used but never computed")
            for name, k, inputs in ready:
                pending.remove((name, k, inputs))
                self.call(layers[name], name, k, inputs, prefix, produced, shapes, trainable)
        return [produced[r] for r in refs(cfg.get("output_layers"))]

    def call(self, layer: dict[str, Any], name: str, k: int, inputs: list[Ref], prefix: str,
             produced: dict[Ref, str], shapes: dict[Ref, list[Any]], trainable: bool) -> None:
        sources = [produced[r] for r in inputs]
        first = self.first_call.get(prefix + name)
        if layer.get("class_name") in MODELS:
            start = len(self.items)
            outs = self.model(layer, self.unique(prefix + name) + "/", sources, trainable)
            if first is None:
                self.first_call[prefix + name] = self.items[start:]
            else:  # the same model called again (a Siamese pair): one set of weights
                for item, original in zip(self.items[start:], first, strict=True):
                    item["shares"] = original.get("shares", original["name"])
            for index, out in enumerate(outs):
                produced[(name, k, index)] = out
            return
        our = self.unique(prefix + name)
        in_shape = shapes.get(inputs[0]) if inputs else None
        self.add_layer(layer, our, sources, built_rank(layer, in_shape),
                       shares=first[0]["name"] if first else "",
                       out_shape=shapes.get((name, k, 0)), trainable=trainable)
        if first is None:
            self.first_call[prefix + name] = self.items[-1:]
        produced[(name, k, 0)] = our


def description_from_config(config: dict[str, Any], input_shape: tuple[int, ...] | None = None
                            ) -> tuple[dict[str, Any], list[str]]:
    """The convscope description of a Keras model config, and the import notes."""
    if not is_keras_config(config):
        raise SpecError("not a Keras model config (expected class_name Sequential, Functional "
                        "or Model with a 'config')")
    reader = Reader(input_shape)
    outputs = reader.model(config, "", None)
    description = {"name": config["config"].get("name", "keras_model"), "inputs": reader.inputs,
                   "layers": reader.items, "outputs": outputs}
    return description, reader.notes
