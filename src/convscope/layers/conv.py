"""N-d convolution: PyTorch's nn.Conv1d/2d/3d, Keras's Conv1D/2D/3D and DepthwiseConv2D.

Rules (per sample, channels last):

* output, per spatial axis (seeds 001, 002, 004; torch.nn.Conv2d docs):
  ``out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1``;
  ``padding: same`` follows TensorFlow (out = ceil(n / s), extra pixel after).
* params (seeds 000, 002): ``prod(k) * C_in/groups * C_out + C_out`` (bias optional),
  e.g. 5x5x3x6 + 6 = 456.
* MACs: ``prod(out spatial) * C_out * prod(k) * C_in/groups``, bias excluded, so that
  2 x MACs equals torch.utils.flop_counter (seed 004: 9 MACs per pixel for a 3x3 kernel
  on one channel).
* other_ops: one add per output value for the bias, plus the inline activation.
* receptive-field step: kernel d*(k-1)+1, stride s, offset -p_before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .activation import NAMES, activation_module, activation_ops, activation_saved, canonical
from .aten_args import constant, ints
from .base import (
    Layer,
    Padding,
    Pairs,
    ParamCount,
    RFRule,
    Saved,
    Shape,
    axis_names,
    prod,
    shape_str,
    window_step,
)
from .bridge import Item, Unsupported
from .keras_read import convolution, ndim_of
from .keras_write import act, explicit, no_dilated_strides
from .onnx_read import first_layout, has_bias, window
from .torch_util import nn, pad_module, sequential, symmetric
from .window import resolve_padding, window_formula, window_out_len


def read_activation(args: Any) -> str | None:
    """The optional inline ``activation`` of conv / dense layers (Keras style)."""
    value = args.value("activation", None)
    if value is None:
        return None
    name = canonical(args.choice("activation", NAMES))
    return None if name == "linear" else name


def window_args(args: Any, ndim: int) -> dict[str, Any]:
    """The hyper-parameters every convolution reads alike, per axis (Keras's names as
    aliases): kernel size, stride, padding, dilation, plus bias and activation."""
    return {"kernel_size": args.ints("kernel_size", ndim, aliases=("kernel",)),
            "stride": args.ints("stride", ndim, 1, aliases=("strides",)),
            "padding": args.padding("padding", ndim, 0),
            "dilation": args.ints("dilation", ndim, 1, aliases=("dilation_rate",)),
            "bias": args.flag("bias", True, aliases=("use_bias",)),
            "activation": read_activation(args)}


@dataclass(frozen=True)
class Conv(Layer):
    """Convolution over 1, 2 or 3 spatial axes (cross-correlation, as the seeds note)."""

    kind: ClassVar[str] = "conv"
    autocast_policy = "lower"  # a matrix product: 16 bit under autocast
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "conv1d": {"ndim": 1}, "conv2d": {"ndim": 2}, "conv3d": {"ndim": 3},
        "convolution": {}, "depthwise_conv": {"depthwise": True},
        "depthwise_conv1d": {"ndim": 1, "depthwise": True},
        "depthwise_conv2d": {"ndim": 2, "depthwise": True},
        "depthwiseconv2d": {"ndim": 2, "depthwise": True},
    }
    # ATen has one operator for both: its transposed calls give conv_transpose items
    aten_ops: ClassVar[tuple[str, ...]] = ("convolution",)
    keras_classes: ClassVar[tuple[str, ...]] = (
        *(f"{w}{n}D" for w in ("Conv", "Convolution") for n in (1, 2, 3)),
        "DepthwiseConv1D", "DepthwiseConv2D")
    onnx_ops: ClassVar[tuple[str, ...]] = ("Conv",)
    onnx_arity: ClassVar[dict[str, int]] = {"Conv": 2}
    summary: ClassVar[str] = "convolution, 1-D/2-D/3-D, stride, padding, dilation, groups"

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Padding
    dilation: tuple[int, ...]
    groups: int = 1
    bias: bool = True
    activation: str | None = None

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Conv:
        ndim = args.ndim(inputs)
        in_channels = inputs[0][-1]
        declared = args.optional_int("in_channels")
        if declared is not None and declared != in_channels:
            raise LayerRuleError(f"in_channels is {declared} but the input "
                                 f"{shape_str(inputs[0])} has {in_channels} channels")
        if args.value("depthwise", False):
            multiplier = args.integer("depth_multiplier", 1)
            out_channels, groups = in_channels * multiplier, in_channels
        else:
            out_channels = args.integer("out_channels", aliases=("filters",))
            groups = args.integer("groups", 1)
        layer = cls(in_channels=in_channels, out_channels=out_channels, groups=groups,
                    **window_args(args, ndim))
        args.finish()
        for what, count in (("in_channels", in_channels), ("out_channels", out_channels)):
            if count % groups:
                raise LayerRuleError(f"{what} {count} is not divisible by groups {groups}")
        return layer

    # ---- rules ----------------------------------------------------------
    def pads(self, spatial: Shape) -> Pairs:
        return resolve_padding(self.padding, spatial, self.kernel_size, self.stride,
                               self.dilation)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        *spatial, channels = inputs[0]
        if channels != self.in_channels:
            raise LayerRuleError(f"expects {self.in_channels} input channels; received "
                                 f"{channels} (input {shape_str(inputs[0])})")
        names = axis_names(len(spatial))
        out = tuple(window_out_len(n, k, s, p, d, axis=a)
                    for n, k, s, p, d, a in zip(spatial, self.kernel_size, self.stride,
                                                self.pads(tuple(spatial)), self.dilation, names,
                                                strict=True))
        return (*out, self.out_channels)

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """prod(k) * C_in/groups * C_out (+ C_out bias), as ``5x5x1x6+6``."""
        per_group = self.in_channels // self.groups
        weights = prod(self.kernel_size) * per_group * self.out_channels
        text = "x".join(str(v) for v in (*self.kernel_size, per_group, self.out_channels))
        if self.bias:
            return ParamCount(weights + self.out_channels, formula=f"{text}+{self.out_channels}",
                              tensors=2)
        return ParamCount(weights, formula=text, tensors=1)

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return prod(output) * prod(self.kernel_size) * (self.in_channels // self.groups)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return (prod(output) if self.bias else 0) + activation_ops(self.activation, output)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return window_step(self.kernel_size, self.stride, self.pads(inputs[0][:-1]),
                           self.dilation)

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The convolution keeps its input (the padded copy when padding is asymmetric);
        an inline activation keeps its output or the convolution's result."""
        keeps_output, extra = activation_saved(self.activation, output, itemsize)
        *spatial, c = inputs[0]
        pads = self.pads(tuple(spatial))
        if symmetric(pads) is None:
            padded = prod(n + b + a for n, (b, a) in zip(spatial, pads, strict=True)) * c
            return Saved(output=keeps_output, extra_bytes=extra + padded * itemsize)
        return Saved(inputs=(0,), output=keeps_output, extra_bytes=extra)

    def linear(self) -> Layer:
        """Without its inline activation."""
        return replace(self, activation=None) if self.activation else self

    def type_label(self) -> str:
        n = len(self.kernel_size)
        if self.groups == self.in_channels and self.groups > 1:
            return f"DepthwiseConv{n}D"
        return f"Conv{n}D"

    def window(self) -> tuple[int, ...]:
        return self.kernel_size

    def tag(self) -> str:
        depthwise = self.groups == self.in_channels and self.groups > 1
        return f"{'dw' if depthwise else 'conv'} {'x'.join(map(str, self.kernel_size[:2]))}"

    def hyper(self, inputs: tuple[Shape, ...], output: Shape) -> dict[str, str]:
        return {"filter": "x".join(map(str, (*self.kernel_size, self.out_channels))),
                "stride": per_axis_text(self.stride),
                "padding": padding_text(self.pads(inputs[0][:-1]))}

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        *spatial, c_in = inputs[0]
        lines = explain_windows(tuple(spatial), self.kernel_size, self.stride, self.padding,
                                self.pads(tuple(spatial)), self.dilation, False, output)
        lines.append(f"output shape: {shape_str(output)} ({self.out_channels} filters)")
        k = "*".join(map(str, self.kernel_size))
        per_group = c_in // self.groups
        group_note = f" (C_in/groups = {c_in}/{self.groups})" if self.groups > 1 else ""
        count = self.params(inputs)
        bias = f" + {self.out_channels}" if self.bias else ""
        lines.append(f"params = k*C_in*C_out{' + C_out' if self.bias else ''} = "
                     f"{k}*{per_group}*{self.out_channels}{bias} = {count.total:,}{group_note}")
        lines.append(f"MACs = out positions * C_out * k*C_in = "
                     f"{'*'.join(map(str, output[:-1]))}*{self.out_channels} * {k}*{per_group} = "
                     f"{self.macs(inputs, output):,} (FLOPs = 2 x MACs = "
                     f"{2 * self.macs(inputs, output):,})")
        return lines

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        pads = self.pads(inputs[0][:-1])
        sym = symmetric(pads)
        conv = getattr(nn(), f"Conv{len(self.kernel_size)}d")(
            self.in_channels, self.out_channels, self.kernel_size, stride=self.stride,
            padding=sym if sym is not None else 0, dilation=self.dilation, groups=self.groups,
            bias=self.bias)
        return sequential(None if sym is not None else pad_module(pads), conv,
                          activation_module(self.activation))

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        if class_name.startswith("Depthwise"):
            return convolution(cfg, "depthwise_conv", ndim_of(class_name), "depth_multiplier")
        return convolution(cfg, "conv", ndim_of(class_name), "filters", "groups")

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        n = len(self.kernel_size)
        padding, pre = explicit(self.padding, self.pads(inputs[0][:-1]), layers, n, name)
        common = {"kernel_size": self.kernel_size, "strides": self.stride, "padding": padding,
                  "dilation_rate": self.dilation, "use_bias": self.bias,
                  "activation": act(self.activation), "name": name}
        if self.groups == self.in_channels and self.groups > 1 and n < 3:
            return [*pre, getattr(layers, f"DepthwiseConv{n}D")(
                depth_multiplier=self.out_channels // self.in_channels, **common)]
        no_dilated_strides(self.stride, self.dilation)
        return [*pre, getattr(layers, f"Conv{n}D")(self.out_channels, groups=self.groups,
                                                    **common)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """``convolution`` with constant weights: conv, or conv_transpose when transposed."""
        _, w, bias, stride, padding, dilation, transposed, output_padding, groups = op.args[:9]
        n = x.dim() - 2
        if not constant(op, w, bias) or n not in (1, 2, 3):
            return None
        item = {"type": f"conv_transpose{n}d" if transposed else f"conv{n}d",
                "out_channels": int(w.shape[1] * groups if transposed else w.shape[0]),
                "kernel_size": ints(w.shape[2:]), "stride": ints(stride),
                "padding": ints(padding), "dilation": ints(dilation), "groups": int(groups),
                "bias": bias is not None}
        if transposed:
            item["output_padding"] = ints(output_padding)
        return item, [x]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Conv with stored weights (M, C/group, *k); group, strides, dilations, pads or
        auto_pad; a bias when its third input is a stored tensor."""
        first_layout(reader, node.input[0], "Conv")
        if reader.is_data(node.input[1]):
            raise Unsupported("a convolution whose weights are computed")
        w = reader.shape(node.input[1])
        a = reader.attrs(node)
        n = len(w) - 2
        item = {"type": f"conv{n}d", "out_channels": int(w[0]), "kernel_size": list(w[2:]),
                "groups": int(a.get("group", 1)), "bias": has_bias(reader, node), **window(a, n)}
        reader.emit(node, index, item, [node.input[0]], params=list(node.input[1:]))


# -------------------------------------------- shared by window-like kinds ---
def per_axis_text(values: tuple[int, ...]) -> str:
    """'2' when every axis agrees, else '2x1'."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def padding_text(pads: Pairs) -> str:
    """'1' for symmetric equal padding, else per-axis 'before+after' joined by ','."""
    if len(set(pads)) == 1 and pads[0][0] == pads[0][1]:
        return str(pads[0][0])
    return ",".join(f"{b}+{a}" for b, a in pads)


def explain_windows(spatial: Shape, kernel: tuple[int, ...], stride: tuple[int, ...],
                    padding: Padding, pads: Pairs, dilation: tuple[int, ...], ceil_mode: bool,
                    output: Shape) -> list[str]:
    """The output-size arithmetic of a sliding window, one line per distinct axis."""
    rule = "ceil" if ceil_mode else "floor"
    lines = [f"output size per axis: out = {rule}((n + p_before + p_after - d*(k-1) - 1) / s) + 1"]
    if padding == "same":
        lines.append("padding 'same' (TensorFlow rule): out = ceil(n / s); total padding = "
                     "max((out-1)*s + d*(k-1)+1 - n, 0), the extra pixel after")
    seen: dict[tuple[Any, ...], list[str]] = {}
    for name, n, k, s, p, d, o in zip(axis_names(len(spatial)), spatial, kernel, stride, pads,
                                      dilation, output, strict=False):
        seen.setdefault((n, k, s, p, d, o), []).append(name)
    for (n, k, s, p, d, o), names in seen.items():
        lines.append(f"  {', '.join(names)}: {window_formula(n, k, s, p, d, ceil_mode, o)}")
    return lines
