"""A ViT's learned tokens and position embedding imported as kinds: ``class_token``
(``torch.cat([cls_token.expand(N, -1, -1), x], 1)``, DeiT's class and distillation
tokens) and ``position_embedding`` (``x + pos_embed``), each compared with the model's own
parameters; timm's ViT, DeiT distilled and torchvision's ViT-B/16 then have no opaque
layer. A concatenation with a learned tensor after the sequence, or of two computed ones,
is no class token (the latter, of channels-last tokens, stays with its opaque group)."""

from __future__ import annotations

import pytest
import timm
import torch
import torchvision
from torch import nn

import convscope
from convscope.pytorch.importer import import_module


def numel(*tensors):
    return sum(t.numel() for t in tensors)


@pytest.mark.parametrize("name", ["vit_tiny_patch16_224", "deit_tiny_distilled_patch16_224"])
def test_timm_vits_read_their_tokens_and_position_embedding(name):
    model = timm.create_model(name, pretrained=False).eval()
    report = convscope.analyze(import_module(model, [(224, 224, 3)]))
    tokens = [model.cls_token, *([model.dist_token] if hasattr(model, "dist_token") else [])]
    assert [s.kind for s in report.layers].count("opaque") == 0
    assert report.layer("class_token").params == numel(*tokens)
    assert report.layer("class_token").output_shape == (196 + len(tokens), 192)
    assert report.layer("position_embedding").params == numel(model.pos_embed)
    assert report.totals.params == numel(*model.parameters())


def test_torchvision_vit_reads_its_tokens_and_position_embedding():
    model = torchvision.models.vit_b_16(weights=None).eval()
    report = convscope.analyze(import_module(model, [(224, 224, 3)]))
    assert [s.kind for s in report.layers].count("opaque") == 0
    assert report.layer("class_token").params == numel(model.class_token)
    assert report.layer("encoder").kind == "position_embedding"
    assert report.layer("encoder").params == numel(model.encoder.pos_embedding)


class Tokens(nn.Module):
    """A 1x1 convolution's map as tokens (N, L, C), and a learned token after them or a
    second computed sequence before them."""

    def __init__(self, after: bool) -> None:
        super().__init__()
        self.after, self.proj = after, nn.Conv2d(3, 8, 1)
        self.token = nn.Parameter(torch.zeros(1, 1, 8))

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        if self.after:
            return torch.cat([x, self.token.expand(x.shape[0], -1, -1)], dim=1)
        return torch.cat([x * 2, x], dim=1)


@pytest.mark.parametrize(("after", "length"), [(True, 17), (False, 32)])
def test_other_concatenations_are_no_class_token(after, length):
    """(A concatenation of computed channels-last tensors stays with its opaque group.)"""
    graph = import_module(Tokens(after), [(4, 4, 3)])
    assert graph.nodes[-1].layer.kind == "opaque"
    assert convscope.analyze(graph).outputs[0][1] == (length, 8)
