"""Readable, runnable PyTorch source for a graph (``convscope build MODEL -o model.py``).

The file defines one ``nn.Module`` class: a named submodule per layer (the layer's
name, made a Python identifier) built by the same ``to_torch`` rules as
:func:`convscope.torch.build`, and a ``forward`` that mirrors the description's
wiring line by line. It imports only torch; the few helper modules convscope needs
(asymmetric padding, merges on the channels-last layout) are copied into the file.
"""

from __future__ import annotations

import inspect
import keyword
import re
import unicodedata
from typing import Any

from torch import nn

from .. import __version__
from ..errors import ConvscopeError
from ..ir import Graph
from ..layers import torch_modules
from ..limits import echo
from ..names import unique_name

_SKIP = {"self", "device", "dtype"}
_RESERVED = {"input", "self", "torch", "nn", "F", "Any", "training", "annotations"}


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
                isinstance(value[0], (int, float)):
            value = value[0]  # (3, 3) -> 3, as people write it
        if param.default is param.empty or value != param.default:
            out[name] = value
    return out


def module_source(module: nn.Module) -> str:
    """Constructor text for ``module``: 'nn.Conv2d(3, 64, kernel_size=(7, 7), ...)'."""
    if type(module) is nn.Sequential:
        return "nn.Sequential(" + ", ".join(module_source(m) for m in module) + ")"
    prefix = "" if type(module).__module__ == torch_modules.__name__ else "nn."
    params = inspect.signature(type(module).__init__).parameters
    args = init_args(module)
    positional = []
    for name, param in params.items():
        if name in _SKIP:
            continue
        if param.default is not param.empty or name not in args:
            break
        positional.append(repr(args.pop(name)))
    keywords = [f"{k}={v!r}" for k, v in args.items()]
    return f"{prefix}{type(module).__name__}({', '.join(positional + keywords)})"


def helpers_source() -> str:
    """torch_modules.py without its docstring and imports (the helpers the file needs)."""
    text = inspect.getsource(torch_modules)
    return text[text.index("def to_last"):].rstrip() + "\n"


def graph_source(graph: Graph, class_name: str | None = None) -> str:
    """The whole Python file for ``graph``."""
    from .build import GraphModule

    module = GraphModule(graph)
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
    taken: set[str] = set()
    names = {n.name: identifier(n.name, taken) for n in graph.nodes}
    custom = any(type(m).__module__ == torch_modules.__name__ for m in module.modules())
    init = [f"        self.{names[name]} = {module_source(module.layers[key])}"
            for name, key, _ in module.steps]
    inputs = ", ".join(names[n.name] for n in graph.inputs)
    forward = [f"        {names[name]} = self.{names[name]}({', '.join(names[r] for r in refs)})"
               for name, _, refs in module.steps]
    outputs = ", ".join(names[n] for n in graph.outputs)
    shapes = ", ".join("(N, " + ", ".join(map(str, _first(graph.shapes[n.name]))) + ")"
                       for n in graph.inputs)
    indices = graph.index_inputs
    example = ", ".join(
        f"torch.zeros(1, {', '.join(map(str, graph.shapes[n.name]))}, dtype=torch.long)"
        if n.name in indices else
        f"torch.randn(1, {', '.join(map(str, _first(graph.shapes[n.name])))})"
        for n in graph.inputs)
    lines = [
        f'"""{doc_text(graph.name)}: PyTorch model generated by convscope {__version__}.',
        "",
        f"Input: {shapes}, channels first. Layer names follow the description.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "",
    ]
    if custom:
        lines += ["", "# helper modules from convscope (convscope/layers/torch_modules.py)",
                  helpers_source()]
    lines += [
        "",
        f"class {class_name}(nn.Module):",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init,
        "",
        f"    def forward(self, {inputs}):",
        *forward,
        f"        return {outputs}",
        "",
        "",
        'if __name__ == "__main__":',
        f"    model = {class_name}().eval()",
        "    with torch.no_grad():",
        f"        out = model({example})",
        "    print(type(model).__name__, sum(p.numel() for p in model.parameters()), "
        "\"parameters, output\", tuple(out.shape))",
    ]
    return "\n".join(lines) + "\n"


def _first(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])
