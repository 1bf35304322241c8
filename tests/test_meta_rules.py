"""The capture's faster meta kernels (pytorch/meta_cache.py, meta_rules.py) give exactly
what PyTorch's own meta kernels give: sizes, strides and dtypes of every output, on the
call that checks a structure's rule and on later calls of the same structure with other
sizes (the ones computed without the kernel)."""

from __future__ import annotations

import pytest
import torch

from convscope.pytorch.meta_cache import MetaCache
from convscope.pytorch.meta_rules import RULES, dense_order, pointwise, structure

aten = torch.ops.aten


def meta(*size: int, dtype=torch.float32, last: bool = False):
    t = torch.empty(size, dtype=dtype, device="meta")
    return t.to(memory_format=torch.channels_last) if last else t


def layout(out):
    items = out if isinstance(out, tuple) else (out,)
    return [(tuple(t.shape), t.stride(), t.dtype) for t in items]


def conv(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), transposed=False,
         extra=(0, 0), groups=1):
    return (x, w, None, list(stride), list(padding), list(dilation), transposed, list(extra),
            groups)


# (operation, [arguments of calls of one structure with different sizes], kwargs)
CASES = [
    (aten.convolution.default, [conv(meta(1, 3, 32, 32), meta(8, 3, 3, 3)),
                                conv(meta(1, 3, 57, 41), meta(16, 3, 5, 5))], {}),
    (aten.convolution.default, [conv(meta(2, 8, 20, 20), meta(8, 1, 3, 3), (2, 2), (1, 1),
                                     groups=8),
                                conv(meta(2, 24, 15, 9), meta(24, 1, 3, 3), (2, 2), (1, 1),
                                     groups=24)], {}),
    (aten.convolution.default, [conv(meta(2, 8, 20, 20, last=True), meta(4, 8, 1, 1)),
                                conv(meta(2, 16, 7, 9, last=True), meta(12, 16, 1, 1))], {}),
    (aten.convolution.default, [conv(meta(1, 8, 10, 10), meta(8, 4, 4, 4), (2, 2), (1, 1),
                                     transposed=True, extra=(1, 1)),
                                conv(meta(1, 6, 7, 5), meta(6, 3, 4, 4), (2, 2), (1, 1),
                                     transposed=True, extra=(1, 1))], {}),
    (aten.convolution.default, [(meta(2, 4, 30), meta(6, 4, 3), None, [2], [1], [2], False,
                                 [0], 1),
                                (meta(2, 4, 17), meta(5, 4, 3), None, [2], [1], [2], False,
                                 [0], 1)], {}),
    (aten.native_batch_norm.default, [(meta(2, 8, 5, 5), meta(8), meta(8), meta(8),
                                       meta(8), False, 0.1, 1e-5),
                                      (meta(2, 16, 3, 9), meta(16), meta(16), meta(16),
                                       meta(16), False, 0.1, 1e-5)], {}),
    (aten._native_batch_norm_legit_no_training.default,
     [(meta(2, 8, 5, 5, last=True), meta(8), meta(8), meta(8), meta(8), 0.1, 1e-5),
      (meta(2, 4, 6, 3, last=True), meta(4), meta(4), meta(4), meta(4), 0.1, 1e-5)], {}),
    (aten._native_batch_norm_legit.default,
     [(meta(2, 8, 5, 5), meta(8), meta(8), meta(8), meta(8), True, 0.1, 1e-5),
      (meta(2, 4, 6, 3), meta(4), meta(4), meta(4), meta(4), True, 0.1, 1e-5)], {}),
    (aten._native_batch_norm_legit.no_stats,
     [(meta(2, 8, 5, 5), meta(8), meta(8), True, 0.1, 1e-5),
      (meta(2, 4, 6, 3), meta(4), meta(4), True, 0.1, 1e-5)], {}),
    (aten.native_layer_norm.default, [(meta(2, 49, 96), [96], meta(96), meta(96), 1e-6),
                                      (meta(2, 196, 192), [192], meta(192), meta(192), 1e-6)],
     {}),
    (aten.addmm.default, [(meta(10), meta(4, 20), meta(10, 20).t()),
                          (meta(7), meta(3, 5), meta(7, 5).t())], {}),
    (aten.mm.default, [(meta(4, 20), meta(20, 10)), (meta(9, 2), meta(2, 3))], {}),
    (aten.bmm.default, [(meta(6, 4, 8), meta(6, 8, 5).transpose(1, 2).contiguous()
                         .transpose(1, 2)),
                        (meta(3, 7, 2), meta(3, 9, 2).transpose(1, 2))], {}),
    (aten.mean.dim, [(meta(2, 8, 7, 7), [2, 3], True), (meta(2, 5, 3, 9), [2, 3], True)], {}),
    (aten.mean.dim, [(meta(2, 7, 7, 8), [1, 2]), (meta(2, 3, 4, 6), [1, 2])], {}),
    (aten.sum.dim_IntList, [(meta(2, 8, 7), [-1], False), (meta(2, 3, 5), [-1], False)], {}),
    (aten.amax.default, [(meta(2, 8, 7), [1], True), (meta(2, 3, 5), [1], True)], {}),
    (aten.cat.default, [([meta(2, 8, 5, 5), meta(2, 4, 5, 5)], 1),
                        ([meta(2, 3, 7, 2), meta(2, 9, 7, 2)], 1)], {}),
    (aten.cat.default, [([meta(2, 8, 5, 5, last=True), meta(2, 4, 5, 5, last=True)], 1),
                        ([meta(2, 3, 7, 2, last=True), meta(2, 9, 7, 2, last=True)], 1)], {}),
    (aten.cat.default, [([meta(2, 49, 96), meta(2, 1, 96)], -2),
                        ([meta(2, 9, 16), meta(2, 1, 16)], -2)], {}),
    (aten.add.Tensor, [(meta(2, 8, 5, 5), meta(2, 8, 5, 5)), (meta(2, 3, 4, 4),
                                                             meta(2, 3, 4, 4))], {}),
    (aten.mul.Tensor, [(meta(2, 8, 5, 5), meta(2, 8, 1, 1)), (meta(2, 3, 6, 2),
                                                             meta(2, 3, 1, 1))], {}),
    (aten.mul.Tensor, [(meta(2, 8, 5, 5, last=True), meta(2, 8, 5, 5, last=True)),
                       (meta(2, 3, 6, 2, last=True), meta(2, 3, 6, 2, last=True))], {}),
    (aten.add.Tensor, [(meta(2, 49, 96), meta(96)), (meta(2, 9, 16), meta(16))], {}),
    (aten.mul.Scalar, [(meta(2, 3, 4), 0.5), (meta(2, 5, 6), 2.0)], {}),
    (aten.add.Tensor, [(meta(2, 3, dtype=torch.int64), meta(2, 3)),
                       (meta(4, 5, dtype=torch.int64), meta(4, 5))], {}),
    (aten.div.Tensor, [(meta(2, 3, dtype=torch.int64), 2), (meta(5, 4, dtype=torch.int64),
                                                            3)], {}),
    (aten.eq.Tensor, [(meta(2, 3), meta(2, 3)), (meta(4, 7), meta(4, 7))], {}),
    (aten.where.self, [(meta(2, 3, dtype=torch.bool), meta(2, 3), meta(1, 3)),
                       (meta(5, 4, dtype=torch.bool), meta(5, 4), meta(1, 4))], {}),
    (aten.hardsigmoid.default, [(meta(2, 72, 1, 1),), (meta(2, 120, 1, 1),)], {}),
    (aten.gelu.default, [(meta(2, 49, 96),), (meta(2, 196, 384),)], {"approximate": "tanh"}),
    (aten.clone.default, [(meta(2, 8, 5, 5, last=True),), (meta(2, 4, 3, 3, last=True),)],
     {"memory_format": torch.contiguous_format}),
    (aten.sigmoid.default, [(meta(2, 8, 5, 5, dtype=torch.float16),),
                            (meta(2, 3, 2, 7, dtype=torch.float16),)], {}),
]


