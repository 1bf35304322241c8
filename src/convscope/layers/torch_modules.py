"""torch.nn.Module helpers for kinds that PyTorch has no single module for.

Imported only by ``to_torch`` builders, so the core never imports torch.
Tensors are channels-first (N, C, *spatial); convscope's shapes are channels
last, so modules whose meaning is defined on the channels-last layout move the
channel axis to the end, apply the rule, and move it back.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def to_last(x: torch.Tensor) -> torch.Tensor:
    return x.movedim(1, -1) if x.dim() > 2 else x


def to_first(x: torch.Tensor) -> torch.Tensor:
    return x.movedim(-1, 1) if x.dim() > 2 else x


class Pad(nn.Module):
    """F.pad with a flat (last axis first) tuple; negative values crop."""

    def __init__(self, flat: tuple[int, ...], value: float = 0.0) -> None:
        super().__init__()
        self.flat = tuple(flat)
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.flat, value=self.value)

    def extra_repr(self) -> str:
        return f"flat={self.flat}, value={self.value}"


class Reshape(nn.Module):
    """Reshape to ``target``, a channels-last shape. ``channels_last=True`` takes the values
    in channels-last order (Keras's Reshape), False in PyTorch's order (``x.view``)."""

    def __init__(self, target: tuple[int, ...], channels_last: bool = True) -> None:
        super().__init__()
        self.target = tuple(target)
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            return to_first(to_last(x).reshape(x.shape[0], *self.target))
        first = self.target if len(self.target) == 1 else (self.target[-1], *self.target[:-1])
        return x.reshape(x.shape[0], *first)


class Concat(nn.Module):
    """torch.cat along ``dim`` (a channels-first axis)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


_OPS: dict[str, Any] = {
    "add": lambda xs: _fold(torch.add, xs),
    "subtract": lambda xs: torch.sub(xs[0], xs[1]),
    "multiply": lambda xs: _fold(torch.mul, xs),
    "average": lambda xs: _fold(torch.add, xs) / len(xs),
    "maximum": lambda xs: _fold(torch.maximum, xs),
    "minimum": lambda xs: _fold(torch.minimum, xs),
}


def _fold(op: Any, xs: list[torch.Tensor]) -> torch.Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = op(out, x)
    return out


class Merge(nn.Module):
    """Element-wise merge with NumPy broadcasting on the channels-last layout."""

    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if all(x.shape == xs[0].shape for x in xs):
            return _OPS[self.op](list(xs))
        rank = max(x.dim() for x in xs)
        last = [to_last(x) for x in xs]  # align the non-batch axes on the right
        last = [x.reshape(x.shape[0], *([1] * (rank - x.dim())), *x.shape[1:]) for x in last]
        return to_first(_OPS[self.op](last))

    def extra_repr(self) -> str:
        return self.op


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis at each position (Keras LayerNormalization(axis=-1))."""

    def __init__(self, channels: int, eps: float = 1e-5, affine: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps, elementwise_affine=affine, bias=bias)

    def init_args(self) -> dict[str, object]:
        """The constructor arguments (for generated source code)."""
        return {"channels": self.norm.normalized_shape[0], "eps": self.norm.eps,
                "affine": self.norm.elementwise_affine, "bias": self.norm.bias is not None}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_first(self.norm(to_last(x)))


class Slice(nn.Module):
    """x[..., start:stop:step] along one dim."""

    def __init__(self, dim: int, start: int, stop: int, step: int = 1) -> None:
        super().__init__()
        self.dim, self.start, self.stop, self.step = dim, start, stop, step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = [slice(None)] * x.dim()
        index[self.dim] = slice(self.start, self.stop, self.step)
        return x[tuple(index)]


class Permute(nn.Module):
    """x.permute(*dims) (dims of the channels-first tensor, batch first)."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class Rescale(nn.Module):
    """x * scale + offset."""

    def __init__(self, scale: float = 1.0, offset: float = 0.0) -> None:
        super().__init__()
        self.scale, self.offset = scale, offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.offset


class StandIn(nn.Module):
    """Stands in for an operation convscope could not map: the measured output shape and
    parameter count, zeros as values."""

    def __init__(self, op: str, shape: tuple[int, ...], params: int = 0, buffers: int = 0):
        super().__init__()
        self.op, self.shape = op, tuple(shape)
        self.weight = nn.Parameter(torch.zeros(params)) if params else None
        self.register_buffer("state", torch.zeros(buffers) if buffers else None)

    def init_args(self) -> dict[str, object]:
        weight: Any = self.weight
        state: Any = self.state
        return {"op": self.op, "shape": self.shape,
                "params": weight.numel() if weight is not None else 0,
                "buffers": state.numel() if state is not None else 0}

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        batch = xs[0].shape[0] if xs else 1
        device = xs[0].device if xs else None
        return torch.zeros(batch, *self.shape, device=device)
