"""Typed reads of Keras config fields: the one boundary between untrusted JSON and the
Keras readers (keras/config.py and the kinds' from_keras in layers/).

``field(cfg, "units", DIM)`` returns the value when it has the expected type and range,
the default when the key is missing or null, and otherwise raises :class:`Malformed`
("'units' must be a size from 1 to 2147483647; received -3"), which the reader turns into
a :class:`SpecError` naming the layer. With ``where=`` the SpecError is raised directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import SpecError
from ..limits import MAX_DIM, shown
from .bridge import Malformed  # a field of the wrong type or range; the reader names the layer

MISSING: Any = object()
MAX_RANK = 16  # axes of one shape, batch included
MAX_NUMBER = 1e30  # magnitude of a float setting (epsilon, momentum, scale, ...)


class UnexpectedConfig(SpecError):
    """The last-resort guard: an exception the typed reads did not foresee, turned into
    a message naming the layer being read. The fuzz tests keep it rare."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value) and \
        abs(value) <= MAX_NUMBER


class Kind:
    """An expected type: a check and the words of the message."""

    def __init__(self, words: str, check: Callable[[Any], bool]) -> None:
        self.words = words
        self.check = check


def _dims(value: Any, low: int = 1) -> bool:
    return isinstance(value, list) and 0 < len(value) <= MAX_RANK and \
        all(is_int(v) and low <= v <= MAX_DIM for v in value)


TEXT = Kind("a string", lambda v: isinstance(v, str))
FLAG = Kind("true or false", lambda v: isinstance(v, bool))
MAPPING = Kind("a mapping", lambda v: isinstance(v, dict))
LIST = Kind("a list", lambda v: isinstance(v, list))
NUMBER = Kind("a finite number", is_number)
RATE = Kind("a number from 0 to 1", lambda v: is_number(v) and 0 <= v <= 1)
NUMBERS = Kind("a finite number or a list of them", lambda v: is_number(v) or (
    isinstance(v, list) and all(is_number(x) for x in v)))
DIM = Kind(f"a size from 1 to {MAX_DIM}", lambda v: is_int(v) and 1 <= v <= MAX_DIM)
COUNT = Kind(f"an integer from 0 to {MAX_DIM}", lambda v: is_int(v) and 0 <= v <= MAX_DIM)
AXIS = Kind(f"an axis (an integer from -{MAX_RANK} to {MAX_RANK})",
            lambda v: is_int(v) and -MAX_RANK <= v <= MAX_RANK)
DIMS = Kind(f"a size from 1 to {MAX_DIM} or a list of them",
            lambda v: DIM.check(v) or _dims(v))
COUNTS = Kind(f"an integer from 0 to {MAX_DIM} or a list of them",
              lambda v: COUNT.check(v) or _dims(v, 0))
SIZES = Kind(f"a list of sizes from 1 to {MAX_DIM}", _dims)
TARGET = Kind(f"a list of sizes from 1 to {MAX_DIM} (one of them may be -1)",
              lambda v: isinstance(v, list) and 0 < len(v) <= MAX_RANK and all(
                  is_int(x) and (x == -1 or 1 <= x <= MAX_DIM) for x in v))
SHAPE = Kind(f"a shape: a list of up to {MAX_RANK} sizes (1 to {MAX_DIM}) or nulls",
             lambda v: isinstance(v, list) and 0 < len(v) <= MAX_RANK and all(
                 x is None or (is_int(x) and 1 <= x <= MAX_DIM) for x in v))


def field(cfg: dict[str, Any], key: str, kind: Kind, default: Any = MISSING,
          where: str = "") -> Any:
    """``cfg[key]`` checked against ``kind``; ``default`` when it is missing or null."""
    value = cfg.get(key)
    if value is None:
        if default is not MISSING:
            return default
        problem = f"'{key}' is missing; expected {kind.words}"
    elif kind.check(value):
        return value
    else:
        problem = f"'{key}' must be {kind.words}; received {shown(value)}"
    if where:
        raise SpecError(f"{where}: {problem}")
    raise Malformed(problem)


def check(value: Any, kind: Kind, what: str, where: str = "") -> Any:
    """``value`` (not inside a mapping) checked against ``kind``."""
    return field({what: value}, what, kind, where=where)
