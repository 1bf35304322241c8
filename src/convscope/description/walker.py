"""The walk over a description's layer lists: each item (a mapping, a one-line token or the
short form ``{conv: {...}}``), its repeats, and the layers it adds to the graph.

The walker keeps the state of one parse: the graph being built (an
:class:`~convscope.ir.GraphBuilder`, which infers each node's shape once, when it is
added), the names (:class:`~.names.Names`), the layer budget and the nesting level.
Structures and block instances are expanded by :mod:`.structures`, shortcuts by
:mod:`.shortcut`.
"""

from __future__ import annotations

from typing import Any

from .. import errors, limits
from ..errors import LayerRuleError, Location, SpecError, closest
from ..frozen import assemble
from ..ir import GraphBuilder, Node
from ..layers import REGISTRY, Layer
from ..limits import echo, shown
from .args import Args
from .blocks import STRUCTURES, Block
from .budget import LayerCounter, check_layers, check_repeat
from .kinds import base_name, lookup
from .layer_memo import LayerMemo
from .names import Names, check_name
from .oneline import parse_token
from .structures import expand_block, structure


class Walker:
    """Walks a description and adds its layers to ``graph``, one node at a time."""

    def __init__(self, blocks: dict[str, Block], defaults: dict[str, dict[str, Any]]):
        self.blocks = blocks
        self.defaults = defaults
        self.graph = GraphBuilder()
        self.names = Names(self.graph)
        self.expanding: list[str] = []  # the blocks being expanded, outermost first
        self.counter = LayerCounter(blocks)
        self.level = 0  # nesting of structures and blocks being built
        self.memo = LayerMemo()  # equal tokens parse once, equal layers build once
        self.budget = limits.max_layers()

    # ---- lists and items ------------------------------------------------------
    def sequence(self, items: Any, current: str, scope: str, where: Location,
                 trainable: bool) -> str:
        """Each item of a layer list in turn, from ``current``; the last node's name."""
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
        """One item of a layer list: skipped ('when: false'), once, or repeated."""
        item = as_mapping(self.memo.token(raw, where) if isinstance(raw, str) else raw, where)
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
            self.names.aliases[f"{scope}{name}"] = current
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
                         len(self.graph), (*where, errors.Repeat(repeat)))
        return repeat, first or {}

    def one(self, item: dict[str, Any], current: str, scope: str, where: Location,
            trainable: bool) -> str:
        """One copy of an item: a structure, a block instance or a layer."""
        type_name, name, trainable = identity(item, where, trainable)
        refs = item.pop("inputs", None)
        if refs is None and "input_from" in item:
            refs = item.pop("input_from")
        if refs is None:
            inputs = [current]
        else:
            refs = refs if isinstance(refs, list) else [refs]
            inputs = [self.names.resolve(r, scope, where) for r in refs]
        shares, shared_params, repeated = sharing(item, type_name, self.blocks, where)
        if type_name in STRUCTURES:
            return structure(self, type_name, item, inputs, scope, where, name, trainable)
        if type_name in self.blocks:
            return expand_block(self, self.blocks[type_name], item, inputs, scope, where, name,
                                trainable)
        if shares:
            shares = self.names.resolve(shares, scope, where)
        return self.add_layer(type_name, item, inputs, scope, where, name, trainable, shares,
                              shared_params, repeated)

    # ---- layers ---------------------------------------------------------------
    def add_layer(self, type_name: str, raw: dict[str, Any], inputs: list[str], scope: str,
                  where: Location, name: str | None, trainable: bool, shares: str = "",
                  shared_params: int | None = None, repeated: int = 0) -> str:
        """Add one layer reading ``inputs`` (its shape is inferred here, once); its name."""
        kind, fixed = self.kind(type_name, where)
        in_shapes = tuple(self.graph.shapes[r] for r in inputs)
        node_name = (f"{scope}{name}" if name
                     else self.names.auto_name(scope, base_name(kind, type_name)))
        if not name:
            self.names.auto_named.add(node_name)
        at: dict[str, Any] = {"path": where, "layer": node_name, "kind": kind.kind}
        if len(self.graph) >= self.budget:
            check_layers(1, len(self.graph))
        check_arity(kind, len(inputs), at)
        args = {**self.defaults.get(kind.kind, {}), **raw}
        try:
            layer = self.memo.layer(type_name, args, in_shapes,
                                    lambda: kind.from_args(Args(type_name, args, fixed),
                                                           in_shapes))
        except LayerRuleError as err:
            raise SpecError(err.message, **at, **err.details()) from None
        node = assemble(Node, {  # Node(...) without a setattr per field (frozen.py)
            "name": node_name, "layer": layer, "inputs": tuple(inputs),
            "trainable": trainable, "shares": shares,
            "shared_params": shared_params, "path": where, "repeated_params": repeated})
        if self.names.taken(node_name):
            raise SpecError(f"the name '{node_name}' is already used; layer names must be "
                            "unique", **at)
        self.graph.add(node)
        return node_name

    def kind(self, type_name: str, where: Location) -> tuple[type[Layer], dict[str, Any]]:
        """The layer kind (and its fixed arguments) a type name stands for."""
        entry = lookup(type_name)
        if entry is None:
            suggestions = sorted(set(REGISTRY) | set(self.blocks) | set(STRUCTURES))
            raise SpecError(f"unknown layer type '{echo(type_name)}'."
                            f"{closest(type_name.lower(), suggestions)} "
                            "Run 'convscope help layers' for the list", path=where)
        return entry


