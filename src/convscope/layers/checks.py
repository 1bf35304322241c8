"""The checks every kind's ``from_args`` and ``output_shape`` share: sizes within the
budgets, positive hyper-parameters, a size the user also declared, per-channel layers'
channels."""

from __future__ import annotations

import math

from ..errors import LayerRuleError
from .base import Shape, shape_str


def check_shape(shape: Shape, what: str) -> None:
    """Refuse sizes beyond limits.MAX_DIM and tensors beyond limits.MAX_ELEMENTS values
    (so that every count stays an exact int that also converts to a float)."""
    from .. import limits

    for n in shape:
        if not isinstance(n, int) or isinstance(n, bool):
            raise LayerRuleError(f"{what} shape has a size {limits.echo(n)} that is not an "
                                 "integer")
        if n > limits.MAX_DIM:
            raise LayerRuleError(f"{what} shape has a size of {limits.echo(n)}; the largest "
                                 f"supported size is {limits.MAX_DIM:,}")
    if len(shape) > limits.MAX_RANK:
        raise LayerRuleError(f"{what} shape has {len(shape)} axes; at most {limits.MAX_RANK}")
    total = math.prod(shape)
    if total > limits.MAX_ELEMENTS:
        raise LayerRuleError(f"{what} shape {shape_str(shape)} holds {total:,} values; at most "
                             f"{limits.MAX_ELEMENTS:,} per sample are supported")


def check_positive(name: str, values: tuple[int, ...]) -> None:
    for v in values:
        if v < 1:
            raise LayerRuleError(f"{name} must be >= 1; received {v}")


def check_declared(key: str, declared: int | None, actual: int, what: str) -> None:
    """A size the user also wrote (PyTorch's ``num_features``, ``input_size``...) must be the
    one the input gives."""
    if declared is not None and declared != actual:
        raise LayerRuleError(f"{key} is {declared} but the input has {actual} {what}")


def same_channels(shape: Shape, channels: int) -> Shape:
    """The output of a per-channel layer built for ``channels``: its input, unchanged."""
    if shape[-1] != channels:
        raise LayerRuleError(f"expects {channels} channels; received {shape[-1]}")
    return shape
