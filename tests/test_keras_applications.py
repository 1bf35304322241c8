"""Every constructor in ``keras.applications``, built with ``weights=None`` at its default
input, read by convscope and compared with what Keras itself measures, live: total,
trainable and non-trainable parameters (``count_params()``, sums over
``trainable_weights`` / ``non_trainable_weights``), the output shape, and every layer's
parameters and (known) output sizes. No notes: nothing is left opaque.

The list is enumerated from Keras, not written here: a constructor Keras adds is tested
the day it appears. Models are built as ``convscope summary keras:NAME`` builds them, their
weights on PyTorch's meta device (shapes, no values): all of them in well under a minute,
where initialising real weights takes about two and a half (EfficientNetV2L, EfficientNetB7,
ConvNeXtXLarge and NASNetLarge are the slowest). The file tests build real weights.
"""

from __future__ import annotations

import gc
import inspect
import json
import math

import keras  # a dev dependency (torch backend: conftest.py), never skipped
import pytest
from keras import layers as L

import convscope
from convscope.cli import main
from convscope.errors import ConvscopeError
from convscope.keras import import_config, load_keras_file
from convscope.keras.sources import build_application, documented_input, import_model


def constructors() -> list[str]:
    """Every callable of keras.applications and of its submodules that builds a Model
    (classes and helpers such as decode_predictions excluded)."""
    apps = keras.applications
    found = {n for n in dir(apps) if n[:1].isupper() and callable(getattr(apps, n))}
    for module in (getattr(apps, m) for m in dir(apps)):
        if inspect.ismodule(module):
            found |= {n for n in dir(module) if n[:1].isupper()
                      and inspect.isfunction(getattr(module, n))}
    return sorted(found)


NAMES = constructors()


