"""Zero padding (Keras ZeroPadding1D/2D/3D, PyTorch nn.ZeroPad2d / F.pad).

Pads each spatial axis by (before, after) zeros and optionally the channel
axis (the parameter-free "option A" shortcut of He et al. 2016 pads channels).
params 0, other_ops 0. Receptive field: offset -before, kernel 1, stride 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from .aten_args import arg, ints
from .base import Layer, Pairs, RFRule, RFStep, Shape, shape_str
from .bridge import CannotExpress, Item, Unsupported
from .conv import padding_text
from .fields import field
from .keras_read import PADS, channels_last, ndim_of
from .onnx_read import first_layout, text
from .torch_util import pad_module


@dataclass(frozen=True)
class ZeroPad(Layer):
    """Adds zeros around the spatial axes (and, optionally, channels)."""

    kind: ClassVar[str] = "zero_padding"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "pad": {}, "zeropad": {}, "zero_pad": {},
        **{f"{w}{n}d": {"ndim": n} for w in ("zero_padding", "zeropadding", "zeropad")
           for n in (1, 2, 3)}}
    aten_ops: ClassVar[tuple[str, ...]] = ("constant_pad_nd",)
    keras_classes: ClassVar[tuple[str, ...]] = ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
    onnx_ops: ClassVar[tuple[str, ...]] = ("Pad",)
    summary: ClassVar[str] = "zero padding of the spatial axes (and channels)"

    padding: Pairs
    channels: tuple[int, int] = (0, 0)

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> ZeroPad:
        ndim = args.ndim(inputs, min_rank=1)  # 0 for a vector: only channels can be padded
        padding = args.padding("padding", ndim, 1 if ndim else 0, allow_same=False)
        if isinstance(padding, str):
            raise LayerRuleError("argument 'padding' of zero_padding must be numbers, not "
                                 f"'{padding}'")
        channels = args.pair("channels", 0)
        args.finish()
        return cls(padding=padding, channels=channels)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        *spatial, c = inputs[0]
        return (*(n + b + a for n, (b, a) in zip(spatial, self.padding, strict=True)),
                c + sum(self.channels))

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return RFStep(kernel=tuple(1 for _ in self.padding),
                      stride=tuple(1 for _ in self.padding),
                      offset=tuple(-b for b, _ in self.padding))

    def type_label(self) -> str:
        return f"ZeroPadding{len(self.padding)}D" if self.padding else "ZeroPadding"

    def hyper(self, inputs: tuple[Shape, ...], output: Shape) -> dict[str, str]:
        return {"padding": padding_text(self.padding)} if self.padding else {}

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        lines = [f"each axis grows by its padding: {shape_str(inputs[0])} -> {shape_str(output)}"]
        if any(self.channels):
            lines.append(f"channels padded with {self.channels[0]}+{self.channels[1]} zero maps")
        return [*lines, "params = 0"]

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        return pad_module((self.channels, *self.padding))

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """F.pad with zeros (constant_pad_nd), by non-negative amounts, channels too."""
        flat, value = ints(op.args[1]), float(arg(op, 2, "value", 0) or 0)
        if value != 0 or any(p < 0 for p in flat) or len(flat) % 2:
            return None
        pairs = [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)][::-1]  # first dim 1st
        spatial = x.dim() - 2
        if len(pairs) > spatial + 1:
            return None
        channels = pairs[0] if len(pairs) == spatial + 1 else [0, 0]
        pairs = pairs[-spatial:] if spatial else []
        pairs = [[0, 0]] * (spatial - len(pairs)) + pairs
        return {"type": "zero_padding", "padding": pairs, "channels": channels}

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        channels_last(cfg)
        ndim = ndim_of(class_name)
        value = field(cfg, "padding", PADS, 1)
        if isinstance(value, int):
            value = [[value, value]] * ndim
        elif ndim == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
            value = [list(value)]  # ZeroPadding1D((left, right))
        else:
            value = [[v, v] if isinstance(v, int) else list(v) for v in value]
        return {"type": "zero_padding", "padding": value}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        n = len(inputs[0]) - 1
        if any(self.channels) or any(b < 0 or a < 0 for b, a in self.padding):
            raise CannotExpress("Keras's ZeroPadding pads spatial axes only, by non-negative "
                                "amounts")
        pads = tuple(tuple(p) for p in self.padding)
        return [getattr(layers, f"ZeroPadding{n}D")(padding=pads if n > 1 else pads[0],
                                                     name=name)]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Pad mode constant of the spatial axes and channels (pads: attribute before opset
        11, input after) of a channels-first map; not of selected axes."""
        x = first_layout(reader, node.input[0], "Pad")
        a = reader.attrs(node)
        if text(a.get("mode", "constant")) != "constant":
            raise Unsupported(f"Pad mode {text(a.get('mode'))}")
        pads = a.get("pads")
        if pads is None:
            pads = [int(v) for v in reader.const(node.input[1]).reshape(-1)]
        if len(node.input) > 3 and node.input[3]:
            raise Unsupported("Pad of selected axes")
        r = x.rank
        before, after = pads[:r], pads[r:]
        if before[0] or after[0]:
            raise Unsupported("Pad of the batch axis")
        if r == 2:
            raise Unsupported("Pad of a vector")
        item: Item = {"type": "zero_padding",
                      "padding": [[before[i], after[i]] for i in range(2, r)]}
        if before[1] or after[1]:
            item["channels"] = [before[1], after[1]]
        reader.emit(node, index, item, [node.input[0]])
