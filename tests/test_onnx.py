"""ONNX in and out: torchvision models exported with torch.onnx in the test and read back
(params, MACs and output shapes equal to the PyTorch import's), the whole zoo round trip
description -> ONNX -> description, dynamo exports, opaque operators, errors."""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import onnx  # a dev dependency, never skipped
import pytest
import torch
import torchvision

import convscope
from convscope import zoo
from convscope.cli import main
from convscope.onnx import import_onnx
from convscope.onnx.export import to_onnx
from convscope.pytorch.importer import import_module


def totals(report):
    t = report.totals
    return (t.params, t.trainable_params, t.non_trainable_params, t.macs,
            [shape for _, shape in report.outputs])


def export(module, x, path, **kwargs):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), **kwargs)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "googlenet"])
def test_torchvision_onnx_equals_the_pytorch_import(name, tmp_path):
    model = torchvision.models.get_model(name, weights=None)
    if name == "googlenet":  # one output: without the auxiliary classifiers
        model.aux_logits, model.aux1, model.aux2 = False, None, None
    model.train()  # training mode: the exporter keeps batch norms (eval folds them)
    path = tmp_path / f"{name}.onnx"
    export(model, torch.randn(2, 3, 224, 224), path, dynamo=False,
           training=torch.onnx.TrainingMode.TRAINING)
    graph = import_onnx(str(path))
    assert graph.notes == ()
    expected = convscope.analyze(import_module(model, [(224, 224, 3)]))
    assert totals(convscope.analyze(graph)) == totals(expected)
    # and the measured truth: parameters + running statistics, FlopCounterMode / 2
    stats = sum(b.numel() for n, b in model.named_buffers() if "num_batches" not in n)
    assert convscope.analyze(graph).totals.params == \
        sum(p.numel() for p in model.parameters()) + stats


def test_dynamo_export_reads_exactly(tmp_path):
    """torch.onnx.export's default (dynamo) exporter in evaluation mode folds batch norms
    into the convolutions: the file holds fewer parameters, and convscope counts what the
    file holds; multiply-adds and shapes are unchanged."""
    model = torchvision.models.resnet18(weights=None).eval()
    path = tmp_path / "r18.onnx"
    export(model, torch.randn(1, 3, 224, 224), path)
    report = convscope.analyze(import_onnx(str(path)))
    stored = sum(int(torch.tensor(i.dims).prod()) for i in onnx.load(str(path)).graph.initializer
                 if len(i.dims) != 1 or i.dims[0] > 2)  # not the reshape's shape constant
    assert report.totals.params == stored
    assert report.totals.macs == convscope.analyze(
        import_module(model, [(224, 224, 3)])).totals.macs


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_round_trip_through_onnx(name, tmp_path):
    graph = convscope.load(name)
    path = tmp_path / f"{name}.onnx"
    to_onnx(graph, str(path))
    back = import_onnx(str(path))
    assert back.notes == ()
    assert totals(convscope.analyze(back)) == totals(convscope.analyze(graph))


def test_build_to_onnx_cli(tmp_path, capsys):
    path = tmp_path / "lenet.onnx"
    assert main(["build", "lenet5", "--to", "onnx", "-o", str(path)]) == 0
    onnx.checker.check_model(onnx.load(str(path)))
    assert main(["summary", str(path), "-f", "json"]) == 0
    assert '"params": 61706' in capsys.readouterr().out


def test_unknown_operator_is_opaque_with_its_initializers(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(torch.zeros(8, 3, 3, 3).numpy(), "w")
    alpha = numpy_helper.from_array(torch.zeros(8, 1, 1).numpy(), "alpha")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], name="conv"),
             helper.make_node("PRelu", ["c", "alpha"], ["y"], name="prelu")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10, 10])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])], [w, alpha])
    path = tmp_path / "prelu.onnx"
    onnx.save(helper.make_model(graph), str(path))
    ours = import_onnx(str(path))
    report = convscope.analyze(ours)
    assert report.totals.params == 8 * 3 * 3 * 3 + 8
    assert report.outputs[0][1] == (8, 8, 8)
    assert any("PRelu" in n and "opaque" in n and "8 parameters" in n for n in ours.notes)


