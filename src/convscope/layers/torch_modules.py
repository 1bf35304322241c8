"""torch.nn.Module helpers for kinds that PyTorch has no single module for.

Imported only by ``to_torch`` builders, so the core never imports torch. Generated source
(pytorch/source.py) copies a helper class with ``inspect.getsource`` only when the network
uses it; a helper with a ``plain()`` method is written as that stock module instead.
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


# not movedim(-1, 1): torch.onnx would write the -1 into the Transpose's perm, which ONNX
# forbids (its shape inference then misreads the shape)
def to_first(x: torch.Tensor) -> torch.Tensor:
    return x.movedim(x.dim() - 1, 1) if x.dim() > 2 else x


class _OnnxPad(torch.autograd.Function):
    """F.pad that torch.onnx exports as one ONNX Pad node (the exporter otherwise writes
    a dozen shape-computing nodes around it). Used only while exporting."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, flat: tuple[int, ...], value: float) -> torch.Tensor:
        return F.pad(x, flat, value=value)

    @staticmethod
    def symbolic(g: Any, x: Any, flat: tuple[int, ...], value: float) -> Any:
        rank = x.type().dim()
        begins, ends = [0] * rank, [0] * rank
        for i in range(len(flat) // 2):  # F.pad lists the last axis first
            begins[rank - 1 - i], ends[rank - 1 - i] = flat[2 * i], flat[2 * i + 1]
        pads = g.op("Constant", value_t=torch.tensor(begins + ends, dtype=torch.int64))
        fill = g.op("Constant", value_t=torch.tensor(value, dtype=torch.float32))
        return g.op("Pad", x, pads, fill, mode_s="constant")


class Pad(nn.Module):
    """F.pad with a flat (last axis first) tuple; negative values crop."""

    def __init__(self, flat: tuple[int, ...], value: float = 0.0) -> None:
        super().__init__()
        self.flat = tuple(flat)
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return _OnnxPad.apply(x, self.flat, self.value)
        return F.pad(x, self.flat, value=self.value)

    def extra_repr(self) -> str:
        return f"flat={self.flat}, value={self.value}"

    def plain(self) -> nn.Module:
        """The same padding as a stock module, for generated source (which needs no ONNX
        export path): nn.ZeroPad2d((left, right, top, bottom)), nn.ConstantPad1d, ..."""
        n = len(self.flat) // 2
        if n not in (1, 2, 3):
            return self
        if self.value == 0:
            return getattr(nn, f"ZeroPad{n}d")(self.flat)
        return getattr(nn, f"ConstantPad{n}d")(self.flat, self.value)


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


class Merge(nn.Module):
    """Element-wise merge with NumPy broadcasting on the channels-last layout."""

    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op

    def combine(self, xs: list[torch.Tensor]) -> torch.Tensor:
        """The inputs folded left to right: ((a + b) + c) ..., averages divided last."""
        if self.op == "subtract":
            return xs[0] - xs[1]
        op = {"add": torch.add, "average": torch.add, "multiply": torch.mul,
              "maximum": torch.maximum, "minimum": torch.minimum}[self.op]
        out = xs[0]
        for x in xs[1:]:
            out = op(out, x)
        return out / len(xs) if self.op == "average" else out

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if all(x.shape == xs[0].shape for x in xs):
            return self.combine(list(xs))
        rank = max(x.dim() for x in xs)
        last = [to_last(x) for x in xs]  # align the non-batch axes on the right
        last = [x.reshape(x.shape[0], *([1] * (rank - x.dim())), *x.shape[1:]) for x in last]
        return to_first(self.combine(last))

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
        # the dtype of the data around it (a model cast with .double(): float64 zeros)
        dtype = next((x.dtype for x in xs if x.is_floating_point()),
                     self.weight.dtype if self.weight is not None else None)
        return torch.zeros(batch, *self.shape, device=device, dtype=dtype)


class Normalize(nn.Module):
    """(x - mean) / sqrt(variance) per channel of a channels-first tensor; Keras's
    Normalization with its statistics as buffers (mean, variance, count)."""

    def __init__(self, channels: int, spatial: int = 2, mean: Any = None,
                 variance: Any = None) -> None:
        super().__init__()
        self.channels, self.spatial = channels, spatial
        self.constants = (mean, variance) if mean is not None else None
        view = (1, channels, *([1] * spatial))
        self.register_buffer("mean", torch.zeros(view) if mean is None
                             else torch.tensor(mean, dtype=torch.float32).reshape(view))
        self.register_buffer("variance", torch.ones(view) if variance is None
                             else torch.tensor(variance, dtype=torch.float32).reshape(view))
        if mean is None:  # statistics learned by adapt(), with their sample count
            self.register_buffer("count", torch.zeros(()))

    def init_args(self) -> dict[str, object]:
        out: dict[str, object] = {"channels": self.channels, "spatial": self.spatial}
        if self.constants is not None:
            out["mean"], out["variance"] = self.constants
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, variance = self.get_buffer("mean"), self.get_buffer("variance")
        return (x - mean) / torch.sqrt(torch.clamp(variance, min=1e-7))


class _OnnxLRN(torch.autograd.Function):
    """Local response normalisation exported as ONNX's LRN node (same definition as
    PyTorch's: x / (k + alpha/size * sum of squares over size channels)^beta)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, size: int, alpha: float, beta: float,
                k: float) -> torch.Tensor:
        return F.local_response_norm(x, size, alpha, beta, k)

    @staticmethod
    def symbolic(g: Any, x: Any, size: int, alpha: float, beta: float, k: float) -> Any:
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


class LocalResponseNorm(nn.LocalResponseNorm):
    """nn.LocalResponseNorm that exports to ONNX as one LRN node."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return _OnnxLRN.apply(x, self.size, self.alpha, self.beta, self.k)
        return super().forward(x)

    def plain(self) -> nn.Module:
        """nn.LocalResponseNorm itself, for generated source (no ONNX export path)."""
        return nn.LocalResponseNorm(self.size, self.alpha, self.beta, self.k)