def numel(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


def test_the_enumeration_finds_every_family():
    assert len(NAMES) >= 40
    for name in ("ConvNeXtXLarge", "DenseNet201", "EfficientNetB7", "EfficientNetV2L",
                 "InceptionResNetV2", "MobileNetV3Small", "MobileNetV3Large", "NASNetMobile",
                 "NASNetLarge", "ResNet152V2", "VGG19", "Xception"):
        assert name in NAMES


def check_exact(model, graph) -> None:
    report = convscope.analyze(graph)
    t = report.totals
    assert graph.notes == ()
    assert (t.params, t.trainable_params, t.non_trainable_params) == (
        model.count_params(), numel(model.trainable_weights), numel(model.non_trainable_weights))
    assert [shape for _, shape in report.outputs] == [tuple(model.output_shape[1:])]
    for layer in model.layers:  # layer by layer: parameters, and every size Keras knows
        if isinstance(layer, L.InputLayer):
            continue
        if isinstance(layer, keras.Model):  # nested (ConvNeXt's stem): its layers, inlined
            inner = [s for s in report.layers if s.name.startswith(f"{layer.name}/")]
            assert sum(s.params for s in inner) == layer.count_params(), layer.name
            continue
        stats = report.layer(layer.name)
        assert stats.params == layer.count_params(), layer.name
        assert stats.trainable_params == numel(layer.trainable_weights), layer.name
        known = tuple(layer.output.shape[1:])
        assert all(k is None or k == ours for k, ours in
                   zip(known, stats.output_shape, strict=True)), layer.name


@pytest.mark.parametrize("name", NAMES)
def test_every_keras_application_imports_exactly(name):
    keras.backend.clear_session()
    model = build_application(name)
    try:
        check_exact(model, import_model(model, documented_input(model)))
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


@pytest.mark.parametrize(("name", "suffix"), [("MobileNetV3Small", ".keras"),
                                              ("NASNetMobile", ".keras"),
                                              ("ConvNeXtTiny", ".json"),
                                              ("InceptionResNetV2", ".json")])
def test_applications_through_files(name, suffix, tmp_path):
    """The config path (no Keras needed to read): a .keras archive or model.to_json()."""
    keras.backend.clear_session()
    model = build_application(name, meta=suffix == ".json")  # saving needs real weights
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".keras":
        model.save(path)
    else:
        path.write_text(model.to_json())
    check_exact(model, load_keras_file(str(path), documented_input(model)))


def test_mobilenet_v3_reads_at_its_documented_224_by_default(capsys):
    """Keras builds MobileNetV3 with an open (None, None, 3) input; its documentation gives
    224 x 224 as the default size, which convscope uses unless --input says otherwise."""
    assert main(["summary", "keras:MobileNetV3Small"]) == 0
    out = capsys.readouterr().out
    assert "224x224x3" in out and "2,554,968" in out
    model = keras.applications.MobileNetV3Small(weights=None)
    assert documented_input(model) == (224, 224, 3)
    graph = convscope.load("keras:MobileNetV3Small", input_shape=(160, 160, 3))
    assert graph.shapes[graph.inputs[0].name] == (160, 160, 3)


def test_nasnet_mobile_builds_on_the_torch_backend():
    """Keras refuses NASNetMobile on torch; convscope builds the same architecture with
    Keras's own builder (it never runs it) rather than ending in a traceback."""
    assert main(["summary", "keras:NASNetMobile", "-c", "params"]) == 0
    assert import_model(build_application("NASNetMobile")).name == "nasnet_mobile"


def test_a_constructor_that_fails_is_a_clear_error(monkeypatch, capsys):
    def broken(weights=None):
        raise ValueError("no such backend feature")

    monkeypatch.setattr(keras.applications, "VGG16", broken)
    with pytest.raises(ConvscopeError, match="Keras could not build the Application VGG16"):
        build_application("VGG16")
    assert main(["summary", "keras:VGG16"]) != 0
    assert "no such backend feature" in capsys.readouterr().err


def test_keras_operations_recorded_as_layers():
    """``x + 3.0``, ``x * c``, ``c - x``, ``x / c`` and tensor-tensor operations, as Keras 3
    records them in a functional config (module keras.src.ops.numpy)."""
    x = keras.Input((8, 8, 4))
    y = L.Conv2D(4, 3, padding="same")(x)
    a = (y + 3.0) * (1.0 / 6.0)
    b = 2.0 - y / 4.0
    z = keras.ops.maximum(a, b) + y
    model = keras.Model(x, L.Dense(3)(z))
    graph = import_model(model)
    report = convscope.analyze(graph)
    assert graph.notes == ()
    assert report.totals.params == model.count_params()
    kinds = [n.layer.kind for n in graph.nodes]
    assert kinds.count("rescaling") == 4 and kinds.count("merge") == 2
    rescale = [n.layer for n in graph.nodes if n.layer.kind == "rescaling"]
    assert {(r.scale, r.offset) for r in rescale} == {(1.0, 3.0), (1 / 6, 0.0), (0.25, 0.0),
                                                       (-1.0, 2.0)}


@pytest.mark.parametrize(("layer", "shape"), [
    (L.Cropping1D((2, 3)), (12, 4)),
    (L.Cropping2D(((1, 0), (1, 0))), (9, 10, 4)),
    (L.Cropping2D(((2, 1), (0, 3))), (9, 10, 4)),
    (L.Cropping2D(0), (9, 10, 4)),
    (L.Cropping3D(1), (7, 6, 5, 4)),
])
def test_cropping_becomes_slices(layer, shape):
    model = keras.Sequential([keras.Input(shape), layer, L.Conv1D(2, 1) if len(shape) == 2
                              else L.Dense(2)])
    for graph in (import_model(model), import_config(json.loads(model.to_json()))):
        assert graph.notes == ()
        assert graph.shapes[graph.outputs[0]] == tuple(model.output_shape[1:])
        assert graph.shapes[layer.name] == tuple(layer.output.shape[1:])


def test_unknown_layers_of_a_live_model_keep_their_weights(tmp_path):
    """An unknown layer stays opaque with a note, never a traceback; read from a live model
    it carries the weights the layer holds (a config alone does not hold them)."""

    class Gain(L.Layer):
        def build(self, shape):
            self.g = self.add_weight(shape=(shape[-1],))

        def call(self, x):
            return x * self.g

    class Frozen(L.Layer):
        def build(self, shape):
            self.s = self.add_weight(shape=(3, shape[-1]), trainable=False)

        def call(self, x):
            return x + self.s[0]

    x = keras.Input((6, 6, 5))
    model = keras.Model(x, L.Dense(2)(Frozen()(Gain()(L.Conv2D(5, 3)(x)))))
    graph = import_model(model)
    t = convscope.analyze(graph).totals
    assert (t.params, t.trainable_params, t.non_trainable_params) == (
        model.count_params(), numel(model.trainable_weights), numel(model.non_trainable_weights))
    assert len(graph.notes) == 2 and all("opaque" in n and "measured" in n for n in graph.notes)
    path = tmp_path / "custom.json"
    path.write_text(model.to_json())
    from_file = convscope.load(str(path))
    assert convscope.analyze(from_file).totals.params == model.count_params() - 5 - 15
    assert all("not counted" in n for n in from_file.notes)


def test_layer_scale_round_trips_through_keras():
    """A described layer_scale -> Keras (ConvNeXt's own LayerScale) -> read back."""
    from convscope.keras.build import to_keras

    graph = convscope.load({"inputs": {"x": [7, 7, 96]}, "layers": [
        {"type": "conv", "filters": 96, "kernel_size": 1, "name": "pw"},
        {"type": "layer_scale", "init_values": 1e-6, "name": "ls"}]})
    model = to_keras(graph)
    back = import_model(model)
    assert back.notes == ()
    assert back.node("ls").layer == graph.node("ls").layer
    assert convscope.analyze(back).totals.params == model.count_params() == 96 * 96 + 96 + 96
