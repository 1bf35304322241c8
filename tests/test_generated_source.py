"""The PyTorch source `convscope build MODEL -o net.py` writes: for every zoo model it passes
ruff, runs, and computes exactly what `convscope.pytorch.build` builds (same parameters,
buffers and outputs with the same weights); it holds only the helper classes the network
uses, and writes merges as expressions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import convscope
from convscope import zoo
from convscope.cli import main
from convscope.layers import LAYER_KINDS, torch_modules
from convscope.pytorch.build import build, example_inputs
from convscope.pytorch.source import graph_source
from convscope.pytorch.source_parts import helper_sources
from harness import one_layer

pytestmark = pytest.mark.bridge
RUFF = Path(sys.executable).parent / "ruff"


def ruff_problems(text: str, tmp_path: Path) -> str:
    path = tmp_path / "net.py"
    path.write_text(text)
    proc = subprocess.run([str(RUFF), "check", "--no-cache", "--isolated", "--select",
                           "E,F,W,I", "--line-length", "100", str(path)],
                          capture_output=True, text=True)
    return "" if proc.returncode == 0 else proc.stdout + proc.stderr


def run(text: str, class_name: str = "Net") -> tuple[dict, torch.nn.Module]:
    namespace: dict = {"__name__": "generated"}
    exec(compile(text, "generated.py", "exec"), namespace)  # noqa: S102 - our own output
    with torch.device("meta"):
        return namespace, namespace[class_name]()


def same_model(graph, text: str, class_name: str = "Net") -> tuple[dict, torch.nn.Module]:
    """The generated file's namespace and model, given the built module's weights; asserts
    equal parameters, buffers (same order, same shapes) and outputs."""
    built = build(graph).eval()
    namespace, model = run(text, class_name)
    assert sum(p.numel() for p in model.parameters()) == \
        sum(p.numel() for p in built.parameters())
    ours, theirs = model.state_dict(), built.state_dict()
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]
    assert [k.rsplit(".", 1)[-1] for k in ours] == [k.rsplit(".", 1)[-1] for k in theirs]
    model.load_state_dict(dict(zip(ours, theirs.values(), strict=True)), assign=True)
    model.eval()
    inputs = example_inputs(graph, batch=2)  # batch statistics need 2 samples
    with torch.no_grad():
        expected, got = built(*inputs), model(*inputs)
    for a, b in zip(*(x if isinstance(x, tuple) else (x,) for x in (expected, got)),
                    strict=True):
        assert torch.equal(a, b)
    return namespace, model


def defined_classes(namespace: dict) -> set[str]:
    return {name for name, value in namespace.items()
            if isinstance(value, type) and value.__module__ == "generated"}


@pytest.mark.parametrize("zoo_id", zoo.names())
def test_every_zoo_model(zoo_id, tmp_path):
    graph = convscope.load(zoo_id)
    text = graph_source(graph, "Net")
    assert not ruff_problems(text, tmp_path)
    namespace, model = same_model(graph, text)
    used = {type(m).__name__ for m in model.modules() if type(m).__module__ == "generated"}
    assert defined_classes(namespace) == used  # the network and the helpers it uses
    kinds = {node.layer.kind for node in graph.nodes}
    assert "Merge(" not in text and "Concat(" not in text
    if "merge" in kinds:
        assert re.search(r"^        \w+ = \w+ \+ \w+$", text, re.M)
    if "concat" in kinds:
        assert re.search(r"= torch\.cat\(\n? *\[", text)


def test_resnet18_reads_like_torchvision():
    text = graph_source(convscope.load("resnet18"))
    namespace, _ = run(text, "Resnet18")
    assert defined_classes(namespace) == {"Resnet18"}
    assert "        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, " \
           "bias=False)\n" in text
    assert "        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)\n" in text
    forward = text[text.index("    def forward"):text.index("\n\n\nif __name__")]
    assert forward.startswith("    def forward(self, x: torch.Tensor) -> torch.Tensor:\n"
                              "        x = self.conv1(x)\n        x = self.bn1(x)\n")
    assert "        x = x + maxpool\n" in forward
    assert "        x = layer2_0_bn2 + x\n" in forward
    assert forward.endswith("        x = self.fc(x)\n        return x")
    assert len(text.splitlines()) < 160 and "import torch.nn.functional" not in text


def test_generated_file_runs_as_a_script(tmp_path):
    target = tmp_path / "lenet.py"
    assert main(["build", "lenet5", "-o", str(target)]) == 0
    text = target.read_text()
    assert "self.Conv1 = nn.Sequential(nn.Conv2d(1, 6, kernel_size=5), nn.Tanh())" in text
    proc = subprocess.run([sys.executable, str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Lenet5 61706 parameters, output (1, 10)"


def test_same_padding_is_a_stock_pad_module():
    text = graph_source(convscope.load("mobilenet_v1"))
    assert "nn.Sequential(\n            nn.ZeroPad2d((0, 1, 0, 1)),\n            " \
           "nn.Conv2d(3, 32, kernel_size=3, stride=2, bias=False),\n        )" in text
    assert "class Pad" not in text and "onnx" not in text


MERGES = {
    "name": "merges",
    "input": "6x6x4",
    "layers": [
        {"type": "conv", "name": "a", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "conv", "name": "b", "out_channels": 4, "kernel_size": 1, "inputs": ["input"]},
        {"type": "global_avg_pool", "name": "squeeze", "inputs": ["b"]},
        {"type": "fc", "name": "gate", "units": 4, "activation": "sigmoid"},
        {"type": "multiply", "name": "scaled", "inputs": ["a", "gate"]},
        {"type": "subtract", "name": "diff", "inputs": ["scaled", "b"]},
        {"type": "average", "name": "mean", "inputs": ["diff", "a", "b"]},
        {"type": "maximum", "name": "top", "inputs": ["mean", "a", "b"]},
        {"type": "minimum", "name": "low", "inputs": ["top", "scaled"]},
        {"type": "concat", "name": "both", "inputs": ["low", "a"]},
        {"type": "concat", "name": "rows", "inputs": ["both", "both"], "axis": 0},
    ],
}


def test_every_merge_is_an_expression_with_the_same_numbers(tmp_path):
    graph = convscope.load(MERGES)
    text = graph_source(graph, "Net")
    assert not ruff_problems(text, tmp_path)
    for line in ("scaled = a * x[:, :, None, None]", "x = scaled - b",
                 "x = (x + a + b) / 3", "x = torch.maximum(torch.maximum(x, a), b)",
                 "x = torch.minimum(x, scaled)", "x = torch.cat([x, a], dim=1)",
                 "x = torch.cat([x, x], dim=2)"):
        assert f"        {line}\n" in text
    namespace, _ = run(text)
    assert defined_classes(namespace) == {"Net"}
    same_model(graph, text)


def test_tied_weights_are_tied_in_the_source(tmp_path):
    graph = convscope.load({"name": "tied", "input": "5x5x3", "layers": [
        {"type": "conv", "name": "first", "out_channels": 3, "kernel_size": 3, "padding": 1},
        {"type": "conv", "name": "again", "out_channels": 3, "kernel_size": 3, "padding": 1,
         "shares": "first"},
        {"type": "flatten"}, {"type": "fc", "units": 2}]})
    text = graph_source(graph, "Net")
    assert "        self.again.weight = self.first.weight\n" in text
    assert not ruff_problems(text, tmp_path)
    same_model(graph, text)  # the parameters of one convolution, not two
    _, model = run(text)
    assert model.again.weight is model.first.weight and model.again.bias is model.first.bias


def test_a_helper_brings_only_what_it_uses(tmp_path):
    description = {"input": "4x4x2", "layers": [
        {"type": "reshape", "target_shape": [8, 4]}, {"type": "flatten"},
        {"type": "fc", "units": 3}]}
    graph = convscope.load(description)
    text = graph_source(graph, "Net")
    assert not ruff_problems(text, tmp_path)
    namespace, _ = run(text)
    assert defined_classes(namespace) == {"Net", "Reshape"}
    assert {"to_last", "to_first"} <= set(namespace) and "Pad" not in text
    same_model(graph, text)
    named = graph_source(convscope.load({**description, "name": "reshape"}))
    assert "class ReshapeNet(nn.Module):" in named and "ReshapeNet().eval()" in named


@pytest.mark.parametrize("name", sorted(
    name for name, value in vars(torch_modules).items()
    if isinstance(value, type) and issubclass(value, torch.nn.Module)
    and value.__module__ == torch_modules.__name__))
def test_every_helper_class_stands_alone(name):
    """Each helper's copied source, with what it calls, defines it in an empty file."""
    text = "\n\n".join(helper_sources({getattr(torch_modules, name)}).values())
    namespace: dict = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional,
                       "Any": object, "__name__": "generated"}
    exec(compile("from __future__ import annotations\n" + text, "h.py", "exec"), namespace)
    assert isinstance(namespace[name], type)


def sampled(kind: str, most: int = 24) -> list[tuple[dict, list]]:
    """Up to ``most`` of test_layers_vs_torch's sweep cases of ``kind``, spread evenly."""
    from test_layers_vs_torch import SWEEPS

    all_cases = [(item, shapes) for item, *shapes in SWEEPS[kind]()]
    step = max(1, -(-len(all_cases) // most))
    return all_cases[::step]


@pytest.mark.parametrize("kind", sorted(k.kind for k in LAYER_KINDS))
def test_every_kind_writes_source_that_builds_the_same_model(kind, tmp_path):
    """Each registered kind, on a sample of the registry sweep's cases: the one-layer
    network's source passes ruff, and has the built module's parameters and outputs."""
    texts = []
    for i, (item, shapes) in enumerate(sampled(kind)):
        graph = one_layer(item, *shapes)
        text = graph_source(graph, "Net")
        with torch.backends.mkldnn.flags(enabled=False):  # PyTorch's own LSTM kernels
            same_model(graph, text)
        (tmp_path / f"case{i}.py").write_text(text)
        texts.append(text)
    proc = subprocess.run([str(RUFF), "check", "--no-cache", "--isolated", "--select",
                           "E,F,W,I", "--line-length", "100", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
