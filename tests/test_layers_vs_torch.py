"""Registry-driven sweep: every layer kind x stride x padding x dilation x groups x ceil mode
x 1-2-3-D, against what PyTorch builds and measures (tests/harness.py).

A kind added to LAYER_KINDS without sweep cases here fails test_every_kind_is_swept.
"""

from __future__ import annotations

import itertools
import math

import pytest

from convscope.layers import LAYER_KINDS
from convscope.layers.activation import FUNCTIONS
from harness import check_against_torch

C = 4
SHAPES = {1: (11, C), 2: (9, 10, C), 3: (7, 6, 5, C)}


def conv_cases():
    for ndim, stride, padding, dilation, groups in itertools.product(
            (1, 2, 3), (1, 2, 3), ("valid", "same", 1, "asym", "per_axis"), (1, 2), (1, 2, C)):
        pad = {"asym": [[0, 1]] * ndim, "per_axis": [1, 2, 0][:ndim]}.get(padding, padding)
        out = 8 if groups == C else 6
        yield ({"type": f"conv{ndim}d", "out_channels": out, "kernel_size": 3, "stride": stride,
                "padding": pad, "dilation": dilation, "groups": groups,
                "bias": stride != 2}, SHAPES[ndim])
    for kernel, stride in itertools.product(([2, 2], [4, 3], [1, 5]), (1, 2, 3)):
        # even kernels with 'same' and stride > 1: TensorFlow's asymmetric padding
        yield ({"type": "conv", "out_channels": 5, "kernel_size": kernel, "stride": stride,
                "padding": "same"}, SHAPES[2])
    yield ({"type": "depthwise_conv2d", "kernel_size": 3, "depth_multiplier": 2}, SHAPES[2])
    yield ({"type": "conv", "out_channels": 6, "kernel_size": 3, "activation": "relu"},
           SHAPES[2])


