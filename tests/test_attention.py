"""The ``matmul`` and ``attention`` kinds against PyTorch's own operators (issue 11, part 2).

The registry sweep (test_layers_vs_torch.py) checks shapes, parameters, FLOPs and saved
tensors of the modules convscope builds; here their values are compared with what
PyTorch computes on the same numbers (``torch.matmul`` on the channels-last arrays,
``F.scaled_dot_product_attention``), and a description of multi-head attention with
its projections is compared with ``nn.MultiheadAttention``: parameters by ``numel()``,
MACs by ``FlopCounterMode`` / 2 with attention on its math backend, and the output.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.functional import scaled_dot_product_attention
from torch.utils.flop_counter import FlopCounterMode

import convscope
from convscope.errors import ConvscopeError
from convscope.pytorch.build import build
from harness import one_layer

torch.manual_seed(0)


def first(x: torch.Tensor) -> torch.Tensor:
    """(N, *S, C) -> PyTorch's channels-first (N, C, *S)."""
    return x.movedim(-1, 1)


@pytest.mark.parametrize(("a", "b"), [((7, 5), (5, 6)), ((7, 5, 3), (5, 6, 3)),
                                      ((7, 5, 1), (5, 6, 3))])
def test_matmul_computes_a_at_b(a, b):
    """Heads last (m x k x H) are torch.matmul's (H, m, k) batches."""
    graph = one_layer({"type": "matmul"}, a, b)
    module = build(graph).eval()
    x, y = torch.randn(2, *a), torch.randn(2, *b)
    if len(a) == 3:  # (N, m, k, H) -> (N, H, m, k)
        want = torch.matmul(x.permute(0, 3, 1, 2), y.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    else:
        want = torch.matmul(x, y)
    got = module(first(x), first(y))
    torch.testing.assert_close(got, first(want))
    assert convscope.analyze(graph).totals.macs == want[0].numel() * a[1]


@pytest.mark.parametrize(("heads", "causal", "scale"), [(1, False, None), (2, False, None),
                                                         (4, True, 0.3)])
def test_attention_equals_pytorchs_sdpa(heads, causal, scale):
    q, k, v = torch.randn(2, 6, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 12)
    item = {"type": "attention", "heads": heads, "causal": causal}
    if scale is not None:
        item["scale"] = scale
    module = build(one_layer(item, (6, 8), (6, 8), (6, 12))).eval()

    def split(t):  # (N, L, E) -> (N, H, L, E / H)
        return t.unflatten(-1, (heads, -1)).transpose(1, 2)

    want = scaled_dot_product_attention(split(q), split(k), split(v), is_causal=causal,
                                        scale=scale).transpose(1, 2).flatten(2)
    torch.testing.assert_close(module(first(q), first(k), first(v)), first(want))


def test_attention_with_heads_apart_equals_sdpa():
    q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 7, 4), torch.randn(2, 3, 7, 6)
    module = build(one_layer({"type": "attention"}, (5, 4, 3), (7, 4, 3), (7, 6, 3))).eval()
    ours = [t.permute(0, 1, 2, 3) for t in (q, k, v)]  # already PyTorch's (N, H, L, E)
    torch.testing.assert_close(module(*ours), scaled_dot_product_attention(q, k, v))


MHA = {"name": "mha", "inputs": {"x": [10, 16]}, "layers": [
    {"type": "dense", "name": "q", "units": 16, "inputs": ["x"]},
    {"type": "dense", "name": "k", "units": 16, "inputs": ["x"]},
    {"type": "dense", "name": "v", "units": 16, "inputs": ["x"]},
    {"type": "attention", "name": "attn", "heads": 4, "inputs": ["q", "k", "v"]},
    {"type": "dense", "name": "out", "units": 16}]}


def test_description_equals_nn_multihead_attention():
    """q / k / v projections, 4-head attention and the output projection are PyTorch's
    nn.MultiheadAttention: its numel(), its FlopCounterMode count (attention on the math
    backend, the README's convention) and, with its weights copied, its output."""
    graph = convscope.load(MHA)
    report = convscope.analyze(graph)
    # training mode (dropout 0): in evaluation mode PyTorch takes its fused fast path, which
    # FlopCounterMode does not see
    mha = nn.MultiheadAttention(16, 4, batch_first=True).train()
    x = torch.randn(2, 10, 16)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, \
            torch.no_grad():
        want, _ = mha(x, x, x, need_weights=False)
    assert report.totals.params == sum(p.numel() for p in mha.parameters())
    assert 2 * 2 * report.totals.macs == counter.get_total_flops()
    ours = build(graph).eval()
    weights = dict(zip("qkv", mha.in_proj_weight.chunk(3), strict=True))
    biases = dict(zip("qkv", mha.in_proj_bias.chunk(3), strict=True))
    weights["out"], biases["out"] = mha.out_proj.weight, mha.out_proj.bias
    with torch.no_grad():
        for name in weights:
            conv = next(m for m in ours.layers[name].modules() if isinstance(m, nn.Conv1d))
            conv.weight.copy_(weights[name][..., None])
            conv.bias.copy_(biases[name])
        got = ours(first(x))
    torch.testing.assert_close(got, first(want), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("item", "shapes", "message"), [
    ({"type": "matmul"}, [(7, 5), (6, 4)], "columns of a"),
    ({"type": "matmul"}, [(7, 5, 2), (5, 6, 3)], "H equal or 1"),
    ({"type": "attention"}, [(7, 8), (6, 4), (6, 4)], "same channels"),
    ({"type": "attention", "heads": 3}, [(7, 8), (6, 8), (6, 8)], "3 heads must divide"),
    ({"type": "attention"}, [(7, 8), (6, 8), (5, 8)], "same positions"),
])
def test_bad_shapes_name_the_rule(item, shapes, message):
    with pytest.raises(ConvscopeError, match=message):
        one_layer(item, *shapes)


def readme_hybrid() -> str:
    """The README's tiny_hybrid example, as printed there."""
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text()
    start = text.index("name: tiny_hybrid")
    return text[start:text.index("```", start)]


def test_the_readme_hybrid_is_what_pytorch_measures(tmp_path):
    """convscope verify passes on every layer, and the attention layer's MACs are
    FlopCounterMode's count / 2 of F.scaled_dot_product_attention (math backend) on
    4 heads of 256 positions x 8 channels."""
    from convscope.pytorch.verify import verify

    path = tmp_path / "tiny_hybrid.yaml"
    path.write_text(readme_hybrid())
    graph = convscope.load(str(path))
    result = verify(graph)
    assert result.checks and all(c.ok for c in result.checks), result
    q = torch.randn(1, 4, 256, 8)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        scaled_dot_product_attention(q, q, q)
    assert convscope.analyze(graph).layer("attn").macs == counter.get_total_flops() // 2
