"""Reading one layer's arguments from a description, with exact error text.

Each layer kind reads its own arguments in ``from_args`` through an
:class:`Args`; every check on user values lives here, so that all kinds
phrase their errors the same way ("argument 'stride' must be ...; received
0"). Keras names (``filters``, ``strides``, ``pool_size``, ``units``, ``rate``)
are accepted as aliases of the PyTorch names and normalised once, here.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .. import limits
from ..errors import LayerRuleError, closest
from ..layers.base import Padding, Pairs, Shape, axis_names, shape_str
from ..layers.checks import check_shape
from ..limits import echo, shown

# a number YAML 1.1 reads as text (no dot before the exponent): 1e-6
EXPONENT = re.compile(r"[-+]?[0-9]+[eE][-+]?[0-9]+")

REQUIRED: Any = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Args:
    """The arguments of one layer as the user wrote them, read once each."""

    def __init__(self, name: str, raw: dict[str, Any], fixed: dict[str, Any] | None = None):
        self.name = name  # the type name the user wrote, e.g. 'conv2d' or 'maxpool'
        self.raw = raw
        self.fixed = fixed or {}
        self.used: set[str] = set()
        self.asked: set[str] = set()  # every argument name this kind reads

    # ---- plumbing ----------------------------------------------------------
    def _get(self, key: str, aliases: tuple[str, ...], default: Any) -> tuple[Any, str]:
        self.asked.add(key)
        if key in self.fixed:
            return self.fixed[key], key
        present = [k for k in (key, *aliases) if k in self.raw]
        if len(present) > 1:
            raise LayerRuleError(f"arguments {' and '.join(repr(k) for k in present)} mean the "
                                 f"same thing; give only one")
        if present:
            self.used.add(present[0])
            return self.raw[present[0]], present[0]
        if default is REQUIRED:
            self._misspelt(key, aliases)
            also = f" (or {', '.join(repr(a) for a in aliases)})" if aliases else ""
            raise LayerRuleError(f"missing required argument '{key}'{also}", rule=key,
                                 expected="a value", received="nothing")
        return default, key

    def _misspelt(self, key: str, aliases: tuple[str, ...]) -> None:
        """A required argument is missing: if an unread one is spelt close to it, say so."""
        import difflib

        unread = [k for k in self.raw if k not in self.used and isinstance(k, str)]
        for wanted in (key, *aliases):
            match = difflib.get_close_matches(wanted, unread, n=1, cutoff=0.6)
            if match:
                raise LayerRuleError(f"unknown argument '{echo(match[0])}' for {self.name}. "
                                     f"Did you mean '{wanted}'? (the required argument "
                                     f"'{key}' is missing)")

    def has(self, key: str, *aliases: str) -> bool:
        return key in self.fixed or any(k in self.raw for k in (key, *aliases))

    def finish(self) -> None:
        """Fail on arguments nobody read, suggesting the closest known one."""
        for key in self.raw:
            if key not in self.used:
                choices = sorted(self.asked - set(self.fixed))
                raise LayerRuleError(f"unknown argument '{echo(key)}' for {self.name}."
                                     f"{closest(str(key), choices)}"
                                     + (f" Known: {', '.join(choices)}." if choices else ""),
                                     rule="known arguments", expected=", ".join(choices),
                                     received=echo(key))

    # ---- values ------------------------------------------------------------
    def value(self, key: str, default: Any = REQUIRED, aliases: tuple[str, ...] = ()) -> Any:
        return self._get(key, aliases, default)[0]

    def integer(self, key: str, default: Any = REQUIRED, minimum: int = 1,
                aliases: tuple[str, ...] = (), maximum: int = limits.MAX_DIM) -> int:
        value, used = self._get(key, aliases, default)
        if not _is_int(value) or value < minimum:
            raise LayerRuleError(f"argument '{used}' must be an integer >= {minimum}; "
                                 f"received {shown(value)}", rule=used,
                                 expected=f"an integer >= {minimum}", received=shown(value))
        if value > maximum:
            raise LayerRuleError(f"argument '{used}' must be at most {maximum:,} (the largest "
                                 f"supported size); received {shown(value)}", rule=used,
                                 expected=f"at most {maximum:,}", received=shown(value))
        return int(value)

    def optional_int(self, key: str, minimum: int = 1,
                     aliases: tuple[str, ...] = ()) -> int | None:
        if self._get(key, aliases, None)[0] is None:
            return None
        return self.integer(key, minimum=minimum, aliases=aliases)

    def number(self, key: str, default: Any = REQUIRED, low: float | None = None,
              high: float | None = None, aliases: tuple[str, ...] = ()) -> float:
        value, used = self._get(key, aliases, default)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and isinstance(value, int):
            ok = abs(value) <= 2**53  # exactly representable: never an OverflowError
        if ok and not math.isfinite(value):
            ok = False
        if ok and ((low is not None and value < low) or (high is not None and value > high)):
            ok = False
        if not ok:
            bounds = f" in [{low}, {high}]" if low is not None and high is not None else ""
            finite = "finite " if isinstance(value, float) and not math.isfinite(value) \
                or _is_int(value) and abs(value) > 2**53 else ""
            hint = (f" (YAML reads {value} as text: write {value.replace('e', '.0e', 1)})"
                    if isinstance(value, str) and EXPONENT.fullmatch(value) else "")
            raise LayerRuleError(f"argument '{used}' must be a {finite}number{bounds}; "
                                 f"received {shown(value)}{hint}", rule=used,
                                 expected=f"a {finite}number{bounds}", received=shown(value))
        return float(value)

    def flag(self, key: str, default: Any = REQUIRED, aliases: tuple[str, ...] = ()) -> bool:
        value, used = self._get(key, aliases, default)
        if not isinstance(value, bool):
            raise LayerRuleError(f"argument '{used}' must be true or false (a boolean, not "
                                 f"text); received {shown(value)}", rule=used,
                                 expected="true or false", received=shown(value))
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = REQUIRED,
               aliases: tuple[str, ...] = ()) -> str:
        value, used = self._get(key, aliases, default)
        text = str(value).lower() if isinstance(value, str) else value
        if text not in choices:
            raise LayerRuleError(f"argument '{used}' must be one of {', '.join(choices)}; "
                                 f"received {shown(value)}.{closest(echo(value), choices)}",
                                 rule=used, expected=f"one of {', '.join(choices)}",
                                 received=shown(value))
        return str(text)

    def ints(self, key: str, ndim: int, default: Any = REQUIRED, minimum: int = 1,
             aliases: tuple[str, ...] = ()) -> tuple[int, ...]:
        """One int per spatial axis; a single int (or '3x3' text) is repeated."""
        value, used = self._get(key, aliases, default)
        items = _split(value)
        if len(items) == 1:
            items = items * ndim
        check_count(items, ndim, used, value)
        if not all(_is_int(v) and v >= minimum for v in items):
            raise LayerRuleError(f"argument '{used}' must hold integers >= {minimum}; "
                                 f"received {shown(value)}", rule=used,
                                 expected=f"integers >= {minimum}", received=shown(value))
        if any(v > limits.MAX_DIM for v in items):
            raise LayerRuleError(f"argument '{used}' must hold integers of at most "
                                 f"{limits.MAX_DIM:,} (the largest supported size); received "
                                 f"{echo(value)}")
        return tuple(int(v) for v in items)

    def pair(self, key: str, default: Any = 0) -> tuple[int, int]:
        """One (before, after) pair: an integer or [before, after] (e.g. channel padding)."""
        raw = self.value(key, default)
        return pairs([raw] if isinstance(raw, (list, tuple)) else raw, 1, key)[0]

    def padding(self, key: str, ndim: int, default: Any = 0, allow_same: bool = True,
                aliases: tuple[str, ...] = ()) -> Padding:
        """'valid', 'same', an int, one int per axis, or one (before, after) pair per axis."""
        value, used = self._get(key, aliases, default)
        if isinstance(value, str) and value.lower() in ("valid", "same"):
            if value.lower() == "same" and not allow_same:
                raise LayerRuleError(f"argument '{used}' cannot be 'same' for {self.name}")
            return value.lower()
        return pairs(value, ndim, used)

    def shape(self, key: str, default: Any = REQUIRED) -> Shape:
        value, used = self._get(key, (), default)
        return parse_shape(value, used)

    def ndim(self, inputs: tuple[Shape, ...], min_rank: int = 2) -> int:
        """Spatial axes of the (first) input; checks an alias like conv2d against it."""
        rank = len(inputs[0])
        if "ndim" in self.fixed:
            want = self.fixed["ndim"]
            if rank != want + 1:
                layout = " x ".join((*axis_names(want), "C"))
                raise LayerRuleError(
                    f"{self.name} expects an input with {want} spatial axes and channels "
                    f"({layout}); received {shape_str(inputs[0])}")
            return int(want)
        if rank < min_rank:
            raise LayerRuleError(
                f"{self.name} needs an input with spatial axes and channels (e.g. H x W x C); "
                f"received {shape_str(inputs[0])}. Use dense for vectors")
        return rank - 1


def _split(value: Any) -> list[Any]:
    if isinstance(value, str):
        parts = value.lower().replace(" ", "").split("x")
        try:
            return [int(p) for p in parts]
        except ValueError:
            return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def check_count(items: list[Any], ndim: int, used: str, value: Any) -> None:
    """One value per spatial axis (after a single value was repeated)."""
    if len(items) != ndim:
        raise LayerRuleError(
            f"argument '{used}' has {len(items)} values but the input has {ndim} spatial axes "
            f"({', '.join(axis_names(ndim))}); received {shown(value)}", rule=used,
            expected=f"1 or {ndim} values", received=shown(value))


def pairs(value: Any, ndim: int, used: str) -> Pairs:
    """Normalise padding-like values to ((before, after), ...) per axis."""
    items = _split(value)
    if len(items) == 1 and not isinstance(items[0], (list, tuple)):
        items = items * ndim
    check_count(items, ndim, used, value)
    out = []
    for item in items:
        pair = tuple(item) if isinstance(item, (list, tuple)) else (item, item)
        if len(pair) != 2 or not all(_is_int(v) and v >= 0 for v in pair):
            raise LayerRuleError(
                f"argument '{used}' must be 'valid', 'same', an integer >= 0, one per axis, or "
                f"one [before, after] pair per axis; received {shown(value)}", rule=used,
                expected="'valid', 'same', an integer >= 0, one per axis, or one [before, "
                "after] pair per axis", received=shown(value))
        if any(v > limits.MAX_DIM for v in pair):
            raise LayerRuleError(f"argument '{used}' must be at most {limits.MAX_DIM:,} (the "
                                 f"largest supported size); received {shown(value)}")
        out.append((int(pair[0]), int(pair[1])))
    return tuple(out)


def parse_shape(value: Any, what: str = "input") -> Shape:
    """'224x224x3' or [224, 224, 3] -> (224, 224, 3) (H x W x C, no batch).

    Each size is 1 .. limits.MAX_DIM, at most limits.MAX_RANK axes and
    limits.MAX_ELEMENTS values in all."""
    if isinstance(value, str) and len(value) > 2 * limits.MAX_NUMBER_DIGITS:
        items: list[Any] = [value]
    else:
        items = _split(value) if not _is_int(value) else [value]
    if not items or not all(_is_int(v) and v >= 1 for v in items):
        raise LayerRuleError(
            f"{what} shape must be sizes >= 1 written like 224x224x3 (H x W x C) or "
            f"[224, 224, 3]; received {shown(value)}", rule=f"{what} shape",
            expected="sizes >= 1", received=shown(value))
    check_shape(tuple(items), what)
    return tuple(int(v) for v in items)

