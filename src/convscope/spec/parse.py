"""Description (a mapping from YAML / JSON / the Python API) -> validated :class:`Graph`.

All validation of user input happens here or in the kinds' ``from_args``
(through :class:`~convscope.spec.args.Args`). The format is documented in
``docs/format.md`` and by ``convscope help syntax``; in short::

    name: resnet18
    input: 224x224x3                 # or inputs: {image: 224x224x3, ...}
    defaults: {conv: {bias: false}}  # default arguments per layer kind
    blocks:                          # named reusable blocks with parameters
      basic:
        params: {channels: null, stride: 1}        # null = required
        layers:
          - type: residual
            shortcut: auto                         # identity | projection | auto | zero_pad | [...]
            body:
              - {type: conv, out_channels: $channels, kernel_size: 3, stride: $stride, padding: 1}
              - bn
              - relu
              - {type: conv, out_channels: $channels, kernel_size: 3, padding: 1}
              - bn
          - relu
    layers:
      - conv7-64 s=2 p=3 nobias                    # one-line tokens work as items
      - {type: basic, channels: 64, repeat: 2, name: layer1}
      - {type: basic, channels: 128, repeat: 2, first: {stride: 2}, name: layer2}
      - {type: parallel, merge: concat, branches: [[conv1-64], [conv3-64 p=1]]}
      - {type: add, inputs: [a, b]}                # any DAG, by naming inputs

Structural types: ``sequential`` (layers), ``parallel`` (branches, merge),
``residual`` (body, shortcut, merge), ``repeat`` on any item (with ``first``
overrides for the first copy). In block bodies ``$p`` is a parameter and
``${expr}`` a small arithmetic expression over parameters (+ - * // % and
comparisons; never ``eval``).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from ..errors import LayerRuleError, SpecError, closest
from ..ir import Graph, Node, infer_shape
from ..layers import REGISTRY, Layer
from ..layers.base import Shape, shape_str
from .args import Args, parse_shape
from .blocks import STRUCTURES, Block, read_blocks, substitute
from .oneline import parse_token

TOP_KEYS = ("name", "description", "input", "inputs", "layers", "blocks", "outputs", "defaults",
            "source", "notes")
ITEM_KEYS = ("type", "name", "inputs", "repeat", "first", "trainable", "when", "shares",
             "shared_params")
SHORTCUTS = ("identity", "projection", "auto", "zero_pad", "optional")
BASE_NAMES = {"conv": "conv", "conv_transpose": "deconv", "dense": "fc", "batchnorm": "bn",
              "global_pool": "gap", "zero_padding": "pad", "concat": "concat"}


def lookup(name: str) -> tuple[type[Layer], dict[str, Any]] | None:
    """Registry entry for a type name, case-insensitive, underscores optional."""
    key = name.lower()
    if key in REGISTRY:
        return REGISTRY[key]
    squashed = key.replace("_", "")
    for candidate, entry in REGISTRY.items():
        if candidate.replace("_", "") == squashed:
            return entry
    return None


# ------------------------------------------------------------- the builder ---
class Builder:
    """Walks a description and collects nodes, inferring shapes as it goes."""

    def __init__(self, blocks: dict[str, Block], defaults: dict[str, dict[str, Any]]):
        self.blocks = blocks
        self.defaults = defaults
        self.nodes: list[Node] = []
        self.shapes: dict[str, Shape] = {}
        self.aliases: dict[str, str] = {}  # block / construct names -> their output node
        self.counters: dict[tuple[str, str], int] = {}
        self.expanding: list[str] = []
        self.auto_named: set[str] = set()

    # ---- names ----------------------------------------------------------
    def auto_name(self, scope: str, base: str) -> str:
        key = (scope, base)
        while True:
            self.counters[key] = self.counters.get(key, 0) + 1
            name = f"{scope}{base}{self.counters[key]}"
            if name not in self.shapes and name not in self.aliases:
                return name

    def resolve(self, ref: Any, scope: str, where: str) -> str:
        if not isinstance(ref, str):
            raise SpecError(f"{where}: inputs must be layer names; received {ref!r}")
        parts = scope.split(".")[:-1] if scope else []
        candidates = [".".join(parts[:i]) + "." + ref for i in range(len(parts), 0, -1)] + [ref]
        for name in candidates:
            if name in self.shapes:
                return name
            if name in self.aliases:
                return self.aliases[name]
        known = list(self.shapes) + list(self.aliases)
        raise SpecError(f"{where}: unknown input '{ref}': no earlier layer has that name."
                        f"{closest(ref, known)}")

    # ---- adding nodes ---------------------------------------------------------
    def add_layer(self, type_name: str, raw: dict[str, Any], inputs: list[str], scope: str,
                  where: str, name: str | None, trainable: bool, shares: str = "",
                  shared_params: int | None = None) -> str:
        entry = lookup(type_name)
        if entry is None:
            suggestions = sorted(set(REGISTRY) | set(self.blocks) | set(STRUCTURES))
            raise SpecError(f"{where}: unknown layer type '{type_name}'."
                            f"{closest(type_name.lower(), suggestions)} "
                            "Run 'convscope help layers' for the list")
        kind, fixed = entry
        args_raw = {**self.defaults.get(kind.kind, {}), **raw}
        in_shapes = tuple(self.shapes[r] for r in inputs)
        node_name = f"{scope}{name}" if name else self.auto_name(scope, base_name(kind, type_name))
        if not name:
            self.auto_named.add(node_name)
        label = f"{where} '{node_name}' ({kind.kind})"
        if len(inputs) < kind.min_inputs or (kind.max_inputs is not None
                                             and len(inputs) > kind.max_inputs):
            raise SpecError(f"{label}: takes {kind.min_inputs if kind.max_inputs else 'several'}"
                            f" input(s); received {len(inputs)}")
        try:
            layer = kind.from_args(Args(type_name, args_raw, fixed), in_shapes)
        except LayerRuleError as err:
            raise SpecError(f"{label}: {err}") from None
        node = Node(node_name, layer, tuple(inputs), where, trainable, shares, shared_params)
        if node_name in self.shapes or node_name in self.aliases:
            raise SpecError(f"{label}: the name '{node_name}' is already used; layer names must "
                            "be unique")
        self.shapes[node_name] = infer_shape(node, in_shapes, node.inputs)
        self.nodes.append(node)
        return node_name

    # ---- walking the description --------------------------------------------
    def sequence(self, items: Any, current: str, scope: str, where: str,
                 trainable: bool) -> str:
        if not isinstance(items, list):
            raise SpecError(f"{where}: expected a list of layers; received {items!r}")
        for i, item in enumerate(items):
            current = self.item(item, current, scope, f"{where}[{i}]", trainable)
        return current

    def item(self, raw: Any, current: str, scope: str, where: str, trainable: bool) -> str:
        if isinstance(raw, str):
            raw = parse_token(raw, where)
        elif isinstance(raw, dict) and "type" not in raw and len(raw) == 1:
            (type_name, args), = raw.items()  # the short form {conv: {out_channels: 6, ...}}
            raw = {"type": type_name, **(args or {})} if isinstance(args, (dict, type(None))) \
                else raw
        if not isinstance(raw, dict) or "type" not in raw:
            raise SpecError(f"{where}: a layer must be a mapping with a 'type' (or a one-line "
                            f"token like 'conv3-64'); received {raw!r}")
        item = dict(raw)
        when = item.pop("when", True)
        if not isinstance(when, bool):
            raise SpecError(f"{where}: 'when' must be true or false (e.g. \"${{expand != 1}}\" "
                            f"in a block); received {when!r}")
        if not when:
            return current
        repeat = item.pop("repeat", 1)
        first = item.pop("first", None)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
            raise SpecError(f"{where}: 'repeat' must be an integer >= 1; received {repeat!r}")
        if first is not None and not isinstance(first, dict):
            raise SpecError(f"{where}: 'first' must be a mapping of arguments for the first "
                            f"repetition; received {first!r}")
        if repeat == 1:
            return self.one(dict(item, **(first or {})), current, scope, where, trainable)
        name = item.pop("name", None)
        for r in range(repeat):
            copy_r = dict(item, **(first or {})) if r == 0 else dict(item)
            if name is not None:
                copy_r["name"] = f"{name}.{r}"
            current = self.one(copy_r, current, scope, f"{where} (repeat {r + 1}/{repeat})",
                               trainable)
        if name is not None:
            self.aliases[f"{scope}{name}"] = current
        return current

    def one(self, item: dict[str, Any], current: str, scope: str, where: str,
            trainable: bool) -> str:
        type_name = item.pop("type")
        if not isinstance(type_name, str):
            raise SpecError(f"{where}: 'type' must be a layer type name; received {type_name!r}")
        name = item.pop("name", None)
        if name is not None and (not isinstance(name, str) or not name):
            raise SpecError(f"{where}: 'name' must be a non-empty string; received {name!r}")
        trainable = bool(item.pop("trainable", True)) and trainable
        refs = item.pop("inputs", None)
        if refs is None and "input_from" in item:
            refs = item.pop("input_from")
        if refs is None:
            inputs = [current]
        else:
            refs = refs if isinstance(refs, list) else [refs]
            inputs = [self.resolve(r, scope, where) for r in refs]
        shares = item.pop("shares", "")
        shared_params = item.pop("shared_params", None)
        if shared_params is not None and (not isinstance(shared_params, int) or not shares):
            raise SpecError(f"{where}: 'shared_params' is a count of parameters and needs "
                            f"'shares'; received {shared_params!r}")
        if shares and (type_name in STRUCTURES or type_name in self.blocks):
            raise SpecError(f"{where}: 'shares' applies to a layer, not to a {type_name}")
        if type_name in STRUCTURES:
            return self.structure(type_name, item, inputs, scope, where, name, trainable)
        if type_name in self.blocks:
            return self.block(self.blocks[type_name], item, inputs, scope, where, name, trainable)
        if shares:
            shares = self.resolve(shares, scope, where)
        return self.add_layer(type_name, item, inputs, scope, where, name, trainable, shares,
                              shared_params)

    def block(self, block: Block, args: dict[str, Any], inputs: list[str], scope: str,
              where: str, name: str | None, trainable: bool) -> str:
        if block.name in self.expanding:
            raise SpecError(f"{where}: block '{block.name}' uses itself "
                            f"({' > '.join([*self.expanding, block.name])})")
        if len(inputs) != 1:
            raise SpecError(f"{where}: block '{block.name}' takes one input; received "
                            f"{len(inputs)}")
        unknown = set(args) - set(block.params)
        if unknown:
            key = sorted(unknown)[0]
            raise SpecError(f"{where}: block '{block.name}' has no parameter '{key}'."
                            f"{closest(key, list(block.params))} Parameters: "
                            f"{', '.join(block.params) or 'none'}")
        env = {"in_channels": self.shapes[inputs[0]][-1] if inputs else None, **block.params,
               **args}
        missing = [k for k, v in env.items() if v is None]
        if missing:
            raise SpecError(f"{where}: block '{block.name}' needs parameter '{missing[0]}'")
        instance = name or self.auto_name(scope, block.name).removeprefix(scope)
        try:
            body = substitute(copy.deepcopy(block.layers), env)
        except SpecError as err:
            raise SpecError(f"{where} (block '{block.name}'): {err.message}") from None
        self.expanding.append(block.name)
        out = self.sequence(body, inputs[0], f"{scope}{instance}.",
                            f"{where} (block '{block.name}' as '{scope}{instance}') > layers",
                            trainable)
        self.expanding.pop()
        full = f"{scope}{instance}"
        if (out == self.nodes[-1].name and out in self.auto_named
                and out.startswith(f"{full}.") and full not in self.shapes):
            # the block's output node takes the block's name (e.g. the concat of
            # an Inception block is 'inception3a', as torchvision names it)
            return self.rename_last(full)
        self.aliases[full] = out
        return out

    def rename_last(self, new: str) -> str:
        old = self.nodes[-1].name
        self.nodes[-1] = replace(self.nodes[-1], name=new)
        self.shapes[new] = self.shapes.pop(old)
        self.auto_named.discard(old)
        self.aliases = {k: (new if v == old else v) for k, v in self.aliases.items()}
        return new

    def structure(self, type_name: str, item: dict[str, Any], inputs: list[str], scope: str,
                  where: str, name: str | None, trainable: bool) -> str:
        if len(inputs) != 1:
            raise SpecError(f"{where}: '{type_name}' takes one input; received {len(inputs)}")
        inner = f"{scope}{name}." if name else scope
        source = inputs[0]
        if type_name == "sequential":
            _only(item, ("layers",), where, type_name)
            out = self.sequence(item.get("layers", []), source, inner, f"{where}.layers",
                                trainable)
            if name:
                self.aliases[f"{scope}{name}"] = out
            return out
        if type_name == "parallel":
            _only(item, ("branches", "merge", "axis"), where, type_name)
            branches = item.get("branches")
            if not isinstance(branches, list) or not branches:
                raise SpecError(f"{where}: 'parallel' needs 'branches', a list of layer lists")
            outs = [self.sequence(branch if branch is not None else [], source,
                                  f"{inner}branch{j + 1}." if name else inner,
                                  f"{where}.branches[{j}]", trainable)
                    for j, branch in enumerate(branches)]
            return self.merge(item.get("merge", "concat"), item, outs, scope, where, name,
                              trainable)
        _only(item, ("body", "shortcut", "merge", "projection_bn", "projection_bias"), where,
              type_name)
        body_out = self.sequence(item.get("body", []), source, inner, f"{where}.body",
                                 trainable)
        short_out = self.shortcut(item, source, body_out, inner, where, trainable)
        if not short_out:
            return body_out
        return self.merge(item.get("merge", "add"), item, [body_out, short_out], scope, where,
                          name, trainable)

    def merge(self, how: Any, item: dict[str, Any], outs: list[str], scope: str, where: str,
              name: str | None, trainable: bool) -> str:
        if not isinstance(how, str) or lookup(how) is None:
            raise SpecError(f"{where}: 'merge' must be concat, add, multiply, average, maximum "
                            f"or minimum; received {how!r}")
        args = {"axis": item["axis"]} if "axis" in item else {}
        return self.add_layer(how, args, outs, scope, where, name, trainable)

    def shortcut(self, item: dict[str, Any], source: str, body_out: str, scope: str,
                 where: str, trainable: bool) -> str:
        how = item.get("shortcut", "identity")
        if isinstance(how, list):
            return self.sequence(how, source, scope, f"{where}.shortcut", trainable)
        if how not in SHORTCUTS:
            raise SpecError(f"{where}: 'shortcut' must be one of {', '.join(SHORTCUTS)} or a "
                            f"list of layers; received {how!r}")
        src, out = self.shapes[source], self.shapes[body_out]
        if how == "optional" and src != out:
            return ""  # no shortcut: the residual is a plain sequence (MobileNetV2's rule)
        if how == "identity" or (how in ("auto", "zero_pad", "optional") and src == out):
            if src != out and how == "identity":
                raise SpecError(f"{where}: the identity shortcut cannot add the input "
                                f"{shape_str(src)} to the body's output {shape_str(out)}; use "
                                "shortcut: auto (a 1x1 projection when shapes differ)")
            return source
        strides = []
        for n, o in zip(src[:-1], out[:-1], strict=False):
            s = -(-n // o)
            if len(src) != len(out) or (n - 1) // s + 1 != o:
                raise SpecError(f"{where}: no strided 1x1 shortcut maps {shape_str(src)} to "
                                f"{shape_str(out)}")
            strides.append(s)
        if how == "zero_pad":  # He et al. 2016, option A: subsample, pad channels with zeros
            current = source
            if any(s != 1 for s in strides):
                current = self.add_layer("maxpool", {"kernel_size": 1, "stride": strides},
                                         [current], scope, where, "shortcut_subsample", trainable)
            extra = out[-1] - src[-1]
            return self.add_layer("zero_padding", {"padding": 0,
                                                   "channels": [extra // 2, extra - extra // 2]},
                                  [current], scope, where, "shortcut_pad", trainable)
        with_bn = item.get("projection_bn", True)
        conv = self.add_layer("conv", {"out_channels": out[-1], "kernel_size": 1,
                                       "stride": strides,
                                       "bias": item.get("projection_bias", not with_bn)},
                              [source], scope, where, "downsample.0", trainable)
        if not with_bn:
            return conv
        return self.add_layer("batchnorm", {}, [conv], scope, where, "downsample.1", trainable)


def _only(item: dict[str, Any], keys: tuple[str, ...], where: str, type_name: str) -> None:
    for key in item:
        if key not in keys:
            raise SpecError(f"{where}: unknown key '{key}' for '{type_name}'.{closest(key, keys)} "
                            f"Known: {', '.join(keys)}")


def base_name(kind: type[Layer], type_name: str) -> str:
    """Automatic names follow the seeds' tables: conv1, maxpool1, fc1, bn1, relu1."""
    entry = lookup(type_name)
    fixed = entry[1] if entry else {}
    if kind.kind == "pool":
        return f"{fixed.get('mode', 'max')}pool" if "mode" in fixed else "pool"
    if kind.kind == "activation" and "function" in fixed:
        return str(fixed["function"])
    if kind.kind == "merge" and "op" in fixed:
        return str(fixed["op"])
    if kind.kind == "global_pool" and fixed.get("mode") == "max":
        return "gmp"
    if kind.kind == "recurrent" and "cell" in fixed:
        return {"simple": "rnn"}.get(fixed["cell"], fixed["cell"])
    return BASE_NAMES.get(kind.kind, kind.kind)


