"""Keras interop against Keras itself (Keras 3 on the torch backend, installed in CI):
importing Keras Applications and saved models, exporting descriptions, --format keras.

Every expected number is measured from Keras in the test (count_params(), the weights
lists, layer output shapes, model.summary()'s own text), never copied from convscope.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import keras  # a dev dependency (torch backend: conftest.py), never skipped
import pytest
from keras import layers as L

import convscope
from convscope import zoo
from convscope.cli import main
from convscope.keras.build import CannotExpress, to_keras
from convscope.keras.sources import import_model

APPLICATIONS = ["VGG16", "VGG19", "ResNet50", "ResNet50V2", "InceptionV3", "Xception",
                "MobileNet", "MobileNetV2", "DenseNet121", "EfficientNetB0"]


def numel(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


def keras_counts(model) -> tuple[int, int, int]:
    return (model.count_params(), numel(model.trainable_weights),
            numel(model.non_trainable_weights))


def report_counts(report) -> tuple[int, int, int]:
    t = report.totals
    return t.params, t.trainable_params, t.non_trainable_params


@pytest.mark.parametrize("name", APPLICATIONS)
def test_keras_applications_import_exactly(name):
    model = getattr(keras.applications, name)(weights=None)
    graph = import_model(model)
    report = convscope.analyze(graph)
    assert graph.notes == ()
    assert report_counts(report) == keras_counts(model)
    for layer in model.layers:  # layer by layer: parameters and output shapes
        stats = report.layer(layer.name)
        assert stats.params == layer.count_params(), layer.name
        assert stats.output_shape == tuple(layer.output.shape[1:]), layer.name
        assert stats.trainable_params == numel(layer.trainable_weights), layer.name


def seed004_baseline():
    """Seed 004's Baseline, written as the seed writes it (Keras layers, same arguments)."""
    keras.backend.clear_session()  # automatic names start again: conv2d, dense, dense_1
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        L.Conv2D(filters=6, kernel_size=(5, 5), padding="same"), L.BatchNormalization(),
        L.Activation("relu"), L.MaxPool2D(pool_size=(2, 2), strides=2, padding="same"),
        L.Dropout(0.2), L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.2),
        L.Dense(10, activation="softmax")], name="baseline")


def test_seed004_keras_file_reads_without_keras_and_equals_the_zoo(tmp_path):
    path = tmp_path / "baseline.keras"
    seed004_baseline().save(path)
    # read it back in a process where importing keras fails: only the config is parsed
    code = ("import sys, json; sys.modules['keras'] = None; sys.modules['tensorflow'] = None; "
            "import convscope; r = convscope.analyze(convscope.load(sys.argv[1])); "
            "print(json.dumps([[s.name, list(s.output_shape), s.params, s.trainable_params] "
            "for s in r.layers]))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True).stdout
    ours = json.loads(out)
    zoo_report = convscope.analyze(convscope.load("keras_baseline"))
    expected = [[s.name, list(s.output_shape), s.params, s.trainable_params]
                for s in zoo_report.layers]
    assert [row[1:] for row in ours] == [row[1:] for row in expected]
    assert [row[0] for row in ours][1:] == [row[0] for row in expected][1:]  # Keras's names


def keras_summary_lines(model) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lambda text, line_break=True: lines.extend(text.splitlines()))
    return lines


def test_format_keras_totals_equal_keras_character_for_character(tmp_path):
    model = seed004_baseline()
    ours = convscope.render(convscope.analyze(convscope.load("keras_baseline")), "keras")
    assert ours.splitlines()[-3:] == keras_summary_lines(model)[-3:]
    assert keras_summary_lines(model)[-3:] == [  # and the seed's own three numbers
        " Total params: 198,506 (775.41 KB)", " Trainable params: 198,494 (775.37 KB)",
        " Non-trainable params: 12 (48.00 B)"]


