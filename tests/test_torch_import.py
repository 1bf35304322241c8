"""Importing PyTorch modules: torchvision's models, functional code, tied weights,
operations without a kind (still counted), refusals of data-dependent models, and the
promise that the user's module is left untouched.
Every expected number is measured from PyTorch in the test itself.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import convscope
from convscope.pytorch.importer import import_module
from convscope.render import render

TORCHVISION = ["alexnet", "vgg11", "vgg16", "vgg19", "vgg11_bn", "vgg16_bn", "vgg19_bn",
               "googlenet", "inception_v3", "resnet18", "resnet34", "resnet50", "resnet101",
               "resnet152", "resnext50_32x4d", "wide_resnet50_2", "mobilenet_v2",
               "mobilenet_v3_small", "densenet121", "squeezenet1_0", "shufflenet_v2_x1_0",
               "efficientnet_b0", "regnet_x_400mf"]


def torchvision_model(name: str) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):
                return torchvision.models.get_model(name, weights=None)
        except NotImplementedError:  # RegNet computes its widths with tensors
            return torchvision.models.get_model(name, weights=None).to("meta")


def measure(model: nn.Module, *shapes: tuple[int, ...], batch: int = 2):
    """PyTorch's own numbers: numel, buffers, output shapes, FlopCounterMode total."""
    xs = [torch.empty(batch, *s, device="meta") for s in shapes]
    with FlopCounterMode(display=False) as counter:
        out = model(*xs)
    outs = [out] if isinstance(out, torch.Tensor) else [o for o in out if o is not None]
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()),
            [tuple(o.shape[1:]) for o in outs], counter.get_total_flops() // batch)


def channels_first(shape):
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_import_is_exact(name):
    size = 299 if name == "inception_v3" else 224
    model = torchvision_model(name).train()  # training mode: auxiliary heads are used too
    graph = import_module(model, [(size, size, 3)], name)
    report = convscope.analyze(graph)
    params, buffers, shapes, flops = measure(model, (3, size, size))
    assert report.totals.trainable_params == params
    assert report.totals.buffers == buffers
    assert [channels_first(s) for _, s in report.outputs] == shapes
    assert 2 * report.totals.macs == flops
    assert not graph.notes
    assert "Total params" in render(report, "table")


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_eval_mode_names_the_unused_auxiliary_heads(name):
    size = 299 if name == "inception_v3" else 224
    model = torchvision_model(name).eval()
    graph = import_module(model, [(size, size, 3)], name)
    report = convscope.analyze(graph)
    params, _, shapes, flops = measure(model, (3, size, size))
    used = params - sum(p.numel() for n, p in model.named_parameters()
                        if n.startswith(("aux1.", "aux2.", "AuxLogits.")))
    assert report.totals.trainable_params == used
    assert 2 * report.totals.macs == flops and [channels_first(s) for _, s in
                                                report.outputs] == shapes
    # buffers are state: the auxiliary heads' batch-norm statistics are counted all the same
    assert report.totals.buffers == sum(b.numel() for b in model.buffers())
    heads = ["aux1", "aux2"] if name == "googlenet" else ["AuxLogits"]
    assert [report.layer(h).type for h in heads] == ["Opaque[buffers]"] * len(heads)
    assert len(graph.notes) == 2 and graph.notes[0].startswith(
        "buffers no operation reads, counted as state in layers of their own")
    assert graph.notes[1].startswith("parameters the forward pass does not use (not counted): ")


class Functional(nn.Module):
    """Functional calls only: registered tensors used through torch.nn.functional."""

    def __init__(self) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(16, 3, 3, 3))
        self.b1 = nn.Parameter(torch.randn(16))
        self.w2 = nn.Parameter(torch.randn(16, 8, 3, 3))  # groups=2
        self.fc = nn.Parameter(torch.randn(10, 32))

    def forward(self, x):
        y = F.relu(F.conv2d(x, self.w1, self.b1, padding=1))
        z = F.conv2d(y, self.w2, None, stride=2, padding=1, groups=2)
        z = F.interpolate(z, scale_factor=2, mode="nearest") * 0.5 + 1
        y = torch.cat([y, z], dim=1)                        # 32 channels
        y = F.max_pool2d(F.pad(y, (0, 1, 0, 1)), 2)
        a, b = y.chunk(2, dim=1)
        y = torch.cat([b, a], 1).transpose(2, 3).contiguous()
        y = y + y.mean((2, 3), keepdim=True)
        y = y.view(y.size(0), -1, y.size(2), y.size(3))
        v = torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)
        return F.linear(v, self.fc).softmax(dim=1)


