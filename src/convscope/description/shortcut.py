"""The shortcut of a ``residual`` structure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Location, SpecError
from ..layers.base import shape_str
from ..limits import shown

if TYPE_CHECKING:  # pragma: no cover
    from .walker import Walker

SHORTCUTS = ("identity", "projection", "auto", "zero_pad", "optional")


def shortcut(walker: Walker, item: dict[str, Any], source: str, body_out: str, scope: str,
             where: Location, trainable: bool) -> str:
    """The shortcut of a ``residual`` from ``source`` to the body's output ``body_out``,
    added by the parser's ``walker``: a layer list, identity, or a strided 1x1
    projection / subsample and zero padding; '' for an optional one that does not fit."""
    how = item.get("shortcut", "identity")
    if isinstance(how, list):
        return walker.sequence(how, source, scope, (*where, "shortcut"), trainable)
    if how not in SHORTCUTS:
        raise SpecError(f"'shortcut' must be one of {', '.join(SHORTCUTS)} or a list of "
                        f"layers; received {shown(how)}", path=where)
    src, out = walker.graph.shapes[source], walker.graph.shapes[body_out]
    if how == "optional" and src != out:
        return ""  # no shortcut: the residual is a plain sequence (MobileNetV2's rule)
    if how == "identity" or (how in ("auto", "zero_pad", "optional") and src == out):
        if src != out and how == "identity":
            raise SpecError(f"the identity shortcut cannot add the input {shape_str(src)} "
                            f"to the body's output {shape_str(out)}; use shortcut: auto "
                            "(a 1x1 projection when shapes differ)", path=where)
        return source
    strides = []
    for n, o in zip(src[:-1], out[:-1], strict=False):
        s = -(-n // o)
        if len(src) != len(out) or (n - 1) // s + 1 != o:
            raise SpecError(f"no strided 1x1 shortcut maps {shape_str(src)} to "
                            f"{shape_str(out)}", path=where)
        strides.append(s)
    if how == "zero_pad":  # He et al. 2016, option A: subsample, pad channels with zeros
        current = source
        if any(s != 1 for s in strides):
            current = walker.add_layer("maxpool", {"kernel_size": 1, "stride": strides},
                                     [current], scope, where, "shortcut_subsample", trainable)
        extra = out[-1] - src[-1]
        return walker.add_layer("zero_padding", {"padding": 0,
                                               "channels": [extra // 2, extra - extra // 2]},
                              [current], scope, where, "shortcut_pad", trainable)
    with_bn = item.get("projection_bn", True)
    conv = walker.add_layer("conv", {"out_channels": out[-1], "kernel_size": 1,
                                   "stride": strides,
                                   "bias": item.get("projection_bias", not with_bn)},
                          [source], scope, where, "downsample.0", trainable)
    if not with_bn:
        return conv
    return walker.add_layer("batchnorm", {}, [conv], scope, where, "downsample.1", trainable)