@pytest.mark.parametrize("name", ["MobileNetV2", "DenseNet121"])
def test_format_keras_of_an_application(name):
    model = getattr(keras.applications, name)(weights=None)
    text = convscope.render(convscope.analyze(import_model(model)), "keras")
    assert text.splitlines()[-3:] == keras_summary_lines(model)[-3:]
    assert "Connected to" in text and "(None, 224, 224, 3)" in text
    assert text.splitlines()[0] == f'Model: "{model.name}"'


def test_nested_models_and_shared_layers():
    base = keras.Sequential([keras.Input((8, 8, 3)), L.Conv2D(4, 3), L.ReLU()], name="base")
    x = keras.Input((8, 8, 3), name="img")
    shared = L.Dense(5, name="shared")
    y = base(x)
    out = L.Add()([shared(L.GlobalAveragePooling2D()(y)), shared(L.GlobalMaxPooling2D()(y))])
    model = keras.Model(x, out, name="outer")
    graph = import_model(model)
    report = convscope.analyze(graph)
    assert report_counts(report) == keras_counts(model)
    assert report.layer(f"base/{base.layers[0].name}").params == base.layers[0].count_params()
    assert graph.node("shared_2").shares == "shared"


def test_nested_model_called_twice_shares_its_weights(tmp_path):
    """A Siamese pair: one tower applied to two inputs holds one set of weights."""
    tower = keras.Sequential([keras.Input((16, 16, 3)), L.Conv2D(8, 3), L.BatchNormalization(),
                              L.GlobalAveragePooling2D(), L.Dense(4)], name="tower")
    a, b = keras.Input((16, 16, 3), name="a"), keras.Input((16, 16, 3), name="b")
    model = keras.Model([a, b], L.Subtract()([tower(a), tower(b)]), name="siamese")
    path = tmp_path / "siamese.keras"
    model.save(path)
    for graph in (import_model(model), convscope.load(str(path))):
        assert report_counts(convscope.analyze(graph)) == keras_counts(model)
        second = [n for n in graph.nodes if n.shares]
        assert len(second) == 4 and all(n.name.startswith("tower_2/") for n in second)


