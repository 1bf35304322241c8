"""The ATen operations that read each position of their inputs at the same position: the
element-wise ones, and the paddings (a shift), for window.py and axis_flow.py."""

from __future__ import annotations

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
