"""Reading description text safely: YAML and JSON with bounded size, depth and aliases.

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

Text is first scanned with libyaml's event stream (fast, no recursion): when it holds no
alias and nests at most MAX_DEPTH levels it is loaded by libyaml's loader; otherwise by
PyYAML's pure-Python ``SafeLoader`` extended with the alias and depth checks (libyaml
composes nodes in C, where neither can be counted). Both refuse duplicate keys and
oversized integers in the (Python) constructor.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent

from .. import limits
from ..errors import SpecError


def _where(source: str, mark: Any) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source


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


def plain_yaml(text: str) -> bool:
    """True when libyaml's event stream has no alias and nests at most MAX_DEPTH levels
    (libyaml parses without recursion; its composer recurses, so it only gets such text);
    a too-deep text is refused here, with its line."""
    if _FAST is None:
        return False
    depth = 0
    for event in yaml.parse(text, Loader=_FAST):
        if isinstance(event, AliasEvent):
            return False
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > limits.MAX_DEPTH:
                raise _Refused(f"nesting deeper than {limits.MAX_DEPTH} levels",
                               event.start_mark)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return True


def check_size(text: str, source: str) -> None:
    """Refuse text beyond MAX_TEXT_BYTES (counted in characters: at most 4 bytes each)."""
    if len(text) > limits.MAX_TEXT_BYTES:
        raise SpecError(f"{source}: the description is {len(text):,} characters; at most "
                        f"{limits.MAX_TEXT_BYTES:,} bytes are read")


def yaml_load(text: str, source: str) -> Any:
    """YAML text -> data, every problem a SpecError naming file:line:column."""
    check_size(text, source)
    try:
        loader = _FAST if plain_yaml(text) else SafeDescriptionLoader
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader
    except _Refused as err:
        raise SpecError(f"{_where(source, err.mark)}: {err.message}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "syntax error"
        raise SpecError(f"{_where(source, mark)}: YAML syntax error: "
                        f"{limits.echo(problem, 200)}") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{source}: YAML error: {limits.echo(' '.join(str(err).split()), 200)}"
                        ) from None
    except (RecursionError, MemoryError):
        raise SpecError(f"{source}: the YAML is nested too deeply to read") from None
    except (ValueError, TypeError, OverflowError) as err:  # a constructor's own failure
        raise SpecError(f"{source}: cannot read a value: {limits.echo(str(err), 200)}") \
            from None


def json_depth(text: str) -> tuple[int, int]:
    """The deepest bracket nesting of JSON text and the offset where it is first reached
    (strings skipped), found without recursion."""
    depth = deepest = where = 0
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, i
                if deepest > limits.MAX_DEPTH:
                    return deepest, where
        elif ch in "]}":
            depth -= 1
    return deepest, where


def _json_int(text: str) -> int:
    if len(text) > limits.MAX_NUMBER_DIGITS:
        raise ValueError(f"a number of {len(text):,} digits (at most "
                         f"{limits.MAX_NUMBER_DIGITS:,})")
    return int(text)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key '{limits.echo(key)}'")
        out[key] = value
    return out


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def json_load(text: str, source: str) -> Any:
    """JSON text -> data, with the same limits as YAML (depth scanned before decoding)."""
    check_size(text, source)
    deepest, where = json_depth(text)
    if deepest > limits.MAX_DEPTH:
        line, col = _line_col(text, where)
        raise SpecError(f"{source}:{line}:{col}: nesting deeper than {limits.MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_int=_json_int, object_pairs_hook=_json_object)
    except json.JSONDecodeError as err:
        raise SpecError(f"{source}:{err.lineno}:{err.colno}: JSON syntax error: "
                        f"{err.msg}") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise SpecError(f"{source}: cannot read the JSON: {limits.echo(str(err), 200)}") \
            from None
