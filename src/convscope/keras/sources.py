"""Keras models given as objects or as ``keras:NAME`` (a Keras Application, built with
``weights=None``: nothing is downloaded). Imports Keras; the backend is whatever
``KERAS_BACKEND`` says (convscope sets torch when nothing is set: no TensorFlow needed).

Input sizes: an Application built with its defaults whose input has open sizes
(MobileNetV3Small / Large: ``(None, None, 3)``) is read at the size Keras documents as its
default, 224 x 224 (``--input`` overrides it). NASNetMobile: Keras refuses to build it on
the torch backend ("an outstanding bug" when it runs); convscope never runs it, so it is
built with the same private builder and the arguments Keras's NASNetMobile passes.
On the torch backend the weights are made on the meta device (shapes, no values).
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import ConvscopeError, SpecError, closest
from ..ir import Graph
from ..limits import echo
from . import import_config

DOCUMENTED_SIZE = 224  # "input_shape: ... not (224, 224, 3)": the Applications' default
# the arguments keras.applications.NASNetMobile passes to nasnet.NASNet (Keras 3)
NASNET_MOBILE = {"penultimate_filters": 1056, "num_blocks": 4, "stem_block_filters": 32,
                 "skip_reduction": False, "filter_multiplier": 2, "default_size": 224}


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
    """A Keras 3 model object (Sequential or functional, nested models included) -> Graph.
    A layer convscope cannot read keeps the weights the live layer holds."""
    return import_config(model_config(model), input_shape, layer_weights(model))


def layer_weights(model: Any, prefix: str = "", depth: int = 0) -> dict[str, tuple[int, int]]:
    """(trainable, non-trainable) weights of every layer, nested models as ``outer/inner``
    (the names the config reader gives them)."""
    out: dict[str, tuple[int, int]] = {}
    for layer in getattr(model, "layers", None) or []:
        try:
            name = prefix + str(layer.name)
            inner = getattr(layer, "layers", None)
            if inner is not None and depth < 32 and hasattr(layer, "get_config"):
                out |= layer_weights(layer, name + "/", depth + 1)
            out[name] = (count(layer.trainable_weights), count(layer.non_trainable_weights))
        except Exception:  # noqa: BLE001 - an odd layer: its weights stay unknown
            continue
    return out


def count(weights: Any) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def applications() -> list[str]:
    keras = import_keras()
    return sorted(n for n in dir(keras.applications)
                  if n[:1].isupper() and callable(getattr(keras.applications, n)))


def documented_input(model: Any) -> tuple[int, ...] | None:
    """The input an Application with open sizes is documented for: each open spatial size
    224 (Keras's default for MobileNetV3); None when the model's input is fully known."""
    shapes = [tuple(t.shape) for t in getattr(model, "inputs", None) or []]
    if len(shapes) != 1 or None not in shapes[0][1:] or shapes[0][-1] is None:
        return None
    return tuple(DOCUMENTED_SIZE if d is None else int(d) for d in shapes[0][1:])


def build_application(name: str, meta: bool = True) -> Any:
    """``keras.applications.NAME(weights=None)``; a failure becomes a clear error. With
    ``meta`` on the torch backend the weights are made on PyTorch's meta device: shapes
    only, no values (VGG16: 0.3 s instead of 10 s), which is all convscope reads."""
    keras = import_keras()
    build = getattr(keras.applications, name, None)
    if build is None or not name[:1].isupper() or not callable(build):
        known = applications()
        raise SpecError(f"'{echo(name)}' is not a Keras Application.{closest(name, known)} "
                        f"Known: {', '.join(known)}")
    backend = keras.backend.backend()

    def make() -> Any:
        if name == "NASNetMobile" and backend == "torch":
            from keras.src.applications import nasnet

            return nasnet.NASNet(None, include_top=True, weights=None, input_tensor=None,
                                 pooling=None, classes=1000, classifier_activation="softmax",
                                 name="nasnet_mobile", **NASNET_MOBILE)
        return build(weights=None)

    try:
        if meta and backend == "torch":
            try:
                with keras.device("meta"):
                    return make()
            except Exception:  # noqa: BLE001 - a layer computing at build time: on the CPU
                keras.backend.clear_session()
        return make()
    except Exception as err:  # noqa: BLE001 - Keras raises many kinds
        raise ConvscopeError(f"Keras could not build the Application {name} (weights=None) "
                             f"on the {backend} backend: {type(err).__name__}: "
                             f"{echo(str(err).splitlines()[0] if str(err) else '')}") from None


def load_keras_source(source: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """``keras:ResNet50`` -> the Keras Application's graph (weights=None, built offline)."""
    model = build_application(source.removeprefix("keras:"))
    return import_model(model, input_shape or documented_input(model))
