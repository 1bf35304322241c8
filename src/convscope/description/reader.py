"""Reading description text safely: YAML (here) and JSON (json_reader.py) with bounded size,
depth and aliases.

A description is data from anywhere, so reading it must take time and memory in
proportion to its text. This module refuses, with ``file:line:column`` where known:

* text larger than ``limits.MAX_TEXT_BYTES``;
* YAML alias bombs ("billion laughs"): aliases are allowed (``&defaults`` /
  ``*defaults`` is handy), but counted *as if expanded*; more than
  ``limits.MAX_YAML_ALIASES`` alias references, or aliases that would add more than
  ``limits.MAX_YAML_ALIAS_NODES`` values, are refused, as is an alias inside the node it
  names (a cycle);
* nesting deeper than ``limits.MAX_DEPTH`` lists / mappings (checked while composing
  YAML, and by scanning the brackets of JSON before the recursive stdlib decoder runs);
* duplicate mapping keys (YAML and JSON), which would otherwise be silently merged;
* integers of more than ``limits.MAX_NUMBER_DIGITS`` digits.

Text is first scanned with libyaml's event stream (fast, no recursion, :func:`scan_yaml`):
the scan measures each anchored node and so the size and depth the document would have
with every alias expanded, and refuses beyond the budgets above, with the alias's line.
Text that passes is loaded by libyaml's loader (which expands aliases itself, as shared
objects: a file with one alias loads as fast as one with none). PyYAML's pure-Python
``SafeLoader`` extended with the same alias and depth checks is used only where libyaml
is not installed. Both refuse duplicate keys and oversized integers in the (Python)
constructor. Before all this, the plain subset most descriptions are written in is read
line by line (:mod:`.yaml_plain`, issue 16), giving up to the loaders above on anything
outside it (aliases, duplicate keys, long numbers, deep nesting among others), so that their
budgets and errors apply unchanged.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent

from .. import limits
from ..errors import SpecError
from .yaml_plain import read_plain


def _error(message: str, source: str, mark: Any) -> SpecError:
    """A SpecError of ``source`` at the (0-based) YAML ``mark``: its 1-based line and column
    are fields, rendered ``file:line:column: message``."""
    if mark is None:
        return SpecError(message, source)
    return SpecError(message, source, line=mark.line + 1, column=mark.column + 1)


class _Refused(yaml.YAMLError):
    """A budget refused while reading; carries the message and the mark."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Checks:
    """Constructor checks shared by both loaders: duplicate keys, oversized integers."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in seen and key_node.value != "<<":
                        raise _Refused(f"duplicate key '{limits.echo(key_node.value)}' (first "
                                       f"on line {seen[key].line + 1})", key_node.start_mark)
                    seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]

    def construct_yaml_int(self, node: Any) -> Any:
        text = str(node.value)
        if sum(ch.isdigit() for ch in text) > limits.MAX_NUMBER_DIGITS:
            raise _Refused(f"a number of {len(text):,} digits (at most "
                           f"{limits.MAX_NUMBER_DIGITS:,})", node.start_mark)
        return super().construct_yaml_int(node)  # type: ignore[misc]


class SafeDescriptionLoader(_Checks, yaml.SafeLoader):
    """SafeLoader + alias budget (counted as expanded), depth limit, duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._stack: list[list[int]] = []  # per open node: [values, alias refs, alias values]
        self._sizes: dict[int, tuple[int, int, int]] = {}

    def _add(self, values: int, refs: int, added: int, mark: Any) -> None:
        if not self._stack:
            return
        top = self._stack[-1]
        top[0] += values
        top[1] += refs
        top[2] += added
        if top[1] > limits.MAX_YAML_ALIASES:
            raise _Refused(f"too many YAML alias references (more than "
                           f"{limits.MAX_YAML_ALIASES:,} once expanded; an alias bomb?)", mark)
        if top[2] > limits.MAX_YAML_ALIAS_NODES:
            raise _Refused(f"YAML aliases would add more than {limits.MAX_YAML_ALIAS_NODES:,} "
                           "values once expanded (an alias bomb?)", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            node = Composer.compose_node(self, parent, index)  # the anchored node itself
            size = self._sizes.get(id(node))
            if size is None:
                raise _Refused(f"the alias *{event.anchor} is inside the node it names "
                               "(a cycle)", event.start_mark)
            values, refs, added = size
            self._add(values, refs + 1, added + values, event.start_mark)
            return node
        mark = self.peek_event().start_mark
        self._depth += 1
        if self._depth > limits.MAX_DEPTH:
            raise _Refused(f"nesting deeper than {limits.MAX_DEPTH} levels", mark)
        self._stack.append([1, 0, 0])
        node = Composer.compose_node(self, parent, index)
        values, refs, added = self._stack.pop()
        self._depth -= 1
        self._sizes[id(node)] = (values, refs, added)
        self._add(values, refs, added, mark)
        return node

    def compose_document(self) -> Any:
        try:
            return super().compose_document()
        finally:
            self._sizes = {}


SafeDescriptionLoader.add_constructor("tag:yaml.org,2002:int",
                                      SafeDescriptionLoader.construct_yaml_int)
_FAST: Any = None
if hasattr(yaml, "CSafeLoader"):
    class _FastLoader(_Checks, yaml.CSafeLoader):  # type: ignore[misc, name-defined]
        """libyaml's loader with the same constructor checks; used when a scan of the
        events found no alias and no deep nesting (then nothing else can blow up)."""

    _FastLoader.add_constructor("tag:yaml.org,2002:int", _FastLoader.construct_yaml_int)
    _FAST = _FastLoader


Size = tuple[int, int, int, int]  # values, alias references, values they add, height


class _Scan:
    """The sizes of a document's nodes from libyaml's events, as if aliases were expanded
    (the same counts as SafeDescriptionLoader makes while composing)."""

    def __init__(self) -> None:
        self.sizes: dict[str, Size] = {}  # closed anchored nodes
        self.stack: list[list[Any]] = []  # open collections: [*Size, anchor]
        self.refs = self.added = 0  # document-wide alias references, values they add

    def add(self, size: Size) -> None:
        if self.stack:
            top = self.stack[-1]
            top[0], top[1], top[2] = top[0] + size[0], top[1] + size[1], top[2] + size[2]
            top[3] = max(top[3], size[3])

    def scalar(self, event: Any) -> None:
        if event.anchor is not None:
            self.sizes[event.anchor] = (1, 0, 0, 0)
        self.add((1, 0, 0, 0))

    def start(self, event: Any) -> None:
        if len(self.stack) >= limits.MAX_DEPTH:
            raise _Refused(f"nesting deeper than {limits.MAX_DEPTH} levels", event.start_mark)
        self.stack.append([1, 0, 0, 0, event.anchor])

    def end(self, event: Any) -> None:
        values, refs, added, height, anchor = self.stack.pop()
        size = (values, refs, added, height + 1)
        if anchor is not None:
            self.sizes[anchor] = size
        self.add(size)

    def alias(self, event: Any) -> None:
        if any(entry[4] == event.anchor for entry in self.stack):
            raise _Refused(f"the alias *{event.anchor} is inside the node it names (a cycle)",
                           event.start_mark)
        if event.anchor not in self.sizes:
            return  # an undefined alias: the loader says so
        values, refs, added, height = self.sizes[event.anchor]
        self.refs += refs + 1
        self.added += added + values
        if self.refs > limits.MAX_YAML_ALIASES:
            raise _Refused(f"too many YAML alias references (more than "
                           f"{limits.MAX_YAML_ALIASES:,} once expanded; an alias bomb?)",
                           event.start_mark)
        if self.added > limits.MAX_YAML_ALIAS_NODES:
            raise _Refused(f"YAML aliases would add more than {limits.MAX_YAML_ALIAS_NODES:,} "
                           "values once expanded (an alias bomb?)", event.start_mark)
        if len(self.stack) + height > limits.MAX_DEPTH:
            raise _Refused(f"nesting deeper than {limits.MAX_DEPTH} levels once the alias "
                           f"*{event.anchor} is expanded", event.start_mark)
        self.add((values, refs + 1, added + values, height))

    def document(self, event: Any) -> None:
        self.sizes.clear()  # anchors are per document


def scan_yaml(text: str) -> bool:
    """Scan libyaml's event stream (no recursion) and refuse, with the line: nesting deeper
    than MAX_DEPTH, and aliases that, expanded, would exceed MAX_YAML_ALIASES references or
    add MAX_YAML_ALIAS_NODES values, or nest deeper than MAX_DEPTH, or that sit inside the
    node they name (a cycle). True when libyaml's loader may then load the text (the
    budgets were checked here; its composer recurses only as deep as the text nests), False
    when libyaml is not installed."""
    if _FAST is None:
        return False
    scan = _Scan()
    handlers = {yaml.ScalarEvent: scan.scalar, yaml.SequenceStartEvent: scan.start,
                yaml.MappingStartEvent: scan.start, yaml.SequenceEndEvent: scan.end,
                yaml.MappingEndEvent: scan.end, AliasEvent: scan.alias,
                yaml.DocumentStartEvent: scan.document}
    for event in yaml.parse(text, Loader=_FAST):
        handler = handlers.get(type(event))
        if handler is not None:
            handler(event)
    return True


def check_size(text: str, source: str) -> None:
    """Refuse text beyond MAX_TEXT_BYTES (counted in characters: at most 4 bytes each)."""
    if len(text) > limits.MAX_TEXT_BYTES:
        raise SpecError(f"the description is {len(text):,} characters; at most "
                        f"{limits.MAX_TEXT_BYTES:,} bytes are read", source)


def yaml_load(text: str, source: str) -> Any:
    """YAML text -> data, every problem a SpecError naming file:line:column."""
    check_size(text, source)
    data = read_plain(text)  # the plain subset, one line at a time (yaml_plain.py)
    if data is not None:
        return data
    try:
        loader = _FAST if scan_yaml(text) else SafeDescriptionLoader
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader
    except _Refused as err:
        raise _error(err.message, source, err.mark) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "syntax error"
        raise _error(f"YAML syntax error: {limits.echo(problem, 200)}", source, mark) \
            from None
    except yaml.YAMLError as err:
        raise SpecError(f"YAML error: {limits.echo(' '.join(str(err).split()), 200)}",
                        source) from None
    except (RecursionError, MemoryError):
        raise SpecError("the YAML is nested too deeply to read", source) from None
    except (ValueError, TypeError, OverflowError) as err:  # a constructor's own failure
        raise SpecError(f"cannot read a value: {limits.echo(str(err), 200)}", source) \
            from None
