"""Named reusable blocks: their definitions, parameters and the tiny expression language.

In a block body ``$p`` is replaced by the parameter ``p`` and ``${expr}`` by the
value of a small arithmetic expression over the parameters (numbers, + - * / //
% **, comparisons, and / or / not, ``a if c else b``); ``in_channels`` is the
channel count of the block's input. Nothing is ever passed to Python's eval.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError, closest

STRUCTURES = ("sequential", "parallel", "residual")


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.Mod: operator.mod,
    ast.Pow: operator.pow}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge}


def _eval_node(node: ast.AST, env: dict[str, Any], text: str) -> Any:
    """One step of the tiny evaluator: numbers, names, arithmetic, comparisons, if/else."""

    def walk(child: ast.AST) -> Any:
        return _eval_node(child, env, text)

    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise SpecError(f"unknown parameter '{node.id}' in '${{{text}}}'."
                            f"{closest(node.id, list(env))}")
        return env[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](walk(node.left), walk(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        value = walk(node.operand)
        return -value if isinstance(node.op, ast.USub) else not value
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPOPS:
        return _CMPOPS[type(node.ops[0])](walk(node.left), walk(node.comparators[0]))
    if isinstance(node, ast.BoolOp):
        values = [walk(v) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.IfExp):
        return walk(node.body) if walk(node.test) else walk(node.orelse)
    raise SpecError(f"'${{{text}}}' uses something other than numbers, parameters, "
                    "+ - * / // % **, comparisons, and / or / not and 'a if c else b'")


def evaluate(text: str, env: dict[str, Any]) -> Any:
    """A tiny arithmetic evaluator over block parameters (never Python's eval)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise SpecError(f"cannot read the expression '${{{text}}}'") from None
    try:
        return _eval_node(tree.body, env, text)
    except (ZeroDivisionError, TypeError, OverflowError) as err:
        raise SpecError(f"cannot evaluate '${{{text}}}': {err}") from None


def substitute(value: Any, env: dict[str, Any]) -> Any:
    """Replace ``$name`` and ``${expr}`` in a block template (deep)."""
    if isinstance(value, dict):
        return {k: substitute(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    if not isinstance(value, str) or "$" not in value:
        return value
    text = value.strip()
    if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
        return evaluate(text[2:-1], env)
    if text.startswith("$") and text[1:].isidentifier():
        if text[1:] not in env:
            raise SpecError(f"unknown parameter '{text}'.{closest(text[1:], list(env))} "
                            f"Parameters: {', '.join(sorted(env)) or 'none'}")
        return env[text[1:]]
    out, rest = [], value
    while "${" in rest:
        before, _, after = rest.partition("${")
        expr, sep, rest = after.partition("}")
        if not sep:
            raise SpecError(f"unclosed '${{' in '{value}'")
        out += [before, str(evaluate(expr, env))]
    return "".join(out) + rest


@dataclass(frozen=True)
class Block:
    """A named reusable block: parameters with defaults (None = required) and a body."""

    name: str
    params: dict[str, Any]
    layers: list[Any]


def read_blocks(raw: Any, is_layer_type: Callable[[str], bool]) -> dict[str, Block]:
    """The ``blocks`` mapping of a description, validated."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(f"'blocks' must map block names to definitions; received {raw!r}")
    blocks = {}
    for name, body in raw.items():
        if is_layer_type(str(name)) or name in STRUCTURES:
            raise SpecError(f"block '{name}': the name is already a layer type; choose another")
        if not isinstance(body, dict) or "layers" not in body:
            raise SpecError(f"block '{name}' must be a mapping with 'layers' (and optional "
                            f"'params'); received {body!r}")
        unknown = set(body) - {"params", "layers", "description"}
        if unknown:
            raise SpecError(f"block '{name}': unknown key '{sorted(unknown)[0]}' (known: params, "
                            "layers, description)")
        params = body.get("params") or {}
        if isinstance(params, list):
            params = {p: None for p in params}
        if not isinstance(params, dict):
            raise SpecError(f"block '{name}': 'params' must be a mapping of defaults or a list "
                            f"of names; received {params!r}")
        if not isinstance(body["layers"], list):
            raise SpecError(f"block '{name}': 'layers' must be a list")
        blocks[str(name)] = Block(str(name), dict(params), body["layers"])
    return blocks
