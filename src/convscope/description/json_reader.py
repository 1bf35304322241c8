"""Reading JSON descriptions with the limits of the YAML reader (reader.py): bounded size,
nesting scanned before the recursive stdlib decoder runs, duplicate keys refused with the
line of both, integers of at most ``limits.MAX_NUMBER_DIGITS`` digits."""

from __future__ import annotations

import json
import re
from typing import Any

from .. import limits
from ..errors import SpecError
from .reader import check_size

#: JSON strings (skipped whole, by the regex engine) and brackets
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_JSON_COLON = re.compile(r"[ \t\r\n]*:")


def json_depth(text: str) -> tuple[int, int]:
    """The deepest bracket nesting of JSON text and the offset where it is first reached
    (strings skipped), found without recursion."""
    depth = deepest = where = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, match.start()
                if deepest > limits.MAX_DEPTH:
                    return deepest, where
        elif token in "]}":
            depth -= 1
    return deepest, where


def json_duplicate(text: str) -> tuple[str, int, int] | None:
    """The first duplicate key of JSON text: (key, offset of its second occurrence, offset
    of its first), found without recursion; None when there is none."""
    stack: list[dict[str, int] | None] = []  # per open object its keys; None for a list
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            stack.append({} if token == "{" else None)
        elif token in "]}":
            if stack:
                stack.pop()
        elif stack and stack[-1] is not None and _JSON_COLON.match(text, match.end()):
            try:
                key = json.loads(token)
            except ValueError:
                continue
            keys = stack[-1]
            if key in keys:
                return key, match.start(), keys[key]
            keys[key] = match.start()
    return None


def _json_int(text: str) -> int:
    if len(text) > limits.MAX_NUMBER_DIGITS:
        raise ValueError(f"a number of {len(text):,} digits (at most "
                         f"{limits.MAX_NUMBER_DIGITS:,})")
    return int(text)


class _Duplicate(ValueError):
    """A duplicate key in JSON; json_load finds where it is."""


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(f"duplicate key '{limits.echo(key)}'")
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
        raise SpecError(f"nesting deeper than {limits.MAX_DEPTH} levels", source, line=line,
                        column=col)
    try:
        return json.loads(text, parse_int=_json_int, object_pairs_hook=_json_object)
    except json.JSONDecodeError as err:
        raise SpecError(f"JSON syntax error: {err.msg}", source, line=err.lineno,
                        column=err.colno) from None
    except _Duplicate as err:
        found = json_duplicate(text)
        if found is None:  # pragma: no cover - the scan finds what the decoder found
            raise SpecError(str(err), source) from None
        key, offset, first = found
        line, col = _line_col(text, offset)
        raise SpecError(f"duplicate key '{limits.echo(key)}' (first on line "
                        f"{_line_col(text, first)[0]})", source, line=line, column=col) \
            from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise SpecError(f"cannot read the JSON: {limits.echo(str(err), 200)}", source) \
            from None
