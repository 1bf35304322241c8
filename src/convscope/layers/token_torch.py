"""The PyTorch modules of ``class_token`` and ``position_embedding`` (imported only by
their ``to_torch``: the core never imports torch). They compute on convscope's built
tensors, channels first: a sequence is (N, C, L). Generated source copies the classes and
keeps their constructor arguments (``init_args``)."""

from __future__ import annotations

import torch
from torch import nn


class ClassToken(nn.Module):
    """``count`` learned tokens before the sequence (N, C, L) -> (N, C, count + L)."""

    def __init__(self, count: int, channels: int) -> None:
        super().__init__()
        self.count, self.channels = count, channels
        self.token = nn.Parameter(torch.zeros(1, channels, count))

    def init_args(self) -> dict[str, object]:
        return {"count": self.count, "channels": self.channels}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=2)


class PositionEmbedding(nn.Module):
    """x + a learned tensor of x's per-sample shape (channels first)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.embedding = nn.Parameter(torch.zeros(1, *self.shape))

    def init_args(self) -> dict[str, object]:
        return {"shape": self.shape}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.embedding
