"""N-d transposed convolution: PyTorch's nn.ConvTranspose1d/2d/3d, Keras's ConvNDTranspose.

* output per axis, PyTorch rule (explicit padding p):
  ``out = (n-1)*s - 2p + d*(k-1) + output_padding + 1``;
  Keras rule for ``valid``: ``out = n*s + max(k_eff - s, 0)``, for ``same``: ``out = n*s``.
* params: ``prod(k) * C_in/groups * C_out + C_out`` (same count as convolution).
* MACs (torch.utils.flop_counter's rule for transposed convolutions): every *input*
  position is multiplied by the whole kernel: ``prod(in spatial) * C_in * prod(k) * C_out/groups``.
* receptive-field step: stride 1/s; an output reads ceil(k_eff/s) input positions, the
  first at ceil((p - k_eff + 1)/s).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .activation import activation_module, activation_ops, activation_saved
from .base import (
    Layer,
    Padding,
    ParamCount,
    RFRule,
    RFStep,
    Saved,
    Shape,
    axis_names,
    prod,
    shape_str,
)
from .bridge import CannotExpress, Item, Unsupported
from .conv import padding_text, per_axis_text, window_args
from .keras_read import convolution, ndim_of
from .keras_write import no_dilated_strides
from .onnx_read import first_layout, has_bias, window
from .torch_util import nn, pad_module, sequential


@dataclass(frozen=True)
class ConvTranspose(Layer):
    """Transposed ("fractionally strided") convolution, used to upsample (DCGAN)."""

    kind: ClassVar[str] = "conv_transpose"
    autocast_policy = "lower"  # a matrix product: 16 bit under autocast
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "deconv": {}, "convtranspose": {}, "transposed_conv": {},
        **{f"conv_transpose{n}d": {"ndim": n} for n in (1, 2, 3)},
        **{f"convtranspose{n}d": {"ndim": n} for n in (1, 2, 3)},
        **{f"conv{n}dtranspose": {"ndim": n} for n in (1, 2, 3)},
        **{f"conv{n}d_transpose": {"ndim": n} for n in (1, 2, 3)},
        **{f"deconv{n}d": {"ndim": n} for n in (1, 2, 3)}}
    keras_classes: ClassVar[tuple[str, ...]] = tuple(f"Conv{n}DTranspose" for n in (1, 2, 3))
    onnx_ops: ClassVar[tuple[str, ...]] = ("ConvTranspose",)
    onnx_arity: ClassVar[dict[str, int]] = {"ConvTranspose": 2}
    summary: ClassVar[str] = "transposed convolution (upsampling), output_padding"

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Padding
    output_padding: tuple[int, ...] | None
    dilation: tuple[int, ...]
    groups: int = 1
    bias: bool = True
    activation: str | None = None

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> ConvTranspose:
        ndim = args.ndim(inputs)
        layer = cls(
            in_channels=inputs[0][-1],
            out_channels=args.integer("out_channels", aliases=("filters",)),
            output_padding=(args.ints("output_padding", ndim, minimum=0)
                            if args.value("output_padding", None) is not None else None),
            groups=args.integer("groups", 1),
            **window_args(args, ndim),
        )
        args.value("in_channels", None)
        args.finish()
        if not isinstance(layer.padding, str) and any(b != a for b, a in layer.padding):
            raise LayerRuleError("transposed convolution padding must be equal on both sides of "
                                 f"an axis (PyTorch's rule); received {layer.padding}")
        given = layer.output_padding or (0,) * ndim
        for op, s, d in zip(given, layer.stride, layer.dilation, strict=True):
            if op >= max(s, d):
                raise LayerRuleError(f"output_padding {op} must be smaller than the stride {s} "
                                     f"or the dilation {d} (PyTorch's rule)")
        for what, count in (("in_channels", layer.in_channels),
                            ("out_channels", layer.out_channels)):
            if count % layer.groups:
                raise LayerRuleError(f"{what} {count} is not divisible by groups {layer.groups}")
        return layer

    def torch_padding(self) -> tuple[tuple[int, int], ...]:
        """Per axis (crop p, output_padding) in PyTorch's terms, whatever the padding style."""
        out = []
        for i, (k, s, d) in enumerate(zip(self.kernel_size, self.stride, self.dilation,
                                          strict=True)):
            k_eff = d * (k - 1) + 1
            if isinstance(self.padding, str) and self.output_padding is None:
                # Keras infers the size: valid -> n*s + max(k_eff - s, 0); same -> n*s
                crop = k_eff - s if self.padding == "same" else min(k_eff - s, 0)
                p = max(-(-crop // 2), 0)
                out.append((p, 2 * p - crop))
            else:
                given = (self.output_padding or (0,) * len(self.kernel_size))[i]
                if isinstance(self.padding, str):
                    # Keras with output_padding: 'same' pads k_eff // 2 on each side
                    out.append((k_eff // 2 if self.padding == "same" else 0, given))
                else:
                    out.append((self.padding[i][0], given))
        return tuple(out)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        *spatial, channels = inputs[0]
        if channels != self.in_channels:
            raise LayerRuleError(f"expects {self.in_channels} input channels; received {channels}")
        out = []
        for n, k, s, d, (p, op), axis in zip(spatial, self.kernel_size, self.stride,
                                             self.dilation, self.torch_padding(),
                                             axis_names(len(spatial)), strict=True):
            size = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            if size < 1:
                raise LayerRuleError(f"output size on axis {axis} would be {size}: "
                                     f"(n-1)*s - 2p + d*(k-1) + output_padding + 1 with n={n}, "
                                     f"s={s}, p={p}, k={k}, d={d}, output_padding={op}")
            out.append(size)
        return (*out, self.out_channels)

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        per_group = self.in_channels // self.groups
        weights = prod(self.kernel_size) * per_group * self.out_channels
        text = "x".join(str(v) for v in (*self.kernel_size, per_group, self.out_channels))
        if self.bias:
            return ParamCount(weights + self.out_channels, formula=f"{text}+{self.out_channels}",
                              tensors=2)
        return ParamCount(weights, formula=text, tensors=1)

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return prod(inputs[0]) * prod(self.kernel_size) * (self.out_channels // self.groups)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return (prod(output) if self.bias else 0) + activation_ops(self.activation, output)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        kernel, offset = [], []
        for k, s, d, (p, _) in zip(self.kernel_size, self.stride, self.dilation,
                                   self.torch_padding(), strict=True):
            k_eff = d * (k - 1) + 1
            kernel.append(-(-k_eff // s))
            offset.append(Fraction(-(-(p - k_eff + 1) // s)))
        return RFStep(kernel=tuple(kernel), stride=tuple(Fraction(1, s) for s in self.stride),
                      offset=tuple(offset))

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """Keeps its input; an inline activation keeps its output or the result."""
        keeps_output, extra = activation_saved(self.activation, output, itemsize)
        return Saved(inputs=(0,), output=keeps_output, extra_bytes=extra)

    def linear(self) -> Layer:
        """Without its inline activation."""
        return replace(self, activation=None) if self.activation else self

    def type_label(self) -> str:
        return f"Conv{len(self.kernel_size)}DTranspose"

    def window(self) -> tuple[int, ...]:
        return self.kernel_size

    def hyper(self, inputs: tuple[Shape, ...], output: Shape) -> dict[str, str]:
        return {"filter": "x".join(map(str, (*self.kernel_size, self.out_channels))),
                "stride": per_axis_text(self.stride),
                "padding": padding_text(tuple((p, p) for p, _ in self.torch_padding()))}

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        lines = ["output size per axis (PyTorch): out = (n-1)*s - 2p + d*(k-1) + "
                 "output_padding + 1"]
        for axis, n, k, s, d, (p, op), o in zip(axis_names(len(output) - 1), inputs[0],
                                                self.kernel_size, self.stride, self.dilation,
                                                self.torch_padding(), output, strict=False):
            lines.append(f"  {axis}: out = ({n}-1)*{s} - 2*{p} + {d}*({k}-1) + {op} + 1 = {o}")
        count = self.params(inputs)
        lines.append(f"output shape: {shape_str(output)}")
        lines.append(f"params = {count.formula} = {count.total:,}")
        lines.append(f"MACs = input positions * C_in * k * C_out/groups = "
                     f"{self.macs(inputs, output):,}")
        return lines

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        pads = self.torch_padding()
        native = all(op < max(s, d) for (_, op), s, d in zip(pads, self.stride, self.dilation,
                                                            strict=True))
        conv = getattr(nn(), f"ConvTranspose{len(self.kernel_size)}d")(
            self.in_channels, self.out_channels, self.kernel_size, stride=self.stride,
            padding=tuple(p for p, _ in pads) if native else 0,
            output_padding=tuple(op for _, op in pads) if native else 0,
            groups=self.groups, bias=self.bias, dilation=self.dilation)
        crop = None
        if not native:
            # PyTorch refuses output_padding >= stride: build the full output and crop it
            full = [(n - 1) * s + d * (k - 1) + 1 for n, s, d, k in
                    zip(inputs[0], self.stride, self.dilation, self.kernel_size, strict=False)]
            out = self.output_shape(inputs)
            crop = pad_module(tuple((-p, o - f + p) for (p, _), f, o in zip(pads, full, out,
                                                                            strict=False)))
        return sequential(conv, crop, activation_module(self.activation))

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        return convolution(cfg, "conv_transpose", ndim_of(class_name), "filters",
                           "output_padding")

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        """PyTorch's integer padding crops the output: a Cropping layer after a 'valid' one."""
        n = len(self.kernel_size)
        if self.groups != 1:
            raise CannotExpress("Keras's transposed convolutions have no groups")
        no_dilated_strides(self.stride, self.dilation)
        if any(op >= s for op, s in zip(self.output_padding or (), self.stride, strict=False)):
            raise CannotExpress("Keras's output_padding must be smaller than the stride")
        padding = self.padding if self.padding in ("valid", "same") else "valid"
        out = [getattr(layers, f"Conv{n}DTranspose")(
            self.out_channels, self.kernel_size, strides=self.stride, padding=padding,
            output_padding=self.output_padding, dilation_rate=self.dilation,
            use_bias=self.bias, name=name)]
        if self.padding not in ("valid", "same"):
            crop = tuple((b, a) for b, a in self.padding)
            if any(b or a for b, a in crop):
                out.append(getattr(layers, f"Cropping{n}D")(
                    cropping=crop if n > 1 else crop[0], name=f"{name}_crop"))
        return out

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """ConvTranspose with weights (C, M/group, *k); output_padding; not output_shape
        nor auto_pad SAME_UPPER."""
        first_layout(reader, node.input[0], "ConvTranspose")
        w = reader.shape(node.input[1])
        a = reader.attrs(node)
        n = len(w) - 2
        if "output_shape" in a:
            raise Unsupported("ConvTranspose with output_shape")
        groups = int(a.get("group", 1))
        item: Item = {"type": f"conv_transpose{n}d", "out_channels": int(w[1]) * groups,
                      "kernel_size": list(w[2:]), "groups": groups,
                      "bias": has_bias(reader, node), **window(a, n)}
        if item["padding"] == "same":
            raise Unsupported("ConvTranspose with auto_pad SAME_UPPER")
        if any(a.get("output_padding", [])):
            item["output_padding"] = list(a["output_padding"])
        reader.emit(node, index, item, [node.input[0]], params=list(node.input[1:]))