def test_functional_calls_are_mapped():
    model = Functional()
    graph = import_module(model, [(16, 14, 3)])
    report = convscope.analyze(graph)
    params, _, shapes, flops = measure(model, (3, 16, 14))
    assert not graph.notes
    assert report.totals.trainable_params == params
    assert [channels_first(s) for _, s in report.outputs] == shapes
    assert 2 * report.totals.macs == flops
    kinds = {s.kind for s in report.layers}
    assert {"conv", "upsample", "rescaling", "concat", "zero_padding", "pool", "slice",
            "permute", "global_pool", "merge", "reshape", "flatten", "dense",
            "activation"} <= kinds


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 8)
        self.tail = nn.Linear(8, 8)
        self.tail.weight = self.head.weight  # tied weights, separate biases

    def forward(self, x):
        x = self.conv(self.conv(x))  # the same module twice
        x = x.mean((2, 3))
        return self.tail(self.head(x))


def test_shared_parameters_are_counted_once():
    model = Tied()
    graph = import_module(model, [(8, 8, 8)])
    report = convscope.analyze(graph)
    assert report.totals.trainable_params == sum(p.numel() for p in model.parameters())
    shared = [s for s in report.layers if "shared with" in s.formula]
    assert [(s.name, s.formula) for s in shared] == [
        ("conv_2", "shared with 'conv'"), ("tail", "8x8+8 - 64 shared with 'head'")]
    assert not graph.notes


class Unmapped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.prelu = nn.PReLU(4)

    def forward(self, x):
        return torch.erf(self.prelu(self.conv(x))).cumsum(dim=1)


def test_unsupported_operations_are_named_and_still_counted():
    model = Unmapped()
    graph = import_module(model, [(10, 10, 3)])
    report = convscope.analyze(graph)
    params, _, shapes, flops = measure(copy.deepcopy(model).to("meta"), (3, 10, 10))
    assert report.totals.trainable_params == params
    assert 2 * report.totals.macs == flops
    assert [(s.name, s.type, s.params) for s in report.layers] == [
        ("x", "InputLayer", 0), ("conv", "Conv2D", 112), ("prelu", "Opaque[PReLU]", 4),
        ("erf", "Opaque[erf]", 0)]
    assert graph.node("erf").layer.ops == "cumsum, erf"
    assert graph.notes == ("2 layer(s) have no convscope kind and are shown as opaque (output "
                           "shape, parameters and MACs measured, receptive field global): "
                           "PReLU ('prelu'), erf ('erf')",)
    assert "Warning: 2 layer(s) have no convscope kind" in render(report, "table")


def test_import_leaves_the_module_untouched():
    model = torchvision.models.resnet18(weights=None)
    model.train()
    before = copy.deepcopy(model.state_dict())
    devices = {p.device for p in model.parameters()}
    hooks = [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()]
    flags = [m.training for m in model.modules()]
    import_module(model, [(64, 64, 3)])
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) and before[k].dtype == after[k].dtype
               for k in before)
    assert {p.device for p in model.parameters()} == devices == {torch.device("cpu")}
    assert [len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()] == hooks
    assert [m.training for m in model.modules()] == flags
    assert model.bn1.num_batches_tracked.item() == 0


def test_data_dependent_module_is_refused_naming_the_operation():
    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(convscope.ConvscopeError) as info:
        import_module(Branchy(), [(4, 4, 1)])
    assert str(info.value).startswith(
        "cannot analyse Branchy: aten._local_scalar_dense (Tensor.item(), bool(tensor) or "
        "int(tensor)) in the forward of Branchy needs the values of the data")


