"""One parse's memo of layers (issue 16): a description of 100,000 layers says the same
few layers over and over (``- relu``, ``- {type: conv, out_channels: 8, kernel_size: 3}``),
so each distinct one-line token is parsed once, and each distinct layer (type, arguments,
input shapes) is built and checked once.

Sharing is safe because what is shared cannot change: layers are frozen dataclasses, and
a token's mapping is handed out as a fresh copy each time (the walker pops keys from it).
Only successes are kept: an item that fails fails again, with its own location. The memo
lives as long as one :class:`~.walker.Walker`, or one PyTorch import (which builds each
layer as it checks it against the model, then its graph: pytorch/graph_of.py); no global
cache: the layer budget or a kind's rules cannot go stale. Arguments are compared with
their types (``true`` is not ``1``, ``1.0`` is not ``1``, ``-0.0`` is not ``0.0``); a
value of any other type than those a description holds is never memoised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Location
from ..layers import Layer
from ..layers.base import Shape
from .oneline import parse_token

_SCALARS = (str, int, bool, type(None))
_FLAT = frozenset(_SCALARS)  # types whose values are equal only when they are the same


def copy(value: Any) -> Any:
    """A fresh copy of a memoised value (no two places of the document share a list or a
    mapping, as with the full YAML loader)."""
    if isinstance(value, dict):
        return {k: copy(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [copy(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


class Unkeyed(Exception):  # noqa: N818 - a value the memo does not compare: build it afresh
    """An argument of a type the memo does not key."""


def typed(value: Any) -> Any:
    """A hashable stand-in of ``value`` that tells apart what ``==`` would mix up."""
    kind = type(value)
    if kind in _SCALARS:
        return kind, value
    if kind is float:
        return kind, repr(value)
    if kind in (list, tuple):
        if all(type(v) is int for v in value):  # sizes, strides: (kind, int, values)
            return kind, int, tuple(value)
        return kind, tuple(typed(v) for v in value)
    if kind is dict:
        return kind, tuple(_entry(k, v) for k, v in value.items())
    raise Unkeyed(kind.__name__)


def _entry(key: Any, value: Any) -> tuple[Any, ...]:
    """One mapping entry: (key, type, value) for text and whole numbers (the most
    arguments are), else (typed key, typed value): the lengths keep the two apart."""
    kind = type(value)
    if type(key) is str and (kind is str or kind is int):
        return key, kind, value
    return typed(key), typed(value)


class LayerMemo:
    """Tokens parsed and layers built so far in one parse."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.layers: dict[Any, Layer] = {}

    def token(self, text: str, where: Location) -> dict[str, Any]:
        """``parse_token(text)``, parsed once per distinct text; a fresh copy each time."""
        found = self.tokens.get(text)
        if found is None:
            found = self.tokens[text] = parse_token(text, where)
        return copy(found)  # type: ignore[no-any-return]

    def layer(self, type_name: str, raw: dict[str, Any], in_shapes: tuple[Shape, ...],
              build: Callable[[], Layer]) -> Layer:
        """``build()``, the layer of ``type_name`` with arguments ``raw`` reading
        ``in_shapes``, called once per distinct (type, arguments, shapes)."""
        values = tuple(raw.values())
        kinds = (*map(type, raw), *map(type, values))
        if _FLAT.issuperset(kinds):  # text, whole numbers, booleans, null: equal if ==
            key: Any = (type_name, tuple(raw), values, kinds, in_shapes)
        else:
            try:
                key = (type_name, typed(raw), in_shapes)
            except Unkeyed:
                return build()
        found = self.layers.get(key)
        if found is None:
            found = self.layers[key] = build()
        return found
