"""Channels-last maps in PyTorch import (issue 11): a permute that only moves the channels
last, (0, 2, 3, 1), changes the tensor's layout rather than adding a layer, and the kinds
that read channels-last maps (layer norm over the channels, element-wise kinds, views in
the tensor's order, ``F.linear`` on the channels, read whole) give real layers. ConvNeXt's
blocks (timm's LayerNorm2d, torchvision's Permute + LayerNorm + Linear) then import with
no opaque layer, and their receptive fields stay local: checked here against a gradient
measured on the real model.
"""

from __future__ import annotations

import pytest
import timm
import torch
import torchvision

import convscope
from convscope.pytorch.importer import import_module
from convscope.pytorch.layout import flipped, our_shape


def kinds(graph: convscope.Graph) -> set[str]:
    return {node.layer.kind for node in graph.nodes}


def test_only_a_move_of_the_channels_is_a_layout_change():
    assert flipped([0, 2, 3, 1], 4, "first") == "last"
    assert flipped([0, 3, 1, 2], 4, "last") == "first"
    assert flipped([0, 2, 3, 4, 1], 5, "first") == "last"
    assert flipped([0, 3, 1, 2], 4, "first") is None  # a real permute of a channels-first map
    assert flipped([0, 2, 1], 3, "first") is None  # sequences: as likely a real permute
    t = torch.empty(2, 5, 6, 7, device="meta")
    assert our_shape(t) == (6, 7, 5) and our_shape(t, "last") == (5, 6, 7)


def test_timm_convnext_imports_with_no_opaque_layer():
    """convnext_atto: LayerNorm2d (permute, layer_norm, permute) is a layer norm over the
    channels; parameters and MACs stay PyTorch's (numel, FlopCounterMode in test_timm_import)."""
    model = timm.create_model("convnext_atto", pretrained=False).eval()
    graph = import_module(model, [(224, 224, 3)])
    assert "opaque" not in kinds(graph)
    report = convscope.analyze(graph)
    stem = report.layer("stem.1")
    assert (stem.type, stem.params) == ("LayerNormalization", model.stem[1].weight.numel() * 2)
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_linear_on_channels_last_maps_is_a_dense_layer():
    """torchvision's ConvNeXt: Permute, LayerNorm, Linear, GELU, Linear, Permute per block;
    each Linear is a dense layer with its module's numel and n_positions x in x out MACs."""
    model = torchvision.models.convnext_tiny().eval()
    graph = import_module(model, [(224, 224, 3)])
    assert "opaque" not in kinds(graph)
    fc1 = convscope.analyze(graph).layer("features.1.0.block.3")
    linear = model.features[1][0].block[3]
    assert fc1.type == "Dense"
    assert fc1.params == sum(p.numel() for p in linear.parameters())
    assert fc1.output_shape == (56, 56, linear.out_features)
    assert fc1.macs == 56 * 56 * linear.in_features * linear.out_features


@pytest.mark.parametrize("block", [0, 1])
def test_convnext_receptive_field_is_the_models(block):
    """The field convscope gives the output of stage 0's blocks equals the region of the
    input that the centre output position's gradient reaches, on the real timm model
    (float64, random weights)."""
    model = timm.create_model("convnext_atto", pretrained=False).double().eval()
    graph = import_module(model, [(224, 224, 3)])
    field = convscope.analyze(graph).layer(f"stages.0.blocks.{block}.add").receptive_field
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64, requires_grad=True)
    y = model.stages[0].blocks[:block + 1](model.stem(x))
    y[0, :, 28, 28].sum().backward()
    reached = x.grad[0].abs().sum(0) > 0
    extent = tuple(int(idx.max() - idx.min() + 1)
                   for idx in (reached.any(1).nonzero(), reached.any(0).nonzero()))
    assert not field.is_global
    assert field.sizes() == extent
