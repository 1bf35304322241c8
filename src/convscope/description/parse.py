"""Description (a mapping from YAML / JSON / the Python API) -> validated :class:`Graph`.

All validation of user input happens here or in the kinds' ``from_args``
(through :class:`~convscope.description.args.Args`). The format is documented in the README
("Describing a network") and by ``convscope help syntax``; in short::

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

from dataclasses import replace
from itertools import islice
from typing import Any

from .. import errors, limits
from ..errors import ConvscopeError, LayerRuleError, Location, SpecError, closest, path_str
from ..ir import Graph, Node, infer_shape
from ..layers import REGISTRY
from ..layers.base import Shape
from ..limits import echo, shown
from .args import Args
from .blocks import STRUCTURES, Block, read_blocks, substitute
from .budget import LayerCounter, check_data, check_layers, check_repeat
from .kinds import base_name, lookup, one_line, only, read_inputs
from .names import check_name
from .oneline import parse_token
from .shortcut import shortcut as _shortcut

__all__ = ["Builder", "base_name", "lookup", "parse"]

TOP_KEYS = ("name", "description", "input", "inputs", "layers", "blocks", "outputs", "defaults",
            "source", "notes")
ITEM_KEYS = ("type", "name", "inputs", "repeat", "first", "trainable", "when", "shares",
             "shared_params")


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
        self.counter = LayerCounter(blocks)
        self.level = 0  # nesting of structures and blocks being built

    # ---- names ----------------------------------------------------------
    def auto_name(self, scope: str, base: str) -> str:
        key = (scope, base)
        while True:
            self.counters[key] = self.counters.get(key, 0) + 1
            name = f"{scope}{base}{self.counters[key]}"
            if name not in self.shapes and name not in self.aliases:
                return name

    def resolve(self, ref: Any, scope: str, where: Location) -> str:
        if not isinstance(ref, str):
            raise SpecError(f"inputs must be layer names; received {shown(ref)}", path=where)
        parts = scope.split(".")[:-1] if scope else []
        candidates = [".".join(parts[:i]) + "." + ref for i in range(len(parts), 0, -1)] + [ref]
        for name in candidates:
            if name in self.shapes:
                return name
            if name in self.aliases:
                return self.aliases[name]
        known = list(self.shapes) + list(self.aliases)
        raise SpecError(f"unknown input '{echo(ref)}': no earlier layer has that "
                        f"name.{closest(ref, known[-5000:])}", path=where)

    # ---- adding nodes ---------------------------------------------------------
    def add_layer(self, type_name: str, raw: dict[str, Any], inputs: list[str], scope: str,
                  where: Location, name: str | None, trainable: bool, shares: str = "",
                  shared_params: int | None = None) -> str:
        entry = lookup(type_name)
        if entry is None:
            suggestions = sorted(set(REGISTRY) | set(self.blocks) | set(STRUCTURES))
            raise SpecError(f"unknown layer type '{echo(type_name)}'."
                            f"{closest(type_name.lower(), suggestions)} "
                            "Run 'convscope help layers' for the list", path=where)
        kind, fixed = entry
        args_raw = {**self.defaults.get(kind.kind, {}), **raw}
        in_shapes = tuple(self.shapes[r] for r in inputs)
        node_name = f"{scope}{name}" if name else self.auto_name(scope, base_name(kind, type_name))
        if not name:
            self.auto_named.add(node_name)
        at: dict[str, Any] = {"path": where, "layer": node_name, "kind": kind.kind}
        if len(self.nodes) >= limits.max_layers():
            check_layers(1, len(self.nodes))
        least = 2 if kind.kind == "merge" else kind.min_inputs  # (concat of one: identity)
        if len(inputs) < least or (kind.max_inputs is not None
                                   and len(inputs) > kind.max_inputs):
            want = f"at least {least}" if kind.max_inputs is None else str(kind.min_inputs)
            raise SpecError(f"takes {want} input(s); received {len(inputs)}"
                            + (" (a merge of one input does nothing: remove it, or name the "
                               "other inputs with 'inputs')" if least == 2 else ""), **at,
                            rule="inputs", expected=want, received=str(len(inputs)))
        try:
            layer = kind.from_args(Args(type_name, args_raw, fixed), in_shapes)
        except LayerRuleError as err:
            raise SpecError(err.message, **at, **err.details()) from None
        node = Node(node_name, layer, tuple(inputs), path_str(where), trainable, shares,
                    shared_params, where)
        if node_name in self.shapes or node_name in self.aliases:
            raise SpecError(f"the name '{node_name}' is already used; layer names must be "
                            "unique", **at)
        self.shapes[node_name] = infer_shape(node, in_shapes, node.inputs)
        self.nodes.append(node)
        return node_name

    # ---- walking the description --------------------------------------------
    def sequence(self, items: Any, current: str, scope: str, where: Location,
                 trainable: bool) -> str:
        if not isinstance(items, list):
            raise SpecError(f"expected a list of layers; received {shown(items)}", path=where)
        self.level += 1
        if self.level > limits.MAX_DEPTH:
            raise SpecError(f"structures and blocks nest deeper than {limits.MAX_DEPTH} levels",
                            path=where)
        for i, item in enumerate(items):
            current = self.item(item, current, scope, (*where, i), trainable)
        self.level -= 1
        return current

    def item(self, raw: Any, current: str, scope: str, where: Location,
             trainable: bool) -> str:
        if isinstance(raw, str):
            raw = parse_token(raw, where)
        elif isinstance(raw, dict) and "type" not in raw and len(raw) == 1:
            (type_name, args), = raw.items()  # the short form {conv: {out_channels: 6, ...}}
            raw = {"type": type_name, **(args or {})} if isinstance(args, (dict, type(None))) \
                else raw
        if not isinstance(raw, dict) or "type" not in raw:
            raise SpecError(f"a layer must be a mapping with a 'type' (or a one-line token "
                            f"like 'conv3-64'); received {shown(raw)}", path=where)
        item = dict(raw)
        when = item.pop("when", True)
        if not isinstance(when, bool):
            raise SpecError(f"'when' must be true or false (e.g. \"${{expand != 1}}\" in a "
                            f"block); received {shown(when)}", path=where)
        if not when:
            return current
        repeat, first = self.repeat_args(item, where)
        if repeat == 1:
            return self.one(dict(item, **(first or {})), current, scope, where, trainable)
        name = item.pop("name", None)
        for r in range(repeat):
            copy_r = dict(item, **(first or {})) if r == 0 else dict(item)
            if name is not None:
                copy_r["name"] = f"{name}.{r}"
            current = self.one(copy_r, current, scope, (*where, errors.Repeat(repeat, r + 1)),
                               trainable)
        if name is not None:
            self.aliases[f"{scope}{name}"] = current
        return current

    def repeat_args(self, item: dict[str, Any], where: Location) -> tuple[int, dict[str, Any]]:
        """Pop and check 'repeat' and 'first'; refuse a repeat beyond the layer budget."""
        repeat = item.pop("repeat", 1)
        first = item.pop("first", None)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
            raise SpecError(f"'repeat' must be an integer >= 1; received {shown(repeat)}",
                            path=where)
        if first is not None and not isinstance(first, dict):
            raise SpecError(f"'first' must be a mapping of arguments for the first "
                            f"repetition; received {shown(first)}", path=where)
        if repeat > 1:  # each repetition is a step of work, even of an empty item
            check_repeat(repeat, (*where, errors.Repeat(repeat)))
            check_layers(repeat * max(self.counter.item(item, self.level, where), 1),
                         len(self.nodes), (*where, errors.Repeat(repeat)))
        return repeat, first or {}

    def one(self, item: dict[str, Any], current: str, scope: str, where: Location,
            trainable: bool) -> str:
        type_name = item.pop("type")
        if not isinstance(type_name, str):
            raise SpecError(f"'type' must be a layer type name; received {shown(type_name)}",
                            path=where)
        name = item.pop("name", None)
        if name is not None and (not isinstance(name, str) or not name):
            raise SpecError(f"'name' must be a non-empty string; received {shown(name)}",
                            path=where)
        check_name(name, "layer name", where)
        own = item.pop("trainable", True)
        if not isinstance(own, bool):
            raise SpecError(f"'trainable' must be true or false (a boolean, not text); "
                            f"received {shown(own)}", path=where)
        trainable = own and trainable
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
            raise SpecError(f"'shared_params' is a count of parameters and needs 'shares'; "
                            f"received {shown(shared_params)}", path=where)
        if not isinstance(shares, str):
            raise SpecError(f"'shares' must name an earlier layer; received {shown(shares)}",
                            path=where)
        if shares and (type_name in STRUCTURES or type_name in self.blocks):
            raise SpecError(f"'shares' applies to a layer, not to a {type_name}", path=where)
        if type_name in STRUCTURES:
            return self.structure(type_name, item, inputs, scope, where, name, trainable)
        if type_name in self.blocks:
            return self.block(self.blocks[type_name], item, inputs, scope, where, name, trainable)
        if shares:
            shares = self.resolve(shares, scope, where)
        return self.add_layer(type_name, item, inputs, scope, where, name, trainable, shares,
                              shared_params)

    def block(self, block: Block, args: dict[str, Any], inputs: list[str], scope: str,
              where: Location, name: str | None, trainable: bool) -> str:
        if block.name in self.expanding:
            raise SpecError(f"block '{block.name}' uses itself "
                            f"({' > '.join([*self.expanding, block.name])})", path=where)
        if len(inputs) != 1:
            raise SpecError(f"block '{block.name}' takes one input; received {len(inputs)}",
                            path=where)
        unknown = set(args) - set(block.params)
        if unknown:
            key = sorted(unknown)[0]
            raise SpecError(f"block '{block.name}' has no parameter '{echo(key)}'."
                            f"{closest(key, list(block.params))} Parameters: "
                            f"{echo(', '.join(block.params) or 'none', 200)}", path=where)
        env = {"in_channels": self.shapes[inputs[0]][-1] if inputs else None, **block.params,
               **args}
        missing = [k for k, v in env.items() if v is None]
        if missing:
            raise SpecError(f"block '{block.name}' needs parameter '{echo(missing[0])}'",
                            path=where)
        instance = name or self.auto_name(scope, block.name).removeprefix(scope)
        try:
            body = substitute(block.layers, env)
        except SpecError as err:
            raise err.replace(path=(*where, errors.InBlock(block.name))) from None
        inside = (*where, errors.InBlock(block.name))
        check_layers(self.counter.items(body, self.level, (*inside, "layers")), len(self.nodes),
                     inside)
        self.expanding.append(block.name)
        known = len(self.aliases)
        out = self.sequence(body, inputs[0], f"{scope}{instance}.",
                            (*where, errors.InBlock(block.name, f"{scope}{instance}"), "layers"),
                            trainable)
        self.expanding.pop()
        full = f"{scope}{instance}"
        if (out == self.nodes[-1].name and out in self.auto_named
                and out.startswith(f"{full}.") and full not in self.shapes):
            # the block's output node takes the block's name (e.g. the concat of
            # an Inception block is 'inception3a', as torchvision names it)
            return self.rename_last(full, len(self.aliases) - known)
        self.aliases[full] = out
        return out

    def rename_last(self, new: str, recent: int) -> str:
        """The last node takes the name ``new``; of the aliases only the ``recent`` ones
        (added while its block was built) can point at it."""
        old = self.nodes[-1].name
        self.nodes[-1] = replace(self.nodes[-1], name=new)
        self.shapes[new] = self.shapes.pop(old)
        self.auto_named.discard(old)
        latest = list(islice(reversed(self.aliases.items()), recent))
        for key, value in latest:
            if value == old:
                self.aliases[key] = new
        return new

    def structure(self, type_name: str, item: dict[str, Any], inputs: list[str], scope: str,
                  where: Location, name: str | None, trainable: bool) -> str:
        if len(inputs) != 1:
            raise SpecError(f"'{type_name}' takes one input; received {len(inputs)}",
                            path=where)
        inner = f"{scope}{name}." if name else scope
        source = inputs[0]
        if type_name == "sequential":
            only(item, ("layers",), where, type_name)
            out = self.sequence(item.get("layers", []), source, inner, (*where, "layers"),
                                trainable)
            if name:
                self.aliases[f"{scope}{name}"] = out
            return out
        if type_name == "parallel":
            only(item, ("branches", "merge", "axis"), where, type_name)
            branches = item.get("branches")
            if not isinstance(branches, list) or not branches:
                raise SpecError("'parallel' needs 'branches', a list of layer lists",
                                path=where)
            outs = [self.sequence(branch if branch is not None else [], source,
                                  f"{inner}branch{j + 1}." if name else inner,
                                  (*where, "branches", j), trainable)
                    for j, branch in enumerate(branches)]
            return self.merge(item.get("merge", "concat"), item, outs, scope, where, name,
                              trainable)
        only(item, ("body", "shortcut", "merge", "projection_bn", "projection_bias"), where,
              type_name)
        body_out = self.sequence(item.get("body", []), source, inner, (*where, "body"),
                                 trainable)
        short_out = self.shortcut(item, source, body_out, inner, where, trainable)
        if not short_out:
            return body_out
        return self.merge(item.get("merge", "add"), item, [body_out, short_out], scope, where,
                          name, trainable)

    def merge(self, how: Any, item: dict[str, Any], outs: list[str], scope: str,
              where: Location, name: str | None, trainable: bool) -> str:
        if not isinstance(how, str) or lookup(how) is None:
            raise SpecError(f"'merge' must be concat, add, multiply, average, maximum or "
                            f"minimum; received {shown(how)}", path=where)
        args = {"axis": item["axis"]} if "axis" in item else {}
        return self.add_layer(how, args, outs, scope, where, name, trainable)

    shortcut = _shortcut  # description/shortcut.py


# --------------------------------------------------------------- entry point ---
def parse(description: Any, input_override: Shape | None = None) -> Graph:
    """Build the validated graph of a description mapping.

    Raises:
        SpecError: the description is malformed (unknown keys, kinds, arguments), nested
            too deeply or would expand beyond the layer budget (``limits``).
        ShapeError: a layer's shape rule fails (e.g. kernel larger than its input).
    """
    if not isinstance(description, dict):
        kind = {"NoneType": "nothing (an empty description)", "list": "a list",
                "str": "a single text", "int": "a number", "float": "a number"}
        received = kind.get(type(description).__name__, type(description).__name__)
        raise SpecError("a description must be a mapping with 'input' and 'layers'; "
                        f"received {received}")
    try:
        return _parse(description, input_override)
    except RecursionError:  # a last resort: the budgets above stop real cases first
        raise SpecError(f"the description is nested too deeply (more than {limits.MAX_DEPTH} "
                        "levels of structures, blocks, lists or mappings)") from None
    except ConvscopeError as err:
        raise one_line(err) from None
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as err:
        raise SpecError(f"cannot read the description: {echo(str(err), 200)}") from None


def _parse(description: dict[str, Any], input_override: Shape | None) -> Graph:
    check_data(description)
    for key in description:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown top-level key '{echo(key)}'.{closest(key, TOP_KEYS)} "
                            f"Known: {', '.join(TOP_KEYS)}")
    name = description.get("name", "model")
    if not isinstance(name, (str, int, float)) or isinstance(name, bool):
        raise SpecError(f"must be text; received {shown(name)}", path=("name",))
    check_name(name, "model name", ("name",))
    defaults = description.get("defaults") or {}
    if not isinstance(defaults, dict) or not all(isinstance(v, dict) for v in defaults.values()):
        raise SpecError("must map layer kinds to default arguments, e.g. "
                        f"{{conv: {{bias: false}}}}; received {shown(defaults)}",
                        path=("defaults",))
    for kind in defaults:
        if lookup(kind) is None:
            raise SpecError(f"unknown layer type '{echo(kind)}'."
                            f"{closest(kind, list(REGISTRY))}", path=("defaults",))
    defaults = {lookup(k)[0].kind: v for k, v in defaults.items()}  # type: ignore[index]
    builder = Builder(read_blocks(description.get("blocks"), lambda n: lookup(n) is not None),
                      defaults)
    if "layers" not in description:
        raise SpecError("the description has no 'layers' list")
    check_layers(builder.counter.items(description["layers"]), 1)
    current = ""
    for input_name, shape in read_inputs(description, input_override).items():
        current = builder.add_layer("input", {"shape": list(shape)}, [], "",
                                    (errors.Named("input", input_name),), input_name, True)
    last = builder.sequence(description["layers"], current, "", ("layers",), True)
    outputs = description.get("outputs")
    if outputs is None:
        out_names: tuple[str, ...] = (last,)
    else:
        refs = outputs if isinstance(outputs, list) else [outputs]
        out_names = tuple(builder.resolve(r, "", ("outputs",)) for r in refs)
    return Graph(tuple(builder.nodes), out_names, str(name))
