"""The pieces generated PyTorch source is made of (used by source.py): Python identifiers
from layer names, literals, a module written as its constructor call, the source of the
helper classes a network uses, and calls split one argument a line to fit ``WIDTH``."""

from __future__ import annotations

import ast
import inspect
import io
import keyword
import math
import re
import textwrap
import tokenize
import unicodedata
from typing import Any

from torch import nn

from ..errors import ConvscopeError
from ..layers import torch_modules
from ..names import unique_name

_SKIP = {"self", "device", "dtype"}
_RESERVED = {"input", "self", "torch", "nn", "F", "Any", "training", "annotations"}
_KEYWORD_ALWAYS = {"kernel_size"}  # written as keywords even where positional (torchvision)
WIDTH = 100  # longest line; longer calls are split one argument a line
CHAIN = "x"  # the variable of a value that only the next statement reads


def identifier_chars(name: str) -> str:
    """``name`` with every character that cannot be in a Python identifier made '_'
    (NFKC first, as Python itself normalises identifiers)."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c if ("_" + c).isidentifier() else "_" for c in text)
    return text if not text or ("_" + text).isidentifier() else re.sub(r"[^0-9A-Za-z_]", "_",
                                                                        text)


def doc_text(text: str) -> str:
    """User text inside the file's docstring: quotes, backslashes and control characters
    escaped, so that no name can end the docstring (\"\"\") or the line."""
    out = []
    for c in str(text):
        if c in "\\\"":
            out.append("\\" + c)
        elif c.isprintable() or c == " ":
            out.append(c)
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def identifier(name: str, taken: set[str]) -> str:
    """A unique Python identifier for a layer name: 'layer1.0.conv1' -> 'layer1_0_conv1'."""
    text = identifier_chars(name) or "layer"
    if text[0].isdigit():
        text = f"l_{text}"
    if text.startswith("__"):  # self.__name would be mangled to self._Class__name
        text = f"l{text}"
    if keyword.iskeyword(text) or text in _RESERVED or hasattr(nn.Module, text):
        text += "_"  # never shadows nn.Module's own attributes (eval, forward, training, ...)
    return unique_name(text, taken)


def init_args(module: nn.Module) -> dict[str, Any]:
    """Constructor arguments of ``module`` that differ from their defaults."""
    if hasattr(module, "init_args"):
        return dict(module.init_args())  # type: ignore[operator]
    out: dict[str, Any] = {}
    for name, param in inspect.signature(type(module).__init__).parameters.items():
        if name in _SKIP or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if not hasattr(module, name):
            continue
        value = getattr(module, name)
        if name == "bias" and (value is None or isinstance(value, (nn.Parameter, bool))):
            value = value is not None and value is not False
        if isinstance(value, tuple) and len(value) > 0 and len(set(value)) == 1 and \
                isinstance(value[0], (int, float)) and not is_helper(module):
            value = value[0]  # (3, 3) -> 3, as people write it (nn's int-or-tuple arguments)
        if param.default is param.empty or value != param.default:
            out[name] = value
    return out


def is_helper(module: nn.Module) -> bool:
    """Not one of torch.nn's own modules: its class is copied into the file."""
    cls = type(module)
    return getattr(nn, cls.__name__, None) is not cls


def literal(value: Any) -> str:
    """Python source for an argument value: repr, with infinities and NaN as float('inf')."""
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, (tuple, list)):
        items = ", ".join(literal(v) for v in value)
        if isinstance(value, list):
            return f"[{items}]"
        return f"({items},)" if len(value) == 1 else f"({items})"
    return repr(value)


