"""A single-pass reader for the plain YAML that description files are written in (issue 16).

Descriptions are block mappings and sequences, one entry a line, whose values are plain
or simply quoted scalars or one-line flow collections (``- {type: conv, kernel_size: 3}``).
:func:`read_plain` reads exactly that subset, one line at a time, and parses each distinct
line once (a 100,000-layer chain has two distinct lines); it gives up (returns ``None``)
on anything else, and :func:`.reader.yaml_load` then reads the text with the full loader,
whose results and errors are therefore unchanged. Given up on, among others:

* anchors, aliases, tags, directives, several documents, complex keys, block scalars
  (``|``, ``>``), multi-line scalars or flow collections, tabs, ``\\r`` line ends, escapes
  in quoted scalars, characters libyaml refuses, keys that are not plain names;
* duplicate keys, numbers of more than ``limits.MAX_NUMBER_DIGITS`` digits, integers other
  than plain decimals (octal ``010``, ``0x1F``, ``1_000``), floats other than ``1.5`` or
  ``1.5e-3``, timestamps, merge keys;
* nesting deeper than ``DEPTH``.

So the budgets of :mod:`.reader` apply to everything this reader does not read, and what
it reads is bounded by construction: time linear in the text (each line is matched once,
a flow collection is scanned left to right, nesting is at most ``DEPTH``), memory linear
in the text (the memo of lines holds at most one entry per line). Plain scalars resolve
with PyYAML's own implicit resolvers (YAML 1.1: ``yes`` and ``on`` are booleans, ``~`` is
null), so a value reads as the full loader reads it.
"""

from __future__ import annotations

import io
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from .. import limits
from .layer_memo import copy

DEPTH = 50  # nesting read here; deeper text goes to the full loader and its budgets


class GiveUp(Exception):  # noqa: N818 - not an error: the full loader reads the text
    """The text is outside the subset read here."""


# Characters libyaml accepts, minus tab, CR, NEL, LS, PS and the BOM (given up on here).
_REFUSED_CHARS = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                            "\U00010000-\U0010ffff]")
_PLAIN = r"(?:-[0-9]|[A-Za-z0-9_$./~(])(?:[A-Za-z0-9_$./~=*+\-() ]*[A-Za-z0-9_$./~=*+\-()])?"
_KEY = r"[A-Za-z_$][A-Za-z0-9_$.\-]*"
_COMMENT = r"(?:\s+#.*)?\s*"
PLAIN_RE = re.compile(_PLAIN)
PLAIN_VALUE = re.compile(f"({_PLAIN}){_COMMENT}")
KEY_ENTRY = re.compile(f"({_KEY}):(?: +(.*))?")
AFTER = re.compile(_COMMENT)
QUOTED = re.compile(r"\"([^\"\\]*)\"|'([^']*)'")
INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
FLOAT = re.compile(r"-?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?")
BOOL, NULL, STR = (f"tag:yaml.org,2002:{t}" for t in ("bool", "null", "str"))
_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers


def scalar(text: str) -> Any:
    """A plain scalar as PyYAML's safe loader constructs it; GiveUp on any other tag and on
    numbers outside the plain forms."""
    tag = STR
    for candidate, pattern in (*_RESOLVERS.get(text[0], ()), *_RESOLVERS.get(None, ())):
        if pattern.match(text):
            tag = candidate
            break
    if tag == STR:
        return text
    if tag == BOOL:
        return SafeConstructor.bool_values[text.lower()]
    if tag == NULL:
        return None
    digits = len(text) - text.startswith("-")
    if digits <= limits.MAX_NUMBER_DIGITS and tag.endswith(":int") and INT.fullmatch(text):
        return int(text)
    if digits <= limits.MAX_NUMBER_DIGITS and tag.endswith(":float") and FLOAT.fullmatch(text):
        return float(text)
    raise GiveUp(text)


class _Flow:
    """A one-line flow collection (``{a: 1, b: [2, 3]}``), scanned left to right."""

    def __init__(self, text: str, scalars: dict[str, Any]) -> None:
        self.text = text
        self.pos = 0
        self.scalars = scalars

    def skip(self) -> str:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] == " ":
            pos += 1
        self.pos = pos
        return text[pos] if pos < len(text) else ""

    def node(self, depth: int) -> Any:
        if depth > DEPTH:
            raise GiveUp("deep")
        head = self.skip()
        if head in ("{", "["):
            return self.collection(head, depth + 1)
        return self.leaf()

    def leaf(self) -> Any:
        match = QUOTED.match(self.text, self.pos) or PLAIN_RE.match(self.text, self.pos)
        if match is None:
            raise GiveUp(self.text)
        self.pos = match.end()
        if match.re is QUOTED:
            return match[1] if match[1] is not None else match[2]
        return read_scalar(match[0], self.scalars)

    def collection(self, head: str, depth: int) -> Any:
        self.pos += 1
        close = "}" if head == "{" else "]"
        out: Any = {} if head == "{" else []
        if self.skip() == close:
            self.pos += 1
            return out
        while True:
            if head == "{":
                self.skip()
                key = self.leaf()
                if not isinstance(key, str) or key in out or self.skip() != ":" or \
                        self.text[self.pos + 1:self.pos + 2] != " ":
                    raise GiveUp(self.text)
                self.pos += 1
                out[key] = self.node(depth)
            else:
                out.append(self.node(depth))
            mark = self.skip()
            self.pos += 1
            if mark == close:
                return out
            if mark != ",":
                raise GiveUp(self.text)


