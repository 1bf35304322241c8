"""Helpers of the description parser: layer-type lookup, automatic names, the inputs."""

from __future__ import annotations

from typing import Any

from ..errors import ConvscopeError, LayerRuleError, Location, SpecError, closest
from ..layers import REGISTRY, STEMS, Layer, stem
from ..layers.base import Shape
from ..limits import echo, shown
from .args import parse_shape
from .names import check_name

BASE_NAMES = {"conv": "conv", "conv_transpose": "deconv", "dense": "fc", "batchnorm": "bn",
              "global_pool": "gap", "zero_padding": "pad", "concat": "concat"}


def lookup(name: str) -> tuple[type[Layer], dict[str, Any]] | None:
    """Registry entry for a type name, case-insensitive, underscores optional."""
    key = name.lower()
    if key in REGISTRY:
        return REGISTRY[key]
    squashed = key.replace("_", "")
    if stem(squashed) not in STEMS:  # no registered name squashes to it: none imported
        return None
    for candidate, entry in REGISTRY.items():
        if candidate.replace("_", "") == squashed:
            return entry
    return None


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


def only(item: dict[str, Any], keys: tuple[str, ...], where: Location, type_name: str) -> None:
    for key in item:
        if key not in keys:
            raise SpecError(f"unknown key '{echo(key)}' for '{type_name}'."
                            f"{closest(key, keys)} Known: {', '.join(keys)}", path=where)


def read_inputs(description: dict[str, Any], override: Shape | None) -> dict[str, Shape]:
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
            for k in raw:
                check_name(k, "input name", ("inputs",))
            shapes = {str(k): parse_shape(v, f"input '{echo(k)}'") for k, v in raw.items()}
        else:
            raise SpecError(f"must map input names to shapes; received {shown(raw)}",
                            path=("inputs",))
    except LayerRuleError as err:
        raise SpecError(err.message, **err.details()) from None
    if override is not None and raw is not None:
        if len(shapes) != 1:
            raise SpecError(f"--input sets one shape but the model has {len(shapes)} inputs")
        shapes = {next(iter(shapes)): override}
    return shapes


def one_line(err: ConvscopeError) -> ConvscopeError:
    """The error, or a copy with control characters of user text (newlines, tabs) in its
    message shown escaped, so that it is always one printable line (the location fields
    are shown escaped by the error itself)."""
    if err.message.isprintable():
        return err
    return err.replace(message="".join(ch if ch.isprintable() else repr(ch)[1:-1]
                                       for ch in err.message))
