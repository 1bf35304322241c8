"""Output sizes of the operations whose meta kernels are slowest, computed here (meta_cache.py).

PyTorch's meta kernels for pointwise operations, layer norm, matrix products and
reductions run as Python references (``torch._refs``, decompositions): 0.1 to 1.2 ms a
call in torch 2.14 (benchmarks/import_costs.py), while a model's blocks call them with new
sizes again and again (each stage has its own channels). Their outputs' sizes follow
rules that do not depend on the sizes' values, and their strides and dtypes, when every
input is laid out in dense order, depend only on the inputs' ranks, dtypes, size-1 axes
and orders in memory. So :class:`~convscope.pytorch.meta_cache.MetaCache` makes one real
call per :func:`structure` (the operation, its inputs' ranks, dtypes and size-1 axes, its other
arguments), checks there that the outputs are dense and of the sizes given here, keeps
their dtypes and orders in memory, and computes every later size with these functions.

Each function takes the operation's arguments and returns the outputs' sizes, or None
when it does not know the case (the real kernel then runs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from ..errors import LayerRuleError
from ..layers.merge import broadcast

aten = torch.ops.aten
Sizes = list[tuple[int, ...]]
SCALARS = (bool, int, float, complex)


def dense_order(t: torch.Tensor) -> tuple[int, ...] | None:
    """The order of ``t``'s axes in memory, outermost first (``(0, 1, 2, 3)`` contiguous,
    ``(0, 2, 3, 1)`` channels last), when ``t`` is laid out densely in that order from its
    storage's start; else None."""
    strides = t.stride()
    order = tuple(sorted(range(len(strides)), key=lambda i: (-strides[i], i)))
    if t.storage_offset() or strides_in(tuple(t.shape), order) != strides:
        return None
    return order


def strides_in(size: tuple[int, ...], order: tuple[int, ...]) -> tuple[int, ...]:
    """The strides of a dense tensor of ``size`` whose axes lie in memory in ``order``
    (size-1 axes as ``torch.empty`` lays them out)."""
    strides, step = [0] * len(size), 1
    for axis in reversed(order):
        strides[axis] = step
        step *= max(size[axis], 1)
    return tuple(strides)


