"""Keras models given as objects or as ``keras:NAME`` (a Keras Application, built with
``weights=None``: nothing is downloaded). Imports Keras; the backend is whatever
``KERAS_BACKEND`` says (convscope sets torch when nothing is set: no TensorFlow needed)."""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import ConvscopeError, SpecError, closest
from ..ir import Graph
from . import import_config


def import_keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError as err:
        raise ConvscopeError(f"this needs Keras 3 (pip install keras; it runs on the torch "
                             f"backend): {err}") from None
    return keras


def model_config(model: Any) -> dict[str, Any]:
    """The serialised config of a live Keras model, as ``model.to_json()`` writes it."""
    try:
        return json.loads(model.to_json())
    except (AttributeError, TypeError, ValueError, NotImplementedError) as err:
        raise SpecError(f"cannot serialise the Keras model {type(model).__name__} (a subclassed "
                        f"Model without get_config? build it as Sequential or functional): "
                        f"{err}") from None


def import_model(model: Any, input_shape: tuple[int, ...] | None = None) -> Graph:
    """A Keras 3 model object (Sequential or functional, nested models included) -> Graph."""
    return import_config(model_config(model), input_shape)


def applications() -> list[str]:
    keras = import_keras()
    return sorted(n for n in dir(keras.applications) if n[:1].isupper())


def load_keras_source(source: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """``keras:ResNet50`` -> the Keras Application's graph (weights=None, built offline)."""
    name = source.removeprefix("keras:")
    keras = import_keras()
    build = getattr(keras.applications, name, None)
    if build is None or not name[:1].isupper():
        known = applications()
        raise SpecError(f"'{name}' is not a Keras Application.{closest(name, known)} "
                        f"Known: {', '.join(known)}")
    model = build(weights=None)
    return import_model(model, input_shape)
