"""The receptive-field window of an opaque group, when one can be read off its operations.

A group that no kind describes usually gets a global field (nothing is claimed). But many
are one convolution whose weight the model computes (NF-Nets' weight standardisation and
gain, timm's ``ScaledStdConv2d``), or whose weight is a buffer (``BlurPool2d``'s fixed
filter), with element-wise work around it and maybe a padding before it. Such a group
reads its input through exactly that convolution's window, so it gets that window:
kernel d x (k - 1) + 1, the stride, and the padding before (the convolution's own plus
any pad in front of it); a group of paddings and element-wise work only reads its input
position by position (kernel 1, shifted by the padding). Anything else in the group (a
reduction, a permute, a second window, a transposed convolution, a second input) leaves
it global.
"""

from __future__ import annotations

from typing import Any

import torch

aten = torch.ops.aten

# element-wise operations: each output value reads the same position of its inputs
POINTWISE = frozenset({
    aten.add, aten.add_, aten.sub, aten.sub_, aten.mul, aten.mul_, aten.div, aten.div_,
    aten.neg, aten.relu, aten.relu_, aten.gelu, aten.sigmoid, aten.sigmoid_, aten.silu,
    aten.silu_, aten.tanh, aten.hardswish, aten.hardswish_, aten.hardsigmoid, aten.clamp,
    aten.clamp_, aten.clamp_min, aten.exp, aten.pow, aten.sqrt, aten.rsqrt, aten.elu,
    aten.leaky_relu, aten.leaky_relu_, aten.mish, aten.softplus, aten.clone, aten.alias,
    aten.detach, aten._to_copy, aten.native_dropout, aten._native_batch_norm_legit_no_training,
    aten.where, aten.addcmul})
PADS = frozenset({aten.constant_pad_nd, aten.reflection_pad1d, aten.reflection_pad2d,
                  aten.reflection_pad3d, aten.replication_pad1d, aten.replication_pad2d,
                  aten.replication_pad3d})


def pad_before(op: Any, spatial: int) -> list[int] | None:
    """The padding a pad operation adds before each spatial axis (its list runs from the
    last axis: (left, right, top, bottom, ...)); None when it pads the channels or crops."""
    pads = [int(p) for p in op.args[1]]
    if len(pads) > 2 * spatial or min(pads) < 0:
        return None
    before = [0] * spatial
    for i in range(len(pads) // 2):
        before[spatial - 1 - i] = pads[2 * i]
    return before


def conv_window(op: Any, spatial: int) -> tuple[list[int], list[int], list[int]] | None:
    """(effective kernel, stride, padding before) of a forward convolution's window."""
    args = op.args
    if len(args) < 9 or args[6] or args[1].dim() != spatial + 2:
        return None
    stride, padding, dilation = ([int(v) for v in a] for a in (args[3], args[4], args[5]))
    kernel = [d * (int(k) - 1) + 1 for k, d in zip(args[1].shape[2:], dilation, strict=True)]
    return kernel, stride, padding


def group_window(members: list[Any], inputs: list[Any], tensor: Any) -> dict[str, Any] | None:
    """``{"rf_kernel", "rf_stride", "rf_padding"}`` for an opaque group (``members``: units
    of grouping.py, ``inputs``: its outside data sources, ``tensor``: source -> tensor), or
    None when its field is not one convolution's window (or none at all)."""
    if len(inputs) != 1 or tensor(inputs[0]).dim() < 3:
        return None
    spatial = tensor(inputs[0]).dim() - 2
    window, extra = None, [0] * spatial
    for u in sorted(members, key=lambda m: m.op.index):
        packet = u.op.func._overloadpacket
        if packet is aten.convolution and window is None:
            window = conv_window(u.op, spatial)
            if window is None:
                return None
        elif packet in PADS and window is None:
            before = pad_before(u.op, spatial)
            if before is None:
                return None
            extra = [a + b for a, b in zip(extra, before, strict=True)]
        elif packet not in POINTWISE:
            return None
    kernel, stride, padding = window or ([1] * spatial, [1] * spatial, [0] * spatial)
    return {"rf_kernel": kernel, "rf_stride": stride,
            "rf_padding": [p + e for p, e in zip(padding, extra, strict=True)]}