# --------------------------------------------------------------- entry point ---
def _inputs(description: dict[str, Any], override: Shape | None) -> dict[str, Shape]:
    if "input" in description and "inputs" in description:
        raise SpecError("give either 'input' (one shape) or 'inputs' (named shapes), not both")
    raw = description.get("inputs")
    try:
        if raw is None:
            if "input" not in description and override is None:
                raise SpecError("the description has no 'input' shape (e.g. input: 32x32x1); "
                                "give one, or pass --input")
            shapes = {"input": override or parse_shape(description["input"])}
        elif isinstance(raw, dict) and raw:
            shapes = {str(k): parse_shape(v, f"input '{k}'") for k, v in raw.items()}
        else:
            raise SpecError(f"'inputs' must map input names to shapes; received {raw!r}")
    except LayerRuleError as err:
        raise SpecError(str(err)) from None
    if override is not None and raw is not None:
        if len(shapes) != 1:
            raise SpecError(f"--input sets one shape but the model has {len(shapes)} inputs")
        shapes = {next(iter(shapes)): override}
    return shapes


def parse(description: Any, input_override: Shape | None = None) -> Graph:
    """Build the validated graph of a description mapping.

    Raises:
        SpecError: the description is malformed (unknown keys, kinds, arguments).
        ShapeError: a layer's shape rule fails (e.g. kernel larger than its input).
    """
    if not isinstance(description, dict):
        raise SpecError("a description must be a mapping with 'input' and 'layers'; "
                        f"received {type(description).__name__}")
    for key in description:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown top-level key '{key}'.{closest(str(key), TOP_KEYS)} "
                            f"Known: {', '.join(TOP_KEYS)}")
    defaults = description.get("defaults") or {}
    if not isinstance(defaults, dict) or not all(isinstance(v, dict) for v in defaults.values()):
        raise SpecError("'defaults' must map layer kinds to default arguments, e.g. "
                        "{conv: {bias: false}}")
    for kind in defaults:
        if lookup(str(kind)) is None:
            raise SpecError(f"defaults: unknown layer type '{kind}'."
                            f"{closest(str(kind), list(REGISTRY))}")
    defaults = {lookup(str(k))[0].kind: v for k, v in defaults.items()}  # type: ignore[index]
    builder = Builder(read_blocks(description.get("blocks"), lambda n: lookup(n) is not None),
                      defaults)
    current = ""
    for input_name, shape in _inputs(description, input_override).items():
        current = builder.add_layer("input", {"shape": list(shape)}, [], "",
                                    f"input '{input_name}'", input_name, True)
    if "layers" not in description:
        raise SpecError("the description has no 'layers' list")
    last = builder.sequence(description["layers"], current, "", "layers", True)
    outputs = description.get("outputs")
    if outputs is None:
        out_names: tuple[str, ...] = (last,)
    else:
        refs = outputs if isinstance(outputs, list) else [outputs]
        out_names = tuple(builder.resolve(r, "", "outputs") for r in refs)
    return Graph(tuple(builder.nodes), out_names, str(description.get("name", "model")))
