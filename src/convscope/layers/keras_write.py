"""What several kinds' ``to_keras`` share (layers/bridge.py; keras/build.py walks the graph):
convscope's explicit padding as a ZeroPadding layer before a ``valid`` one, and
convscope's activation names in Keras's words. ``layers`` is ``keras.layers``, handed in
by the walker: nothing here imports Keras.
"""

from __future__ import annotations

from typing import Any

from .base import Pairs
from .bridge import CannotExpress


def explicit(padding: Any, pads: Pairs, layers: Any, ndim: int, name: str
             ) -> tuple[str, list[Any]]:
    """Keras's padding word, plus a ZeroPadding layer when the padding is explicit."""
    if padding in ("valid", "same"):
        return padding, []
    if all(b == 0 and a == 0 for b, a in pads):
        return "valid", []
    pad = getattr(layers, f"ZeroPadding{ndim}D")(
        padding=tuple(tuple(p) for p in pads) if ndim > 1 else tuple(pads[0]),
        name=f"{name}_pad")
    return "valid", [pad]


def act(function: str | None) -> str | None:
    """convscope's activation name -> Keras's (silu is swish, hardswish hard_silu)."""
    return {"silu": "swish", "hardswish": "hard_silu"}.get(function or "", function)


def no_dilated_strides(stride: tuple[int, ...], dilation: tuple[int, ...]) -> None:
    """Keras's Conv and ConvTranspose layers refuse strides > 1 together with dilation > 1
    (its DepthwiseConv and SeparableConv take them)."""
    if max(stride) > 1 and max(dilation) > 1:
        raise CannotExpress("Keras's convolutions cannot combine strides > 1 with "
                            "dilation > 1")
