"""Sliding-window arithmetic shared by convolution, pooling and the explanations (seeds
001, 002, 004): the output length of a window along one axis, its formula with the numbers
substituted, and the TensorFlow / Keras SAME padding rule."""

from __future__ import annotations

from ..errors import LayerRuleError
from .base import Padding, Pairs, Shape


def same_padding(n: int, k_eff: int, s: int) -> tuple[int, int]:
    """TensorFlow's SAME rule: out = ceil(n / s); the total padding
    max((out - 1) * s + k_eff - n, 0) is split with the extra pixel after
    (bottom/right), as in tf.nn.conv2d and Keras (seed 004's padding='same')."""
    out = -(-n // s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: Padding, spatial: Shape, kernel: tuple[int, ...],
                    stride: tuple[int, ...], dilation: tuple[int, ...] | None = None) -> Pairs:
    """Per-axis (before, after) padding for ``valid`` / ``same`` / explicit pairs."""
    if padding == "valid":
        return tuple((0, 0) for _ in spatial)
    if padding == "same":
        dilation = dilation or (1,) * len(kernel)
        return tuple(same_padding(n, d * (k - 1) + 1, s)
                     for n, k, s, d in zip(spatial, kernel, stride, dilation, strict=True))
    assert not isinstance(padding, str)
    return padding


def window_out_len(n: int, k: int, s: int, pad: tuple[int, int], d: int = 1,
                   ceil_mode: bool = False, axis: str = "", what: str = "kernel") -> int:
    """Output length of a sliding window along one axis (seeds 001, 002, 004):

        out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1

    ``ceil_mode`` rounds up instead, and, as in PyTorch, drops the last window
    when it would start inside the right padding: if (out-1)*s >= n + p_before,
    out -= 1.
    """
    before, after = pad
    k_eff = d * (k - 1) + 1
    padded = n + before + after
    if k_eff > padded:
        dil = f", dilation {d} makes it {k_eff}" if d != 1 else ""
        raise LayerRuleError(
            f"{what} {k}{dil} on axis {axis} is larger than the padded input {padded} "
            f"(input {n}, padding {before}+{after})")
    span = padded - k_eff
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + before:
        out -= 1
    return out


def window_formula(n: int, k: int, s: int, pad: tuple[int, int], d: int, ceil_mode: bool,
                   out: int) -> str:
    """The arithmetic of :func:`window_out_len` with the numbers substituted."""
    before, after = pad
    p_text = f"2*{before}" if before == after else f"{before}+{after}"
    k_text = f"{d}*({k}-1)+1" if d != 1 else f"{k}"
    rnd = "ceil" if ceil_mode else "floor"
    return f"out = {rnd}(({n} + {p_text} - {k_text}) / {s}) + 1 = {out}"