# ---- checks of an item ------------------------------------------------------------
def as_mapping(raw: Any, where: Location) -> dict[str, Any]:
    """An item as a mapping with a 'type': from a one-line token, the short form
    ``{conv: {out_channels: 6, ...}}`` or a mapping (copied)."""
    if isinstance(raw, str):
        raw = parse_token(raw, where)
    elif isinstance(raw, dict) and "type" not in raw and len(raw) == 1:
        (type_name, args), = raw.items()  # the short form {conv: {out_channels: 6, ...}}
        raw = {"type": type_name, **(args or {})} if isinstance(args, (dict, type(None))) \
            else raw
    if not isinstance(raw, dict) or "type" not in raw:
        raise SpecError(f"a layer must be a mapping with a 'type' (or a one-line token "
                        f"like 'conv3-64'); received {shown(raw)}", path=where)
    return dict(raw)


def identity(item: dict[str, Any], where: Location,
             trainable: bool) -> tuple[str, str | None, bool]:
    """Pop and check an item's 'type', 'name' and 'trainable' (frozen inside a frozen
    structure)."""
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
    return type_name, name, own and trainable


def sharing(item: dict[str, Any], type_name: str, blocks: dict[str, Block],
            where: Location) -> tuple[str, int | None, int]:
    """Pop and check 'shares', 'shared_params' (the layer named is resolved later) and
    'repeated_params' (values of tensors counted before: an ONNX file's shared ones)."""
    shares = item.pop("shares", "")
    shared_params = item.pop("shared_params", None)
    repeated = item.pop("repeated_params", 0)
    if not isinstance(repeated, int) or isinstance(repeated, bool) or repeated < 0:
        raise SpecError(f"'repeated_params' is a count of parameters; received "
                        f"{shown(repeated)}", path=where)
    if shared_params is not None and (not isinstance(shared_params, int) or not shares):
        raise SpecError(f"'shared_params' is a count of parameters and needs 'shares'; "
                        f"received {shown(shared_params)}", path=where)
    if not isinstance(shares, str):
        raise SpecError(f"'shares' must name an earlier layer; received {shown(shares)}",
                        path=where)
    if shares and (type_name in STRUCTURES or type_name in blocks):
        raise SpecError(f"'shares' applies to a layer, not to a {type_name}", path=where)
    if repeated and (type_name in STRUCTURES or type_name in blocks):
        raise SpecError(f"'repeated_params' applies to a layer, not to a {type_name}",
                        path=where)
    return shares, shared_params, repeated


def check_arity(kind: type[Layer], count: int, at: dict[str, Any]) -> None:
    """A layer kind takes ``min_inputs`` to ``max_inputs`` inputs; a merge at least two."""
    least = 2 if kind.kind == "merge" else kind.min_inputs  # (concat of one: identity)
    if count < least or (kind.max_inputs is not None and count > kind.max_inputs):
        want = f"at least {least}" if kind.max_inputs is None else str(kind.min_inputs)
        raise SpecError(f"takes {want} input(s); received {count}"
                        + (" (a merge of one input does nothing: remove it, or name the "
                           "other inputs with 'inputs')" if least == 2 else ""), **at,
                        rule="inputs", expected=want, received=str(count))
