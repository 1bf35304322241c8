"""Where descriptions come from: a zoo id, a YAML / JSON file, or a one-line form.

Syntax errors name the file, line and column. Files are data: nothing in a
description is ever executed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import ConvscopeError, LayerRuleError, SpecError, closest
from ..ir import Graph
from ..layers.base import Shape
from .args import parse_shape
from .oneline import parse_line
from .parse import parse


def is_torch_source(source: str) -> bool:
    """torchvision:NAME, timm:NAME, python:MODULE:NAME or path/file.py:NAME
    (convscope.torch.sources)."""
    return source.startswith(("torchvision:", "timm:", "python:")) or bool(
        re.fullmatch(r".+\.py:[A-Za-z_]\w*", source))


def _yaml_load(text: str, source: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = err.problem or err.context or "syntax error"
        raise SpecError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{source}: YAML error: {err}") from None


def read_text(text: str, source: str, suffix: str = ".yaml") -> Any:
    """Parse YAML or JSON text, with file:line:column on syntax errors."""
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError(f"{source}:{err.lineno}:{err.colno}: JSON syntax error: "
                            f"{err.msg}") from None
    return _yaml_load(text, source)


def read_file(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"{path}: cannot read the file: {err}") from None
    return read_text(text, str(path), path.suffix.lower())


def load_description(source: str) -> tuple[Any, str]:
    """The description mapping for a zoo id, a file path or a one-line form,
    and the name to attribute errors to."""
    from .. import zoo

    if "|" in source:
        try:
            return parse_line(source), "one-line"
        except ConvscopeError as err:
            raise err.with_source("one-line") from None
    if source in zoo.names():
        return read_text(zoo.text(source), f"zoo:{source}"), f"zoo:{source}"
    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        if not path.exists():
            raise SpecError(f"{source}: no such file")
        return read_file(path), source
    raise SpecError(f"'{source}' is not a zoo model, a .yaml/.json file or a one-line "
                    f"description (layers separated by '|').{closest(source, zoo.names())} "
                    "Run 'convscope zoo' for the models")


def load(source: Any, input_shape: str | Shape | None = None) -> Graph:
    """Any description (zoo id, path, one-line text or mapping) -> validated Graph.

    Args:
        source: a zoo id ('vgg16'), a path to .yaml/.json, a one-line form
            ('32x32x1 | conv5-6 | ...') or a description mapping.
        input_shape: overrides the input shape ('224x224x3' or a tuple).

    Raises:
        ConvscopeError: with the source (file name, 'zoo:vgg16', 'one-line') attached.
    """
    try:
        override = None if input_shape is None else parse_shape(input_shape, "--input")
    except LayerRuleError as err:
        raise SpecError(str(err)) from None
    if isinstance(source, str) and is_torch_source(source):
        from ..torch.sources import load_torch_source  # imports torch: only here

        try:
            return load_torch_source(source, override)
        except ConvscopeError as err:
            raise err.with_source(source) from None
    if isinstance(source, str) and source.startswith("keras:"):
        from ..keras.sources import load_keras_source  # imports Keras: only here

        try:
            return load_keras_source(source, override)
        except ConvscopeError as err:
            raise err.with_source(source) from None
    if isinstance(source, str) and source.lower().endswith((".keras", ".json")):
        from ..keras import is_keras_file, load_keras_file

        if is_keras_file(source):
            return load_keras_file(source, override)
    if isinstance(source, str) and source.lower().endswith(".onnx"):
        from ..onnx import load_onnx_file  # imports onnx: only here

        return load_onnx_file(source, override)
    if isinstance(source, dict):
        description, origin = source, "<description>"
    else:
        description, origin = load_description(str(source))
    try:
        return parse(description, override)
    except ConvscopeError as err:
        raise err.with_source(origin) from None
