"""Named reusable blocks: their definitions, parameters and the tiny expression language.

In a block body ``$p`` is replaced by the parameter ``p`` and ``${expr}`` by the
value of a small arithmetic expression over the parameters (numbers, + - * / //
% **, comparisons, and / or / not, ``a if c else b``); ``in_channels`` is the
channel count of the block's input. Nothing is ever passed to Python's eval.

Evaluation is bounded: integers within ``limits.MAX_EXPR_INT``, text and lists within
``limits.MAX_EXPR_STR`` (checked *before* ``**`` and ``*`` compute), ``%`` only on numbers
(``'%.999999999f' % x`` would format gigabytes), at most ``limits.MAX_EXPR_OPERATORS``
operators and ``limits.MAX_EXPR_DEPTH`` levels of nesting. A flat chain such as
``a + b + c`` is evaluated without recursion, so it counts as operators, not as depth.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import limits
from ..errors import Named, SpecError, closest
from ..limits import echo, shown
from .names import check_name

STRUCTURES = ("sequential", "parallel", "residual")


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.Mod: operator.mod,
    ast.Pow: operator.pow}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bounded(value: Any, text: str) -> Any:
    """Every value the evaluator makes or reads stays small: ints within MAX_EXPR_INT,
    text and lists within MAX_EXPR_STR."""
    if _is_int(value) and abs(value) > limits.MAX_EXPR_INT:
        raise SpecError(f"'${{{echo(text)}}}': the integer {echo(value)} is beyond "
                        f"+-{limits.MAX_EXPR_INT:,}, the largest a block expression handles")
    if isinstance(value, (str, list, tuple)) and len(value) > limits.MAX_EXPR_STR:
        raise SpecError(f"'${{{echo(text)}}}': a value of {len(value):,} items or characters "
                        f"is beyond the {limits.MAX_EXPR_STR:,} a block expression handles")
    return value


def _size_of(value: Any) -> int:
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return max(abs(value), 1)
    return len(value) if isinstance(value, (str, list, tuple)) else 1


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _binop(op: type, left: Any, right: Any, text: str) -> Any:
    """Check the operands so the result stays bounded *before* computing it."""
    if op is ast.Mod and not (_is_number(left) and _is_number(right)):
        raise SpecError(f"'${{{echo(text)}}}': '%' is the remainder of two numbers; "
                        f"received {type(left).__name__} % {type(right).__name__} (text "
                        "formatting with '%' is not supported)")
    if op is ast.Pow and _is_int(left) and _is_int(right) and abs(left) > 1 and right > 0:
        if right * (abs(left).bit_length() - 1) > limits.MAX_EXPR_INT.bit_length():
            raise SpecError(f"'${{{echo(text)}}}': {echo(left)} ** {echo(right)} is beyond "
                            f"+-{limits.MAX_EXPR_INT:,}, the largest a block expression handles")
    if op is ast.Mult and (isinstance(left, (str, list, tuple))
                           or isinstance(right, (str, list, tuple))):
        if _size_of(left) * _size_of(right) > limits.MAX_EXPR_STR:
            raise SpecError(f"'${{{echo(text)}}}': the repeated value would have "
                            f"{_size_of(left) * _size_of(right):,} items or characters; at "
                            f"most {limits.MAX_EXPR_STR:,}")
    return _BINOPS[op](left, right)


def _chain(node: ast.BinOp, walk: Callable[[ast.AST], Any], text: str) -> Any:
    """A flat chain ``a + b - c ...`` (left-nested BinOps), folded left to right without
    recursion: its length is a count of operators, not a depth."""
    chain = [node]
    while isinstance(chain[-1].left, ast.BinOp) and type(chain[-1].left.op) in _BINOPS:
        chain.append(chain[-1].left)
    value = walk(chain[-1].left)
    for link in reversed(chain):
        value = _bounded(_binop(type(link.op), value, walk(link.right), text), text)
    return value


def _eval_node(node: ast.AST, env: dict[str, Any], text: str, depth: int = 0) -> Any:
    """One step of the tiny evaluator: numbers, names, arithmetic, comparisons, if/else."""
    if depth > limits.MAX_EXPR_DEPTH:
        raise SpecError(f"'${{{echo(text)}}}' is nested deeper than {limits.MAX_EXPR_DEPTH} "
                        "levels")

    def walk(child: ast.AST) -> Any:
        return _bounded(_eval_node(child, env, text, depth + 1), text)

    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return _bounded(node.value, text)
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise SpecError(f"unknown parameter '{node.id}' in '${{{echo(text)}}}'."
                            f"{closest(node.id, list(env))}")
        return _bounded(env[node.id], text)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _chain(node, walk, text)
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
    raise SpecError(f"'${{{echo(text)}}}' uses something other than numbers, parameters, "
                    "+ - * / // % **, comparisons, and / or / not and 'a if c else b'")


#: expressions read so far (text -> checked syntax tree), at most EXPRESSIONS of them: a
#: block's template says the same few expressions for every instance, and the web page's
#: workers read the same description again at each keystroke
READ: dict[str, ast.Expression] = {}
EXPRESSIONS = 4096


def evaluate(text: str, env: dict[str, Any]) -> Any:
    """A tiny arithmetic evaluator over block parameters (never Python's eval)."""
    tree = READ.get(text) or read_expression(text)
    try:
        return _bounded(_eval_node(tree.body, env, text), text)
    except (ZeroDivisionError, TypeError, OverflowError, ValueError) as err:
        raise SpecError(f"cannot evaluate '${{{echo(text)}}}': {echo(str(err), 200)}") \
            from None
    except RecursionError:  # pragma: no cover - MAX_EXPR_DEPTH stops it first
        raise SpecError(f"'${{{echo(text)}}}' is nested too deeply") from None


def read_expression(text: str) -> ast.Expression:
    """The syntax tree of an expression, checked against the budgets (kept in READ)."""
    if len(text) > limits.MAX_EXPR_CHARS:
        raise SpecError(f"the expression '${{{echo(text)}}}' is {len(text):,} characters; at "
                        f"most {limits.MAX_EXPR_CHARS:,}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        raise SpecError(f"cannot read the expression '${{{echo(text)}}}'") from None
    except (RecursionError, MemoryError):
        raise SpecError(f"'${{{echo(text)}}}' is nested deeper than {limits.MAX_EXPR_DEPTH} "
                        "levels") from None
    operators = sum(len(n.values) - 1 if isinstance(n, ast.BoolOp) else len(n.ops)
                    if isinstance(n, ast.Compare) else isinstance(n, ast.BinOp)
                    for n in ast.walk(tree))  # binary operators; unary ones nest (depth)
    if operators > limits.MAX_EXPR_OPERATORS:
        raise SpecError(f"'${{{echo(text)}}}' has {operators:,} operators; at most "
                        f"{limits.MAX_EXPR_OPERATORS:,} in one expression (too long: give "
                        "parts of it as block parameters)")
    if len(READ) >= EXPRESSIONS:
        READ.clear()
    READ[text] = tree
    return tree


def substitute(value: Any, env: dict[str, Any]) -> Any:
    """Replace ``$name`` and ``${expr}`` in a block template (deep); returns a new copy."""
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
            raise SpecError(f"unknown parameter '{echo(text)}'.{closest(text[1:], list(env))} "
                            f"Parameters: {echo(', '.join(sorted(env)) or 'none', 200)}")
        return env[text[1:]]
    out, pos = [], 0
    while True:
        start = value.find("${", pos)
        if start < 0:
            break
        end = value.find("}", start + 2)
        if end < 0:
            raise SpecError(f"unclosed '${{' in '{echo(value)}'")
        out += [value[pos:start], str(evaluate(value[start + 2:end], env))]
        if sum(len(part) for part in out) > limits.MAX_EXPR_STR:
            raise SpecError(f"'{echo(value)}' expands to more than {limits.MAX_EXPR_STR:,} "
                            "characters")
        pos = end + 1
    return "".join(out) + value[pos:]


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
        raise SpecError(f"must map block names to definitions; received {shown(raw)}",
                        path=("blocks",))
    blocks = {}
    for name, body in raw.items():
        if not isinstance(name, str):
            raise SpecError(f"block names must be text; received {shown(name)}",
                            path=("blocks",))
        at = (Named("block", name),)
        check_name(name, "block name", at)
        if is_layer_type(name) or name in STRUCTURES:
            raise SpecError("the name is already a layer type; choose another", path=at)
        if not isinstance(body, dict) or "layers" not in body:
            raise SpecError(f"must be a mapping with 'layers' (and optional 'params'); "
                            f"received {shown(body)}", path=at)
        unknown = set(body) - {"params", "layers", "description"}
        if unknown:
            key = sorted(str(k) for k in unknown)[0]
            raise SpecError(f"unknown key '{echo(key)}'."
                            f"{closest(key, ('params', 'layers', 'description'))} Known: "
                            "params, layers, description", path=at)
        params = body.get("params") or {}
        if isinstance(params, list):
            if not all(isinstance(p, str) for p in params):
                raise SpecError(f"'params' must be names; received {shown(params)}", path=at)
            params = {p: None for p in params}
        if not isinstance(params, dict) or not all(isinstance(p, str) for p in params):
            raise SpecError(f"'params' must be a mapping of defaults or a list of names; "
                            f"received {shown(params)}", path=at)
        if not isinstance(body["layers"], list):
            raise SpecError("'layers' must be a list", path=at)
        blocks[str(name)] = Block(str(name), dict(params), body["layers"])
    return blocks
