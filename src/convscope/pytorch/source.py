"""Readable, runnable PyTorch source for a graph (``convscope build MODEL -o model.py``).

The file defines one ``nn.Module`` class, written as a person writes one (torchvision's
resnet.py): a named submodule per layer (the layer's name made a Python identifier), built
by the same ``to_torch`` rules as :func:`convscope.pytorch.build` and written as its
constructor (``nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)``), and a
``forward`` that mirrors the description's wiring: ``x = self.conv1(x)`` along a chain,
the layer's name for a value read again later, and the layers whose kind has a
``torch_expression`` (merges) as expressions: ``x = layer1_0_bn2 + maxpool``,
``torch.cat([...], dim=1)``. It imports only torch; the helper classes of
``layers/torch_modules.py`` that the network uses, and only those, are copied in with
``inspect.getsource`` (a helper with a ``plain()`` method is written as that stock module).
The module has the same parameters, buffers and outputs as ``build(graph)``, in the same
order.
"""

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

import torch
from torch import nn

from ..errors import ConvscopeError
from ..ir import Graph
from ..layers import torch_modules
from ..limits import echo
from ..names import unique_name
from ..version import __version__

_SKIP = {"self", "device", "dtype"}
_RESERVED = {"input", "self", "torch", "nn", "F", "Any", "training", "annotations"}
_KEYWORD_ALWAYS = {"kernel_size"}  # written as keywords even where positional (torchvision)
WIDTH = 100  # longest line; longer calls are split one argument a line
CHAIN = "x"  # the variable of a value that only the next statement reads


def _identifier_chars(name: str) -> str:
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
    text = _identifier_chars(name) or "layer"
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


# ------------------------------------------------------------------ forward ---
def variables(graph: Graph, steps: list[tuple[str, str, tuple[str, ...]]],
              names: dict[str, str]) -> dict[str, str]:
    """The variable holding each value in ``forward``: ``x`` for a value that only the next
    statement reads (``x = self.bn1(x)``), else the layer's identifier."""
    produced = {n.name: -1 for n in graph.inputs}
    produced.update({name: i for i, (name, _, _) in enumerate(steps)})
    uses: dict[str, set[int]] = {value: set() for value in produced}
    for i, (_, _, refs) in enumerate(steps):
        for ref in refs:
            uses[ref].add(i)
    for out in graph.outputs:
        uses[out].add(len(steps))
    chained: set[int] = set()  # statements that already read an 'x'
    out_names = {}
    for value, at in produced.items():
        if uses[value] == {at + 1} and at + 1 not in chained:
            chained.add(at + 1)
            out_names[value] = CHAIN
        else:
            out_names[value] = names[value]
    return out_names


def _class_name(graph: Graph, class_name: str | None) -> str:
    if class_name is not None and (not class_name.isidentifier() or
                                   keyword.iskeyword(class_name)):
        raise ConvscopeError(f"--class-name {echo(class_name)!r} is not a Python class name; "
                             "expected a letter or '_' followed by letters, digits or '_'")
    class_name = class_name or "".join(p.capitalize() for p in
                                       _identifier_chars(graph.name).split("_") if p) or "Model"
    if class_name[0].isdigit():
        class_name = f"Net{class_name}"
    if keyword.iskeyword(class_name) or class_name in ("torch", "nn", "F", "Any"):
        class_name += "_"
    return class_name


def _attribute_path(name: str) -> str:
    """'0.weight' -> '[0].weight' (a parameter inside a Sequential)."""
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in name.split("."))


