"""PyTorch's tensor layout and convscope's: (N, C, *S) against the per-sample, channels-last
(*S, C)."""

from __future__ import annotations

import torch


def our_shape(t: torch.Tensor, layout: str = "first") -> tuple[int, ...]:
    """(N, C, *S) -> (*S, C); a channels-last tensor (N, *S, C) -> (*S, C); (N, K) -> (K,)."""
    s = tuple(int(n) for n in t.shape[1:])
    return s if len(s) <= 1 or layout == "last" else (*s[1:], s[0])


def flipped(order: list[int], rank: int, layout: str) -> str | None:
    """The layout a permute by ``order`` of a ``layout`` map (4 dims or more) gives when it
    only moves the channels: (0, 2, 3, 1) makes (N, C, H, W) channels last, (0, 3, 1, 2)
    makes it channels first again; None for any other permute. (Sequences, 3 dims, are
    never read that way: swapping their two axes is as likely a real permute.)"""
    if rank < 4:
        return None
    if layout == "first" and order == [0, *range(2, rank), 1]:
        return "last"
    if layout == "last" and order == [0, rank - 1, *range(1, rank - 1)]:
        return "first"
    return None


def layout_of(layouts: list[str], ranks: list[int]) -> str:
    """The layout an operation sees: its data inputs' (vectors have none), or "mixed"."""
    seen = {lay for lay, rank in zip(layouts, ranks, strict=True) if rank > 2}
    return seen.pop() if len(seen) == 1 else "first" if not seen else "mixed"


def torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])
