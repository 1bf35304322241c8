"""Budgets checked on a description *before* it is built.

* :func:`check_data`: one iterative walk over the data (no recursion): nesting at most
  ``limits.MAX_DEPTH``, at most ``limits.MAX_DATA_NODES`` values, mapping keys are
  strings, values are plain data (text, numbers, booleans, null, lists, mappings).
* :func:`count_layers`: how many layers a list of items would expand to, multiplying
  repeat counts through structures and blocks (memoised per block), without building
  anything; :func:`check_layers` refuses counts above ``limits.max_layers()``.
"""

from __future__ import annotations

from typing import Any

from .. import limits
from ..errors import SpecError

PLAIN = (str, int, float, bool, type(None))
CAP = 10**30  # counts are saturated here: a number this large is refused anyway


def _path(entries: list[tuple[Any, int, str]], index: int, last: str = "") -> str:
    parts = [last]
    while index >= 0:
        _, parent, step = entries[index]
        parts.append(step)
        index = parent
    return "".join(reversed(parts)).lstrip(".") or "the description"


def check_data(data: Any) -> None:
    """Walk the description once, iteratively; refuse what no rule downstream expects."""
    entries: list[tuple[Any, int, str]] = [(data, -1, "")]  # containers only
    stack: list[tuple[int, int]] = [(0, 0)]  # (entry index, depth)
    seen = 1
    while stack:
        index, depth = stack.pop()
        value = entries[index][0]
        if depth >= limits.MAX_DEPTH:
            raise SpecError(f"{_path(entries, index)}: nesting deeper than {limits.MAX_DEPTH} "
                            "levels of lists and mappings")
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise SpecError(f"{_path(entries, index)}: keys must be names (text); "
                                    f"received the key {limits.echo(key)} "
                                    f"({type(key).__name__})")
            children: Any = zip(value.values(), (f".{k}" for k in value), strict=True)
        else:
            children = ((item, f"[{i}]") for i, item in enumerate(value))
        seen += len(value)
        if seen > limits.MAX_DATA_NODES:
            raise SpecError(f"the description holds more than {limits.MAX_DATA_NODES:,} values")
        for item, step in children:
            if isinstance(item, PLAIN):
                continue
            if not isinstance(item, (dict, list, tuple)):
                raise SpecError(f"{_path(entries, index, step)}: expected text, a number, "
                                f"true/false, a list or a mapping; received a "
                                f"{type(item).__name__}")
            entries.append((item, index, step))
            stack.append((len(entries) - 1, depth + 1))


def budget_error(count: int, what: str) -> SpecError:
    shown = f"{count:,}" if count < CAP else f"more than {CAP:.0e}"
    budget = limits.max_layers()
    return SpecError(f"{what} would expand to {shown} layers; the budget is {budget:,} layers "
                     f"(raise it with --max-layers N or {limits.MAX_LAYERS_ENV}=N)")


class LayerCounter:
    """Counts the layers items would expand to; block counts are memoised."""

    def __init__(self, blocks: dict[str, Any]) -> None:
        self.blocks = blocks
        self.memo: dict[str, int] = {}
        self.open: set[str] = set()

    def items(self, items: Any, level: int = 0) -> int:
        if not isinstance(items, list):
            return 0
        if level > limits.MAX_DEPTH:
            raise SpecError(f"structures and blocks nest deeper than {limits.MAX_DEPTH} levels")
        total = 0
        for item in items:
            total = min(total + self.item(item, level), CAP)
        return total

    def item(self, raw: Any, level: int) -> int:
        if isinstance(raw, str):
            words = raw.split()
            inner = self.block(words[0], level) if words and words[0] in self.blocks else 1
            return min(_token_repeat(raw) * inner, CAP)
        if not isinstance(raw, dict):
            return 1
        if "type" not in raw and len(raw) == 1:
            type_name, args = next(iter(raw.items()))
            raw = {"type": type_name, **args} if isinstance(args, dict) else {"type": type_name}
        if raw.get("when", True) is False:
            return 0
        repeat = raw.get("repeat", 1)
        repeat = repeat if isinstance(repeat, int) and not isinstance(repeat, bool) \
            and repeat > 1 else 1
        return min(repeat * self.one(raw, level), CAP)

    def one(self, raw: dict[str, Any], level: int) -> int:
        type_name = raw.get("type")
        if type_name == "sequential":
            return self.items(raw.get("layers"), level + 1)
        if type_name == "parallel":
            branches = raw.get("branches")
            branches = branches if isinstance(branches, list) else []
            return min(sum(self.items(b, level + 1) for b in branches) + 1, CAP)
        if type_name == "residual":
            shortcut = raw.get("shortcut")
            extra = self.items(shortcut, level + 1) if isinstance(shortcut, list) else 2
            return min(self.items(raw.get("body"), level + 1) + extra + 1, CAP)
        if isinstance(type_name, str) and type_name in self.blocks:
            return self.block(type_name, level)
        return 1

    def block(self, name: str, level: int) -> int:
        if name in self.memo:
            return self.memo[name]
        if name in self.open:
            return 1  # a block that uses itself: the builder says so
        self.open.add(name)
        count = self.items(self.blocks[name].layers, level + 1)
        self.open.discard(name)
        self.memo[name] = count
        return count


def _token_repeat(token: str) -> int:
    """The ``*N`` of a one-line token (1 when absent or unreadable)."""
    for word in token.split()[1:]:
        if word.startswith("*") and word[1:].isdigit():
            digits = word[1:]
            return CAP if len(digits) > 30 else max(int(digits), 1)
    return 1


def check_layers(count: int, existing: int, what: str) -> None:
    """Refuse when ``existing`` layers plus ``count`` more exceed the layer budget."""
    if existing + count > limits.max_layers():
        raise budget_error(existing + count, what)
