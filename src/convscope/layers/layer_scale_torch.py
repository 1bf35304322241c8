"""The PyTorch module of ``layer_scale`` (imported only by its ``to_torch``: the core never
imports torch). Generated source (pytorch/source.py) copies the class as it copies
torch_modules' helpers: it keeps its constructor arguments (``init_args``)."""

from __future__ import annotations

import torch
from torch import nn


class LayerScale(nn.Module):
    """x * gamma, one learned factor per channel, on channels-first (N, C, *spatial)."""

    def __init__(self, channels: int, spatial: int = 2, init_values: float = 1e-6) -> None:
        super().__init__()
        self.channels, self.spatial, self.init_values = channels, spatial, init_values
        self.gamma = nn.Parameter(torch.full((channels,), float(init_values)))

    def init_args(self) -> dict[str, object]:
        return {"channels": self.channels, "spatial": self.spatial,
                "init_values": self.init_values}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(-1, *(1,) * self.spatial)
