"""Keras model configs -> convscope descriptions, without TensorFlow and without Keras.

Reads what Keras writes: ``model.to_json()``, the ``config.json`` inside a ``.keras``
file (a zip archive; the weights are not read), or the config dict of a live model.
Sequential and functional models, nested models (inlined, their layers named
``outer_layer/inner_layer``), shared layers (a layer called twice becomes two layers,
the second one ``shares`` the first one's weights; a nested model called twice likewise,
layer by layer), Keras 3's ``inbound_nodes``
(``__keras_tensor__`` with ``keras_history``) and Keras 2's (``[[name, node, tensor,
kwargs], ...]``). Keras operations recorded as layers (``x + 3.0``), Cropping and the
Applications' own layers (LayerScale, CustomScaleLayer): composite.py. A layer class
convscope has no rule for becomes an ``opaque`` layer with the output shape Keras
recorded, and a note names it (its parameters are counted when the model is a live one,
measured on the layer; a config alone does not hold them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ConvscopeError, SpecError
from ..layers.bridge import Malformed, Unsupported
from ..layers.fields import (
    FLAG,
    LIST,
    SHAPE,
    TEXT,
    UnexpectedConfig,
    check,
    field,
)
from ..limits import MAX_DEPTH, echo
from ..names import unique_name
from .composite import call_args, read_parts
from .history import (
    MODELS,
    Ref,
    batch_shape,
    build_shape,
    built_rank,
    calls,
    entry,
    is_keras_config,
    not_a_model,
    refs,
    tensors,
)


class Reader:
    """Walks (possibly nested) model configs and writes the description's items."""

    def __init__(self, input_override: tuple[int, ...] | None = None,
                 measured: dict[str, tuple[int, int]] | None = None) -> None:
        self.measured = measured or {}
        self.items: list[dict[str, Any]] = []
        self.inputs: dict[str, list[int]] = {}
        self.notes: list[str] = []
        self.override = input_override
        self.taken: set[str] = set()
        # layer or nested model (by scoped name) -> the items its first call added
        self.first_call: dict[str, list[dict[str, Any]]] = {}
        self.current = "(the model)"  # the layer being read, for messages
        self.depth = 0

    def where(self, name: str, class_name: str = "") -> str:
        return f"Keras layer '{echo(name)}'" + (f" ({echo(class_name)})" if class_name else "")

    # ---- inputs -------------------------------------------------------------
    def add_input(self, name: str, shape: list[Any] | None) -> str:
        if self.override is not None and not self.inputs:
            self.inputs[name] = list(self.override)
            return name
        if shape is None:
            raise SpecError(f"Keras input '{echo(name)}' has no recorded shape; give the "
                            "input shape with --input (H x W x C)")
        dims = shape[1:]
        if not dims or any(d is None for d in dims):
            raise SpecError(f"Keras input '{echo(name)}' has unknown sizes "
                            f"({', '.join('None' if d is None else str(d) for d in dims)}); "
                            "give the input shape with --input (H x W x C)")
        self.inputs[name] = [int(d) for d in dims]
        return name

    def unique(self, name: str) -> str:
        return unique_name(name, self.taken)

    # ---- one layer call -----------------------------------------------------
    def add_layer(self, layer: dict[str, Any], name: str, inputs: list[str],
                  rank: int | None, shares: str = "", out_shape: Any = None,
                  trainable: bool = True, in_shape: Any = None, args: Any = None) -> str:
        """One Keras layer call -> its item (or, composite.py, a short chain of items
        whose last one carries ``name``)."""
        class_name, cfg = entry(layer, self.where(name))
        self.current = name
        try:
            parts = read_parts(layer, class_name, cfg, rank,
                               None if self.override else in_shape, args)
            own = field(cfg, "trainable", FLAG, True)
        except Unsupported as why:
            parts = [self.opaque(class_name, name, str(why), out_shape)]
            own = cfg.get("trainable", True) is not False
        except Malformed as why:
            raise SpecError(f"{self.where(name, class_name)}: {why}") from None
        made: list[str] = []
        for i, part in enumerate(parts):
            part = dict(part)
            sources, suffix = part.pop("_from", None), part.pop("_suffix", "part")
            last = i == len(parts) - 1
            our = name if last else self.unique(f"{name}/{suffix}")
            if sources is None:
                ins = [made[-1]] if made else inputs
            else:
                if any(isinstance(s, int) and s >= len(inputs) for s in sources):
                    raise SpecError(f"{self.where(name, class_name)}: expects "
                                    f"{max(s for s in sources if isinstance(s, int)) + 1} "
                                    f"inputs; called with {len(inputs)}")
                ins = [made[-1] if s == "prev" else inputs[s] for s in sources]
            item = {**part, "name": our, "inputs": ins}
            if shares and last:
                item["shares"] = shares
            if not (own and trainable):
                item["trainable"] = False
            self.items.append(item)
            made.append(our)
        return name

    def opaque(self, class_name: str, name: str, why: str, out_shape: Any) -> dict[str, Any]:
        """An unread layer: Keras's output shape, and the weights a live model's layer holds
        (``measured``: (trainable, non-trainable) by layer name); a config alone tells none."""
        if not SHAPE.check(out_shape) or len(out_shape) < 2 or None in out_shape[1:]:
            raise SpecError(f"{self.where(name, class_name)}: convscope cannot read {why}, "
                            "and Keras recorded no output shape to stand in for it")
        item = {"type": "opaque", "op": class_name, "shape": [int(d) for d in out_shape[1:]]}
        trainable, frozen = self.measured.get(name, (0, 0))
        counted = "its parameters not counted (a config does not hold them)"
        if name in self.measured:
            counted = f"its {trainable + frozen:,} parameters measured on the Keras model"
            item["params"] = trainable + frozen
            if frozen and not trainable:
                item["trainable"] = False
            elif frozen:
                counted += f" (counted as trainable, {frozen:,} of them are not)"
        self.notes.append(f"{self.where(name, class_name)}: convscope cannot read {why}; "
                          f"kept as an opaque layer with Keras's output shape, {counted}")
        return item

    # ---- models -------------------------------------------------------------
    def model(self, model: dict[str, Any], prefix: str, bound: list[str] | None,
              trainable: bool = True) -> list[str]:
        """Add a model's layers; ``bound``: the outer tensors its inputs are (nested)."""
        if prefix:
            where = self.where(prefix.rstrip("/"), str(model.get("class_name", "")))
        else:
            name = model.get("config", {}).get("name")
            where = f"Keras model '{echo(name if isinstance(name, str) else 'model')}'"
        class_name, cfg = entry(model, where)
        if self.depth >= MAX_DEPTH:
            raise SpecError(f"{where}: models nested more than {MAX_DEPTH} levels deep")
        self.depth += 1
        trainable = trainable and field(cfg, "trainable", FLAG, True, where=where)
        try:
            if class_name == "Sequential":
                return self.sequential(cfg, prefix, bound, trainable, where)
            return self.functional(cfg, prefix, bound, trainable, where)
        except Malformed as why:
            raise SpecError(f"{where}: {why}") from None
        finally:
            self.depth -= 1

    @contextmanager
    def reading(self, where: str, name: str, class_name: str) -> Iterator[None]:
        """Malformed fields of layer ``name`` of the model at ``where``: a SpecError."""
        try:
            yield
        except Malformed as why:
            raise SpecError(f"{where}: layer '{echo(name)}' ({echo(class_name)}): {why}") \
                from None

    def layer_name(self, class_name: str, cfg: dict[str, Any], where: str) -> str:
        return field(cfg, "name", TEXT, class_name.lower(), where=where)

    def sequential(self, cfg: dict[str, Any], prefix: str, bound: list[str] | None,
                   trainable: bool, where: str) -> list[str]:
        layers = list(field(cfg, "layers", LIST, [], where=where))
        entries = [entry(layer, f"{where}: layers[{i}]") for i, layer in enumerate(layers)]
        current: str | None = bound[0] if bound else None
        rank: int | None = None
        if entries and entries[0][0] == "InputLayer":
            layers.pop(0)
            _, first = entries.pop(0)
            name = self.layer_name("input", first, f"{where}: layers[0]")
            self.current = name
            with self.reading(where, name, "InputLayer"):
                shape = batch_shape(first)
            rank = len(shape) if shape else None
            if current is None:
                current = self.add_input(prefix + name, shape)
        if current is None:
            build = cfg.get("build_input_shape") or build_shape(cfg)
            shape = list(check(build, SHAPE, "build_input_shape", where)) if build else None
            rank = len(shape) if shape else None
            current = self.add_input(self.unique(prefix + "input"), shape)
        for i, (layer, (class_name, layer_cfg)) in enumerate(zip(layers, entries, strict=True)):
            name = self.unique(prefix + self.layer_name(class_name, layer_cfg, where))
            self.current = name
            if class_name in MODELS:
                current = self.model(layer, name + "/", [current], trainable)[0]
                continue
            out_shape = build_shape(layers[i + 1]) if i + 1 < len(layers) else None
            current = self.add_layer(layer, name, [current], built_rank(layer, None) or rank,
                                     out_shape=out_shape, trainable=trainable,
                                     in_shape=build_shape(layer))
            rank = None  # known again from the next layer's build_config
        return [current]

    def functional(self, cfg: dict[str, Any], prefix: str, bound: list[str] | None,
                   trainable: bool, where: str) -> list[str]:
        layers: dict[str, dict[str, Any]] = {}
        shapes: dict[Ref, Any] = {}
        for i, layer in enumerate(field(cfg, "layers", LIST, [], where=where)):
            class_name, layer_cfg = entry(layer, f"{where}: layers[{i}]")
            name = field(layer, "name", TEXT, None) or \
                self.layer_name(class_name, layer_cfg, f"{where}: layers[{i}]")
            if name in layers:
                raise SpecError(f"{where}: two layers are named '{echo(name)}'")
            layers[name] = layer
            self.current = name
            with self.reading(where, name, class_name):
                for node in field(layer, "inbound_nodes", LIST, []):
                    if isinstance(node, dict):
                        shapes |= dict(tensors(node.get("args", [])))
        produced: dict[Ref, str] = {}
        inputs = refs(cfg.get("input_layers"), "'input_layers'")
        if bound is not None and len(bound) != len(inputs):
            raise SpecError(f"{where}: the nested model takes {len(inputs)} inputs but is "
                            f"called with {len(bound)}")
        for k, (name, _, _) in enumerate(inputs):
            if name not in layers:
                raise SpecError(f"{where}: input layer '{echo(name)}' is not among its layers")
            with self.reading(where, name, "InputLayer"):
                shape = batch_shape(layers[name]["config"])
            produced[(name, 0, 0)] = bound[k] if bound is not None else self.add_input(
                self.unique(prefix + name), shape)
        self.run_calls(layers, where, prefix, produced, shapes, trainable)
        outputs = []
        for r in refs(cfg.get("output_layers"), "'output_layers'"):
            if r not in produced:
                raise SpecError(f"{where}: output '{echo(r[0])}' (call {r[1]}, tensor {r[2]}) "
                                "is not computed from the inputs")
            outputs.append(produced[r])
        return outputs

    def run_calls(self, layers: dict[str, dict[str, Any]], where: str, prefix: str,
                  produced: dict[Ref, str], shapes: dict[Ref, Any], trainable: bool) -> None:
        """Each layer call once its inputs exist, in waves (the order Keras lists them)."""
        pending: list[tuple[str, int, list[Ref]]] = []
        for name, layer in layers.items():
            if layer["class_name"] != "InputLayer":
                self.current = name
                with self.reading(where, name, layer["class_name"]):
                    pending += [(name, k, inputs) for k, inputs in enumerate(calls(layer))]
        waiting: dict[Ref, list[int]] = {}
        missing = [0] * len(pending)
        for i, (_, _, inputs) in enumerate(pending):
            for r in set(inputs) - set(produced):
                waiting.setdefault(r, []).append(i)
                missing[i] += 1
        wave = [i for i, n in enumerate(missing) if n == 0]
        done = 0
        while wave:
            following = []
            for i in wave:
                name, k, inputs = pending[i]
                before = set(produced)
                self.call(layers[name], name, k, inputs, prefix, produced, shapes, trainable)
                for r in set(produced) - before:
                    for j in waiting.pop(r, []):
                        missing[j] -= 1
                        following += [j] if missing[j] == 0 else []
            done += len(wave)
            wave = sorted(following)
        if done < len(pending):
            self.unresolved(layers, where, [p for i, p in enumerate(pending) if missing[i]],
                            produced)

    def unresolved(self, layers: dict[str, Any], where: str, stuck: list[Any],
                   produced: dict[Ref, str]) -> None:
        refs_ = sorted({r for _, _, inputs in stuck for r in inputs if r not in produced})
        absent = [r[0] for r in refs_ if r[0] not in layers]
        if absent:
            raise SpecError(f"{where}: layer '{echo(stuck[0][0])}' reads layer "
                            f"'{echo(absent[0])}', which the model does not have")
        names = sorted({r[0] for r in refs_})
        raise SpecError(f"{where}: layer(s) {echo(', '.join(names[:5]))} are used but never "
                        "computed (a cycle, or a call or output index that does not exist)")

    def call(self, layer: dict[str, Any], name: str, k: int, inputs: list[Ref], prefix: str,
             produced: dict[Ref, str], shapes: dict[Ref, Any], trainable: bool) -> None:
        self.current = name
        sources = [produced[r] for r in inputs]
        first = self.first_call.get(prefix + name)
        if layer["class_name"] in MODELS:
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
        if not sources:
            raise SpecError(f"{self.where(name, layer['class_name'])}: call {k} has no "
                            "inputs")
        our = self.unique(prefix + name)
        self.add_layer(layer, our, sources, built_rank(layer, shapes.get(inputs[0])),
                       shares=first[-1]["name"] if first else "",
                       out_shape=shapes.get((name, k, 0)), trainable=trainable,
                       in_shape=build_shape(layer) or shapes.get(inputs[0]),
                       args=call_args(layer, k))
        if first is None:
            self.first_call[prefix + name] = self.items[-1:]
        produced[(name, k, 0)] = our


def description_from_config(config: Any, input_shape: tuple[int, ...] | None = None,
                            measured: dict[str, tuple[int, int]] | None = None
                            ) -> tuple[dict[str, Any], list[str]]:
    """The convscope description of a Keras model config, and the import notes."""
    if not is_keras_config(config):
        raise SpecError(not_a_model(config))
    reader = Reader(input_shape, measured)
    try:
        outputs = reader.model(config, "", None)
        name = field(config["config"], "name", TEXT, "keras_model", where="Keras model")
    except ConvscopeError:
        raise
    except Exception as err:  # noqa: BLE001 - the last resort: the fuzz tests keep it rare
        raise UnexpectedConfig(f"{reader.where(reader.current)}: cannot read its config "
                               f"({type(err).__name__}: {echo(str(err))})") from None
    description = {"name": name, "inputs": reader.inputs, "layers": reader.items,
                   "outputs": outputs}
    return description, reader.notes
