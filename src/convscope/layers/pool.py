"""Sliding-window pooling, 1-D/2-D/3-D: max, average and L_p ("power") pooling.

PyTorch's nn.MaxPoolNd / nn.AvgPoolNd / nn.LPPoolNd and Keras's MaxPoolingND /
AveragePoolingND.

* output per axis: as convolution (seed 002: "using the same formula as the
  calculation of the convolution"), ``stride`` defaulting to the window size.
  ``ceil_mode`` rounds up as Caffe does for GoogLeNet, with PyTorch's rule that
  a window starting inside the right padding is dropped.
  ``padding: same`` follows TensorFlow (seed 004's MaxPool2D(2, 2, 'same')).
* params: 0 (seed 002).
* MACs: 0. other_ops: one operation per window element, prod(out) * prod(k).
* receptive-field step: as convolution.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .aten_args import arg, ints
from .base import (
    INDEX_BYTES,
    Layer,
    Padding,
    Pairs,
    RFRule,
    Saved,
    Shape,
    axis_names,
    prod,
    shape_str,
    window_step,
)
from .bridge import CannotExpress, Item, Unsupported
from .conv import explain_windows, padding_text, per_axis_text
from .fields import DIMS, field
from .keras_read import channels_last, ndim_of, window_padding
from .keras_write import explicit
from .onnx_read import first_layout, need, window
from .torch_util import nn, pad_module, sequential, symmetric
from .window import resolve_padding, window_out_len

MODES = ("max", "avg", "lp")
LABELS = {"max": "MaxPooling", "avg": "AveragePooling", "lp": "LPPool"}


def _aliases() -> dict[str, dict[str, Any]]:
    names = {"max": ("maxpool", "max_pool", "max_pooling", "maxpooling"),
             "avg": ("avgpool", "avg_pool", "average_pooling", "averagepooling", "avg_pooling"),
             "lp": ("lppool", "lp_pool", "power_pool", "powerpool")}
    out: dict[str, dict[str, Any]] = {}
    for mode, words in names.items():
        for word in words:
            out[word] = {"mode": mode}
            for n in (1, 2, 3):
                out[f"{word}{n}d"] = {"mode": mode, "ndim": n}
    return out


@dataclass(frozen=True)
class Pool(Layer):
    """Max / average / L_p pooling over a sliding window."""

    kind: ClassVar[str] = "pool"
    aliases: ClassVar[dict[str, dict[str, Any]]] = _aliases()
    aten_ops: ClassVar[tuple[str, ...]] = tuple(  # max_pool2d_with_indices, avg_pool2d, ...
        f"{mode}_pool{n}d{tail}" for n in (1, 2, 3)
        for mode, tail in (("max", "_with_indices"), ("max", ""), ("avg", "")))
    keras_classes: ClassVar[tuple[str, ...]] = tuple(
        f"{word}{n}D" for word in ("MaxPooling", "MaxPool", "AveragePooling", "AvgPool")
        for n in (1, 2, 3))
    onnx_ops: ClassVar[tuple[str, ...]] = ("MaxPool", "AveragePool", "LpPool")
    summary: ClassVar[str] = "max / average / L_p pooling window, ceil mode, padding"

    mode: str
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Padding = "valid"
    dilation: tuple[int, ...] = ()
    ceil_mode: bool = False
    norm_type: float = 2.0

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Pool:
        ndim = args.ndim(inputs)
        mode = args.choice("mode", MODES)
        kernel = args.ints("kernel_size", ndim, aliases=("pool_size", "kernel"))
        layer = cls(
            mode=mode,
            kernel_size=kernel,
            stride=args.ints("stride", ndim, kernel, aliases=("strides",)),
            padding=args.padding("padding", ndim, 0),
            dilation=args.ints("dilation", ndim, 1),
            ceil_mode=args.flag("ceil_mode", False),
            norm_type=args.number("norm_type", 2.0, low=1e-9, aliases=("p",))
            if mode == "lp" else 2.0,
        )
        args.value("count_include_pad", True)  # accepted; affects values, not counts
        args.finish()
        if mode != "max" and any(d != 1 for d in layer.dilation):
            raise LayerRuleError(f"dilation {per_axis_text(layer.dilation)} is only supported "
                                 "by max pooling (as in PyTorch)")
        return layer

    def pads(self, spatial: Shape) -> Pairs:
        return resolve_padding(self.padding, spatial, self.kernel_size, self.stride,
                               self.dilation)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        *spatial, channels = inputs[0]
        out = tuple(window_out_len(n, k, s, p, d, self.ceil_mode, axis=a, what="pool window")
                    for n, k, s, p, d, a in zip(spatial, self.kernel_size, self.stride,
                                                self.pads(tuple(spatial)), self.dilation,
                                                axis_names(len(spatial)), strict=True))
        return (*out, channels)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return prod(output) * prod(self.kernel_size)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return window_step(self.kernel_size, self.stride, self.pads(inputs[0][:-1]),
                           self.dilation)

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """Max pooling keeps its input and int64 indices; average pooling its input; L_p
        pooling its input, its powered input and four output-sized intermediates. With
        padding PyTorch cannot take itself, the explicitly padded copy is the input."""
        spatial, c = inputs[0][:-1], inputs[0][-1]
        kept: tuple[int, ...] = (0,)
        extra = 0
        if not self._torch_native(self.pads(spatial)):
            kept, extra = (), prod(self._exact_lengths(inputs)) * c * itemsize
        window = prod(inputs[0]) * itemsize if kept else extra
        if self.mode == "max":
            return Saved(inputs=kept, extra_bytes=extra + prod(output) * INDEX_BYTES)
        if self.mode == "lp":
            return Saved(inputs=kept, extra_bytes=extra + window + 4 * prod(output) * itemsize)
        return Saved(inputs=kept, extra_bytes=extra)

    def _exact_lengths(self, inputs: tuple[Shape, ...]) -> tuple[int, ...]:
        """The padded (or cropped) lengths the windows cover exactly: (out-1)*s + k_eff."""
        out = self.output_shape(inputs)[:-1]
        return tuple((o - 1) * s + d * (k - 1) + 1 for o, s, k, d in
                     zip(out, self.stride, self.kernel_size, self.dilation, strict=True))

    def linear(self) -> Layer:
        """Max and L_p pooling become average pooling over the same windows (max pooling
        with dilation stays: average pooling has none)."""
        if self.mode == "avg" or any(d != 1 for d in self.dilation):
            return self
        return replace(self, mode="avg")

    def type_label(self) -> str:
        return f"{LABELS[self.mode]}{len(self.kernel_size)}D"

    def window(self) -> tuple[int, ...]:
        return self.kernel_size

    def tag(self) -> str:
        return f"{LABELS[self.mode][:3].lower()}pool {'x'.join(map(str, self.kernel_size[:2]))}"

    def hyper(self, inputs: tuple[Shape, ...], output: Shape) -> dict[str, str]:
        return {"filter": "x".join(map(str, self.kernel_size)),
                "stride": per_axis_text(self.stride),
                "padding": padding_text(self.pads(inputs[0][:-1]))}

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        spatial = inputs[0][:-1]
        lines = explain_windows(spatial, self.kernel_size, self.stride, self.padding,
                                self.pads(spatial), self.dilation, self.ceil_mode, output)
        if self.ceil_mode:
            lines.append("ceil mode (PyTorch): a last window that would start inside the right "
                         "padding is dropped")
        lines.append(f"output shape: {shape_str(output)} (pooling keeps the {output[-1]} "
                     "channels)")
        lines.append("params = 0 (pooling has no weights)")
        return lines

    def _torch_native(self, pads: Pairs) -> bool:
        """Whether nn.*PoolNd can take the padding itself (symmetric, at most half the
        kernel size, as PyTorch requires)."""
        sym = symmetric(pads)
        if sym is None:
            return False
        if not any(sym):
            return True
        return self.mode != "lp" and all(2 * p <= k for p, k in zip(sym, self.kernel_size,
                                                                      strict=True))

    def autocast(self, device: str) -> str | None:
        """3-d pooling in float32 on the CPU (autocast_mode.cpp); Lp pooling: not modelled."""
        cpu3d = device == "cpu" and len(self.kernel_size) == 3
        return None if self.mode == "lp" else "float32" if cpu3d else "follow"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        spatial = inputs[0][:-1]
        n = len(spatial)
        pads = self.pads(spatial)
        # PyTorch's CPU AvgPool3d refuses an unpadded input smaller than the kernel even
        # when its padding makes the window fit: pad explicitly then (zeros, which average
        # pooling counts as its own padding does)
        small = self.mode == "avg" and n == 3 and any(
            size < k for size, k in zip(spatial, self.kernel_size, strict=True))
        native = self._torch_native(pads) and not small
        padding: Any = symmetric(pads) if native else 0
        if native:
            pre = None
        else:
            # Pad (or crop) explicitly to exactly the length the windows cover, then pool
            # in floor mode: the same windows as ceil mode / asymmetric padding.
            exact = tuple((b, length - size - b) for (b, _), length, size in
                          zip(pads, self._exact_lengths(inputs), spatial, strict=True))
            pre = pad_module(exact, float("-inf") if self.mode == "max" else 0.0)
        ceil = self.ceil_mode and native
        if self.mode == "max":
            pool = getattr(nn(), f"MaxPool{n}d")(self.kernel_size, self.stride, padding,
                                                  self.dilation, ceil_mode=ceil)
        elif self.mode == "avg":
            pool = getattr(nn(), f"AvgPool{n}d")(self.kernel_size, self.stride, padding,
                                                  ceil_mode=ceil)
        else:
            # F.lp_pool1d multiplies by kernel_size: it must be an int there
            kernel, stride = ((self.kernel_size[0], self.stride[0]) if n == 1
                              else (self.kernel_size, self.stride))
            pool = getattr(nn(), f"LPPool{n}d")(self.norm_type, kernel, stride, ceil_mode=ceil)
        return sequential(pre, pool)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        channels_last(cfg)
        mode = "max" if class_name.startswith("Max") else "avg"
        item: Item = {"type": f"{mode}pool{ndim_of(class_name)}d",
                      "pool_size": field(cfg, "pool_size", DIMS), "padding": window_padding(cfg)}
        if cfg.get("strides") is not None:
            item["strides"] = field(cfg, "strides", DIMS)
        return item

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        """Max pooling after explicit padding (or in ceil mode, whose last partial window
        becomes padding on the far side) pads with zeros in Keras where PyTorch pads with
        -inf: the values agree after a ReLU, where networks use it; the counts always."""
        n = len(self.kernel_size)
        if self.mode == "lp":
            raise CannotExpress("Keras has no power-average (L2) pooling layer")
        if any(d != 1 for d in self.dilation):
            raise CannotExpress("Keras's pooling has no dilation")
        pads = self.pads(inputs[0][:-1])
        padding = self.padding
        if self.ceil_mode:  # the last, partial window: pad the far side for it
            out = self.output_shape(inputs)[:-1]
            extra = [max((o - 1) * s + k - (size + b + a), 0) for o, s, k, size, (b, a)
                     in zip(out, self.stride, self.kernel_size, inputs[0][:-1], pads, strict=True)]
            if any(extra) and self.mode != "max":
                raise CannotExpress("Keras's average pooling has no ceil mode (here it changes "
                                    "the output size)")
            pads = tuple((b, a + e) for (b, a), e in zip(pads, extra, strict=True))
            padding = "explicit" if any(extra) else self.padding
        padding, pre = explicit(padding, pads, layers, n, name)
        word = "MaxPooling" if self.mode == "max" else "AveragePooling"
        return [*pre, getattr(layers, f"{word}{n}D")(pool_size=self.kernel_size,
                                                      strides=self.stride, padding=padding,
                                                      name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """max / avg pooling; an average with a ``divisor_override`` has no kind."""
        mode = "max" if op.name.startswith("max") else "avg"
        kernel = ints(arg(op, 1, "kernel_size"))
        stride = arg(op, 2, "stride", None) or kernel
        item = {"type": f"{mode}pool{x.dim() - 2}d", "kernel_size": kernel,
                "stride": ints(stride), "padding": ints(arg(op, 3, "padding", 0))}
        if mode == "max":
            item["dilation"] = ints(arg(op, 4, "dilation", 1))
            item["ceil_mode"] = bool(arg(op, 5, "ceil_mode", False))
        else:
            item["ceil_mode"] = bool(arg(op, 4, "ceil_mode", False))
            if arg(op, 6, "divisor_override", None) is not None:
                return None
        return item

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """MaxPool / AveragePool / LpPool (p): kernel_shape, strides, pads or auto_pad,
        ceil_mode; dilations for MaxPool only."""
        first_layout(reader, node.input[0], node.op_type)
        a = reader.attrs(node)
        kernel = list(need(a, "kernel_shape"))
        mode = {"MaxPool": "max", "AveragePool": "avg", "LpPool": "lp"}[node.op_type]
        item: Item = {"type": f"{mode}pool{len(kernel)}d", "kernel_size": kernel,
                      "ceil_mode": bool(a.get("ceil_mode", 0)), **window(a, len(kernel))}
        if mode != "max" and any(d != 1 for d in item.pop("dilation")):
            raise Unsupported(f"{node.op_type} with dilations")
        if mode == "lp":
            item["norm_type"] = float(a.get("p", 2))
        reader.emit(node, index, item, [node.input[0]])
