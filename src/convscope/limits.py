"""The bounds convscope keeps on any input, so that time and memory stay bounded.

A description is data from anywhere (a file, a URL fragment, a web request), so every
place that could make work grow faster than the text that asked for it checks one of
these budgets *before* doing the work, and refuses with a :class:`SpecError` that names
the budget, the number asked for and how to raise the limit where raising makes sense.

The numbers are chosen far above any real network (ResNet-1202 has about 1,200 layers,
the largest timm model a few thousand operations) and far below what would hang the
machine: a 200,000-layer chain analyses in seconds.
"""

from __future__ import annotations

import os

#: layers after expanding blocks, repeats and one-line ``*N`` (``--max-layers`` / env)
MAX_LAYERS = 200_000
#: environment variable that overrides MAX_LAYERS (the CLI's ``--max-layers`` sets it)
MAX_LAYERS_ENV = "CONVSCOPE_MAX_LAYERS"
#: nesting of structures, blocks and lists in a description
MAX_DEPTH = 100
#: YAML alias references in one document (a 'billion laughs' bomb needs millions)
MAX_YAML_ALIASES = 1_000
#: size of a description file or request body
MAX_TEXT_BYTES = 16 * 1024 * 1024
#: any one size (channels, a spatial extent, units): 2**31 - 1, the largest int32
MAX_DIM = 2**31 - 1
#: total values of one tensor shape (per sample): 2**50, about 10**15
MAX_ELEMENTS = 2**50
#: an integer inside a block expression: 2**63 - 1 in magnitude, and 10 digits of text shown
MAX_EXPR_INT = 2**63 - 1
#: depth of a block expression's syntax tree (3,000 unary minus signs are refused); a flat
#: chain ``a + b + c`` is not depth but operators (MAX_EXPR_OPERATORS)
MAX_EXPR_DEPTH = 50
#: binary operators (+ - * ..., and / or, comparisons) in one block expression
MAX_EXPR_OPERATORS = 200
#: characters of a string built inside a block expression
MAX_EXPR_STR = 10_000
#: characters of any user text echoed in an error message
MAX_ECHO = 60
#: a measured count carried by a layer (an imported operation's parameters, buffers or
#: MACs): any count a real model reaches (a video transformer's attention: 4*10**9 MACs)
MAX_COUNT = 2**63 - 1
#: nodes (mappings, lists, scalars) that YAML aliases may add to a document when expanded
MAX_YAML_ALIAS_NODES = 100_000
#: values (mappings, lists, scalars) in one description after YAML aliases are expanded
MAX_DATA_NODES = 5_000_000
#: axes of one shape (H x W x C is 3; 16 is far above any real network)
MAX_RANK = 16
#: digits of one integer written in a description (larger ones are refused while reading)
MAX_NUMBER_DIGITS = 1_000
#: characters of one ``${...}`` block expression
MAX_EXPR_CHARS = 1_000


def max_layers() -> int:
    """The layer budget in force: MAX_LAYERS, or CONVSCOPE_MAX_LAYERS when set."""
    raw = os.environ.get(MAX_LAYERS_ENV)
    if raw is None:
        return MAX_LAYERS
    try:
        value = int(raw)
    except ValueError:
        return MAX_LAYERS
    return value if value > 0 else MAX_LAYERS


def echo(value: object, limit: int = MAX_ECHO) -> str:
    """``repr``-like text of a user value, cut to ``limit`` characters for messages.

    A 5,000-digit kernel is shown as ``'12345...(5000 digits)'`` rather than in full.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        digits = len(str(abs(value))) if abs(value) < 10**4300 else None
        if digits is None or digits > 20:
            sign = "-" if value < 0 else ""
            count = f"{digits} digits" if digits is not None else "more than 4300 digits"
            return f"{sign}{str(abs(value))[:8] if digits else ''}...({count})"
        return str(value)
    text = value if isinstance(value, str) else _short_repr(value, limit)
    length = len(text)  # of the original: the escaped, shortened text is longer or shorter
    if not text.isprintable():  # newlines, tabs, control characters: shown escaped
        text = repr(text[:limit * 4])[1:-1]
    if len(text) > limit:
        return f"{text[:limit]}...({length:,} characters)"
    return text


def _short_repr(value: object, limit: int) -> str:
    """``repr`` that never walks a huge or deep container in full, nor prints a huge int."""
    import reprlib

    class _Repr(reprlib.Repr):
        def repr_int(self, x: int, level: int) -> str:
            return echo(x)

    short = _Repr()
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict = 4, 8, 8, 6
    short.maxstring, short.maxother, short.maxlong = limit, limit, limit
    try:
        return short.repr(value)
    except (RecursionError, ValueError, TypeError):  # pragma: no cover - last resort
        return f"<{type(value).__name__}>"


def shown(value: object, limit: int = MAX_ECHO) -> str:
    """:func:`echo` with text quoted as ``repr`` quotes it: ``'abc'``, ``5``, ``[1, 2]``."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + \
            f"...({len(value):,} characters)"
    return echo(value, limit)