def test_python_that_looks_at_sizes_runs_as_written():
    class SizeAware(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x):
            if x.shape[-1] % 2:  # torch.fx could not trace this
                x = F.pad(x, (0, 1))
            return self.conv(x).flatten(int(x.shape[1]) - 2)

    graph = import_module(SizeAware(), [(9, 9, 3)])
    assert graph.shapes[graph.outputs[0]] == (8 * 7 * 8,)
    assert not graph.notes


# ------------------------------------------------------------- command line ---
def run(*args):
    return subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True,
                          text=True)


def test_cli_torchvision_source():
    proc = run("summary", "torchvision:resnet50", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["totals"]["trainable_params"] == 25557032
    assert data["input"] == [224, 224, 3]
    proc = run("summary", "torchvision:resnet51")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("convscope: torchvision:resnet51: torchvision has no "
                                   "model 'resnet51'. Did you mean 'resnet50'?")


class LstmHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool1d(2)
        self.lstm = nn.LSTM(3, 5, batch_first=True)

    def forward(self, x):  # (N, 3, T)
        y, _ = self.lstm(self.pool(x).transpose(1, 2))
        return y[:, -1]


def test_results_nobody_reads_are_no_layers():
    """F.max_pool1d squeezes the indices of its 2-D pool, nn.LSTM stacks its final states
    (no batch axis); the model reads neither: they are no layers. The pool was opaque (its
    side output used) and the import failed (a layer without a batch axis)."""
    with torch.device("meta"):
        model = LstmHead()
    graph = import_module(model, [(8, 3)])
    assert "pool" in {node.layer.kind for node in graph.nodes}
    params, buffers, shapes, flops = measure(model, (3, 8))
    report = convscope.analyze(graph)
    assert (report.totals.trainable_params, report.totals.buffers) == (params, buffers)
    assert [s for _, s in report.outputs] == shapes and 2 * report.totals.macs == flops


def test_writes_into_a_view_are_kept():
    """``y[:, :2] += ...`` writes into y through a view that nothing reads afterwards (MViT's
    relative positions): the write and what it reads are kept, though they cost nothing."""

    class Writes(nn.Module):
        def forward(self, x):
            y = x.clone()
            y[:, :2] += x[:, 1:] * 2
            return y

    graph = import_module(Writes(), [(8, 8, 3)])
    assert any("copy_" in getattr(node.layer, "ops", "") for node in graph.nodes)
    assert "rescaling" in {node.layer.kind for node in graph.nodes}


MODEL_FILE = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(8 * 16 * 16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.body(x), 1))
'''


def test_cli_python_file_source(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(MODEL_FILE)
    proc = run("summary", f"{path}:Net", "--input", "32x32x3", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["totals"]["params"] == 3 * 3 * 3 * 8 + 8 + 8 * 16 * 16 * 10 + 10
    assert [layer["name"] for layer in data["layers"]] == [
        "x", "body.0", "body.1", "body.2", "flatten", "fc"]
    proc = run("summary", f"{path}:Net")
    assert proc.returncode == 2
    assert "give the input shape with --input (H x W x C" in proc.stderr
    proc = run("summary", f"{path}:Nett", "--input", "32x32x3")
    assert proc.stderr.strip().endswith("has no 'Nett'. Did you mean 'Net'?")


def test_a_learned_per_channel_factor_is_a_layer_scale():
    """x * gamma with one learned factor per channel (torchvision's ConvNeXt, timm's
    LayerScale): a layer_scale layer with its C parameters and a local receptive field,
    not an opaque one."""

    class Scaled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3)
            self.gamma = torch.nn.Parameter(torch.full((8, 1, 1), 0.1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) * self.gamma

    graph = import_module(Scaled(), [(16, 16, 3)])
    report = convscope.analyze(graph)
    scale = [s for s in report.layers if s.kind == "layer_scale"]
    assert len(scale) == 1 and scale[0].params == 8 and not graph.notes
    assert not report.totals.receptive_field.is_global
    assert report.totals.params == 3 * 3 * 3 * 8 + 8 + 8  # conv weights, bias, gamma
