"""The PyTorch modules of ``matmul`` and ``attention`` (imported only by their ``to_torch``:
the core never imports torch). Generated source (pytorch/source.py) copies these classes as
it copies torch_modules' helpers: they keep their constructor arguments (``init_args``).

Both work on channels-first tensors, as every module convscope builds: a per-sample
``L x C`` sequence is PyTorch's (N, C, L), a per-sample ``L x E x H`` (heads last) is
(N, H, L, E)."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's own spelling
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel


class MatMul(nn.Module):
    """a @ b over convscope's first two axes. (L, C) sequences are (N, C, L) here, the
    transposed matrices, and (a b)^T = b^T a^T: the product is ``b @ a``; with heads
    ((N, H, m, k)) it is ``a @ b``."""

    def __init__(self, rank: int = 2) -> None:
        super().__init__()
        self.rank = rank

    def init_args(self) -> dict[str, object]:
        return {"rank": self.rank}

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(b, a) if self.rank == 2 else torch.matmul(a, b)


class Attention(nn.Module):
    """Scaled dot-product attention, softmax(q k^T * scale) v: PyTorch's own
    ``F.scaled_dot_product_attention`` on its math backend (what every device can run, so
    the tensors kept for the backward pass and FlopCounterMode's count never depend on the
    kernel chosen). Sequences (N, E, L) are split into ``heads``; with heads already apart,
    (N, H, L, E), ``split`` is False."""

    def __init__(self, heads: int = 1, scale: float = 1.0, causal: bool = False,
                 split: bool = True) -> None:
        super().__init__()
        self.heads, self.scale, self.causal, self.split = heads, scale, causal, split

    def init_args(self) -> dict[str, object]:
        return {"heads": self.heads, "scale": self.scale, "causal": self.causal,
                "split": self.split}

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self.split:  # (N, E, L) -> (N, H, L, E / H)
            q, k, v = (t.unflatten(1, (self.heads, -1)).transpose(-1, -2) for t in (q, k, v))
        with sdpa_kernel(SDPBackend.MATH):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal,
                                                 scale=self.scale)
        return out.transpose(-1, -2).flatten(1, 2) if self.split else out
