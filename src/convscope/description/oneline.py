"""The one-line form, for quick sums at the command line.

    convscope summary "32x32x1 | conv5-6 | maxpool2 | conv5-16 | maxpool2 | fc120 | fc84 | fc10"

Grammar (``convscope help syntax`` prints this)::

    line     := shape ( "|" segment )*
    shape    := 32x32x1  (H x W x C; 100x1 for 1-D, 16x112x112x3 for 3-D)
    segment  := token option*
    token    := conv<k>-<c>     convolution, kernel k (3 or 1x7), c filters   conv3-64
              | dw<k>           depthwise convolution                         dw3
              | deconv<k>-<c>   transposed convolution                        deconv4-64
              | maxpool<k> | avgpool<k> | lppool<k>   pooling (stride = k)    maxpool2
              | fc<n>           fully connected, flattens its input           fc120
              | dense<n>        dense on the last axis (Keras Dense)          dense10
              | dropout<r>      dropout with rate r                           dropout0.5
              | upsample<f>     nearest upsampling by f                       upsample2
              | pad<p>          zero padding                                  pad1
              | embed<v>-<d>    embedding: vocabulary v, d values per token   embed1000-64
              | lstm<n> | gru<n> | rnn<n>   recurrent layer of n units       lstm64
              | gap | gmp | flatten | bn | lrn | relu | softmax | ...  any layer type
    option   := key=value       s=2 (stride) p=1 (padding) d=2 (dilation) g=32 (groups)
                                k=3 (kernel) c=64 (channels) act=relu  name=conv1
                                or any argument of the layer type: ceil_mode=true
              | same | valid    padding
              | nobias | ceil   bias=false, ceil_mode=true
              | seq | bi        return_sequences=true, bidirectional=true      lstm64 seq bi
              | relu | tanh ... an activation applied by the layer itself
              | *N              repeat the segment N times                    conv3-64 p=1 *2
"""

from __future__ import annotations

import re
from typing import Any

from .. import limits
from ..errors import Location, SpecError
from ..layers.activation import NAMES as ACTIVATIONS

SHORT_KEYS = {"s": "stride", "p": "padding", "d": "dilation", "g": "groups", "k": "kernel_size",
              "c": "out_channels", "act": "activation", "r": "rate", "n": "units"}
FLAGS = {"same": ("padding", "same"), "valid": ("padding", "valid"), "nobias": ("bias", False),
         "ceil": ("ceil_mode", True), "keepdims": ("keepdims", True),
         "seq": ("return_sequences", True), "bi": ("bidirectional", True)}

def _num(digits: str) -> Any:
    """Digits -> int; beyond MAX_NUMBER_DIGITS the text itself (the layer refuses it)."""
    return int(digits) if len(digits) <= limits.MAX_NUMBER_DIGITS else digits


KERNEL = r"(\d+(?:x\d+)*)"
# compiled when first used (re's cache), not at import (issue 16)
PATTERNS: list[tuple[str, Any]] = [
    (rf"conv{KERNEL}-(\d+)",
     lambda m: {"type": "conv", "kernel_size": m[1], "out_channels": _num(m[2])}),
    (rf"deconv{KERNEL}-(\d+)",
     lambda m: {"type": "conv_transpose", "kernel_size": m[1], "out_channels": _num(m[2])}),
    (rf"dw{KERNEL}", lambda m: {"type": "depthwise_conv", "kernel_size": m[1]}),
    (rf"(max|avg|lp)pool{KERNEL}",
     lambda m: {"type": f"{m[1]}pool", "kernel_size": m[2]}),
    (r"(fc|dense|linear)(\d+)", lambda m: {"type": m[1], "units": _num(m[2])}),
    (r"dropout(\d*\.?\d+)", lambda m: {"type": "dropout", "rate": float(m[1])}),
    (r"upsample(\d+)", lambda m: {"type": "upsample", "scale_factor": _num(m[1])}),
    (r"pad(\d+)", lambda m: {"type": "zero_padding", "padding": _num(m[1])}),
    (r"embed(\d+)-(\d+)",
     lambda m: {"type": "embedding", "input_dim": _num(m[1]), "output_dim": _num(m[2])}),
    (r"(lstm|gru|rnn)(\d+)", lambda m: {"type": m[1], "units": _num(m[2])}),
]


def number(text: str, where: Location | str = "") -> int:
    """Digits -> int, refusing more than limits.MAX_NUMBER_DIGITS digits."""
    if len(text) > limits.MAX_NUMBER_DIGITS:
        raise SpecError(f"a number of {len(text):,} digits (at most "
                        f"{limits.MAX_NUMBER_DIGITS:,})", path=where or None)
    return int(text)


def value(text: str) -> Any:
    """'2' -> 2, '0.5' -> 0.5, 'true' -> True, '1,2' -> [1, 2], else the text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if "," in text:
        return [value(part) for part in text.split(",")]
    if len(text) > limits.MAX_NUMBER_DIGITS:
        return text  # too long for a number: the layer's own check refuses the text
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_token(segment: str, where: Location | str = "") -> dict[str, Any]:
    """One segment, e.g. 'conv3-64 s=2 p=1 relu *2' -> a layer mapping; errors are
    located at ``where`` (a description's path, or the segment as text)."""
    words = segment.split()
    if not words:
        raise SpecError("empty segment between '|' separators", path=where or None)
    head, options = words[0], words[1:]
    item: dict[str, Any] | None = None
    for pattern, build in PATTERNS:
        match = re.fullmatch(pattern, head.lower())
        if match:
            item = build(match)
            break
    if item is None:
        item = {"type": head}
    for option in options:
        if option.startswith("*") and option[1:].isdigit():
            item["repeat"] = number(option[1:], where)
        elif "=" in option:
            key, _, text = option.partition("=")
            item[SHORT_KEYS.get(key, key)] = value(text)
        elif option.lower() in FLAGS:
            key, flag = FLAGS[option.lower()]
            item[key] = flag
        elif option.lower() in ACTIVATIONS:
            item["activation"] = option.lower()
        else:
            raise SpecError(f"cannot read option '{limits.echo(option)}' of "
                            f"'{limits.echo(segment.strip())}'; "
                            "options are key=value (s=2, p=1, d=2, g=32, act=relu), same, "
                            "valid, nobias, ceil, an activation name, or *N to repeat",
                            path=where or None)
    return item


def parse_line(line: str) -> dict[str, Any]:
    """'32x32x1 | conv5-6 | ...' -> a description mapping."""
    if len(line) > limits.MAX_TEXT_BYTES:
        raise SpecError(f"the one-line description is {len(line):,} characters; at most "
                        f"{limits.MAX_TEXT_BYTES:,}")
    if line.count("|") > limits.max_layers():
        from .budget import budget_error

        raise budget_error(line.count("|"), what="the one-line description")
    segments = [s.strip() for s in line.split("|")]
    first = segments[0]
    description: dict[str, Any] = {"name": "one-line"}
    start = 1
    if re.fullmatch(r"\d+(\s*x\s*\d+)*", first):
        description["input"] = first.replace(" ", "")
        segments, start = segments[1:], 2
    description["layers"] = [parse_token(seg, f"segment {i + start} '{limits.echo(seg)}'")
                             for i, seg in enumerate(segments)]
    return description
