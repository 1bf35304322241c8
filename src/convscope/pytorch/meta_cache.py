"""Faster meta kernels for the capture (capture.py): the same outputs, computed less often.

PyTorch's meta kernels (sizes, strides and dtypes of an operation's outputs, no data)
are mostly Python (``torch._refs``, decompositions): 0.1 to 1.2 ms a call in torch 2.14
(benchmarks/import_costs.py), most of the time of a forward on meta tensors. They are
pure functions of their arguments' metadata, so:

* convolution, batch and layer norm, matrix products, reductions and the pointwise
  operations have size rules (meta_rules.py): one real call per structure (the
  operation, its inputs' dtypes, size-1 axes and orders in memory) checks the rule and
  gives the outputs' dtypes and layout, kept for the process; every other size is then
  computed, whatever the model;
* other operations that neither alias nor mutate their inputs are kept per exact
  arguments' metadata for one capture (a model's repeated blocks);
* in-place activations return their input.
"""

from __future__ import annotations

from typing import Any

import torch

from .meta_rules import dense_order, rule_of, strides_in, structure

aten = torch.ops.aten

# in-place activations: on meta tensors they return their input, nothing else to do
IN_PLACE = {aten.relu_, aten.hardswish_, aten.hardsigmoid_, aten.silu_, aten.sigmoid_,
            aten.tanh_, aten.gelu_, aten.elu_, aten.leaky_relu_, aten.hardtanh_, aten.mish_,
            aten.relu6_ if hasattr(aten, "relu6_") else aten.relu_}

#: per structure (meta_rules.structure): (single output?, [(dtype, order in memory)]), or
#: None when the real kernel's outputs were not as the rule says. Kept for the process: a
#: structure's outputs do not depend on the model (one real call of each checks it).
SHAPED: dict[Any, Any] = {}


class MetaCache:
    """The outputs of one capture's operations (see the module docstring): by size rule,
    else from an earlier call with the same arguments' metadata, else the real kernel."""

    def __init__(self) -> None:
        self.known: dict[Any, tuple[bool, list[tuple[Any, ...]]]] = {}
        self.shaped = SHAPED

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
        rule = rule_of(func)
        if rule is not None:
            out = self.by_rule(func, rule, args, kwargs)
            if out is not None:
                return out
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

    def by_rule(self, func: Any, rule: Any, args: Any, kwargs: Any) -> Any:
        """The outputs of an operation with a size rule (meta_rules.py), made here when one
        real call of the same structure gave dense outputs of the rule's sizes (their dtypes
        and orders in memory kept); None when the rule does not apply."""
        key = structure(func, args, kwargs)
        sizes = None if key is None else rule(args, kwargs)
        if sizes is None or self.shaped.get(key, True) is None:
            return None
        found = self.shaped.get(key)
        if found is not None:
            made = [torch.empty_strided(size, strides_in(size, order), dtype=dtype,
                                        device="meta")
                    for size, (dtype, order) in zip(sizes, found[1], strict=True)]
            return made[0] if found[0] else tuple(made)
        out = func(*args, **kwargs)
        items = out if isinstance(out, tuple) else (out,)
        orders = [dense_order(t) if isinstance(t, torch.Tensor) and t.device.type == "meta"
                  else None for t in items]
        if len(items) == len(sizes) and None not in orders and all(
                tuple(t.shape) == s for t, s in zip(items, sizes, strict=True)):
            self.shaped[key] = (isinstance(out, torch.Tensor),
                                [(t.dtype, o) for t, o in zip(items, orders, strict=True)])
        else:
            self.shaped[key] = None  # not as the rule says: the real kernel each time
        return out


__all__ = ["MetaCache"]