def read_scalar(text: str, scalars: dict[str, Any]) -> Any:
    """``scalar`` memoised per distinct text."""
    try:
        return scalars[text]
    except KeyError:
        value = scalars[text] = scalar(text)
        return value


def value_of(text: str, scalars: dict[str, Any]) -> Any:
    """A block value written after ``key:`` or ``-`` on one line; EMPTY when none is."""
    if not text or text[0] == "#":
        return EMPTY
    if text[0] in "{[":
        flow = _Flow(text, scalars)
        out = flow.node(1)
        if AFTER.fullmatch(text, flow.pos) is None:
            raise GiveUp(text)
        return out
    match = QUOTED.match(text)
    if match is not None:
        if AFTER.fullmatch(text, match.end()) is None:
            raise GiveUp(text)
        return match[1] if match[1] is not None else match[2]
    match = PLAIN_VALUE.fullmatch(text)
    if match is None:
        raise GiveUp(text)
    return read_scalar(match[1], scalars)


EMPTY: Any = object()  # no value on the line: a nested block follows, or null


Entry = tuple[bool, str | None, int, Any]  # dash?, key, column of the key, value


def entry(content: str, scalars: dict[str, Any]) -> Entry:
    """One line's content (indent removed): ``- value``, ``key: value`` or ``- key: value``
    (a mapping opened on the dash's line; the key's column is counted from the dash)."""
    dash = content == "-" or content.startswith("- ")
    rest = content[1:].lstrip(" ") if dash else content
    column = len(content) - len(rest)
    if dash and (not rest or rest[0] == "#"):
        raise GiveUp(content)  # a nested block under a bare dash
    match = KEY_ENTRY.fullmatch(rest)
    if match is None:
        if not dash:
            raise GiveUp(content)
        return True, None, column, value_of(rest, scalars)
    key = read_scalar(match[1], scalars)
    if not isinstance(key, str):
        raise GiveUp(content)
    return dash, key, column, value_of(match[2] or "", scalars)


class _Frame:
    """An open block collection: its indent, the collection, a key waiting for a block."""

    __slots__ = ("indent", "items", "pending")

    def __init__(self, indent: int, items: Any) -> None:
        self.indent, self.items = indent, items
        self.pending: str | None = None


def _open(stack: list[_Frame], indent: int, dash: bool) -> None:
    """A line at ``indent`` after a key with no value on its line: the block it opens (a
    list may sit at the key's own indent), else the key's value is null."""
    top = stack[-1]
    if indent > top.indent or (indent == top.indent and dash):
        child = _Frame(indent, [] if dash else {})
        top.items[top.pending] = child.items
        top.pending = None
        stack.append(child)
    else:
        top.items[top.pending] = None
        top.pending = None


def _place(stack: list[_Frame], indent: int, line: Entry) -> None:
    """Add one line's entry to the collection open at its indent."""
    dash, key, column, value = line
    while stack and (stack[-1].indent > indent or (stack[-1].indent == indent and not dash
                                                   and isinstance(stack[-1].items, list))):
        stack.pop()
    if not stack or stack[-1].indent != indent or \
            isinstance(stack[-1].items, list) != dash or len(stack) > DEPTH:
        raise GiveUp(key)
    top = stack[-1]
    if dash and key is not None:  # - key: value opens a mapping at the key's column
        top = _Frame(indent + column, {})
        stack[-1].items.append(top.items)
        stack.append(top)
    if key is None:
        top.items.append(value if value is not EMPTY else None)
        return
    if key in top.items:
        raise GiveUp(key)  # a duplicate: the full loader says where
    if value is EMPTY:
        top.pending = key
    else:
        top.items[key] = value


def read_plain(text: str) -> Any:
    """The data of ``text`` when it is in the subset read here, else None."""
    if _REFUSED_CHARS.search(text) is not None:
        return None
    memo: dict[str, Entry] = {}
    scalars: dict[str, Any] = {}
    stack: list[_Frame] = []
    root: Any = None
    try:
        for raw in io.StringIO(text):  # one line at a time: no list of every line
            if raw[-1:] == "\n":
                raw = raw[:-1]
            content = raw.lstrip(" ")
            if not content or content[0] == "#":
                continue
            line = memo.get(content)
            if line is None:
                line = memo[content] = entry(content, scalars)
            indent = len(raw) - len(content)
            if root is None:
                root = [] if line[0] else {}
                stack.append(_Frame(indent, root))
            elif stack and stack[-1].pending is not None:
                _open(stack, indent, line[0])
            value = line[3]
            if isinstance(value, (dict, list)):
                line = (line[0], line[1], line[2], copy(value))
            _place(stack, indent, line)
    except GiveUp:
        return None
    for frame in stack:
        if frame.pending is not None:
            frame.items[frame.pending] = None
    return root
