"""RMS norms in a capture: the operations of the formula, marked as one call read whole.

PyTorch has no ATen operator that reaches a dispatch mode for an RMS norm:
``F.rms_norm`` (nn.RMSNorm) runs as its formula, and timm's RmsNorm / RmsNorm2d write it
out. On the captured operations it reads (layers/rms_norm.py)::

    [x = _to_copy(x0)]                        nn.RMSNorm's cast to float32 (same dtype)
    r = rsqrt(mean(pow(x, 2), [channels], keepdim=True) + eps)
    y = x * r                                 (either order)
    [y = y * weight]                          one learned gain per channel

where each intermediate feeds only the next step, and every operation comes from the same
module call. Each match becomes a call of its own (``captured.Call`` with the rms_norm
item, as composite.py marks a scaled dot-product attention), named by the module's path
when the module computes nothing else (``path.rms_norm`` otherwise), so the grouping joins its
operations and composite.read_whole writes them as one layer when the kind's rules give
the shapes, parameters and MACs PyTorch measured (else they stay what they were).
"""

from __future__ import annotations

import struct
from collections import Counter
from typing import Any

import torch

from .aten_map import ALIAS
from .captured import Call

aten = torch.ops.aten
ADDS = (aten.add, aten.add_)


def mark_rms_norms(units: Any) -> None:
    """Find every RMS norm among ``units`` (grouping.Units, linked) and give its operations
    a call of their own."""
    cap, issued = units.cap, Counter(u.op.call for u in units.units if u.item != ALIAS)
    for u in list(units.units):
        found = match(units, u) if u.op.func._overloadpacket is aten.rsqrt else None
        if found is None:
            continue
        members, x0, item = found
        call = members[0].op.call
        path = cap.calls[call].path if call >= 0 else ""
        if not path or issued[call] != len(members):  # the module does more than the norm
            path = ".".join(p for p in (path, "rms_norm") if p)
        cap.calls.append(Call(path, "rms_norm", call, (item, [x0]),
                              units.layouts.get(x0, "first")))
        for m in members:
            m.op.call = len(cap.calls) - 1


def producer(units: Any, src: Any) -> Any:
    return units.units[units.of[src]] if src[0] >= 0 else None


def only_input(u: Any) -> Any:
    """The one data source a unit reads, else None."""
    sources = list(u.op.sources.values())
    return sources[0] if len(sources) == 1 else None


def number(value: Any) -> bool:
    """A Python number (not a bool, not a tensor)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def consumers(units: Any, u: Any) -> list[Any]:
    return [units.units[i] for i in sorted(u.succs)]


def match(units: Any, rsqrt: Any) -> tuple[list[Any], Any, dict[str, Any]] | None:
    """(the units of the norm, its input's source, its item) around ``rsqrt``, or None."""
    chain = [rsqrt]
    for packets in (ADDS, (aten.mean,), (aten.pow,)):  # back from rsqrt to the square
        src = only_input(chain[-1])
        step = None if src is None else producer(units, src)
        if step is None or step.op.func._overloadpacket not in packets or \
                consumers(units, step) != [chain[-1]]:
            return None
        chain.append(step)
    add, mean, square = chain[1], chain[2], chain[3]
    x = only_input(square)
    eps = add.op.args[1] if len(add.op.args) > 1 else None
    if x is None or not number(square.op.args[1]) or square.op.args[1] != 2 or \
            not number(eps) or add.op.kwargs.get("alpha", 1) != 1:
        return None  # (a tensor exponent or eps: no values on meta tensors to compare)
    tensor = square.op.args[0]
    last = units.layouts.get(x, "first") == "last"
    channel = tensor.dim() - 1 if last else 1
    dims = mean.op.args[1] if len(mean.op.args) > 1 else None
    keep = mean.op.args[2] if len(mean.op.args) > 2 else mean.op.kwargs.get("keepdim")
    if tensor.dim() < 2 or not keep or [d % tensor.dim() for d in dims or []] != [channel]:
        return None
    after = consumers(units, rsqrt)
    product = after[0] if len(after) == 1 else None
    if product is None or product.op.func._overloadpacket is not aten.mul or \
            set(product.op.sources.values()) != {x, (rsqrt.op.index, 0)}:
        return None
    members = [square, mean, add, rsqrt, product]
    copy = producer(units, x)
    if copy is not None and copy.op.func._overloadpacket is aten._to_copy and \
            only_input(copy) is not None and set(consumers(units, copy)) == {square, product} \
            and copy.op.outputs[0].dtype == copy.op.args[0].dtype:
        members.insert(0, copy)
        x = only_input(copy)
    gain = consumers(units, product)
    affine = len(gain) == 1 and gain[0].op.func._overloadpacket is aten.mul and \
        len(gain[0].op.sources) == 1 and bool(gain[0].op.reads)
    if affine:
        members.append(gain[0])
    if len({m.op.call for m in members}) != 1:
        return None
    return members, x, {"type": "rms_norm", "eps": shortest(float(eps)),
                        "elementwise_affine": affine}


def shortest(eps: float) -> float:
    """``eps`` as written, when PyTorch passed it rounded to float32 (F.rms_norm's
    9.9999997e-06 for 1e-05): the shortest decimal that rounds to the same float32."""
    try:
        if struct.unpack("f", struct.pack("f", eps))[0] != eps:
            return eps
    except OverflowError:  # beyond float32's range: as it is
        return eps
    for digits in range(1, 10):
        text = float(f"{eps:.{digits}g}")
        if struct.unpack("f", struct.pack("f", text))[0] == eps:
            return text
    return eps


__all__ = ["mark_rms_norms"]
