"""Keras interop: read Keras 3 models (configs, .keras files, live models, Keras
Applications) into convscope graphs, and build convscope descriptions as Keras models.

Reading a config needs neither Keras nor TensorFlow (config.py, mapping.py); building
(build.py) and ``keras:`` sources (sources.py) import Keras, on whatever backend
``KERAS_BACKEND`` names (convscope's tests use torch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConvscopeError
from ..ir import Graph
from ..layers.fields import UnexpectedConfig
from ..limits import MAX_TEXT_BYTES, echo
from .archive import read_config
from .config import description_from_config
from .history import is_keras_config

__all__ = ["import_config", "is_keras_config", "is_keras_file", "load_keras_file"]


def import_config(config: dict[str, Any], input_shape: tuple[int, ...] | None = None,
                  measured: dict[str, tuple[int, int]] | None = None) -> Graph:
    """A Keras model config (``json.loads(model.to_json())``) -> a validated Graph whose
    ``notes`` name anything convscope could not read; ``measured``: the (trainable,
    non-trainable) weights of a live model's layers, which opaque layers then carry."""
    from ..description.parse import parse

    description, notes = description_from_config(config, input_shape, measured)
    try:
        graph = parse(description)
    except ConvscopeError:
        raise
    except Exception as err:  # noqa: BLE001 - the last resort, as in description_from_config
        raise UnexpectedConfig(f"the Keras model '{echo(description['name'])}' fails a check "
                               f"convscope did not foresee ({type(err).__name__}: "
                               f"{echo(str(err))})") from None
    return graph.with_notes(notes)  # the shapes are not inferred again


def is_keras_file(source: str) -> bool:
    """A .keras archive, or a .json file holding a Keras model config."""
    path = Path(source)
    if path.suffix.lower() == ".keras":
        return True
    try:
        if path.suffix.lower() != ".json" or not path.is_file() or \
                path.stat().st_size > MAX_TEXT_BYTES:
            return False  # the description reader reports a file too large
        return is_keras_config(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False  # the description reader reports the problem


def load_keras_file(path: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    try:
        return import_config(read_config(path), input_shape)
    except ConvscopeError as err:
        raise err.with_source(path) from None
