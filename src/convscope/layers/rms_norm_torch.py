"""The PyTorch module of ``rms_norm`` (imported only by its ``to_torch``: the core never
imports torch). It computes as timm's rms_norm2d does, the operations the importer
recognises (pytorch/rms_norm_ops.py); generated source copies the class and keeps its
constructor arguments (``init_args``)."""

from __future__ import annotations

import torch
from torch import nn


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2 over dim 1) + eps) * weight, on channels-first (N, C, *spatial)."""

    def __init__(self, channels: int, eps: float = 1e-6, affine: bool = True) -> None:
        super().__init__()
        self.channels, self.eps, self.affine = channels, eps, affine
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None

    def init_args(self) -> dict[str, object]:
        return {"channels": self.channels, "eps": self.eps, "affine": self.affine}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)
        if self.weight is None:
            return x
        return x * self.weight.view(-1, *(1,) * (x.dim() - 2))
