"""Keras config reads that several kinds' ``from_keras`` share (layers/bridge.py): the
data format, inline activations, padding words and the window settings every Keras
convolution class has. Pure Python: a config is the mapping ``get_config()`` wrote (as
``model.to_json()`` / a .keras file's ``config.json`` hold it); no Keras needed.

Keras's arguments keep their Keras names where convscope accepts them (``filters``,
``kernel_size``, ``strides``, ``pool_size``, ``use_bias``, ...). Sources: the Keras 3 layer
classes' ``get_config`` (keras/src/layers/...).
"""

from __future__ import annotations

from typing import Any

from ..limits import shown
from .bridge import Item, Malformed, Unsupported
from .fields import AXIS, COUNTS, DIMS, FLAG, TEXT, Kind, field

Config = dict[str, Any]


def ndim_of(class_name: str) -> int:
    """The spatial axes a Keras class names: Conv2D -> 2, MaxPooling1D -> 1,
    Conv3DTranspose -> 3."""
    return int(next(c for c in class_name if c.isdigit()))


def channels_last(cfg: Config) -> None:
    fmt = field(cfg, "data_format", TEXT, "channels_last")
    if fmt != "channels_last":
        raise Unsupported(f"data_format {shown(fmt)} (only channels_last is read)")


def activation(value: Any) -> str | None:
    """Keras's activation name -> convscope's, None for linear."""
    from .activation import NAMES, canonical  # activation.py reads its configs with this

    if value is None:
        return None
    if isinstance(value, dict):  # a serialized function object
        value = value.get("config", value.get("class_name"))
        value = value.get("name", value) if isinstance(value, dict) else value
    if not isinstance(value, str):
        raise Malformed(f"'activation' must be a function's name; received {shown(value)}")
    name = canonical(value)
    if name not in NAMES:
        raise Unsupported(f"activation {shown(value)}")
    return None if name == "linear" else name


def with_activation(item: Item, cfg: Config) -> Item:
    act = activation(cfg.get("activation"))
    return {**item, "activation": act} if act else item


def conv_padding(cfg: Config) -> Any:
    padding = field(cfg, "padding", TEXT, "valid")
    if padding == "causal":  # Conv1D: pad d*(k-1) on the left only
        k = field(cfg, "kernel_size", DIMS)
        k = k[0] if isinstance(k, list) else k
        d = field(cfg, "dilation_rate", DIMS, 1)
        d = d[0] if isinstance(d, list) else d
        return [[d * (k - 1), 0]]
    if padding not in ("valid", "same"):
        raise Malformed(f"'padding' must be 'valid', 'same' or 'causal'; received "
                        f"{shown(padding)}")
    return padding


def window_padding(cfg: Config) -> str:
    padding = field(cfg, "padding", TEXT, "valid")
    if padding not in ("valid", "same"):
        raise Malformed(f"'padding' must be 'valid' or 'same'; received {shown(padding)}")
    return padding


def convolution(cfg: Config, kind: str, ndim: int, *own: str) -> Item:
    """Keras's Conv, DepthwiseConv, SeparableConv and ConvTranspose configs: the window
    (kernel_size, strides, padding, dilation_rate, use_bias) they share, plus ``own``: the
    keys of that class (filters, groups, depth_multiplier, output_padding) when set."""
    channels_last(cfg)
    item = {"type": f"{kind}{ndim}d", "kernel_size": field(cfg, "kernel_size", DIMS),
            "strides": field(cfg, "strides", DIMS, 1), "padding": conv_padding(cfg),
            "dilation_rate": field(cfg, "dilation_rate", DIMS, 1),
            "use_bias": field(cfg, "use_bias", FLAG, True)}
    item |= {key: field(cfg, key, COUNTS if key == "output_padding" else DIMS)
             for key in own if key == "filters" or cfg.get(key) is not None}
    return with_activation(item, cfg)


def last_axis(cfg: Config, rank: int | None) -> None:
    """Normalisation layers: only the channel axis (-1, or rank - 1) is read."""
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if not AXIS.check(axis):
        raise Unsupported(f"axis {shown(cfg.get('axis'))} (only the channel axis, -1, is read)")
    if axis != -1 and (rank is None or axis != rank - 1):
        raise Unsupported(f"axis {shown(cfg.get('axis'))} (only the channel axis, -1, is read)")


# ZeroPadding's 'padding': n, (before, after) for 1-D, or one n / pair per axis
PADS = Kind(f"{COUNTS.words}, or a list of [before, after] pairs", lambda v: (
    COUNTS.check(v) or isinstance(v, list) and 0 < len(v) <= 3 and all(
        COUNTS.check(p) and (isinstance(p, int) or len(p) == 2) for p in v)))
