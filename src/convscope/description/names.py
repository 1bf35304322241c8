"""Names in a description (layers, the model, blocks, inputs) are shown in tables, the
explanation, the HTML report, generated source and on the terminal: they must be text a
reader can see. Refused at parse time, with the name shown escaped:

* control characters (Unicode category Cc: NUL, ESC and so terminal escape sequences such
  as colours or OSC 52 clipboard writes, BEL, DEL, the C1 controls like U+009B CSI);
* line and paragraph separators (Zl, Zp: U+2028, U+2029), which end a line in JavaScript
  and many viewers;
* format characters (Cf): bidirectional overrides and isolates (U+202A-U+202E,
  U+2066-U+2069, the "Trojan Source" characters that reorder what is shown), zero-width
  spaces, the byte-order mark, tags; except ZERO WIDTH NON-JOINER / JOINER (U+200C,
  U+200D), which some scripts and emoji need;
* lone surrogates (Cs), which cannot even be written as UTF-8.

:class:`Names` is the parser's table of the names a description can refer to: the
nodes' own names, automatic ones (``conv1``, ``b1.relu2``) and aliases (a block
instance, a named structure or repeat -> the node it ends with), looked up from the
innermost scope outwards.
"""

from __future__ import annotations

import unicodedata
from itertools import islice
from typing import Any

from ..errors import Location, SpecError, closest
from ..ir import GraphBuilder
from ..limits import echo, shown

REFUSED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
ALLOWED = frozenset({"\u200c", "\u200d"})  # ZWNJ, ZWJ: part of some scripts and emoji


def bad_character(text: str) -> tuple[int, str] | None:
    """The first refused character of ``text`` and its index, or None."""
    if text.isprintable():  # the common case: no Cc, Cf, Cs, Zl, Zp at all
        return None
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in REFUSED and ch not in ALLOWED:
            return i, ch
    return None


def check_name(name: object, what: str, path: Location | None = None) -> None:
    """Refuse a name (``what``: 'layer name', 'model name', ...) holding a control or
    format character; the message shows the name escaped and names the character."""
    if not isinstance(name, str):
        return
    found = bad_character(name)
    if found is None:
        return
    index, ch = found
    kind = {"Cc": "a control character", "Cs": "a lone surrogate", "Zl": "a line separator",
            "Zp": "a paragraph separator"}.get(unicodedata.category(ch))
    if kind is None:
        kind = f"the format character {unicodedata.name(ch, '')}".rstrip()
    raise SpecError(f"the {what} '{echo(name)}' holds {kind} (U+{ord(ch):04X}) at position "
                    f"{index + 1:,}; "
                    "names must be visible text (no control, format or line-separator "
                    "characters)", path=path, rule="name", expected="visible text",
                    received=echo(name))


class Names:
    """Layer names of a description being parsed: those of the nodes in ``graph`` and
    ``aliases`` (block / construct names -> their output node)."""

    def __init__(self, graph: GraphBuilder):
        self.graph = graph
        self.aliases: dict[str, str] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.auto_named: set[str] = set()  # the nodes named by auto_name

    def taken(self, name: str) -> bool:
        return name in self.graph.shapes or name in self.aliases

    def auto_name(self, scope: str, base: str) -> str:
        """The next free ``{scope}{base}{n}``: conv1, conv2, ... counted per scope."""
        key = (scope, base)
        while True:
            self.counters[key] = self.counters.get(key, 0) + 1
            name = f"{scope}{base}{self.counters[key]}"
            if not self.taken(name):
                return name

    def resolve(self, ref: Any, scope: str, where: Location) -> str:
        """The node a reference names, looked up in ``scope`` then each enclosing one."""
        if not isinstance(ref, str):
            raise SpecError(f"inputs must be layer names; received {shown(ref)}", path=where)
        parts = scope.split(".")[:-1] if scope else []
        candidates = [".".join(parts[:i]) + "." + ref for i in range(len(parts), 0, -1)] + [ref]
        for name in candidates:
            if name in self.graph.shapes:
                return name
            if name in self.aliases:
                return self.aliases[name]
        known = list(self.graph.shapes) + list(self.aliases)
        raise SpecError(f"unknown input '{echo(ref)}': no earlier layer has that "
                        f"name.{closest(ref, known[-5000:])}", path=where)

    def rename_last(self, new: str, recent: int) -> str:
        """The last node takes the name ``new``; of the aliases only the ``recent`` ones
        (added while its block was built) can point at it."""
        old = self.graph.nodes[-1].name
        self.graph.rename_last(new)
        self.auto_named.discard(old)
        latest = list(islice(reversed(self.aliases.items()), recent))
        for key, value in latest:
            if value == old:
                self.aliases[key] = new
        return new
