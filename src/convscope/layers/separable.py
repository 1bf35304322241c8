"""Depthwise-separable convolution in one layer (Keras's SeparableConv1D / SeparableConv2D,
Xception; MobileNet writes the same thing as two layers).

A depthwise convolution (one k x k filter per input channel, ``depth_multiplier`` of them,
no bias) followed by a 1 x 1 pointwise convolution to ``filters`` channels with the bias:

* params (Keras's SeparableConv2D): ``k*k*C_in*m + C_in*m*C_out (+ C_out)``;
* MACs: ``out positions * (k*k*C_in*m + C_in*m*C_out)``, bias excluded;
* receptive field: the depthwise window's (the 1 x 1 step adds nothing).
PyTorch has no single module: ``to_torch`` builds the two convolutions in a Sequential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .activation import activation_module, activation_saved
from .base import Layer, Padding, ParamCount, RFRule, Saved, Shape, prod, shape_str
from .bridge import Item
from .conv import Conv, window_args
from .keras_read import convolution, ndim_of
from .keras_write import act, explicit
from .torch_util import sequential


@dataclass(frozen=True)
class SeparableConv(Layer):
    """Depthwise k x k convolution, then a pointwise 1 x 1 convolution with the bias."""

    kind: ClassVar[str] = "separable_conv"
    autocast_policy = "lower"  # matrix products: 16 bit under autocast
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "separable_conv1d": {"ndim": 1}, "separable_conv2d": {"ndim": 2},
        "separableconv2d": {"ndim": 2}, "sepconv": {}}
    keras_classes: ClassVar[tuple[str, ...]] = ("SeparableConv1D", "SeparableConv2D")
    refused: ClassVar[dict[str, str]] = {
        "onnx": "ONNX has no separable convolution: torch.onnx writes a depthwise and a "
                "pointwise Conv, read back as two conv layers (the same numbers)"}
    summary: ClassVar[str] = "depthwise k x k then pointwise 1 x 1 convolution (Xception)"

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Padding
    dilation: tuple[int, ...]
    depth_multiplier: int = 1
    bias: bool = True
    activation: str | None = None

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> SeparableConv:
        ndim = args.ndim(inputs)
        layer = cls(in_channels=inputs[0][-1],
                    out_channels=args.integer("out_channels", aliases=("filters",)),
                    depth_multiplier=args.integer("depth_multiplier", 1),
                    **window_args(args, ndim))
        args.finish()
        return layer

    # the two halves, each a plain Conv with all its rules
    def depthwise(self) -> Conv:
        mid = self.in_channels * self.depth_multiplier
        return Conv(self.in_channels, mid, self.kernel_size, self.stride, self.padding,
                    self.dilation, groups=self.in_channels, bias=False)

    def pointwise(self) -> Conv:
        n = len(self.kernel_size)
        return Conv(self.in_channels * self.depth_multiplier, self.out_channels, (1,) * n,
                    (1,) * n, "valid", (1,) * n, bias=self.bias, activation=self.activation)

    def _middle(self, inputs: tuple[Shape, ...]) -> Shape:
        return self.depthwise().output_shape(inputs)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return self.pointwise().output_shape((self._middle(inputs),))

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """k*C_in*m (depthwise) + C_in*m*C_out (+ C_out): '3x3x32x1+32x64+64'."""
        dw, pw = self.depthwise(), self.pointwise()
        mid = (self._middle(inputs),)
        a, b = dw.params(inputs), pw.params(mid)
        k = "x".join(map(str, self.kernel_size))
        text = f"{k}x{self.in_channels}x{self.depth_multiplier}+" + \
            f"{self.in_channels * self.depth_multiplier}x{self.out_channels}"
        if self.bias:
            text += f"+{self.out_channels}"
        return ParamCount(a.trainable + b.trainable, formula=text, tensors=a.tensors + b.tensors)

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        mid = self._middle(inputs)
        return self.depthwise().macs(inputs, mid) + self.pointwise().macs((mid,), output)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """The pointwise half's bias and activation (the depthwise half has neither)."""
        return self.pointwise().other_ops((self._middle(inputs),), output)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return self.depthwise().rf_step(inputs, self._middle(inputs))

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """The depthwise half keeps its input; the pointwise half keeps the middle map."""
        first = self.depthwise().saved(inputs, self._middle(inputs), itemsize)
        keeps_output, extra = activation_saved(self.activation, output, itemsize)
        middle = prod(self._middle(inputs)) * itemsize
        return Saved(inputs=first.inputs, output=keeps_output,
                     extra_bytes=first.extra_bytes + middle + extra)

    def type_label(self) -> str:
        return f"SeparableConv{len(self.kernel_size)}D"

    def hyper(self, inputs: tuple[Shape, ...], output: Shape) -> dict[str, str]:
        return self.depthwise().hyper(inputs, self._middle(inputs)) | {
            "filter": "x".join(map(str, (*self.kernel_size, self.out_channels)))}

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        mid = self._middle(inputs)
        lines = [f"depthwise {'x'.join(map(str, self.kernel_size))}: {shape_str(inputs[0])} -> "
                 f"{shape_str(mid)} (one filter per input channel, x{self.depth_multiplier})"]
        lines += ["  " + line for line in self.depthwise().explain(inputs, mid)]
        lines.append(f"pointwise 1x1: {shape_str(mid)} -> {shape_str(output)}")
        lines += ["  " + line for line in self.pointwise().explain((mid,), output)]
        count = self.params(inputs)
        lines.append(f"params = {count.formula} = {count.total:,}")
        return lines

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        mid = self._middle(inputs)
        return sequential(self.depthwise().to_torch(inputs),
                          self.pointwise().linear().to_torch((mid,)),
                          activation_module(self.activation))

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        return convolution(cfg, "separable_conv", ndim_of(class_name), "filters",
                           "depth_multiplier")

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        n = len(self.kernel_size)
        padding, pre = explicit(self.padding, self.depthwise().pads(inputs[0][:-1]), layers,
                                n, name)
        return [*pre, getattr(layers, f"SeparableConv{n}D")(
            self.out_channels, self.kernel_size, strides=self.stride, padding=padding,
            dilation_rate=self.dilation, depth_multiplier=self.depth_multiplier,
            use_bias=self.bias, activation=act(self.activation), name=name)]
