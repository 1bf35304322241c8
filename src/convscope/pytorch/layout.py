"""PyTorch's tensor layout and convscope's: (N, C, *S) against the per-sample, channels-last
(*S, C)."""

from __future__ import annotations

import torch


def our_shape(t: torch.Tensor, layout: str = "first") -> tuple[int, ...]:
    """(N, C, *S) -> (*S, C); a channels-last tensor (N, *S, C) -> (*S, C); (N, K) -> (K,)."""
    s = tuple(int(n) for n in t.shape[1:])
    return s if len(s) <= 1 or layout == "last" else (*s[1:], s[0])


# Layouts of a tensor (grouping.py keeps one per tensor): channels first, as PyTorch's
# convolutions want ("first"; "sure": a sequence known to be channels first, a convolution's
# output or a map flattened to (N, C, L); "heads": scaled dot-product attention's (N, H, L,
# E)) or channels last ("last": (N, *S, C), ConvNeXt's and Swin's maps, a ViT's tokens).
FIRSTS = ("first", "sure", "heads")


def flipped(order: list[int], rank: int, layout: str) -> str | None:
    """The layout a permute by ``order`` of a ``layout`` tensor gives when it only moves the
    channels: (0, 2, 3, 1) makes a map (N, C, H, W) channels last, (0, 3, 1, 2) channels
    first again (5 dims alike); (0, 2, 1) swaps a sequence between (N, C, L) and (N, L, C),
    but only when its layout is known ("sure", or "last"): in general swapping a sequence's
    two axes is as likely a real permute. None for any other permute."""
    if rank == 3 and order == [0, 2, 1]:
        return {"sure": "last", "last": "sure"}.get(layout)
    if rank < 4:
        return None
    if layout in FIRSTS and order == [0, *range(2, rank), 1]:
        return "last"
    if layout == "last" and order == [0, rank - 1, *range(1, rank - 1)]:
        return "first"
    return None


def layout_of(layouts: list[str], ranks: list[int]) -> str:
    """The layout an operation sees: its data inputs' (vectors have none), "first" when
    they are channels first in different ways, or "mixed"."""
    seen = {lay for lay, rank in zip(layouts, ranks, strict=True) if rank > 2}
    if len(seen) == 1:
        return seen.pop()
    return "mixed" if "last" in seen else "first"


def torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])


def sizes_of(t: torch.Tensor, last: bool) -> tuple[int, ...]:
    """The spatial sizes of a batched map (N, C, ...) or, channels last, (N, ..., C)."""
    return tuple(t.shape[1:-1] if last else t.shape[2:])
