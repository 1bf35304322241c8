"""Building descriptions in PyTorch: the generated source, and `convscope verify` over the
whole zoo (static numbers against numel, meta forward shapes, FlopCounterMode and the
gradient-measured receptive field)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
import torch

import convscope
from convscope import zoo
from convscope.cli import main
from convscope.layers.conv import Conv
from convscope.layers.pool import Pool
from convscope.torch.source import graph_source
from convscope.torch.verify import verify


def channels_first(shape):
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])


@pytest.mark.parametrize("zoo_id", zoo.names())
def test_generated_source_builds_the_same_model(zoo_id):
    graph = convscope.load(zoo_id)
    report = convscope.analyze(graph)
    namespace: dict = {}
    with torch.device("meta"):
        exec(compile(graph_source(graph, "Net"), f"{zoo_id}.py", "exec"), namespace)
        model = namespace["Net"]().eval()
        shape = report.inputs[0][1]
        out = model(torch.empty(1, *channels_first(shape)))
    assert sum(p.numel() for p in model.parameters()) == report.totals.torch_params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    assert tuple(out.shape[1:]) == channels_first(report.outputs[0][1])


def test_generated_file_runs_as_a_script(tmp_path):
    target = tmp_path / "lenet.py"
    assert main(["build", "lenet5", "-o", str(target)]) == 0
    text = target.read_text()
    assert "self.Conv1 = nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh())" in text
    proc = subprocess.run([sys.executable, str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Lenet5 61706 parameters, output (1, 10)"


def test_same_padding_is_explicit_in_the_source():
    text = graph_source(convscope.load("mobilenet_v1"))
    assert "nn.Sequential(Pad((0, 1, 0, 1)), nn.Conv2d(3, 32, 3, stride=2, bias=False))" in text


@pytest.mark.parametrize("zoo_id", zoo.names())
def test_verify_every_zoo_model(zoo_id):
    result = verify(convscope.load(zoo_id))
    assert result.ok, result.failures()
    whats = {c.what for c in result.checks}
    assert {"params", "buffers", "shape", "flops", "rf"} <= whats


def broken(layer_class, method, change):
    original = getattr(layer_class, method)

    def wrong(self, *args):
        return change(original(self, *args))

    return wrong


def test_verify_catches_wrong_rules(monkeypatch):
    graph = convscope.load("lenet5")
    monkeypatch.setattr(Conv, "params", broken(Conv, "params",
                                               lambda c: replace(c, trainable=c.trainable + 1)))
    monkeypatch.setattr(Conv, "macs", broken(Conv, "macs", lambda m: m + 1))
    monkeypatch.setattr(Pool, "rf_step", broken(Pool, "rf_step", lambda s: replace(
        s, kernel=tuple(k + 1 for k in s.kernel))))
    failures = {(c.layer, c.what) for c in verify(graph).failures()}
    assert {("Conv1", "params"), ("Conv2", "params"), ("Conv1", "flops"),
            ("MaxPool1", "rf"), ("MaxPool2", "rf")} <= failures


def test_verify_cli_exit_status(monkeypatch, capsys):
    assert main(["verify", "rf_example", "--rf", "all"]) == 0
    out = capsys.readouterr().out
    assert "25/25 checks passed over 5 layers: all match" in out
    monkeypatch.setattr(Conv, "macs", broken(Conv, "macs", lambda m: m + 1))
    assert main(["verify", "rf_example"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH conv1 flops: convscope 1154, PyTorch 1152" in out


def test_layer_names_that_are_module_attributes_build():
    """A layer may be called 'eval', 'keys' or 'training' (attributes of nn.ModuleDict)."""
    import torch

    from convscope.torch.build import build

    model = build("8x8x3 | conv3-4 name=eval | relu name=keys | fc3 name=training")
    assert model(torch.zeros(1, 3, 8, 8)).shape == (1, 3)
    assert sum(p.numel() for p in model.parameters()) == 3 * 3 * 3 * 4 + 4 + 6 * 6 * 4 * 3 + 3
