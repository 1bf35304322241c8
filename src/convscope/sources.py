"""The one router from what a user names to a validated :class:`~convscope.ir.Graph`.

Every entry point asks here: the CLI, the Python API (``convscope.load``), the trainer and
the web page. A source is one of:

=====================================  ======================================  ===========
source                                  read by                                 runs code?
=====================================  ======================================  ===========
zoo id, ``.yaml`` / ``.json`` file,     ``spec`` (the description parser)       never
one-line form, a mapping
``.keras`` file, ``model.to_json()``    ``keras.config`` (read as data; Keras   never
file                                    is not imported)
``.onnx`` file                          ``onnx`` (read as data)                 never
``keras:ResNet50``                      ``keras.sources`` (builds a Keras       Keras's own
                                        Application, ``weights=None``)
``torchvision:NAME``, ``timm:NAME``,    ``torch.sources`` (imports and runs     yes
``python:MODULE:NAME``, ``file.py:Name``  the named Python)
=====================================  ======================================  ===========

``trusted=False`` (the web page, a checkpoint's stored source) refuses the sources that
import code. Bridges (``torch``, ``keras``, ``onnx``) sit below this module and never
import it, so the dependency flow stays one-way: layers -> spec -> analysis -> bridges ->
sources -> render / cli / web / teach / trainer.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ConvscopeError, SpecError
from .ir import Graph
from .layers.base import Shape

TORCH_PREFIXES = ("torchvision:", "timm:", "python:")


def is_code_source(source: Any) -> bool:
    """torchvision:NAME, timm:NAME, python:MODULE:NAME or path/file.py:NAME: sources that
    import Python (read by convscope.pytorch.sources)."""
    return isinstance(source, str) and (source.startswith(TORCH_PREFIXES) or bool(
        re.fullmatch(r".+\.py:[A-Za-z_]\w*", source)))


def is_file_model(source: Any) -> bool:
    """A Keras or ONNX model file (not a convscope description)."""
    if not isinstance(source, str):
        return False
    lower = source.lower()
    if lower.endswith((".keras", ".onnx")):
        return True
    if lower.endswith(".json"):
        from .keras import is_keras_file

        return is_keras_file(source)
    return False


def _attributed(load: Any, source: str, override: Shape | None) -> Graph:
    try:
        return load(source, override)
    except ConvscopeError as err:
        raise err.with_source(source) from None


def load(source: Any, input_shape: str | Shape | None = None, *,
         trusted: bool = True) -> Graph:
    """Any source (see the module docstring) -> validated Graph.

    Args:
        source: a zoo id ('vgg16'), a description file or mapping, a one-line form,
            a Keras / ONNX file, ``keras:NAME`` or a PyTorch source.
        input_shape: overrides the input shape ('224x224x3' or a tuple).
        trusted: False refuses the sources that import Python code.

    Raises:
        ConvscopeError: with the source attached (file name, 'zoo:vgg16', 'one-line').
    """
    from .description.load import load as load_description_graph
    from .description.load import parse_override

    override = parse_override(input_shape)
    if is_code_source(source):
        if not trusted:
            raise SpecError(f"'{source}' names Python code to import, which this place never "
                            "does; give a description, a Keras or an ONNX file instead")
        from .pytorch.sources import load_torch_source  # imports torch: only here

        return _attributed(load_torch_source, source, override)
    if isinstance(source, str) and source.startswith("keras:"):
        from .keras.sources import load_keras_source  # imports Keras: only here

        return _attributed(load_keras_source, source, override)
    if isinstance(source, str) and source.lower().endswith((".keras", ".json")):
        from .keras import is_keras_file, load_keras_file

        if is_keras_file(source):
            return load_keras_file(source, override)
    if isinstance(source, str) and source.lower().endswith(".onnx"):
        from .onnx import load_onnx_file  # imports onnx: only here

        return load_onnx_file(source, override)
    return load_description_graph(source, override)  # a pathlib.Path read as its str()


def load_text(text: str, input_shape: str | Shape | None = None,
              origin: str = "editor") -> Graph:
    """The graph of a text typed or pasted by a user (the web page): YAML / JSON (a
    convscope description or a Keras ``model.to_json()``, read as data) or the one-line
    form. Never imports code."""
    return graph_of_text_data(text_data(text, origin), input_shape)


def text_data(text: str, origin: str = "editor") -> dict[str, Any]:
    """What a typed text says, as data (``load_text``'s first step): a description or a
    Keras config read from YAML / JSON, or the one-line form's description."""
    from .description.load import read_text
    from .description.oneline import parse_line

    if not text.strip():
        raise SpecError("the description is empty: pick a zoo model or type one")
    stripped = text.strip()
    if "\n" not in stripped and "|" in stripped:
        description: Any = parse_line(stripped)
    else:
        description = read_text(text, origin, ".yaml")
    if not isinstance(description, dict):
        raise SpecError("a description is a YAML mapping (input:, layers:) or a one-line "
                        "form like '32x32x1 | conv5-6 | maxpool2 | fc10'; PyTorch sources are "
                        "not loaded by the web page")
    return description


def graph_of_text_data(description: dict[str, Any],
                       input_shape: str | Shape | None = None) -> Graph:
    """The graph of ``text_data``'s result (``load_text``'s second step)."""
    from .description.load import parse_override
    from .description.parse import parse
    from .keras.history import is_keras_config

    override = parse_override(input_shape)
    if is_keras_config(description):
        from .keras import import_config

        return import_config(description, override)
    return parse(description, override)
