"""RMS norms imported from PyTorch as one ``rms_norm`` layer (pytorch/rms_norm_ops.py):
nn.RMSNorm on tokens, timm's RmsNorm and RmsNorm2d, RmsNormAct2d (the norm, then its
activation, a tanh GELU), each compared with PyTorch's own counts; a formula that is not
an RMS norm over the channels stays what it was."""

from __future__ import annotations

import pytest
import timm.layers
import torch
from torch import nn

import convscope
from convscope.pytorch.importer import import_module


class Tokens(nn.Module):
    """A 1x1 convolution's map as tokens (N, L, C), then ``norm``."""

    def __init__(self, norm: nn.Module) -> None:
        super().__init__()
        self.proj, self.norm = nn.Conv2d(3, 8, 1), norm

    def forward(self, x):
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class Map(Tokens):
    def forward(self, x):
        return self.norm(self.proj(x))


@pytest.mark.parametrize(("model", "eps", "affine"), [
    (Tokens(nn.RMSNorm(8, eps=1e-5)), 1e-5, True),
    (Tokens(nn.RMSNorm(8, eps=1e-6, elementwise_affine=False)), 1e-6, False),
    (Tokens(timm.layers.RmsNorm(8)), 1e-6, True),
    (Map(timm.layers.RmsNorm2d(8, eps=1e-5)), 1e-5, True),
])
def test_an_rms_norm_is_one_layer(model, eps, affine):
    graph = import_module(model, [(6, 6, 3)])
    norm = next(n for n in graph.nodes if n.layer.kind == "rms_norm")
    assert norm.name == "norm"
    assert (norm.layer.eps, norm.layer.affine, norm.layer.channels) == (eps, affine, 8)
    report = convscope.analyze(graph)
    assert "opaque" not in {s.kind for s in report.layers}
    assert report.layer("norm").params == sum(p.numel() for p in model.norm.parameters())
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_rms_norm_then_activation_reads_like_the_module():
    """timm's RmsNormAct2d: the norm (named by the module, whose own operations are the
    norm's) and its tanh GELU (``norm.act``, a module of its own)."""
    model = Map(timm.layers.RmsNormAct2d(8, act_layer="gelu_tanh"))
    layers = {s.name: s.kind for s in convscope.analyze(import_module(model, [(6, 6, 3)])).layers}
    assert layers == {"x": "input", "proj": "conv", "norm": "rms_norm",
                      "norm.act": "activation"}


class OverPositions(nn.Module):
    """The same formula over the positions: no RMS norm over the channels."""

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=(2, 3), keepdim=True) + 1e-6)


def test_a_mean_over_positions_is_no_rms_norm():
    graph = import_module(OverPositions(), [(6, 6, 3)])
    assert "rms_norm" not in {n.layer.kind for n in graph.nodes}


class TensorExponent(nn.Module):
    """The formula with the square's exponent a buffer: no values to compare on meta."""

    def __init__(self):
        super().__init__()
        self.register_buffer("p", torch.tensor(2.0))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(self.p).mean(dim=1, keepdim=True) + 1e-6)


def test_a_tensor_exponent_is_no_rms_norm_and_no_traceback():
    graph = import_module(TensorExponent(), [(6, 6, 3)])
    assert "rms_norm" not in {n.layer.kind for n in graph.nodes}
