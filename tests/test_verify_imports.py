"""``convscope verify`` on imported models (issue 11): every check runs with no traceback
and passes. An opaque layer is built as a stand-in that computes nothing, so its FLOPs are
not checked (they were measured on the real model) and fields after it are not measured;
a layer scale's ``gamma`` is a positive weight in the linearised copy (at zero it cut its
branch off: ConvNeXt's measured fields were the stem's); shapes and FLOPs are measured on
a batch of 2 (LeViT's batch norms of vectors failed on one value per channel)."""

from __future__ import annotations

import pytest
import timm
import torch

from convscope.pytorch.importer import import_module
from convscope.pytorch.verify import verify
from test_channels_last import ClassAttention, HandWritten


def checked(model: torch.nn.Module, shape: tuple[int, ...]) -> dict[str, int]:
    result = verify(import_module(model.eval(), [shape]))
    assert not result.failures(), result.failures()[:5]
    return {what: sum(c.what == what for c in result.checks)
            for what in ("params", "flops", "rf")}


@pytest.mark.parametrize("model", [HandWritten, ClassAttention])
def test_opaque_layers_check_all_but_flops(model):
    graph = import_module(model().eval(), [(16, 16, 3)])
    opaque = sum(n.layer.stand_in for n in graph.nodes)
    assert opaque  # attention written by hand stays opaque
    counts = checked(model(), (16, 16, 3))
    assert counts["params"] - counts["flops"] == opaque


@pytest.mark.parametrize(("name", "measured"), [
    ("convnext_atto", True),  # fields measured, the layer scales' branches included
    ("resnetblur18", True),  # fields before its first blur filter (a stand-in)
    ("nf_resnet26", False),  # its first layer is a weight-standardised conv: a stand-in
    ("levit_128", True)])  # batch norms of vectors (one value per channel at batch 1)
def test_timm_models_verify(name, measured):
    counts = checked(timm.create_model(name, pretrained=False), (224, 224, 3))
    assert (counts["rf"] > 0) == measured