def conv_transpose_cases():
    for ndim, stride, padding, output_padding, dilation, groups in itertools.product(
            (1, 2, 3), (1, 2, 3), (0, 1, "valid", "same"), (None, 1), (1, 2), (1, 2)):
        if output_padding is not None and output_padding >= max(stride, dilation):
            continue
        item = {"type": f"conv_transpose{ndim}d", "out_channels": 6, "kernel_size": 3,
                "stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        if output_padding is not None:
            item["output_padding"] = output_padding
        yield item, SHAPES[ndim]
    for kernel, stride in itertools.product((1, 2, 4, 5), (1, 2, 3)):
        yield ({"type": "deconv", "out_channels": 3, "kernel_size": kernel, "stride": stride,
                "padding": "same"}, SHAPES[2])
        yield ({"type": "deconv", "out_channels": 3, "kernel_size": kernel, "stride": stride,
                "padding": "valid", "bias": False}, SHAPES[2])


def pool_cases():
    for mode, ndim, stride, padding, ceil, dilation in itertools.product(
            ("max", "avg", "lp"), (1, 2, 3), (None, 1, 2), (0, 1, "same", "asym"),
            (False, True), (1, 2)):
        if dilation != 1 and mode != "max":
            continue
        item = {"type": f"{mode}pool{ndim}d", "kernel_size": 3, "padding":
                [[1, 0]] * ndim if padding == "asym" else padding, "ceil_mode": ceil,
                "dilation": dilation}
        if stride is not None:
            item["stride"] = stride
        yield item, SHAPES[ndim]
    yield {"type": "maxpool", "kernel_size": 2, "stride": 2, "padding": "same"}, (5, 5, C)
    yield {"type": "avgpool", "kernel_size": [2, 3]}, SHAPES[2]
    yield {"type": "maxpool", "kernel_size": 2, "padding": 3, "stride": 1}, SHAPES[2]


def global_pool_cases():
    for mode, ndim, keep in itertools.product(("avg", "max"), (1, 2, 3), (False, True)):
        yield {"type": "global_pool", "mode": mode, "keepdims": keep}, SHAPES[ndim]


def adaptive_cases():
    for mode, ndim, size in itertools.product(("avg", "max"), (1, 2, 3), (1, 2, 3, 4)):
        yield {"type": f"adaptive_{mode}_pool{ndim}d", "output_size": size}, SHAPES[ndim]


def dense_cases():
    for shape, kind, bias in itertools.product(((10,), (7, 5), SHAPES[2], SHAPES[3]),
                                               ("dense", "fc"), (True, False)):
        yield {"type": kind, "units": 6, "bias": bias}, shape
    yield {"type": "linear", "units": 3, "activation": "softmax"}, (12,)


def norm_cases():
    for shape in ((6,), (7, 6), (5, 4, 6), (3, 4, 5, 6)):
        yield {"type": "batchnorm"}, shape
        yield {"type": "bn", "affine": False}, shape
        yield {"type": "bn", "track_running_stats": False}, shape
        yield {"type": "layernorm"}, shape
        yield {"type": "layernorm", "axes": "all", "bias": False}, shape
        yield {"type": "layernorm", "elementwise_affine": False}, shape
        yield {"type": "groupnorm", "groups": 3}, shape
        yield {"type": "groupnorm", "groups": 2, "affine": False}, shape


def recurrent_cases():
    for cell, seq, bi, merge, bias in itertools.product(
            ("rnn", "lstm", "gru"), (False, True), (False, True), ("concat", "sum", "mul", "ave"),
            (True, False)):
        if merge != "concat" and not bi:
            continue
        item = {"type": cell, "units": 5, "return_sequences": seq, "bidirectional": bi,
                "merge_mode": merge, "bias": bias}
        yield item, (7, 3)
    yield {"type": "rnn", "units": 4, "activation": "relu"}, (1, 6)
    yield {"type": "lstm", "units": 2, "return_sequences": True}, (9, 12)


SWEEPS = {
    "input": lambda: [({"type": "identity"}, SHAPES[2])],  # an input node feeds every other case
    "conv": conv_cases,
    "separable_conv": lambda: [
        ({"type": f"separable_conv{n}d", "filters": 6, "kernel_size": 3, "strides": s,
          "padding": p, "depth_multiplier": m, "use_bias": b, "dilation_rate": d}, SHAPES[n])
        for n, s, p, m, b, d in itertools.product((1, 2), (1, 2), ("valid", "same"), (1, 2),
                                                  (True, False), (1, 2))
        if not (s == 2 and d == 2)] + [
        ({"type": "separable_conv2d", "filters": 5, "kernel_size": 3, "activation": "relu"},
         SHAPES[2])],
    "conv_transpose": conv_transpose_cases,
    "pool": pool_cases,
    "global_pool": global_pool_cases,
    "adaptive_pool": adaptive_cases,
    "dense": dense_cases,
    "flatten": lambda: [({"type": "flatten"}, s) for s in SHAPES.values()],
    "reshape": lambda: [({"type": "reshape", "target_shape": t, "layout": lay}, s)
                        for t, s in (([-1], SHAPES[2]), ([10, 9, C], SHAPES[2]),
                                     ([4, -1], SHAPES[1]), ([5, 7, 24], SHAPES[3]))
                        for lay in ("channels_last", "channels_first")],
    "zero_padding": lambda: [({"type": "zero_padding", "padding": p, **extra}, SHAPES[n])
                             for n in (1, 2, 3)
                             for p, extra in ((1, {}), ([[0, 2]] * n, {}),
                                              (0, {"channels": [1, 3]}))],
    "upsample": lambda: [({"type": f"upsample{n}d", "scale_factor": f, "mode": m}, SHAPES[n])
                         for n in (1, 2, 3) for f in (1, 2, 3) for m in ("nearest", "linear")],
    "batchnorm": lambda: [c for c in norm_cases() if c[0]["type"] in ("batchnorm", "bn")],
    "layernorm": lambda: [c for c in norm_cases() if c[0]["type"] == "layernorm"],
    "groupnorm": lambda: [c for c in norm_cases() if c[0]["type"] == "groupnorm"],
    "lrn": lambda: [({"type": "lrn", "size": size}, SHAPES[n]) for n in (1, 2, 3)
                    for size in (1, 3, 5)],
    "dropout": lambda: [({"type": kind, "rate": 0.3}, s) for kind in ("dropout", "dropout2d")
                        for s in ((8,), SHAPES[2])],
    "activation": lambda: [({"type": "activation", "function": f}, s) for f in sorted(FUNCTIONS)
                           for s in ((8,), SHAPES[2])],
    "concat": lambda: [({"type": "concat", "axis": axis}, s1, s2) for axis, s1, s2 in (
        (-1, (5, 6, 3), (5, 6, 7)), (0, (2, 6, 3), (5, 6, 3)), (1, (5, 2, 3), (5, 6, 3)),
        (-1, (9, 4), (9, 2)), (-1, (4,), (6,)), (-1, (3, 4, 5, 2), (3, 4, 5, 6)))],
    "merge": lambda: [({"type": op}, s1, s2) for op in ("add", "subtract", "multiply", "average",
                                                        "maximum", "minimum")
                      for s1, s2 in (((5, 6, 3), (5, 6, 3)), ((5, 6, 3), (1, 1, 3)),
                                     ((5, 6, 3), (3,)), ((7, 4), (7, 4)))],
    "layer_scale": lambda: [({"type": "layer_scale", "init_values": 0.1}, s)
                            for s in ((6,), *SHAPES.values())] + [
        ({"type": "layerscale", "projection_dim": C}, SHAPES[2])],
    "rms_norm": lambda: [({"type": "rms_norm", "eps": eps, "elementwise_affine": affine}, s)
                         for s in ((6,), *SHAPES.values()) for eps, affine in (
                             (1e-6, True), (1e-5, False))],
    "position_embedding": lambda: [({"type": "position_embedding"}, SHAPES[n])
                                   for n in (1, 2, 3)] + [({"type": "pos_embed"}, (197, 12))],
    "class_token": lambda: [({"type": "class_token", "count": n}, s)
                            for n in (1, 2) for s in ((196, 12), (1, 5))],
    "rescaling": lambda: [({"type": "rescaling", "scale": 0.5, "offset": 3}, SHAPES[2])],
    "normalization": lambda: [({"type": "normalization"}, SHAPES[n]) for n in (1, 2, 3)] + [
        ({"type": "normalization", "mean": [0.5] * C, "variance": [0.25] * C}, SHAPES[2])],
    "slice": lambda: [({"type": "slice", "axis": a, "start": st, "stop": sp, "step": k},
                       SHAPES[n]) for n in (1, 2, 3) for a in (0, -1)
                      for st, sp, k in ((0, 2, 1), (1, None, 2))],
    "permute": lambda: [({"type": "permute", "dims": d}, s) for d, s in (
        ([2, 1, 3], SHAPES[2]), ([3, 1, 2], SHAPES[2]), ([2, 1], SHAPES[1]),
        ([1, 2, 3, 4], SHAPES[3]), ([4, 3, 2, 1], SHAPES[3]))],
    "embedding": lambda: [({"type": "embedding", "input_dim": v, "output_dim": d}, (t,))
                          for v, d, t in ((10, 4, 7), (100, 16, 1), (3, 1, 5))],
    "recurrent": recurrent_cases,
    "matmul": lambda: [({"type": "matmul"}, a, b) for a, b in (
        ((7, 5), (5, 6)), ((9, 4), (4, 9)), ((7, 5, 3), (5, 6, 3)), ((7, 5, 1), (5, 6, 3)),
        ((7, 5, 2), (5, 6, 1)))],
    "attention": lambda: [({"type": "attention", **extra}, q, k, v) for extra, q, k, v in (
        ({}, (7, 8), (6, 8), (6, 4)), ({"heads": 2}, (7, 8), (6, 8), (6, 4)),
        ({"heads": 4, "causal": True, "scale": 0.5}, (6, 8), (6, 8), (6, 8)),
        ({}, (7, 8, 3), (6, 8, 3), (6, 4, 3)), ({"causal": True}, (5, 4, 2), (5, 4, 2),
                                                 (5, 6, 2)))],
    "opaque": lambda: [({"type": "opaque", "op": "mystery", "shape": sh, "params": p,
                         "buffers": b}, SHAPES[2]) for sh, p, b in (([3, 4], 10, 0),
                                                                    ([2, 2, 5], 0, 7))],
}


def cases():
    for kind, make in SWEEPS.items():
        for i, (item, *shapes) in enumerate(make()):
            yield pytest.param(item, shapes, id=f"{kind}-{i}")


def test_every_kind_is_swept():
    assert {k.kind for k in LAYER_KINDS} == set(SWEEPS)


@pytest.mark.parametrize(("item", "shapes"), list(cases()))
def test_layer_against_torch(item, shapes):
    check_against_torch(item, *shapes)


@pytest.mark.parametrize(("n", "k", "s"), list(itertools.product(
    (5, 8, 9, 224, 227), (1, 2, 3, 4, 5, 7), (1, 2, 3, 4))))
def test_same_padding_is_tensorflows_rule(n, k, s):
    """TF/Keras 'same': out = ceil(n / s), total padding max((out-1)*s + k - n, 0) with the
    extra pixel at the bottom/right (tf.nn.convolution docs; seed 004)."""
    graph = convscope_one(f"{n}x{n}x1 | conv{k}-1 s={s} same")
    assert graph.shapes[graph.outputs[0]][:2] == (math.ceil(n / s),) * 2
    layer = graph.nodes[-1].layer
    total = max((math.ceil(n / s) - 1) * s + k - n, 0)
    assert layer.pads((n, n))[0] == (total // 2, total - total // 2)


def convscope_one(line):
    import convscope

    return convscope.load(line)
