"""Faster meta kernels for the capture (capture.py): the same outputs, computed less often.

PyTorch's meta kernels (sizes, strides and dtypes of an operation's outputs, no data)
are mostly Python (``torch._refs``, decompositions); running a model's forward on meta
tensors spends most of its time in them. They are pure functions of their arguments'
metadata, so results are kept for one capture, and the hottest operations (in-place
activations, batch norm, convolution) get shape rules of their own, each checked
against one real meta call before it is trusted.
"""

from __future__ import annotations

from typing import Any

import torch

aten = torch.ops.aten

# in-place activations: on meta tensors they return their input, nothing else to do
IN_PLACE = {aten.relu_, aten.hardswish_, aten.hardsigmoid_, aten.silu_, aten.sigmoid_,
            aten.tanh_, aten.gelu_, aten.elu_, aten.leaky_relu_, aten.hardtanh_, aten.mish_,
            aten.relu6_ if hasattr(aten, "relu6_") else aten.relu_}
BATCH_NORMS = {aten.native_batch_norm, aten._native_batch_norm_legit_no_training,
               aten._native_batch_norm_legit}


class MetaCache:
    """Meta kernels are pure functions of their arguments' metadata, and many run in
    Python (batch and layer norm through their decompositions, elementwise ops through
    ``torch._refs``): a model's repeated blocks call them again and again with the same
    sizes. For operations that neither alias nor mutate their inputs, the outputs'
    sizes, strides and dtypes are kept per (operation, arguments' metadata) for one
    capture, and fresh meta tensors made from them the next time."""

    def __init__(self) -> None:
        self.known: dict[Any, tuple[bool, list[tuple[Any, ...]]]] = {}

    @staticmethod
    def key(func: Any, args: Any, kwargs: Any) -> Any:
        parts: list[Any] = [func]
        stack = [args, tuple(sorted(kwargs.items()))] if kwargs else [args]
        while stack:
            value = stack.pop()
            if isinstance(value, torch.Tensor):
                if value.device.type != "meta":
                    return None
                parts.append((value.shape, value.stride(), value.dtype,
                              value.storage_offset()))
            elif isinstance(value, (list, tuple)):
                parts.append(len(value))
                stack.extend(value)
            elif value is None or isinstance(value, (bool, int, float, str, torch.dtype,
                                                     torch.memory_format, torch.layout,
                                                     torch.device)):
                parts.append(value)
            else:
                return None  # SymInt, generator ...
        return tuple(parts)

    def run(self, func: Any, args: Any, kwargs: Any) -> Any:
        packet = func._overloadpacket
        if packet in IN_PLACE and not kwargs and len(args) == 1:
            return args[0]  # an in-place activation returns its (meta) input
        if packet in BATCH_NORMS:
            return self.batch_norm(func, args, kwargs)
        if packet is aten.convolution and len(args) == 9 and not kwargs:
            return self.convolution(func, args)
        schema = func._schema
        if schema.is_mutable or any(r.alias_info is not None for r in schema.returns):
            return func(*args, **kwargs)
        key = self.key(func, args, kwargs)
        if key is None:
            return func(*args, **kwargs)
        found = self.known.get(key)
        if found is not None:
            single, metas = found
            made = [torch.empty_strided(size, stride, dtype=dtype, device="meta")
                    for size, stride, dtype in metas]
            return made[0] if single else tuple(made)
        out = func(*args, **kwargs)
        items = out if isinstance(out, (tuple, list)) else (out,)
        if isinstance(out, (tuple, torch.Tensor)) and all(
                isinstance(t, torch.Tensor) and t.device.type == "meta" and t.storage_offset() == 0
                for t in items):
            self.known[key] = (isinstance(out, torch.Tensor),
                               [(t.shape, t.stride(), t.dtype) for t in items])
        return out


    def batch_norm(self, func: Any, args: Any, kwargs: Any) -> Any:
        """Batch norm's meta kernel is its whole Python decomposition: its output is laid
        out as its input and its saved statistics depend on the channels only, so one real
        call per (layout, dtype, arguments) gives them for every size (checked on that call)."""
        x = args[0]
        dense = x.is_contiguous() or (x.dim() == 4 and
                                      x.is_contiguous(memory_format=torch.channels_last))
        tensors = args[1:5]
        if not dense or x.dim() < 2 or kwargs or len(tensors) != 4 or not all(
                t is None or (isinstance(t, torch.Tensor) and t.device.type == "meta" and
                              tuple(t.shape) == (x.shape[1],)) for t in tensors):
            return func(*args, **kwargs)
        rest = (func, tuple(None if t is None else t.dtype for t in tensors),
                tuple(args[5:]))
        channels = x.shape[1]
        key = ("batch_norm", x.dim(), x.dtype, x.is_contiguous(), rest)
        found = self.known.get(key)
        if found is not None:  # x is dense: its own strides are its layout's
            return (torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta"),
                    *(torch.empty((channels,), dtype=dtype, device="meta")
                      for _, _, dtype in found[1]))
        out = func(*args, **kwargs)
        if isinstance(out, tuple) and (out[0].shape, out[0].stride(), out[0].dtype) == (
                x.shape, x.stride(), x.dtype) and all(
                t.device.type == "meta" and t.storage_offset() == 0 for t in out) and all(
                tuple(t.shape) == (channels,) for t in out[1:]):
            self.known[key] = (False, [(t.shape, t.stride(), t.dtype) for t in out[1:]])
        return out


    def convolution(self, func: Any, args: Any) -> Any:
        """A contiguous convolution's output is contiguous, of the size of the usual
        formula: one real call per (weight, arguments, dtype) checks it, then every input
        size is computed here (the meta kernel is Python too)."""
        x, w, _, stride, padding, dilation, transposed, _, _ = args
        if transposed or not x.is_contiguous() or not isinstance(w, torch.Tensor):
            return func(*args)
        rest = self.key(func, args[1:], {})
        if rest is None:
            return func(*args)
        key = ("convolution", x.dim(), x.dtype, rest)
        size = [x.shape[0], w.shape[0]] + [
            (i + 2 * p - d * (k - 1) - 1) // s + 1 for i, k, s, p, d in
            zip(x.shape[2:], w.shape[2:], stride, padding, dilation, strict=False)]
        if key in self.known and all(n > 0 for n in size):
            return torch.empty(size, dtype=self.known[key][1][0][2], device="meta")
        out = func(*args)
        if list(out.shape) == size and out.is_contiguous() and out.device.type == "meta" \
                and len(stride) == len(padding) == len(dilation) == x.dim() - 2:
            self.known[key] = (True, [(out.shape, out.stride(), out.dtype)])
        return out


__all__ = ["MetaCache"]