def module_source(module: nn.Module, helpers: set[type] | None = None) -> str:
    """Constructor text for ``module``: 'nn.Conv2d(3, 64, kernel_size=7, stride=2, ...)'.
    The helper classes it needs are added to ``helpers``."""
    if hasattr(module, "plain"):
        module = module.plain()  # type: ignore[operator]
    if type(module) is nn.Sequential:
        return "nn.Sequential(" + ", ".join(module_source(m, helpers) for m in module) + ")"
    if is_helper(module) and helpers is not None:
        helpers.add(type(module))
    prefix = "" if is_helper(module) else "nn."
    params = inspect.signature(type(module).__init__).parameters
    args = init_args(module)
    missing = [name for name, param in params.items() if name not in _SKIP and
               param.default is param.empty and name not in args and
               param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)]
    if missing:
        raise ConvscopeError(f"cannot write {type(module).__name__} as source: it keeps no "
                             f"attribute {missing[0]!r} for its constructor (give the class "
                             "an init_args() method)")
    positional = []
    for name, param in params.items():
        if name in _SKIP:
            continue
        if param.default is not param.empty or name not in args or name in _KEYWORD_ALWAYS:
            break
        positional.append(literal(args.pop(name)))
    keywords = [f"{k}={literal(v)}" for k, v in args.items()]
    return f"{prefix}{type(module).__name__}({', '.join(positional + keywords)})"


def helper_sources(helpers: set[type]) -> dict[str, str]:
    """Name -> source of each helper class in ``helpers`` and of the torch_modules functions
    and classes they use, in torch_modules' order (``inspect.getsource`` of each)."""
    defined = {name: obj for name, obj in vars(torch_modules).items()
               if (inspect.isclass(obj) or inspect.isfunction(obj))
               and obj.__module__ == torch_modules.__name__}
    defined.update({cls.__name__: cls for cls in helpers})  # a kind's own module class
    texts: dict[str, str] = {}
    todo = [cls.__name__ for cls in helpers]
    while todo:
        name = todo.pop()
        if name not in texts:
            texts[name] = textwrap.dedent(inspect.getsource(defined[name])).rstrip() + "\n"
            todo += [node.id for node in ast.walk(ast.parse(texts[name]))
                     if isinstance(node, ast.Name) and node.id in defined]
    return {name: texts[name] for name in sorted(texts, key=lambda n: _place(defined[n]))}


def _place(obj: Any) -> tuple[bool, str, int]:
    """torch_modules' definitions first, in their order; then other modules'."""
    return (obj.__module__ != torch_modules.__name__, obj.__module__,
            inspect.getsourcelines(obj)[1])


# ------------------------------------------------------------------ layout ---
def _split(expr: str) -> tuple[str, list[str], str] | None:
    """``expr`` as (text up to its last bracket's opener, the items between, the closer)
    when it ends in one bracketed, comma-separated group (a call, list or tuple)."""
    try:
        ops = [t for t in tokenize.generate_tokens(io.StringIO(expr).readline)
               if t.type == tokenize.OP]
    except (tokenize.TokenError, SyntaxError):
        return None
    depth, opener, closer, commas = 0, None, None, []
    for t in ops:
        if t.string in "([{":
            if depth == 0:
                opener, commas = t, []
            depth += 1
        elif t.string in ")]}":
            depth -= 1
            closer = t if depth == 0 else closer
        elif t.string == "," and depth == 1:
            commas.append(t.start[1])
    if opener is None or closer is None or closer.end[1] != len(expr):
        return None
    start, end = opener.end[1], closer.start[1]
    head = expr[:start - 1]
    if opener.string == "(" and not commas and not (head[-1:].isalnum() or
                                                    head[-1:] in "_)]"):
        return None  # '(a + b)': a trailing comma would make it a tuple
    bounds = [start - 1, *commas, end]
    items = [expr[a + 1:b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]
    return expr[:start], [i for i in items if i], expr[end:]


def fit(indent: str, head: str, expr: str) -> list[str]:
    """``indent + head + expr`` on one line, or split one item a line (black's layout)."""
    line = indent + head + expr
    parts = _split(expr) if len(line) > WIDTH else None
    if parts is None:
        return [line]
    opener, items, closer = parts
    out = [indent + head + opener]
    for item in items:
        lines = fit(indent + "    ", "", item)
        out += [*lines[:-1], lines[-1] + ","]
    return [*out, indent + closer]
