"""nn.MultiheadAttention imported (issue 11): plain self-attention (query, key and value
one tensor, no mask, no dropout, no weights returned) reads as its packed projection, the
q / k / v slices, the attention and the output projection (pytorch/composite.py), with
the counts PyTorch measures; any other call stays one opaque layer with the same totals.
Views that give their input back (the batch_first transposes) are no layer. timm's packed
split of q, k and v into heads reads as the same slices and views, and one token taken out
as a slice (rewrites.py)."""

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


class PackedSplit(nn.Module):
    """timm's Attention: one projection to q, k and v, split into heads in one go
    (``reshape(B, N, 3, H, d).permute(2, 0, 3, 1, 4).unbind(0)``), then F.sdpa."""

    def __init__(self, parts: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 4, stride=4)
        self.qkv = nn.Linear(32, parts * 32)
        self.proj = nn.Linear(32, 32)
        self.parts = parts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.conv(x).flatten(2).transpose(1, 2)  # (N, L, C)
        n, length, c = t.shape
        split = self.qkv(t).reshape(n, length, self.parts, 4, c // 4).permute(2, 0, 3, 1, 4)
        q, k, v = split.unbind(0)[:3]
        y = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(n, length, c))


def test_a_packed_split_into_heads_reads_as_slices_and_heads():
    """rewrites.py: the split is q, k and v each a slice, a view as heads and a
    transpose; nothing opaque, PyTorch's totals."""
    model = PackedSplit()
    report, ours = counts(model)
    graph = import_module(PackedSplit().eval(), [(32, 32, 3)])
    assert ours == measured(PackedSplit())
    types = {layer.name: layer.type for layer in report.layers}
    assert not [n for n, t in types.items() if t.startswith("Opaque")], types
    tokens, width = 64, 32
    for part, (start, stop) in zip("qkv", ((0, 32), (32, 64), (64, 96)), strict=True):
        sliced, heads = report.layer(part), report.layer(f"{part}_heads_first")
        assert (sliced.type, sliced.output_shape) == ("Slice", (tokens, width))
        assert (graph.node(part).layer.start, graph.node(part).layer.stop) == (start, stop)
        assert heads.output_shape == report.layer("attention").input_shapes[0]
    assert report.layer("attention").inputs == ("q_heads_first", "k_heads_first",
                                                "v_heads_first")


def test_other_splits_stay_opaque_and_exact():
    """Four packed parts of which three are used: not q, k and v; exact all the same."""
    model = PackedSplit(parts=4)
    report, ours = counts(model)
    assert ours == measured(PackedSplit(parts=4))
    assert any(layer.type.startswith("Opaque") for layer in report.layers)


def test_timm_vit_has_no_opaque_attention():
    import timm
    graph = convscope.load("timm:vit_tiny_patch16_224")
    assert "opaque" not in {n.layer.kind for n in graph.nodes}  # tokens: test_token_import
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False)
    assert convscope.analyze(graph).totals.params == sum(p.numel() for p in model.parameters())


class OneToken(nn.Module):
    """Tokens, then one of them taken out (``x[:, i]``, a ViT's class token) for the head."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 4, stride=4)
        self.norm = nn.LayerNorm(32)
        self.head = nn.Linear(32, 10)
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.norm(self.conv(x).flatten(2).transpose(1, 2))  # (N, L, C), channels last
        return self.head(t[:, self.index])


@pytest.mark.parametrize("index", [0, 5, -1])
def test_one_token_taken_out_reads_as_a_slice(index):
    report, ours = counts(OneToken(index))
    assert ours == measured(OneToken(index))
    graph = import_module(OneToken(index).eval(), [(32, 32, 3)])
    taken = graph.node("token").layer
    assert (taken.kind, taken.axis, taken.start, taken.stop) == ("slice", 0, index % 64,
                                                                index % 64 + 1)
    assert [s.type for s in report.layers][-3:] == ["Slice", "Flatten", "Dense"]