def structure(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What the outputs' layout and dtypes depend on: per tensor its dtype, size-1 axes and
    axes' order in memory; per Python number its type (type promotion reads no more);
    other arguments as they are. None when an argument is anything else (a tensor not
    laid out densely, a SymInt): the rules do not apply."""
    parts = [func, *map(part, args), *(p for k, v in sorted(kwargs.items())
                                       for p in (k, part(v)))]
    if func in SIZES_AT and len(args) > SIZES_AT[func]:  # sizes the rule checks: not read
        parts[1 + SIZES_AT[func]] = len(args[SIZES_AT[func]])
    return None if any(p is NOT_READ for p in parts) else tuple(parts)


NOT_READ = object()  # an argument the rules do not read


def part(value: Any) -> Any:
    """One argument's share of :func:`structure` (NOT_READ when the rules do not apply)."""
    if isinstance(value, torch.Tensor):
        return tensor_part(value)
    if isinstance(value, SCALARS):
        return type(value)
    if isinstance(value, (list, tuple)):
        if all(type(v) is int for v in value):
            return tuple(value)
        parts = tuple(part(v) for v in value if isinstance(v, torch.Tensor))
        return parts if len(parts) == len(value) and all(
            p is not NOT_READ for p in parts) else NOT_READ
    if value is None or isinstance(value, (str, torch.dtype, torch.memory_format,
                                           torch.layout, torch.device)):
        return value
    return NOT_READ


#: a tensor's part per (size, strides, dtype): computed once each (bounded, see below)
TENSOR_PARTS: dict[Any, Any] = {}


def tensor_part(t: torch.Tensor) -> Any:
    """A meta tensor's dtype, size-1 axes and order in memory (NOT_READ unless it is laid out
    densely from its storage's start)."""
    if not t.is_meta or t.storage_offset():
        return NOT_READ
    key = (t.shape, t.stride(), t.dtype)
    found = TENSOR_PARTS.get(key)
    if found is None:
        if len(TENSOR_PARTS) > 100_000:
            TENSOR_PARTS.clear()
        order = dense_order(t)
        found = TENSOR_PARTS[key] = NOT_READ if order is None else (
            t.dtype, tuple(n == 1 for n in t.shape), order)
    return found


def pointwise(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sizes | None:
    """One output of the broadcast size of the tensors read (the merge kind's broadcasting;
    None when they do not broadcast: the kernel says why)."""
    sizes = tuple(tuple(v.shape) for v in (*args, *kwargs.values())
                  if isinstance(v, torch.Tensor))
    if not sizes:
        return None
    try:
        return [broadcast(sizes, "a pointwise operation")]
    except LayerRuleError:
        return None


def layer_norm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sizes | None:
    """``native_layer_norm(x, normalized_shape, ...)``: x's size, then the mean and the
    reciprocal deviation, of x's size with the normalised axes 1."""
    x, normalized = args[0], tuple(args[1])
    if not normalized or tuple(x.shape[x.dim() - len(normalized):]) != normalized:
        return None
    kept = tuple(x.shape[:x.dim() - len(normalized)])
    stats = kept + (1,) * len(normalized)
    return [tuple(x.shape), stats, stats]


def matrix_product(args: tuple[Any, ...], kwargs: dict[str, Any], first: int
                   ) -> Sizes | None:
    """``mm(a, b)``, ``addmm(bias, a, b)``, ``bmm(a, b)``: a's rows by b's columns (and the
    batch of a batched product)."""
    a, b = args[first], args[first + 1]
    if a.dim() != b.dim() or a.dim() not in (2, 3) or a.shape[-1] != b.shape[-2] or (
            a.dim() == 3 and a.shape[0] != b.shape[0]):
        return None
    return [(*a.shape[:-1], b.shape[-1])]


def reduction(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sizes | None:
    """``mean.dim`` / ``sum.dim_IntList`` / ``amax`` (x, dims, keepdim): x's size without
    the reduced axes, or with them 1 under keepdim."""
    x = args[0]
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keep = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    if not isinstance(dims, (list, tuple)) or not dims or x.dim() == 0:
        return None
    axes = {d % x.dim() for d in dims}
    return [tuple(1 if i in axes else n for i, n in enumerate(x.shape) if keep or i not in axes)]


def convolution(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sizes | None:
    """``convolution(x, w, bias, stride, padding, dilation, transposed, output_padding,
    groups)``: PyTorch's formulas per spatial axis, ``(i + 2p - d(k - 1) - 1) // s + 1``, or
    transposed ``(i - 1)s - 2p + d(k - 1) + output_padding + 1``."""
    if len(args) != 9 or kwargs:
        return None
    x, w, _, stride, padding, dilation, transposed, extra, groups = args
    axes = x.dim() - 2
    if not isinstance(w, torch.Tensor) or w.dim() != x.dim() or axes < 1 or not all(
            len(v) == axes for v in (stride, padding, dilation)):
        return None
    kernel, spatial = w.shape[2:], x.shape[2:]
    if transposed:
        if len(extra) != axes:
            return None
        out = [(i - 1) * s - 2 * p + d * (k - 1) + e + 1 for i, k, s, p, d, e in
               zip(spatial, kernel, stride, padding, dilation, extra, strict=True)]
        channels = w.shape[1] * groups
    else:
        out = [(i + 2 * p - d * (k - 1) - 1) // s + 1 for i, k, s, p, d in
               zip(spatial, kernel, stride, padding, dilation, strict=True)]
        channels = w.shape[0]
    return None if min(out) <= 0 else [(x.shape[0], channels, *out)]


def batch_norm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sizes | None:
    """``native_batch_norm`` and its ``_legit`` forms: x's size, then the saved mean and
    reciprocal deviation, one per channel."""
    x = args[0]
    return None if x.dim() < 2 else [tuple(x.shape), (x.shape[1],), (x.shape[1],)]


def concatenation(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Sizes | None:
    """``cat(tensors, dim)``: the tensors' common size, their sizes along ``dim`` added."""
    tensors, dim = args[0], (args[1] if len(args) > 1 else kwargs.get("dim", 0))
    if not tensors or kwargs.keys() - {"dim"} or any(t.dim() != tensors[0].dim() or
                                                     t.dim() == 0 for t in tensors):
        return None
    dim %= tensors[0].dim()
    size = list(tensors[0].shape)
    if any(t.shape[:dim] != tensors[0].shape[:dim] or t.shape[dim + 1:] !=
           tensors[0].shape[dim + 1:] for t in tensors):
        return None
    size[dim] = sum(t.shape[dim] for t in tensors)
    return [tuple(size)]


Rule = Callable[[tuple[Any, ...], dict[str, Any]], "Sizes | None"]
RULES: dict[Any, Rule] = {
    aten.convolution.default: convolution,
    aten.native_batch_norm.default: batch_norm,
    aten._native_batch_norm_legit.default: batch_norm,
    aten._native_batch_norm_legit.no_stats: batch_norm,
    aten._native_batch_norm_legit_no_training.default: batch_norm,
    aten.native_layer_norm.default: layer_norm,
    aten.mm.default: lambda a, k: matrix_product(a, k, 0),
    aten.bmm.default: lambda a, k: matrix_product(a, k, 0),
    aten.addmm.default: lambda a, k: matrix_product(a, k, 1),
    aten.cat.default: concatenation,
    aten.mean.dim: reduction,
    aten.sum.dim_IntList: reduction,
    aten.amax.default: reduction,
}


#: the argument of an operation that repeats sizes of its input (the rule checks them), so
#: only its length shapes the outputs' layout: layer norm's ``normalized_shape``
SIZES_AT = {aten.native_layer_norm.default: 1}


@functools.cache
def rule_of(func: Any) -> Rule | None:
    """The size rule of ``func`` (an OpOverload): its own, or pointwise for the operations
    PyTorch tags pointwise that neither mutate nor alias their inputs."""
    if func in RULES:
        return RULES[func]
    schema = func._schema
    if torch.Tag.pointwise in func.tags and not schema.is_mutable and all(
            r.alias_info is None for r in schema.returns) and len(schema.returns) == 1:
        return pointwise
    return None


__all__ = ["RULES", "dense_order", "rule_of", "strides_in", "structure"]
