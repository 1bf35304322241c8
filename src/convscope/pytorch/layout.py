"""PyTorch's tensor layout and convscope's: (N, C, *S) against the per-sample, channels-last
(*S, C)."""

from __future__ import annotations

import torch


def our_shape(t: torch.Tensor) -> tuple[int, ...]:
    """(N, C, *S) -> (*S, C); (N, K) -> (K,)."""
    s = tuple(int(n) for n in t.shape[1:])
    return s if len(s) <= 1 else (*s[1:], s[0])


def torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])