def network_source(graph: Graph, helpers: set[type]) -> list[str]:
    """The lines of the network's class after its ``class`` line: ``__init__``, ``forward``."""
    from .build import GraphModule

    with torch.device("meta"):  # only the constructors' arguments are read: no weights
        module = GraphModule(graph)
    taken: set[str] = {CHAIN}
    names = {n.name: identifier(n.name, taken) for n in graph.nodes}
    nodes = {n.name: n for n in graph.nodes}
    var = variables(graph, module.steps, names)
    init, forward, ties = [], [], []
    for name, key, refs in module.steps:
        node = nodes[name]
        args = tuple(var[r] for r in refs)
        expr = node.layer.torch_expression(graph.input_shapes(node), args)
        if expr is None:
            init += fit(" " * 8, f"self.{names[name]} = ",
                        module_source(module.layers[key], helpers))
            expr = f"self.{names[name]}({', '.join(args)})"
            if node.shares:
                ties += [f"        self.{names[name]}{_attribute_path(p)} = "
                         f"self.{names[node.shares]}{_attribute_path(p)}"
                         for p, _ in module.layers[key].named_parameters()]
        forward += fit(" " * 8, f"{var[name]} = ", expr)
    inputs = [f"{var[n.name]}: torch.Tensor" for n in graph.inputs]
    returns = "torch.Tensor" if len(graph.outputs) == 1 else "tuple[torch.Tensor, ...]"
    returned = ", ".join(var[n] for n in graph.outputs)
    signature = f"    def forward(self, {', '.join(inputs)}) -> {returns}:"
    if len(signature) > WIDTH:
        signature = "\n".join(["    def forward(", "        self,",
                               *(f"        {i}," for i in inputs), f"    ) -> {returns}:"])
    return [
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init,
        *ties,
        "",
        signature,
        *forward,
        *fit(" " * 8, "return ", returned if len(returned) <= WIDTH - 15 or
             len(graph.outputs) == 1 else f"({returned})"),
    ]


def graph_source(graph: Graph, class_name: str | None = None) -> str:
    """The whole Python file for ``graph``."""
    class_name = _class_name(graph, class_name)
    helpers: set[type] = set()
    network = network_source(graph, helpers)
    helper_text = helper_sources(helpers)
    while class_name in helper_text:  # a network called 'reshape' next to the Reshape helper
        class_name += "Net"
    network.insert(0, f"class {class_name}(nn.Module):")
    shapes = ", ".join("(N, " + ", ".join(map(str, _first(graph.shapes[n.name]))) + ")"
                       for n in graph.inputs)
    indices = graph.index_inputs
    example = ", ".join(
        f"torch.zeros(1, {', '.join(map(str, graph.shapes[n.name]))}, dtype=torch.long)"
        if n.name in indices else
        f"torch.randn(1, {', '.join(map(str, _first(graph.shapes[n.name])))})"
        for n in graph.inputs)
    imports = _imports("\n".join([*helper_text.values(), *network]), bool(helper_text))
    shown = ("tuple(out.shape)" if len(graph.outputs) == 1 else
             "[tuple(o.shape) for o in out]")
    lines = [
        f'"""{doc_text(graph.name)}: PyTorch model generated by convscope {__version__}.',
        "",
        f"Input: {shapes}, channels first. Layer names follow the description.",
        '"""',
        "",
        *imports,
        "",
    ]
    for i, text in enumerate(helper_text.values()):
        lines += ["", *([] if i else ["# helpers from convscope/layers/"]), text]
    lines += [
        "",
        *network,
        "",
        "",
        'if __name__ == "__main__":',
        f"    model = {class_name}().eval()",
        "    with torch.no_grad():",
        *fit(" " * 8, "out = ", f"model({example})"),
        "    count = sum(p.numel() for p in model.parameters())",
        f'    print(type(model).__name__, count, "parameters, output", {shown})',
    ]
    return "\n".join(lines) + "\n"


def _imports(body: str, helpers: bool) -> list[str]:
    """The import lines ``body`` needs (``Any`` and ``F`` only when it uses them)."""
    imports = ["from __future__ import annotations", ""] if helpers else []
    if re.search(r"\bAny\b", body):
        imports += ["from typing import Any", ""]
    imports += ["import torch"]
    if re.search(r"\bF\.", body):
        imports += ["import torch.nn.functional as F"]
    return [*imports, "from torch import nn"]


def _first(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])
