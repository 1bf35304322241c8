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

Item = dict[str, Any]


class Unsupported(Exception):
    """A Keras layer (or one of its settings) convscope has no rule for."""


def channels_last(cfg: dict[str, Any]) -> None:
    if cfg.get("data_format", "channels_last") not in (None, "channels_last"):
        raise Unsupported(f"data_format {cfg['data_format']!r} (only channels_last is read)")


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
    name = canonical(str(value))
    if name not in ACTIVATIONS:
        raise Unsupported(f"activation {value!r}")
    return None if name == "linear" else name


def with_activation(item: Item, cfg: dict[str, Any]) -> Item:
    act = activation(cfg.get("activation"))
    return {**item, "activation": act} if act else item


def conv_padding(cfg: dict[str, Any]) -> Any:
    padding = cfg.get("padding", "valid")
    if padding == "causal":  # Conv1D: pad d*(k-1) on the left only
        k = cfg["kernel_size"][0] if isinstance(cfg["kernel_size"], list) else cfg["kernel_size"]
        d = cfg.get("dilation_rate", 1)
        d = d[0] if isinstance(d, list) else d
        return [[d * (k - 1), 0]]
    return padding


def convolution(kind: str, ndim: int, *own: str) -> Callable[[dict[str, Any]], Item]:
    """Keras's Conv, DepthwiseConv, SeparableConv and ConvTranspose configs: the window
    (kernel_size, strides, padding, dilation_rate, use_bias) they share, plus ``own``: the
    keys of that class (filters, groups, depth_multiplier, output_padding) when set."""

    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        item = {"type": f"{kind}{ndim}d", "kernel_size": cfg["kernel_size"],
                "strides": cfg.get("strides", 1), "padding": conv_padding(cfg),
                "dilation_rate": cfg.get("dilation_rate", 1),
                "use_bias": cfg.get("use_bias", True)}
        item |= {key: cfg[key] for key in own if key == "filters" or cfg.get(key) is not None}
        return with_activation(item, cfg)
    return read


def pool(mode: str, cls: str) -> Callable[[dict[str, Any]], Item]:
    ndim = int(cls[-2])

    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        item: Item = {"type": f"{mode}pool{ndim}d", "pool_size": cfg["pool_size"],
                      "padding": cfg.get("padding", "valid")}
        if cfg.get("strides") is not None:
            item["strides"] = cfg["strides"]
        return item
    return read


def global_pool(mode: str) -> Callable[[dict[str, Any]], Item]:
    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        return {"type": "global_pool", "mode": mode, "keepdims": bool(cfg.get("keepdims"))}
    return read


def padding(cls: str) -> Callable[[dict[str, Any]], Item]:
    ndim = int(cls[-2])

    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        value = cfg.get("padding", 1)
        if isinstance(value, int):
            value = [[value, value]] * ndim
        elif ndim == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
            value = [list(value)]  # ZeroPadding1D((left, right))
        else:
            value = [[v, v] if isinstance(v, int) else list(v) for v in value]
        return {"type": "zero_padding", "padding": value}
    return read


def upsampling(cls: str) -> Callable[[dict[str, Any]], Item]:
    ndim = int(cls[-2])

    def read(cfg: dict[str, Any]) -> Item:
        channels_last(cfg)
        mode = cfg.get("interpolation", "nearest")
        if mode not in ("nearest", "bilinear"):
            raise Unsupported(f"interpolation {mode!r}")
        return {"type": f"upsample{ndim}d", "scale_factor": cfg.get("size", 2),
                "mode": "linear" if mode == "bilinear" else mode}
    return read


def last_axis(cfg: dict[str, Any], rank: int | None) -> None:
    axis = cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if axis != -1 and (rank is None or axis != rank - 1):
        raise Unsupported(f"axis {cfg.get('axis')!r} (only the channel axis, -1, is read)")


def batch_norm(cfg: dict[str, Any], rank: int | None = None) -> Item:
    last_axis(cfg, rank)
    return {"type": "batchnorm", "epsilon": cfg.get("epsilon", 1e-3),
            "momentum": round(1.0 - cfg.get("momentum", 0.99), 12),  # PyTorch's convention
            "center": cfg.get("center", True), "scale": cfg.get("scale", True)}


def layer_norm(cfg: dict[str, Any], rank: int | None = None) -> Item:
    last_axis(cfg, rank)
    if cfg.get("center", True) and not cfg.get("scale", True):
        raise Unsupported("LayerNormalization with center=True and scale=False")
    return {"type": "layernorm", "epsilon": cfg.get("epsilon", 1e-3),
            "scale": cfg.get("scale", True), "center": cfg.get("center", True)}


