"""Keras layer configs -> convscope layer items, one small function per Keras class.

Every function takes the layer's ``config`` (as ``model.to_json()`` / ``config.json`` of a
.keras file write it) and returns the item of the description (without name and inputs),
or raises :class:`Unsupported`, which the importer turns into an ``opaque`` layer with a
note. Keras's arguments keep their Keras names where convscope accepts them
(``filters``, ``kernel_size``, ``strides``, ``pool_size``, ``use_bias``, ...).
Sources: the Keras 3 layer classes' ``get_config`` (keras/src/layers/...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..layers.activation import NAMES as ACTIVATIONS
from ..layers.activation import canonical
from ..layers.fields import (
    AXIS,
    COUNTS,
    DIM,
    DIMS,
    FLAG,
    MAPPING,
    NUMBER,
    NUMBERS,
    RATE,
    SIZES,
    TARGET,
    TEXT,
    Kind,
    Malformed,
    field,
)
from ..limits import shown

Item = dict[str, Any]


class Unsupported(Exception):
    """A Keras layer (or one of its settings) convscope has no rule for."""


def channels_last(cfg: dict[str, Any]) -> None:
    fmt = field(cfg, "data_format", TEXT, "channels_last")
    if fmt != "channels_last":
        raise Unsupported(f"data_format {shown(fmt)} (only channels_last is read)")


def flatten(cfg: dict[str, Any]) -> dict[str, Any]:
    channels_last(cfg)
    return {"type": "flatten"}


def activation(value: Any) -> str | None:
    """Keras's activation name -> convscope's, None for linear."""
    if value is None:
        return None
    if isinstance(value, dict):  # a serialized function object
        value = value.get("config", value.get("class_name"))
        value = value.get("name", value) if isinstance(value, dict) else value
    if not isinstance(value, str):
        raise Malformed(f"'activation' must be a function's name; received {shown(value)}")
    name = canonical(value)
    if name not in ACTIVATIONS:
        raise Unsupported(f"activation {shown(value)}")
    return None if name == "linear" else name


def with_activation(item: Item, cfg: dict[str, Any]) -> Item:
    act = activation(cfg.get("activation"))
    return {**item, "activation": act} if act else item


def conv_padding(cfg: dict[str, Any]) -> Any:
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


def convolution(kind: str, ndim: int, *own: str) -> Callable[[dict[str, Any]], Item]:
    """Keras's Conv, DepthwiseConv, SeparableConv and ConvTranspose configs: the window
    (kernel_size, strides, padding, dilation_rate, use_bias) they share, plus ``own``: the
    keys of that class (filters, groups, depth_multiplier, output_padding) when set."""

    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        item = {"type": f"{kind}{ndim}d", "kernel_size": field(cfg, "kernel_size", DIMS),
                "strides": field(cfg, "strides", DIMS, 1), "padding": conv_padding(cfg),
                "dilation_rate": field(cfg, "dilation_rate", DIMS, 1),
                "use_bias": field(cfg, "use_bias", FLAG, True)}
        item |= {key: field(cfg, key, COUNTS if key == "output_padding" else DIMS)
                 for key in own if key == "filters" or cfg.get(key) is not None}
        return with_activation(item, cfg)
    return read


def pool(mode: str, cls: str) -> Callable[[dict[str, Any]], Item]:
    ndim = int(cls[-2])

    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        item: Item = {"type": f"{mode}pool{ndim}d", "pool_size": field(cfg, "pool_size", DIMS),
                      "padding": window_padding(cfg)}
        if cfg.get("strides") is not None:
            item["strides"] = field(cfg, "strides", DIMS)
        return item
    return read


def window_padding(cfg: dict[str, Any]) -> str:
    padding = field(cfg, "padding", TEXT, "valid")
    if padding not in ("valid", "same"):
        raise Malformed(f"'padding' must be 'valid' or 'same'; received {shown(padding)}")
    return padding


def global_pool(mode: str) -> Callable[[dict[str, Any]], Item]:
    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        return {"type": "global_pool", "mode": mode,
                "keepdims": field(cfg, "keepdims", FLAG, False)}
    return read


def padding(cls: str) -> Callable[[dict[str, Any]], Item]:
    ndim = int(cls[-2])

    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        value = field(cfg, "padding", PADS, 1)
        if isinstance(value, int):
            value = [[value, value]] * ndim
        elif ndim == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
            value = [list(value)]  # ZeroPadding1D((left, right))
        else:
            value = [[v, v] if isinstance(v, int) else list(v) for v in value]
        return {"type": "zero_padding", "padding": value}
    return read


PADS = Kind(f"{COUNTS.words}, or a list of [before, after] pairs", lambda v: (
    COUNTS.check(v) or isinstance(v, list) and 0 < len(v) <= 3 and all(
        COUNTS.check(p) and (isinstance(p, int) or len(p) == 2) for p in v)))


def upsampling(cls: str) -> Callable[[dict[str, Any]], Item]:
    ndim = int(cls[-2])

    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        mode = field(cfg, "interpolation", TEXT, "nearest")
        if mode not in ("nearest", "bilinear"):
            raise Unsupported(f"interpolation {shown(mode)}")
        return {"type": f"upsample{ndim}d", "scale_factor": field(cfg, "size", DIMS, 2),
                "mode": "linear" if mode == "bilinear" else mode}
    return read


def last_axis(cfg: dict[str, Any], rank: int | None) -> None:
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if not AXIS.check(axis):
        raise Unsupported(f"axis {shown(cfg.get('axis'))} (only the channel axis, -1, is read)")
    if axis != -1 and (rank is None or axis != rank - 1):
        raise Unsupported(f"axis {shown(cfg.get('axis'))} (only the channel axis, -1, is read)")


def batch_norm(cfg: dict[str, Any], rank: int | None = None) -> Item:
    last_axis(cfg, rank)
    return {"type": "batchnorm", "epsilon": field(cfg, "epsilon", NUMBER, 1e-3),
            "momentum": round(1.0 - field(cfg, "momentum", RATE, 0.99), 12),  # PyTorch's
            "center": field(cfg, "center", FLAG, True), "scale": field(cfg, "scale", FLAG, True)}


def layer_norm(cfg: dict[str, Any], rank: int | None = None) -> Item:
    last_axis(cfg, rank)
    center, scale = field(cfg, "center", FLAG, True), field(cfg, "scale", FLAG, True)
    if center and not scale:
        raise Unsupported("LayerNormalization with center=True and scale=False")
    return {"type": "layernorm", "epsilon": field(cfg, "epsilon", NUMBER, 1e-3),
            "scale": scale, "center": center}


def group_norm(cfg: dict[str, Any], rank: int | None = None) -> Item:
    last_axis(cfg, rank)
    center = field(cfg, "center", FLAG, True)
    if center != field(cfg, "scale", FLAG, True):
        raise Unsupported("GroupNormalization with center != scale")
    return {"type": "groupnorm", "groups": field(cfg, "groups", DIM),
            "epsilon": field(cfg, "epsilon", NUMBER, 1e-3), "affine": center}


def normalization(cfg: dict[str, Any], rank: int | None = None) -> Item:
    last_axis(cfg, rank)
    if field(cfg, "invert", FLAG, False):
        raise Unsupported("Normalization with invert=True")
    item: Item = {"type": "normalization"}
    if cfg.get("mean") is not None:
        item |= {"mean": field(cfg, "mean", NUMBERS), "variance": field(cfg, "variance", NUMBERS)}
    return item


def relu(cfg: dict[str, Any]) -> Item:
    max_value = field(cfg, "max_value", NUMBER, None)
    slope = field(cfg, "negative_slope", NUMBER, 0.0)
    if field(cfg, "threshold", NUMBER, 0.0):
        raise Unsupported(f"ReLU threshold {cfg['threshold']}")
    if max_value is None:
        if slope:
            return {"type": "activation", "function": "leaky_relu", "negative_slope": slope}
        return {"type": "activation", "function": "relu"}
    if max_value == 6 and not slope:
        return {"type": "activation", "function": "relu6"}
    raise Unsupported(f"ReLU with max_value {max_value} and negative_slope {slope}")


def leaky_relu(cfg: dict[str, Any]) -> Item:
    slope = field(cfg, "negative_slope", NUMBER, None)
    slope = field(cfg, "alpha", NUMBER, 0.3) if slope is None else slope
    return {"type": "activation", "function": "leaky_relu", "negative_slope": slope}


def softmax(cfg: dict[str, Any]) -> Item:
    if cfg.get("axis", -1) not in (-1, [-1]):
        raise Unsupported(f"Softmax over axis {shown(cfg['axis'])}")
    return {"type": "activation", "function": "softmax"}


def plain_activation(cfg: dict[str, Any]) -> Item:
    return {"type": "activation", "function": activation(cfg.get("activation")) or "linear"}


def concatenate(cfg: dict[str, Any]) -> Item:
    axis = field(cfg, "axis", AXIS, -1)
    if axis == 0:
        raise Unsupported("Concatenate along the batch axis")
    return {"type": "concat", "axis": axis - 1 if axis > 0 else axis}  # without the batch


def recurrent(kind: str) -> Callable[[dict[str, Any]], Item]:
    def read(cfg: dict[str, Any]) -> Item:
        if field(cfg, "return_state", FLAG, False):
            raise Unsupported("return_state=True (several outputs)")
        if field(cfg, "go_backwards", FLAG, False):
            raise Unsupported("go_backwards=True")
        item: Item = {"type": kind, "units": field(cfg, "units", DIM),
                      "return_sequences": field(cfg, "return_sequences", FLAG, False),
                      "use_bias": field(cfg, "use_bias", FLAG, True)}
        if kind == "gru":
            item["reset_after"] = field(cfg, "reset_after", FLAG, True)
        if kind == "rnn":
            act = activation(cfg.get("activation", "tanh"))
            if act not in ("tanh", "relu"):
                raise Unsupported(f"SimpleRNN activation {act!r}")
            item["activation"] = act
        return item
    return read


def bidirectional(cfg: dict[str, Any]) -> Item:
    inner = field(cfg, "layer", MAPPING)
    class_name = field(inner, "class_name", TEXT)
    read = RECURRENT.get(class_name)
    if read is None:
        raise Unsupported(f"Bidirectional({shown(class_name)})")
    if "merge_mode" in cfg and cfg["merge_mode"] is None:
        raise Unsupported("Bidirectional with merge_mode=None (two outputs)")
    merge = field(cfg, "merge_mode", TEXT, "concat")
    return {**read(field(inner, "config", MAPPING)), "bidirectional": True, "merge_mode": merge}


def reshape(cfg: dict[str, Any]) -> Item:
    return {"type": "reshape", "target_shape": list(field(cfg, "target_shape", TARGET))}


RECURRENT = {"SimpleRNN": recurrent("rnn"), "LSTM": recurrent("lstm"), "GRU": recurrent("gru")}

SIMPLE: dict[str, Callable[[dict[str, Any]], Item]] = {
    **{f"Conv{n}D": convolution("conv", n, "filters", "groups") for n in (1, 2, 3)},
    **{f"Convolution{n}D": convolution("conv", n, "filters", "groups") for n in (1, 2, 3)},
    **{f"DepthwiseConv{n}D": convolution("depthwise_conv", n, "depth_multiplier")
       for n in (1, 2)},
    **{f"SeparableConv{n}D": convolution("separable_conv", n, "filters", "depth_multiplier")
       for n in (1, 2)},
    **{f"Conv{n}DTranspose": convolution("conv_transpose", n, "filters", "output_padding")
       for n in (1, 2, 3)},
    **{f"MaxPooling{n}D": pool("max", f"MaxPooling{n}D") for n in (1, 2, 3)},
    **{f"MaxPool{n}D": pool("max", f"MaxPool{n}D") for n in (1, 2, 3)},
    **{f"AveragePooling{n}D": pool("avg", f"AveragePooling{n}D") for n in (1, 2, 3)},
    **{f"AvgPool{n}D": pool("avg", f"AvgPool{n}D") for n in (1, 2, 3)},
    **{f"GlobalAveragePooling{n}D": global_pool("avg") for n in (1, 2, 3)},
    **{f"GlobalAvgPool{n}D": global_pool("avg") for n in (1, 2, 3)},
    **{f"GlobalMaxPooling{n}D": global_pool("max") for n in (1, 2, 3)},
    **{f"GlobalMaxPool{n}D": global_pool("max") for n in (1, 2, 3)},
    **{f"ZeroPadding{n}D": padding(f"ZeroPadding{n}D") for n in (1, 2, 3)},
    **{f"UpSampling{n}D": upsampling(f"UpSampling{n}D") for n in (1, 2, 3)},
    "Dense": lambda c: with_activation({"type": "dense", "units": field(c, "units", DIM),
                                        "use_bias": field(c, "use_bias", FLAG, True)}, c),
    "Flatten": lambda c: flatten(c),
    "Reshape": reshape,
    "Permute": lambda c: {"type": "permute", "dims": list(field(c, "dims", SIZES))},
    "Dropout": lambda c: {"type": "dropout", "rate": field(c, "rate", RATE, 0.5)},
    **{f"SpatialDropout{n}D": (lambda c: {"type": "dropout", "rate": field(c, "rate", RATE, 0.5),
                                          "spatial": True}) for n in (1, 2, 3)},
    "Activation": plain_activation,
    "ReLU": relu,
    "LeakyReLU": leaky_relu,
    "ELU": lambda c: {"type": "activation", "function": "elu"},
    "Softmax": softmax,
    "Add": lambda c: {"type": "add"},
    "Subtract": lambda c: {"type": "subtract"},
    "Multiply": lambda c: {"type": "multiply"},
    "Average": lambda c: {"type": "average"},
    "Maximum": lambda c: {"type": "maximum"},
    "Minimum": lambda c: {"type": "minimum"},
    "Concatenate": concatenate,
    "Rescaling": lambda c: {"type": "rescaling", "scale": field(c, "scale", NUMBERS, 1.0),
                            "offset": field(c, "offset", NUMBERS, 0.0)},
    "Embedding": lambda c: {"type": "embedding", "input_dim": field(c, "input_dim", DIM),
                            "output_dim": field(c, "output_dim", DIM)},
    **RECURRENT,
    "Bidirectional": bidirectional,
}

# these need the input's rank to check that ``axis`` is the channel axis
WITH_RANK: dict[str, Callable[[dict[str, Any], int | None], Item]] = {
    "BatchNormalization": batch_norm,
    "LayerNormalization": layer_norm,
    "GroupNormalization": group_norm,
    "Normalization": normalization,
}


def map_layer(class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
    """The convscope item for one Keras layer; ``rank`` counts the input's axes with the
    batch (4 for images) when known."""
    if class_name in WITH_RANK:
        return WITH_RANK[class_name](cfg, rank)
    if class_name in SIMPLE:
        return SIMPLE[class_name](cfg)
    raise Unsupported(f"layer class {class_name}")
