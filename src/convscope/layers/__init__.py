"""The layer registry: every kind convscope knows, listed explicitly.

Adding a kind = one class in this package + one entry in ``LAYER_KINDS``; the
registry-driven tests (tests/test_layers_vs_torch.py) then sweep it against
PyTorch. ``REGISTRY`` maps every name a description may use (kinds and their
aliases, e.g. ``conv2d``, ``maxpool``, ``fc``) to ``(kind class, fixed args)``
and refuses duplicates.
"""

from __future__ import annotations

from typing import Any

from .activation import Activation
from .attention import Attention
from .base import GLOBAL, IDENTITY, Layer, ParamCount, RFStep, Shape, shape_str
from .concat import Concat
from .conv import Conv
from .conv_transpose import ConvTranspose
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .global_pool import AdaptivePool, GlobalPool
from .group_norm import GroupNorm
from .input import Input
from .layer_norm import LayerNorm
from .layer_scale import LayerScale
from .lrn import LRN
from .matmul import MatMul
from .merge import Merge
from .norm import BatchNorm
from .opaque import Opaque
from .padding import ZeroPad
from .pool import Pool
from .recurrent import Recurrent
from .rescaling import Normalization, Rescaling
from .reshape import Flatten, Reshape
from .separable import SeparableConv
from .structure import Permute, Slice
from .upsample import Upsample

LAYER_KINDS: tuple[type[Layer], ...] = (
    Input, Conv, SeparableConv, ConvTranspose, Pool, GlobalPool, AdaptivePool, Dense, Flatten,
    Reshape, ZeroPad, Upsample, BatchNorm, LayerNorm, GroupNorm, LRN, Dropout, Activation,
    Concat, Merge, Rescaling, Normalization, Slice, Permute, Embedding, Recurrent, Opaque,
    LayerScale, MatMul, Attention,
)


def build_registry(kinds: tuple[type[Layer], ...]) -> dict[str, tuple[type[Layer], dict[str, Any]]]:
    """Name -> (kind, fixed arguments); raises on a name registered twice."""
    registry: dict[str, tuple[type[Layer], dict[str, Any]]] = {}
    for kind in kinds:
        for name, fixed in ((kind.kind, {}), *kind.aliases.items()):
            if name in registry:
                raise RuntimeError(f"duplicate registrations for layer name '{name}': "
                                   f"{registry[name][0].__name__} and {kind.__name__}")
            registry[name] = (kind, dict(fixed))
    return registry


REGISTRY = build_registry(LAYER_KINDS)

__all__ = ["GLOBAL", "IDENTITY", "LAYER_KINDS", "REGISTRY", "Layer", "ParamCount", "RFStep",
           "Shape", "build_registry", "shape_str"]