def group_norm(cfg: dict[str, Any], rank: int | None = None) -> Item:
    last_axis(cfg, rank)
    if cfg.get("center", True) != cfg.get("scale", True):
        raise Unsupported("GroupNormalization with center != scale")
    return {"type": "groupnorm", "groups": cfg["groups"], "epsilon": cfg.get("epsilon", 1e-3),
            "affine": cfg.get("center", True)}


def normalization(cfg: dict[str, Any], rank: int | None = None) -> Item:
    last_axis(cfg, rank)
    if cfg.get("invert"):
        raise Unsupported("Normalization with invert=True")
    item: Item = {"type": "normalization"}
    if cfg.get("mean") is not None:
        item |= {"mean": cfg["mean"], "variance": cfg["variance"]}
    return item


def relu(cfg: dict[str, Any]) -> Item:
    max_value, slope = cfg.get("max_value"), cfg.get("negative_slope", 0.0) or 0.0
    if cfg.get("threshold", 0.0):
        raise Unsupported(f"ReLU threshold {cfg['threshold']}")
    if max_value is None:
        if slope:
            return {"type": "activation", "function": "leaky_relu", "negative_slope": slope}
        return {"type": "activation", "function": "relu"}
    if max_value == 6 and not slope:
        return {"type": "activation", "function": "relu6"}
    raise Unsupported(f"ReLU with max_value {max_value} and negative_slope {slope}")


def leaky_relu(cfg: dict[str, Any]) -> Item:
    slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
    return {"type": "activation", "function": "leaky_relu", "negative_slope": slope}


def softmax(cfg: dict[str, Any]) -> Item:
    if cfg.get("axis", -1) != -1:
        raise Unsupported(f"Softmax over axis {cfg['axis']}")
    return {"type": "activation", "function": "softmax"}


def plain_activation(cfg: dict[str, Any]) -> Item:
    return {"type": "activation", "function": activation(cfg.get("activation")) or "linear"}


def concatenate(cfg: dict[str, Any]) -> Item:
    axis = cfg.get("axis", -1)
    return {"type": "concat", "axis": axis - 1 if axis > 0 else axis}  # without the batch


def recurrent(kind: str) -> Callable[[dict[str, Any]], Item]:
    def read(cfg: dict[str, Any]) -> Item:
        if cfg.get("return_state"):
            raise Unsupported("return_state=True (several outputs)")
        if cfg.get("go_backwards"):
            raise Unsupported("go_backwards=True")
        item: Item = {"type": kind, "units": cfg["units"],
                      "return_sequences": bool(cfg.get("return_sequences")),
                      "use_bias": cfg.get("use_bias", True)}
        if kind == "gru":
            item["reset_after"] = cfg.get("reset_after", True)
        if kind == "rnn":
            act = activation(cfg.get("activation", "tanh"))
            if act not in ("tanh", "relu"):
                raise Unsupported(f"SimpleRNN activation {act!r}")
            item["activation"] = act
        return item
    return read


def bidirectional(cfg: dict[str, Any]) -> Item:
    inner = cfg["layer"]
    read = RECURRENT.get(inner.get("class_name", ""))
    if read is None:
        raise Unsupported(f"Bidirectional({inner.get('class_name')})")
    merge = cfg.get("merge_mode", "concat")
    if merge is None:
        raise Unsupported("Bidirectional with merge_mode=None (two outputs)")
    return {**read(inner["config"]), "bidirectional": True, "merge_mode": merge}


def reshape(cfg: dict[str, Any]) -> Item:
    return {"type": "reshape", "target_shape": list(cfg["target_shape"])}


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
    "Dense": lambda c: with_activation({"type": "dense", "units": c["units"],
                                        "use_bias": c.get("use_bias", True)}, c),
    "Flatten": lambda c: flatten(c),
    "Reshape": reshape,
    "Permute": lambda c: {"type": "permute", "dims": list(c["dims"])},
    "Dropout": lambda c: {"type": "dropout", "rate": c.get("rate", 0.5)},
    **{f"SpatialDropout{n}D": (lambda c: {"type": "dropout", "rate": c.get("rate", 0.5),
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
    "Rescaling": lambda c: {"type": "rescaling", "scale": c.get("scale", 1.0),
                            "offset": c.get("offset", 0.0)},
    "Embedding": lambda c: {"type": "embedding", "input_dim": c["input_dim"],
                            "output_dim": c["output_dim"]},
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
