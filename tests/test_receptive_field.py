"""Receptive fields: published tables, hand-computed graphs, and an empirical check
(the gradient of one output position w.r.t. the input, in PyTorch).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope
from convscope.pytorch import build


def fields(model, input_shape=None):
    rep = convscope.analyze(convscope.load(model, input_shape))
    return {s.name: s.receptive_field for s in rep.layers}, rep


def triple(field, axis=0):
    a = field.axes[axis]
    return int(a.size), int(a.stride), int(a.padding)


# google-research/receptive_field, RECEPTIVE_FIELD_TABLE.md (TF-Slim models at 224):
# end-point -> RF, effective stride, effective padding
VGG16_TABLE = [(3, 1, 1), (6, 2, 2), (10, 2, 4), (16, 4, 6), (24, 4, 10), (32, 4, 14), (44, 8, 18),
               (60, 8, 26), (76, 8, 34), (100, 16, 42), (132, 16, 58), (164, 16, 74),
               (212, 32, 90)]  # conv1_1, pool1, conv2_1, pool2, conv3_1, conv3_2, pool3, ...
VGG_A_TABLE = [(3, 1, 1), (4, 2, 1), (8, 2, 3), (10, 4, 3), (18, 4, 7), (26, 4, 11), (30, 8, 11),
               (46, 8, 19), (62, 8, 27), (70, 16, 27), (102, 16, 43), (134, 16, 59),
               (150, 32, 59)]
MOBILENET_224 = [(3, 2, 0), (7, 2, 2), (11, 4, 2), (19, 4, 6), (27, 8, 6), (43, 8, 14),
                 (59, 16, 14), (91, 16, 30), (123, 16, 46), (155, 16, 62), (187, 16, 78),
                 (219, 16, 94), (251, 32, 94), (315, 32, 126)]
MOBILENET_321 = [(3, 2, 1), (7, 2, 3), (11, 4, 5), (19, 4, 9), (27, 8, 13), (43, 8, 21),
                 (59, 16, 29), (91, 16, 45), (123, 16, 61), (155, 16, 77), (187, 16, 93),
                 (219, 16, 109), (251, 32, 125), (315, 32, 157)]


def vgg_endpoints(rep, convs_per_stage):
    """conv_1 of each stage, the second/third convs listed in the table, and each pool."""
    convs = [s for s in rep.layers if s.kind == "conv"]
    pools = [s for s in rep.layers if s.kind == "pool"]
    out, c = [], 0
    for stage, n in enumerate(convs_per_stage):
        stage_convs = convs[c:c + n]
        c += n
        picked = stage_convs[:1] if stage < 2 else stage_convs[:2]
        out += [*picked, pools[stage]]
    return [triple(s.receptive_field) for s in out]


def test_vgg16_matches_receptive_field_table():
    _, rep = fields("vgg16")
    assert vgg_endpoints(rep, [2, 2, 3, 3, 3]) == VGG16_TABLE


def test_vgg11_matches_receptive_field_table():
    _, rep = fields("vgg11")
    assert vgg_endpoints(rep, [1, 1, 2, 2, 2]) == VGG_A_TABLE


@pytest.mark.parametrize(("size", "table"), [(224, MOBILENET_224), (321, MOBILENET_321)])
def test_mobilenet_v1_matches_receptive_field_table(size, table):
    # TF 'same' padding: at 224 a stride-2 3x3 conv pads (0, 1), at 321 it pads (1, 1)
    f, _ = fields("mobilenet_v1", f"{size}x{size}x3")
    names = ["conv1"] + [f"block{i}.pw" for i in range(1, 7)] + [
        f"block7_11.{i}.pw" for i in range(5)] + ["block12.pw", "block13.pw"]
    assert [triple(f[n]) for n in names] == table
    assert [triple(f[n], axis=1) for n in names] == table


def test_dilation_uses_the_effective_kernel():
    f, _ = fields("20x20x1 | conv3-1 d=2 | conv3-1 d=4")
    assert [triple(f["conv1"]), triple(f["conv2"])] == [(5, 1, 0), (13, 1, 0)]


def test_strided_recursion_seed_001():
    # RF_l = RF_{l-1} + (k_l - 1) * s_1 * ... * s_{l-1}: 3, 3 + 2*2 = 7, 7 + 1*4 = 11
    f, _ = fields("32x32x1 | conv3-1 s=2 p=1 | conv3-1 s=2 p=1 | maxpool2")
    assert triple(f["conv1"]) == (3, 2, 1)
    assert triple(f["conv2"]) == (7, 4, 3)
    assert triple(f["maxpool1"]) == (11, 8, 3)
    assert f["maxpool1"].axes[0].center == Fraction(2)  # start -3 + (11 - 1) / 2


def test_inception_field_is_the_union_of_branches():
    f, rep = fields("inception_naive")
    out = f["inception"]
    assert int(out.axes[0].size) == 5 and int(out.axes[0].min_size) == 1
    assert out.aligned and not rep.warnings


def test_misaligned_merge_is_flagged():
    description = {"input": "16x16x4", "layers": [
        {"type": "residual", "shortcut": "identity",
         "body": [{"type": "conv", "out_channels": 4, "kernel_size": 2, "padding": "same"}]}]}
    f, rep = fields(description)
    add = f["add1"]
    assert not add.aligned
    assert rep.warnings == ("layers[0] 'add1' (merge): the paths merged here have different "
                            "receptive-field strides or centers (misaligned); the field shown is "
                            "their union",)


def test_global_after_flattening_dense_and_global_pool():
    f, rep = fields("lenet5")
    assert f["FC1"].is_global and not f["MaxPool2"].is_global
    f, _ = fields("resnet18")
    assert f["avgpool"].is_global and not f["layer4.1.relu"].is_global
    # by hand: 7x7/2 -> 7; 3x3/2 pool -> 7 + 2*2 = 11; layer1, four 3x3 at jump 4 -> 43;
    # layer2: 3x3/2 at jump 4 -> 51, three 3x3 at jump 8 -> 99; layer3 -> 115, 211;
    # layer4 -> 243, 435
    assert int(f["layer4.1.relu"].axes[0].size) == 435


def test_upsampling_gives_fractional_strides():
    f, _ = fields("16x16x1 | conv3-1 s=2 | upsample2")
    assert f["upsample1"].axes[0].stride == 1
    f, _ = fields("16x16x1 | upsample2 | conv3-1")
    assert f["conv1"].axes[0].stride == Fraction(1, 2)
    assert f["conv1"].axes[0].size == 2  # three output pixels cover two input pixels


# ---------------------------------------------- empirical: gradients in torch ---
layer_items = st.one_of(
    st.builds(lambda k, s, p, d: {"type": "conv", "out_channels": 2, "kernel_size": k,
                                  "stride": s, "padding": p, "dilation": d},
              st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 3)),
    st.builds(lambda k, s, p: {"type": "avgpool", "kernel_size": k, "stride": s,
                               "padding": min(p, k // 2)},
              st.integers(1, 3), st.integers(1, 3), st.integers(0, 1)),
    st.builds(lambda k, s: {"type": "conv", "out_channels": 2, "kernel_size": k, "stride": s,
                            "padding": "same"}, st.integers(1, 4), st.integers(1, 3)))


@settings(max_examples=150, deadline=None)
@given(st.integers(20, 60), st.lists(layer_items, min_size=1, max_size=4))
def test_receptive_field_equals_gradient_extent(n, layers):
    """Positive weights, linear layers (avg pools), one output position: the input positions
    with a nonzero gradient lie inside the predicted field, and when the field lies inside
    the input its two ends are real taps, so the nonzero extent equals it exactly."""
    try:
        graph = convscope.load({"input": [n, 2], "layers": layers})
    except convscope.ConvscopeError:
        return
    rep = convscope.analyze(graph)
    model = build(graph).double()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    x = torch.ones(1, 2, n, dtype=torch.float64, requires_grad=True)
    y = model(x)
    o = y.shape[-1] // 2
    y[0, :, o].sum().backward()
    nonzero = (x.grad[0].abs().sum(0) > 0).nonzero().flatten().tolist()
    field = rep.totals.receptive_field.axes[0]
    first = field.start + o * field.stride
    last = first + field.size - 1
    if nonzero:
        assert first <= min(nonzero) and max(nonzero) <= last
    if first >= 0 and last <= n - 1:
        assert (min(nonzero), max(nonzero)) == (first, last)
