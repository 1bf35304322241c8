"""Budgets checked on a description *before* it is built.

* :func:`check_data`: one iterative walk over the data (no recursion): nesting at most
  ``limits.MAX_DEPTH``, at most ``limits.MAX_DATA_NODES`` values, mapping keys are
  strings, values are plain data (text, numbers, booleans, null, lists, mappings).
* :func:`count_layers`: how many layers a list of items would expand to, multiplying
  repeat counts through structures and blocks (memoised per block), without building
  anything; :func:`check_layers` refuses counts above ``limits.max_layers()``. Each
  repetition counts as at least one step of work, even of an item that expands to no
  layer (an empty ``sequential``, a block of ``when: false`` items), and a ``repeat``
  above the budget is refused whatever it repeats (:func:`check_repeat`).
"""

from __future__ import annotations

from typing import Any

from .. import limits
from ..errors import Location, Named, Repeat, SpecError, Step

PLAIN = (str, int, float, bool, type(None))
CAP = 10**30  # counts are saturated here: a number this large is refused anyway


def _path(entries: list[tuple[Any, int, Step | None]], index: int,
          last: Step | None = None) -> Location | None:
    """The path of ``entries[index]`` (then ``last``), or None for the description itself."""
    steps = [] if last is None else [last]
    while index >= 0:
        _, parent, step = entries[index]
        if step is not None:
            steps.append(step)
        index = parent
    return tuple(reversed(steps)) or None


def check_data(data: Any) -> None:
    """Walk the description once, iteratively; refuse what no rule downstream expects."""
    entries: list[tuple[Any, int, Step | None]] = [(data, -1, None)]  # containers only
    stack: list[tuple[int, int]] = [(0, 0)]  # (entry index, depth)
    seen = 1
    while stack:
        index, depth = stack.pop()
        value = entries[index][0]
        if depth >= limits.MAX_DEPTH:
            raise SpecError(f"nesting deeper than {limits.MAX_DEPTH} levels of lists and "
                            "mappings", path=_path(entries, index))
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise SpecError(f"keys must be names (text); received the key "
                                    f"{limits.echo(key)} ({type(key).__name__})",
                                    path=_path(entries, index))
            children: Any = zip(value.values(), value, strict=True)
        else:
            children = ((item, i) for i, item in enumerate(value))
        seen += len(value)
        if seen > limits.MAX_DATA_NODES:
            raise SpecError(f"the description holds more than {limits.MAX_DATA_NODES:,} values")
        for item, step in children:
            if isinstance(item, PLAIN):
                continue
            if not isinstance(item, (dict, list, tuple)):
                raise SpecError(f"expected text, a number, true/false, a list or a mapping; "
                                f"received a {type(item).__name__}",
                                path=_path(entries, index, step))
            entries.append((item, index, step))
            stack.append((len(entries) - 1, depth + 1))


def budget_error(count: int, path: Location | None = None,
                 what: str = "the description") -> SpecError:
    """Too many layers: at ``path`` (an item and its repeat or block), else ``what``."""
    shown = f"{count:,}" if count < CAP else f"more than {CAP:.0e}"
    budget = limits.max_layers()
    message = (f"would expand to {shown} layers; the budget is {budget:,} layers "
               f"(raise it with --max-layers N or {limits.MAX_LAYERS_ENV}=N)")
    return SpecError(message if path else f"{what} {message}", path=path)


def check_repeat(repeat: int, path: Location | None) -> None:
    """Refuse a ``repeat`` above the layer budget, whatever it repeats: each repetition is
    work, even of an item that expands to no layer."""
    budget = limits.max_layers()
    if repeat > budget:
        shown = f"{repeat:,}" if repeat < 10**20 else limits.echo(repeat)
        raise SpecError(f"'repeat' is {shown}, above the budget of {budget:,} layers (each "
                        "repetition counts, even of an item with no layers; raise it with "
                        f"--max-layers N or {limits.MAX_LAYERS_ENV}=N)", path=path,
                        rule="repeat", expected=f"<= {budget:,}", received=shown)


class LayerCounter:
    """Counts the layers items would expand to (each repetition at least one step of
    work); block counts are memoised. ``where`` locates a refused ``repeat``."""

    def __init__(self, blocks: dict[str, Any]) -> None:
        self.blocks = blocks
        self.memo: dict[str, int] = {}
        self.open: set[str] = set()

    def items(self, items: Any, level: int = 0, where: Location = ("layers",)) -> int:
        if not isinstance(items, list):
            return 0
        if level > limits.MAX_DEPTH:
            raise SpecError(f"structures and blocks nest deeper than {limits.MAX_DEPTH} levels")
        total = 0
        for i, item in enumerate(items):
            total = min(total + self.item(item, level, (*where, i)), CAP)
        return total

    def item(self, raw: Any, level: int, where: Location = ()) -> int:
        if isinstance(raw, str):
            words = raw.split()
            inner = self.block(words[0], level) if words and words[0] in self.blocks else 1
            return self.repeated(_token_repeat(raw), inner, where)
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
        return self.repeated(repeat, self.one(raw, level, where), where)

    @staticmethod
    def repeated(repeat: int, inner: int, where: Location) -> int:
        """``repeat`` copies of ``inner`` layers, each copy at least one step; a repeat
        of nothing above the budget is refused as such (a count would say 'layers')."""
        if repeat > 1 and inner == 0:
            check_repeat(repeat, (*where, Repeat(repeat)) if where else None)
        return min(repeat * max(inner, 1), CAP)

    def one(self, raw: dict[str, Any], level: int, where: Location = ()) -> int:
        type_name = raw.get("type")
        if type_name == "sequential":
            return self.items(raw.get("layers"), level + 1, (*where, "layers"))
        if type_name == "parallel":
            branches = raw.get("branches")
            branches = branches if isinstance(branches, list) else []
            return min(sum(self.items(b, level + 1, (*where, "branches", j))
                           for j, b in enumerate(branches)) + 1, CAP)
        if type_name == "residual":
            shortcut = raw.get("shortcut")
            extra = self.items(shortcut, level + 1, (*where, "shortcut")) \
                if isinstance(shortcut, list) else 2
            return min(self.items(raw.get("body"), level + 1, (*where, "body")) + extra + 1,
                       CAP)
        if isinstance(type_name, str) and type_name in self.blocks:
            return self.block(type_name, level)
        return 1

    def block(self, name: str, level: int) -> int:
        if name in self.memo:
            return self.memo[name]
        if name in self.open:
            return 1  # a block that uses itself: the builder says so
        self.open.add(name)
        count = self.items(self.blocks[name].layers, level + 1,
                           (Named("block", name), "layers"))
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


def check_layers(count: int, existing: int, path: Location | None = None) -> None:
    """Refuse when ``existing`` layers plus ``count`` more exceed the layer budget."""
    if existing + count > limits.max_layers():
        raise budget_error(existing + count, path)
