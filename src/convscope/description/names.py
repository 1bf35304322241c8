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
"""

from __future__ import annotations

import unicodedata

from ..errors import Location, SpecError
from ..limits import echo

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
