"""nn.MultiheadAttention imported (issue 11): plain self-attention (query, key and value
one tensor, no mask, no dropout, no weights returned) reads as its packed projection, the
q / k / v slices, the attention and the output projection (pytorch/composite.py), with
the counts PyTorch measures; any other call stays one opaque layer with the same totals.
Views that give their input back (the batch_first transposes) are no layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import convscope
from convscope.pytorch.importer import import_module
from torch_oracle import reference


class Tokens(nn.Module):
    """A convolution's map as tokens, one pre-norm self-attention block, a dense head."""

    def __init__(self, batch_first: bool, need_weights: bool, mask: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 4, stride=4)
        self.norm = nn.LayerNorm(32)
        self.attn = nn.MultiheadAttention(32, 4, batch_first=batch_first)
        self.head = nn.Linear(32, 10)
        self.batch_first, self.need_weights, self.mask = batch_first, need_weights, mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.conv(x).flatten(2).transpose(1, 2)  # (N, L, C)
        y = self.norm(t)
        if not self.batch_first:
            y = y.transpose(0, 1)  # (L, N, C)
        mask = torch.zeros(y.shape[-2] if self.batch_first else y.shape[0],
                           y.shape[-2] if self.batch_first else y.shape[0],
                           dtype=torch.bool, device=y.device) if self.mask else None
        out, _ = self.attn(y, y, y, need_weights=self.need_weights, attn_mask=mask)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return self.head(t + out)


def counts(model: nn.Module) -> tuple[convscope.Report, tuple]:
    report = convscope.analyze(import_module(model.eval(), [(32, 32, 3)]))
    ours = (report.totals.trainable_params, report.totals.buffers,
            [tuple(shape) for _, shape in report.outputs], report.totals.macs)
    return report, ours


def measured(model: nn.Module) -> tuple:
    """The oracle's parameters, buffers and MACs; the output (N, L, K) of a meta forward
    as tokens by classes (channels last, as the import shows tokens)."""
    params, buffers, _, macs = reference(model.eval(), [(32, 32, 3)])
    out = model.to("meta")(torch.empty(2, 3, 32, 32, device="meta"))
    return params, buffers, [tuple(out.shape[1:])], macs


@pytest.mark.parametrize("batch_first", [True, False])
def test_plain_self_attention_reads_like_the_model(batch_first):
    model = Tokens(batch_first, need_weights=False)
    report, ours = counts(model)
    assert ours == measured(Tokens(batch_first, False))
    types = {layer.name: layer.type for layer in report.layers}
    assert not [n for n, t in types.items() if t.startswith("Opaque")], types
    tokens, width = 64, 32
    in_proj, out_proj = report.layer("attn.in_proj"), report.layer("attn.out_proj")
    assert (in_proj.type, in_proj.output_shape) == ("Dense", (tokens, 3 * width))
    assert in_proj.params == model.attn.in_proj_weight.numel() + model.attn.in_proj_bias.numel()
    assert in_proj.macs == tokens * width * 3 * width
    assert (out_proj.type, out_proj.params) == (
        "Dense", sum(p.numel() for p in model.attn.out_proj.parameters()))
    assert report.layer("attn.attention").type == "Attention"
    # q k^T and the weighted sum of v: 2 x L x L x E over the 4 heads
    assert report.layer("attn.attention").macs == 2 * tokens * tokens * width
    assert sum(t == "Slice" for t in types.values()) == 3


@pytest.mark.parametrize(("need_weights", "mask"), [(True, False), (False, True)])
def test_other_attention_calls_stay_opaque_and_exact(need_weights, mask):
    model = Tokens(True, need_weights, mask)
    report, ours = counts(model)
    params, buffers, (shape,), macs = measured(Tokens(True, need_weights, mask))
    assert ours[:2] + ours[3:] == (params, buffers, macs)
    # after an opaque layer the tokens' layout is not known: the head's output is read
    # channels first (classes x tokens), the same sizes
    assert sorted(ours[2][0]) == sorted(shape)
    assert report.layer("attn").type == "Opaque[MultiheadAttention]"