def test_every_convolution_class_reads_exactly():
    """Transposed (output_padding), grouped, dilated, depthwise, separable and causal
    convolutions: shapes and params equal Keras's, layer by layer."""
    x = keras.Input((16, 16, 3))
    y = L.Conv2DTranspose(8, 3, strides=2, output_padding=1, padding="same")(x)
    y = L.Conv2D(6, 3, groups=2, dilation_rate=2)(y)
    y = L.DepthwiseConv2D(3, depth_multiplier=2)(y)
    y = L.SeparableConv2D(5, 3, activation="relu")(y)
    y = L.Reshape((-1, 5))(y)
    y = L.Conv1D(4, 3, padding="causal", dilation_rate=2)(y)
    model = keras.Model(x, L.Conv1DTranspose(3, 2, strides=2)(y))
    report = convscope.analyze(import_model(model))
    assert [(s.output_shape, s.params) for s in report.layers[1:]] == [
        (tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers[1:]]


# which zoo models Keras cannot express, and why (everything else must export exactly)
NOT_IN_KERAS = {"alexnet": "lrn", "googlenet_paper": "lrn", "zfnet": "lrn",
                **{f"cifar_resnet{n}": "zero_padding" for n in (20, 32, 44, 56, 110, 1202)}}


@pytest.mark.parametrize("name", zoo.names())
def test_export_every_zoo_model_to_keras(name):
    graph = convscope.load(name)
    report = convscope.analyze(graph)
    if name in NOT_IN_KERAS:
        with pytest.raises(CannotExpress, match=rf"\({NOT_IN_KERAS[name]}\)"):
            to_keras(graph)
        return
    model = to_keras(graph)
    assert keras_counts(model) == report_counts(report)
    assert tuple(model.output.shape[1:]) == report.outputs[0][1]


def test_build_to_keras_cli_writes_a_loadable_file(tmp_path, capsys):
    path = tmp_path / "lenet.keras"
    assert main(["build", "lenet5", "--to", "keras", "-o", str(path)]) == 0
    model = keras.saving.load_model(path)
    assert model.count_params() == 61706  # seed 002's LeNet-5 total
    assert main(["build", "lenet5", "--to", "keras"]) == 2
    assert "--to keras writes a file: give -o FILE.keras" in capsys.readouterr().err


def test_recurrent_text_models_against_keras():
    """Seed 001 puts RNNs next to CNNs: the zoo's text models, rebuilt in Keras."""
    kim = keras.Input((56,), dtype="int32")
    e = L.Embedding(18765, 300)(kim)
    branches = [L.GlobalMaxPooling1D()(L.Conv1D(100, k, activation="relu")(e))
                for k in (3, 4, 5)]
    kim_model = keras.Model(kim, L.Dense(2, activation="softmax")(
        L.Dropout(0.5)(L.Concatenate()(branches))))
    cnn_lstm = keras.Sequential([
        keras.Input((100,), dtype="int32"), L.Embedding(20000, 128), L.Dropout(0.25),
        L.Conv1D(64, 5, activation="relu"), L.MaxPooling1D(4), L.LSTM(70),
        L.Dense(1, activation="sigmoid")])
    for model, zoo_name in ((kim_model, "text_cnn"), (cnn_lstm, "cnn_lstm")):
        report = convscope.analyze(convscope.load(zoo_name))
        assert report_counts(report) == keras_counts(model), zoo_name
        assert report.outputs[0][1] == tuple(model.output_shape[1:])
        imported = convscope.analyze(import_model(model))
        assert report_counts(imported) == report_counts(report)
        assert imported.totals.macs == report.totals.macs
        for layer in model.layers:
            stats = imported.layer(layer.name)
            assert stats.params == layer.count_params(), layer.name
            assert stats.output_shape == tuple(layer.output.shape[1:]), layer.name


def test_keras_source_on_the_command_line(capsys):
    assert main(["summary", "keras:MobileNet", "-f", "keras"]) == 0
    model = keras.applications.MobileNet(weights=None)
    assert capsys.readouterr().out.splitlines()[-3:] == keras_summary_lines(model)[-3:]
    assert main(["summary", "keras:ResNet5O"]) == 2
    err = capsys.readouterr().err
    assert "'ResNet5O' is not a Keras Application" in err and "ResNet50" in err


def test_unknown_keras_layer_becomes_opaque_with_a_note(tmp_path):
    model = keras.Sequential([keras.Input((10, 10, 3)), L.Conv2D(4, 3), L.Flatten(),
                              L.Dense(5)])
    config = json.loads(model.to_json())
    config["config"]["layers"][2]["class_name"] = "MyFlatten"  # a custom layer
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(config))
    graph = convscope.load(str(path))
    assert graph.shapes[graph.nodes[2].name] == (256,)
    assert any("MyFlatten" in note and "opaque" in note for note in graph.notes)
    assert convscope.analyze(graph).totals.params == model.count_params()


def test_keras_file_errors(tmp_path, capsys):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"not a zip at all")
    assert main(["summary", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "cannot read the Keras model" in err and err.count(str(bad)) == 1
    model = keras.Sequential([keras.Input((None, None, 3)), L.Conv2D(4, 3)])
    path = tmp_path / "dynamic.json"
    path.write_text(model.to_json())
    assert main(["summary", str(path)]) == 2
    assert "unknown sizes (None, None, 3); give the input shape with --input" in \
        capsys.readouterr().err
    assert main(["summary", str(path), "--input", "16x16x3"]) == 0
    assert "(Conv2D)" in capsys.readouterr().out


def test_keras_refusals_name_the_layer():
    with pytest.raises(CannotExpress, match="layer 'Norm1' \\(lrn\\): Keras has no "):
        to_keras(convscope.load("alexnet"))


def test_web_page_reads_a_pasted_keras_config():
    from starlette.testclient import TestClient

    from convscope.web.app import create_app

    model = keras.applications.MobileNetV2(weights=None)
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        data = client.post("/api/analyze", json={"text": model.to_json()}).json()
    assert data["ok"], data.get("error")
    assert data["report"]["totals"]["params"] == model.count_params()
