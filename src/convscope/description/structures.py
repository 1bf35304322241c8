"""The nesting constructs of a description, expanded by the parser's walker: the
structures (``sequential``, ``parallel``, ``residual``), their merge, and instances of
named blocks (whose definitions and expressions are in :mod:`.blocks`).

Each function takes the :class:`~convscope.description.walker.Walker` first, adds the
construct's nodes through it and returns the name of the node the construct ends with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..errors import Location, SpecError, closest
from ..limits import echo, shown
from .blocks import Block, substitute
from .budget import check_layers
from .kinds import lookup, only
from .shortcut import shortcut

if TYPE_CHECKING:  # pragma: no cover
    from .walker import Walker


def structure(walker: Walker, type_name: str, item: dict[str, Any], inputs: list[str],
              scope: str, where: Location, name: str | None, trainable: bool) -> str:
    """A ``sequential``, ``parallel`` or ``residual`` item from its one input."""
    if len(inputs) != 1:
        raise SpecError(f"'{type_name}' takes one input; received {len(inputs)}",
                        path=where)
    inner = f"{scope}{name}." if name else scope
    if type_name == "sequential":
        only(item, ("layers",), where, type_name)
        out = walker.sequence(item.get("layers", []), inputs[0], inner, (*where, "layers"),
                              trainable)
        if name:
            walker.names.aliases[f"{scope}{name}"] = out
        return out
    if type_name == "parallel":
        return parallel(walker, item, inputs[0], scope, inner, where, name, trainable)
    return residual(walker, item, inputs[0], scope, inner, where, name, trainable)


def parallel(walker: Walker, item: dict[str, Any], source: str, scope: str, inner: str,
             where: Location, name: str | None, trainable: bool) -> str:
    """Branches from ``source``, merged (concatenated unless 'merge' says otherwise)."""
    only(item, ("branches", "merge", "axis"), where, "parallel")
    branches = item.get("branches")
    if not isinstance(branches, list) or not branches:
        raise SpecError("'parallel' needs 'branches', a list of layer lists", path=where)
    outs = [walker.sequence(branch if branch is not None else [], source,
                            f"{inner}branch{j + 1}." if name else inner,
                            (*where, "branches", j), trainable)
            for j, branch in enumerate(branches)]
    return merge(walker, item.get("merge", "concat"), item, outs, scope, where, name,
                 trainable)


def residual(walker: Walker, item: dict[str, Any], source: str, scope: str, inner: str,
             where: Location, name: str | None, trainable: bool) -> str:
    """A body from ``source`` and its shortcut, merged (added unless 'merge' says
    otherwise); the body alone when an optional shortcut does not fit."""
    only(item, ("body", "shortcut", "merge", "projection_bn", "projection_bias"), where,
         "residual")
    body_out = walker.sequence(item.get("body", []), source, inner, (*where, "body"),
                               trainable)
    short_out = shortcut(walker, item, source, body_out, inner, where, trainable)
    if not short_out:
        return body_out
    return merge(walker, item.get("merge", "add"), item, [body_out, short_out], scope, where,
                 name, trainable)


def merge(walker: Walker, how: Any, item: dict[str, Any], outs: list[str], scope: str,
          where: Location, name: str | None, trainable: bool) -> str:
    """The merge layer of a structure's branches ``outs``."""
    if not isinstance(how, str) or lookup(how) is None:
        raise SpecError(f"'merge' must be concat, add, multiply, average, maximum or "
                        f"minimum; received {shown(how)}", path=where)
    args = {"axis": item["axis"]} if "axis" in item else {}
    return walker.add_layer(how, args, outs, scope, where, name, trainable)


def block_env(walker: Walker, block: Block, args: dict[str, Any], inputs: list[str],
              where: Location) -> dict[str, Any]:
    """The values of a block instance's parameters (and ``in_channels``), checked."""
    if block.name in walker.expanding:
        raise SpecError(f"block '{block.name}' uses itself "
                        f"({' > '.join([*walker.expanding, block.name])})", path=where)
    if len(inputs) != 1:
        raise SpecError(f"block '{block.name}' takes one input; received {len(inputs)}",
                        path=where)
    unknown = set(args) - set(block.params)
    if unknown:
        key = sorted(unknown)[0]
        raise SpecError(f"block '{block.name}' has no parameter '{echo(key)}'."
                        f"{closest(key, list(block.params))} Parameters: "
                        f"{echo(', '.join(block.params) or 'none', 200)}", path=where)
    env = {"in_channels": walker.graph.shapes[inputs[0]][-1] if inputs else None,
           **block.params, **args}
    missing = [k for k, v in env.items() if v is None]
    if missing:
        raise SpecError(f"block '{block.name}' needs parameter '{echo(missing[0])}'",
                        path=where)
    return env


def expand_block(walker: Walker, block: Block, args: dict[str, Any], inputs: list[str],
                 scope: str, where: Location, name: str | None, trainable: bool) -> str:
    """An instance of a named block: its body with the parameters substituted, its layers
    named ``{instance}.{layer}``."""
    env = block_env(walker, block, args, inputs, where)
    names = walker.names
    instance = name or names.auto_name(scope, block.name).removeprefix(scope)
    inside = (*where, errors.InBlock(block.name))
    try:
        body = substitute(block.layers, env)
    except SpecError as err:
        raise err.replace(path=inside) from None
    check_layers(walker.counter.items(body, walker.level, (*inside, "layers")),
                 len(walker.graph), inside)
    walker.expanding.append(block.name)
    known = len(names.aliases)
    full = f"{scope}{instance}"
    out = walker.sequence(body, inputs[0], f"{full}.",
                          (*where, errors.InBlock(block.name, full), "layers"), trainable)
    walker.expanding.pop()
    if (out == walker.graph.nodes[-1].name and out in names.auto_named
            and out.startswith(f"{full}.") and full not in walker.graph.shapes):
        # the block's output node takes the block's name (e.g. the concat of
        # an Inception block is 'inception3a', as torchvision names it)
        return names.rename_last(full, len(names.aliases) - known)
    names.aliases[full] = out
    return out
