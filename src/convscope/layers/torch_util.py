"""Small helpers for the kinds' ``to_torch`` builders (torch imported lazily).

Tensors in PyTorch are channels-first: (N, C, *spatial). ``F.pad`` lists the
padding from the last axis backwards: (W_before, W_after, H_before, H_after).
"""

from __future__ import annotations

from typing import Any

from .base import Pairs


def nn() -> Any:
    import torch.nn

    return torch.nn


def pad_module(pads: Pairs, value: float = 0.0) -> Any:
    """Per-axis (before, after) padding of the trailing axes of a channels-first tensor
    (negative values crop)."""
    from .torch_modules import Pad

    flat: list[int] = []
    for before, after in reversed(pads):
        flat += [before, after]
    return Pad(tuple(flat), value)


def symmetric(pads: Pairs) -> tuple[int, ...] | None:
    """The per-axis padding when every axis pads equally on both sides, else None."""
    if all(before == after for before, after in pads):
        return tuple(before for before, _ in pads)
    return None


def sequential(*modules: Any) -> Any:
    mods = [m for m in modules if m is not None]
    return mods[0] if len(mods) == 1 else nn().Sequential(*mods)
