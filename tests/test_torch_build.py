"""Building descriptions in PyTorch: `convscope verify` over the whole zoo (static numbers
against numel, meta forward shapes, FlopCounterMode and the gradient-measured receptive
field). The generated source is tested in test_generated_source.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

import convscope
from convscope import zoo
from convscope.cli import main
from convscope.layers.conv import Conv
from convscope.layers.pool import Pool
from convscope.pytorch.verify import verify


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

    from convscope.pytorch.build import build

    model = build("8x8x3 | conv3-4 name=eval | relu name=keys | fc3 name=training")
    assert model(torch.zeros(1, 3, 8, 8)).shape == (1, 3)
    assert sum(p.numel() for p in model.parameters()) == 3 * 3 * 3 * 4 + 4 + 6 * 6 * 4 * 3 + 3


def test_avg_pool_3d_padded_around_an_input_smaller_than_its_kernel():
    """PyTorch's CPU AvgPool3d refuses an unpadded input smaller than the kernel even when
    the padding makes the window fit (AvgPool2d accepts it); convscope's build pads
    explicitly then, with the same values (found by tests/test_properties.py)."""
    import torch

    from convscope.pytorch import build

    graph = convscope.load({"input": [1, 1, 1, 2],
                            "layers": [{"type": "avgpool", "kernel_size": 2, "padding": 1}]})
    out = build(graph).eval()(torch.ones(1, 2, 1, 1, 1))
    assert tuple(out.shape[2:]) == (1, 1, 1)
    # one value of 1 in a 2x2x2 window, the padding counted (count_include_pad): 1/8
    assert out.flatten().tolist() == [0.125, 0.125]
