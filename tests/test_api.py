"""The Python API (Keras style), the description format's structures, and the IR."""

from __future__ import annotations

import dataclasses

import pytest

import convscope
from convscope import Input, Model, Sequential
from convscope import layers as L


def test_sequential_keras_baseline_seed_004():
    model = Sequential([
        L.Conv2D(6, 5, padding="same"), L.BatchNormalization(), L.Activation("relu"),
        L.MaxPooling2D(2, 2, padding="same"), L.Dropout(0.2), L.Flatten(),
        L.Dense(128, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax"),
    ], input_shape="32x32x3", name="baseline")
    report = model.summary(print_fn=None)
    assert (report.totals.params, report.totals.trainable_params,
            report.totals.non_trainable_params) == (198506, 198494, 12)
    assert model.count_params() == 198506


def test_functional_inception_module_seed_001():
    x = Input("28x28x256")
    a = L.Conv2D(128, 1, padding="same")(x)
    b = L.Conv2D(192, 3, padding="same")(x)
    c = L.Conv2D(96, 5, padding="same")(x)
    d = L.MaxPooling2D(3, 1, padding="same")(x)
    model = Model(x, L.Concatenate()([a, b, c, d]), name="naive")
    report = model.analyze()
    assert report.outputs[0][1] == (28, 28, 672)
    zoo_model = convscope.analyze(convscope.load("inception_naive"))
    assert report.totals.params == zoo_model.totals.params


def test_functional_residual_and_names():
    x = Input("8x8x16", name="image")
    y = L.Conv2D(16, 3, padding="same", name="body")(x)
    z = L.Add()([x, y])
    model = Model(x, z)
    names = [n.name for n in model.graph().nodes]
    assert names == ["image", "body", "add1"]


def test_summary_function_accepts_everything(capsys):
    convscope.summary("lenet5")
    assert "Total params: 61,706" in capsys.readouterr().out
    report = convscope.summary({"input": "8x8x1", "layers": ["conv3-2"]}, print_fn=None)
    assert report.totals.params == 20


def test_yaml_structures_repeat_blocks_and_dag():
    description = {
        "input": "16x16x8",
        "blocks": {"double": {"params": {"c": None}, "layers": [
            {"type": "conv", "out_channels": "$c", "kernel_size": 3, "padding": 1},
            {"type": "conv", "out_channels": "${c * 2}", "kernel_size": 1}]}},
        "layers": [
            {"type": "double", "c": 4, "name": "d", "repeat": 2, "first": {"c": 8}},
            {"type": "sequential", "name": "seq", "layers": ["relu", "maxpool2"]},
            {"type": "conv", "out_channels": 8, "kernel_size": 1, "name": "side",
             "inputs": ["input"]},
            {"type": "maxpool", "kernel_size": 2, "name": "side_pool"},
            {"type": "concat", "inputs": ["seq", "side_pool"], "name": "joined"},
        ],
        "outputs": ["joined"],
    }
    graph = convscope.load(description)
    shapes = dict(graph.shapes)
    # a block's last, automatically named node takes the block's name
    assert shapes["d.0.conv1"] == (16, 16, 8) and shapes["d.0"] == (16, 16, 16)
    assert shapes["d.1.conv1"] == (16, 16, 4) and shapes["d.1"] == (16, 16, 8)
    assert shapes["joined"] == (8, 8, 16)


def test_residual_shortcuts():
    def out_names(shortcut, stride):
        description = {"input": "8x8x16", "layers": [{
            "type": "residual", "shortcut": shortcut, "name": "res",
            "body": [{"type": "conv", "out_channels": 32, "kernel_size": 3, "stride": stride,
                      "padding": 1}]}]}
        return {n.name: n.layer.kind for n in convscope.load(description).nodes}

    assert out_names("auto", 2) == {"input": "input", "res.conv1": "conv",
                                    "res.downsample.0": "conv", "res.downsample.1": "batchnorm",
                                    "res": "merge"}
    zero = out_names("zero_pad", 2)
    assert zero["res.shortcut_subsample"] == "pool" and zero["res.shortcut_pad"] == "zero_padding"
    assert "res" not in out_names("optional", 2)  # MobileNetV2's rule: no shortcut
    params = convscope.analyze(convscope.load({"input": "8x8x16", "layers": [
        {"type": "residual", "shortcut": "projection", "projection_bn": False,
         "body": ["conv3-16 p=1"]}]})).totals.params
    # body conv + 1x1 projection, which keeps its bias when there is no batch norm
    assert params == (9 * 16 * 16 + 16) + (16 * 16 + 16)


def test_when_and_in_channels_in_blocks():
    description = {"input": "8x8x4", "blocks": {"expand": {"params": {"t": 1}, "layers": [
        {"type": "conv", "out_channels": "${in_channels * t}", "kernel_size": 1,
         "when": "${t != 1}"}, "relu"]}},
        "layers": [{"type": "expand", "t": 1}, {"type": "expand", "t": 3}]}
    graph = convscope.load(description)
    assert [n.layer.kind for n in graph.nodes] == ["input", "activation", "conv", "activation"]
    assert graph.shapes[graph.outputs[0]] == (8, 8, 12)


def test_defaults_and_trainable_flag():
    rep = convscope.analyze(convscope.load({"input": "8x8x3", "defaults": {"conv": {"bias": False}},
                                            "layers": [{"type": "conv", "out_channels": 4,
                                                        "kernel_size": 3, "trainable": False},
                                                       "fc10"]}))
    assert rep.layers[1].params == 108  # no bias from the defaults
    assert rep.totals.non_trainable_params == 108
    assert rep.totals.trainable_params == 6 * 6 * 4 * 10 + 10


def test_short_mapping_form_and_keras_names():
    rep = convscope.analyze(convscope.load({"input": [32, 32, 3], "layers": [
        {"Conv2D": {"filters": 6, "kernel_size": [5, 5], "strides": 1}},
        {"MaxPooling2D": {"pool_size": 2}}]}))
    assert rep.outputs[0][1] == (14, 14, 6)


def test_graph_is_immutable():
    graph = convscope.load("lenet5")
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        graph.nodes[1].layer.out_channels = 7  # type: ignore[misc]
    with pytest.raises(TypeError):
        graph.shapes["Conv1"] = (1, 1, 1)  # type: ignore[index]


def test_one_and_three_dimensional_inputs():
    rep = convscope.analyze(convscope.load("100x1 | conv5-8 | maxpool2 | fc10"))
    assert rep.layers[1].output_shape == (96, 8) and rep.layers[1].type == "Conv1D"
    rep = convscope.analyze(convscope.load("16x112x112x3 | conv3-64 p=1 | maxpool2"))
    assert rep.layers[2].output_shape == (8, 56, 56, 64) and rep.layers[1].type == "Conv3D"
    assert rep.layers[1].params == 27 * 3 * 64 + 64


def test_cifar_resnet1202_is_linear_and_unrecursive():
    graph = convscope.load("cifar_resnet1202")
    assert len(graph.nodes) > 4000
    assert convscope.analyze(graph).totals.trainable_params == 19421274 - 0