@pytest.mark.parametrize("func, calls, kwargs", CASES, ids=[str(c[0]) for c in CASES])
def test_rule_outputs_are_the_kernels(func, calls, kwargs):
    cache = MetaCache()
    keys = {structure(func, args, kwargs) for args in calls}
    assert len(keys) == 1 and None not in keys  # one structure: later calls are computed
    for args in calls:
        assert layout(cache.run(func, args, kwargs)) == layout(func(*args, **kwargs))
    assert cache.shaped[keys.pop()] is not None  # the rule held on the checked call


def test_every_rule_is_exercised():
    assert set(RULES) <= {c[0] for c in CASES}


def test_errors_come_from_the_kernel():
    """Sizes that do not fit, in a structure whose rule holds, are the real kernel's to
    refuse, with its own message."""
    cases = [(aten.add.Tensor, (meta(2, 3), meta(2, 3)), (meta(2, 3), meta(4, 3))),
             (aten.mm.default, (meta(2, 3), meta(3, 5)), (meta(2, 3), meta(4, 5))),
             (aten.convolution.default, conv(meta(1, 3, 8, 8), meta(8, 3, 5, 5)),
              conv(meta(1, 3, 2, 2), meta(8, 3, 5, 5))),
             (aten.cat.default, ([meta(2, 3, 4), meta(2, 5, 4)], 1),
              ([meta(2, 3, 4), meta(2, 5, 6)], 1)),
             (aten.native_layer_norm.default, (meta(2, 4, 8), [8], None, None, 1e-5),
              (meta(2, 4, 8), [6], None, None, 1e-5))]
    for func, good, bad in cases:
        cache = MetaCache()
        cache.run(func, good, {})
        with pytest.raises(RuntimeError) as theirs:
            func(*bad)
        with pytest.raises(RuntimeError) as ours:
            cache.run(func, bad, {})
        assert str(ours.value) == str(theirs.value)


def test_no_rule_for_what_it_does_not_read():
    assert structure(aten.add.Tensor, (meta(4, 6)[:, ::2], meta(4, 3)), {}) is None
    assert structure(aten.add.Tensor, (meta(4, 6)[1:], meta(3, 6)), {}) is None
    assert dense_order(meta(2, 3, 4, 5, last=True)) == (0, 2, 3, 1)
    assert pointwise((meta(2, 1, 5), meta(3, 1)), {}) == [(2, 3, 5)]
    assert pointwise((meta(2, 3), meta(4, 3)), {}) is None