def test_onnx_errors(tmp_path, capsys):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00garbage")
    assert main(["summary", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a readable ONNX model" in err and err.count(str(bad)) == 1
    assert main(["summary", str(tmp_path / "missing.onnx")]) == 2
    assert "no such file" in capsys.readouterr().err


def stored(model) -> int:
    """Values the file holds: every initializer once."""
    return sum(math.prod(i.dims) for i in model.graph.initializer)


def test_an_initializer_read_by_several_nodes_is_counted_once(tmp_path):
    """Tied weights: conv2 reads conv1's kernel with its own bias, conv3 reads exactly what
    conv1 reads; bn2 reads exactly bn1's four tensors; the file is counted, each initializer
    once, with no note."""
    from onnx import TensorProto, helper, numpy_helper

    def init(name, *shape):
        return numpy_helper.from_array(torch.randn(*shape).numpy(), name)

    inits = [init("w", 4, 4, 3, 3), init("b1", 4), init("b2", 4), init("s", 4), init("t", 4),
             init("m", 4), numpy_helper.from_array(torch.rand(4).numpy() + 1, "v")]
    conv = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    nodes = [helper.make_node("Conv", ["x", "w", "b1"], ["c1"], name="conv1", **conv),
             helper.make_node("BatchNormalization", ["c1", "s", "t", "m", "v"], ["n1"],
                              name="bn1"),
             helper.make_node("Conv", ["n1", "w", "b2"], ["c2"], name="conv2", **conv),
             helper.make_node("BatchNormalization", ["c2", "s", "t", "m", "v"], ["n2"],
                              name="bn2"),
             helper.make_node("Conv", ["n2", "w", "b1"], ["y"], name="conv3", **conv)]
    graph = helper.make_graph(
        nodes, "tied", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
    model = helper.make_model(graph)
    path = tmp_path / "tied.onnx"
    onnx.save(model, str(path))
    ours = import_onnx(str(path))
    report = convscope.analyze(ours)
    assert ours.notes == ()
    assert report.totals.params == stored(model) == 144 + 4 + 4 + 4 * 4
    per_layer = {s.name: s.params for s in report.layers}
    assert (per_layer["conv1"], per_layer["conv2"], per_layer["conv3"]) == (148, 4, 0)
    assert (per_layer["bn1"], per_layer["bn2"]) == (16, 0)
    # MACs are not shared: every convolution still computes
    assert report.totals.macs == 3 * 8 * 8 * 4 * 4 * 9


def test_deduplicated_batch_norms_of_a_dynamo_export(tmp_path):
    """torch.onnx's dynamo exporter stores equal initializers once: the batch norms of an
    untrained network (weight 1, bias 0, mean 0, var 1) all read the same two tensors of
    their size, each one as scale and variance, bias and mean (densenet121: 33,728 values
    were counted twice). Batch norms reading another's tensors share it; a tensor one node
    reads twice is counted once (``repeated_params``, off its statistics): the file's
    parameters are its initializers' values, with no note."""
    model = torch.nn.Sequential(
        torch.nn.BatchNorm2d(3), torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(),
        torch.nn.BatchNorm2d(8), torch.nn.Conv2d(8, 8, 3), torch.nn.ReLU(),
        torch.nn.BatchNorm2d(8), torch.nn.Conv2d(8, 4, 3)).eval()
    path = tmp_path / "pre.onnx"
    export(model, torch.randn(1, 3, 16, 16), path)
    graph = import_onnx(str(path))
    report = convscope.analyze(graph)
    assert graph.notes == ()
    assert report.totals.params == read_initializers(onnx.load(str(path)))
    bns = [s for s in report.layers if s.kind == "batchnorm"]
    assert [s.params for s in bns] == [6, 16, 0]  # bn 3 reads bn 2's tensors: shared
    assert [s.trainable_params for s in bns] == [6, 16, 0]  # the statistics repeat
    assert report.totals.macs == convscope.analyze(
        import_module(model, [(16, 16, 3)])).totals.macs


def test_dynamo_densenet121_counts_each_initializer_once(tmp_path):
    """The regression: +33,728 values over the file's initializers, 32 notes."""
    model = torchvision.models.densenet121(weights=None).eval()
    path = tmp_path / "densenet121.onnx"
    export(model, torch.randn(1, 3, 224, 224), path)
    graph = import_onnx(str(path))
    assert graph.notes == ()
    assert convscope.analyze(graph).totals.params == read_initializers(onnx.load(str(path)))


def read_initializers(model) -> int:
    """Values of the distinct initializers the graph's nodes read as weights (not the
    integer shapes and axes of Reshape / Squeeze nodes)."""
    read = {i for node in model.graph.node for i in node.input}
    return sum(math.prod(t.dims) for t in model.graph.initializer
               if t.name in read and t.data_type != onnx.TensorProto.INT64)


def one_node_model(nodes, inits, shape, out_shape):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    return helper.make_model(graph)


def test_an_initializer_read_twice_by_one_node_is_counted_once(tmp_path):
    """A layer norm whose scale and bias are one tensor; a batch norm reading one tensor as
    scale and variance, another as bias and mean, whose Conv before it has that bias too
    (trainable in both: shared); a Gemm whose bias is the Gemm's before it."""
    from onnx import helper, numpy_helper

    def init(name, *shape):
        return numpy_helper.from_array(torch.rand(*shape).numpy() + 1, name)

    inits = [init("s", 3, 8, 8), init("w", 4, 3, 3, 3), init("b", 4), init("g", 4),
             init("m1", 4 * 6 * 6, 5), init("m2", 5, 5), init("c", 5)]
    nodes = [helper.make_node("LayerNormalization", ["x", "s", "s"], ["n"], axis=1),
             helper.make_node("Conv", ["n", "w", "b"], ["c1"], kernel_shape=[3, 3]),
             helper.make_node("BatchNormalization", ["c1", "g", "b", "b", "g"], ["n1"]),
             helper.make_node("Flatten", ["n1"], ["f"]),
             helper.make_node("Gemm", ["f", "m1", "c"], ["d1"]),
             helper.make_node("Gemm", ["d1", "m2", "c"], ["y"])]
    model = one_node_model(nodes, inits, [1, 3, 8, 8], [1, 5])
    path = tmp_path / "twice.onnx"
    onnx.save(model, str(path))
    graph = import_onnx(str(path))
    report = convscope.analyze(graph)
    assert graph.notes == ()
    assert report.totals.params == read_initializers(model) == \
        192 + 4 * 27 + 4 + 4 + 144 * 5 + 25 + 5
    per_layer = {s.kind: s.params for s in report.layers}
    assert per_layer["layernorm"] == 192
    assert per_layer["batchnorm"] == 4  # g; b is the convolution's
    assert [s.params for s in report.layers if s.kind == "dense"] == [144 * 5 + 5, 25]


@pytest.mark.parametrize("form", ["none", "tanh"])
def test_gelu_and_its_tanh_form_from_pytorch_and_onnx(form, tmp_path):
    """nn.GELU(approximate=...) imports as gelu or gelu_tanh, and so does ONNX's Gelu
    (opset 20, its ``approximate`` attribute) written by torch.onnx."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.GELU(approximate=form))
    function = {"none": "gelu", "tanh": "gelu_tanh"}[form]
    graph = import_module(model, [(8, 8, 3)])
    assert graph.nodes[-1].layer.kind == "activation"
    assert graph.nodes[-1].layer.function == function
    path = tmp_path / "gelu.onnx"
    export(model.eval(), torch.zeros(1, 3, 8, 8), path, opset_version=20, dynamo=False)
    assert [n.op_type for n in onnx.load(str(path)).graph.node][-1] == "Gelu"
    back = import_onnx(str(path))
    assert [n.layer.function for n in back.nodes if n.layer.kind == "activation"] == [function]
