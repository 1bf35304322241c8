"""Dense (fully connected) layer: Keras's Dense, PyTorch's nn.Linear, the seeds' FC.

* ``dense`` / ``linear`` act on the last axis (channels), as Keras and PyTorch
  do; on an H x W x C map that is a 1x1 convolution.
* ``fc`` first flattens its whole input, as the seeds' tables do
  (FC1 of LeNet-5 reads 5x5x16 directly).
* params (seeds 002, 003, 004): ``n_in * n_out + n_out``, e.g. 28*28*3*500 + 500 = 1,176,000.
* MACs: ``positions * n_in * n_out``, bias excluded (2 x MACs = torch flop_counter).
* other_ops: one add per output value for the bias, plus the inline activation.
* receptive field: global when the input is flattened, otherwise unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from .activation import activation_module, activation_ops, activation_saved
from .aten_args import arg, constant
from .base import GLOBAL, IDENTITY, Layer, ParamCount, RFRule, Saved, Shape, prod, shape_str
from .bridge import Item, Unsupported
from .conv import read_activation
from .fields import DIM, FLAG, field
from .keras_read import with_activation
from .keras_write import act as keras_act
from .onnx_read import has_bias
from .torch_util import nn, sequential


@dataclass(frozen=True)
class Dense(Layer):
    """Fully connected layer (matrix multiply plus bias)."""

    kind: ClassVar[str] = "dense"
    autocast_policy = "lower"  # a matrix product: 16 bit under autocast
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "linear": {}, "fc": {"flatten_input": True}, "fully_connected": {"flatten_input": True}}
    aten_ops: ClassVar[tuple[str, ...]] = ("addmm", "mm")
    keras_classes: ClassVar[tuple[str, ...]] = ("Dense",)
    onnx_ops: ClassVar[tuple[str, ...]] = ("Gemm", "MatMul")
    onnx_arity: ClassVar[dict[str, int]] = {"Gemm": 2, "MatMul": 2}
    summary: ClassVar[str] = "fully connected layer (fc flattens its input first)"

    units: int
    bias: bool = True
    activation: str | None = None
    flatten_input: bool = False

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Dense:
        layer = cls(units=args.integer("units", aliases=("out_features", "out_channels")),
                    bias=args.flag("bias", True, aliases=("use_bias",)),
                    activation=read_activation(args),
                    flatten_input=args.flag("flatten_input", False))
        args.value("in_features", None)  # accepted for PyTorch users; the input decides
        args.finish()
        return layer

    def _flattens(self, shape: Shape) -> bool:
        return self.flatten_input and len(shape) > 1

    def _n_in(self, shape: Shape) -> int:
        return prod(shape) if self._flattens(shape) else shape[-1]

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        return (self.units,) if self._flattens(shape) else (*shape[:-1], self.units)

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """n_in * n_out + n_out, written with the input shape as the seeds do: 5x5x16x120+120."""
        shape = inputs[0]
        n_in = self._n_in(shape)
        text = f"{shape_str(shape) if self._flattens(shape) else n_in}x{self.units}"
        if self.bias:
            return ParamCount(n_in * self.units + self.units, formula=f"{text}+{self.units}",
                              tensors=2)
        return ParamCount(n_in * self.units, formula=text, tensors=1)

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return prod(output[:-1]) * self._n_in(inputs[0]) * self.units

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return (prod(output) if self.bias else 0) + activation_ops(self.activation, output)

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return GLOBAL if len(inputs[0]) == 1 or self._flattens(inputs[0]) else IDENTITY

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """Keeps its input (through the flatten view); an inline activation keeps its
        output or the result."""
        keeps_output, extra = activation_saved(self.activation, output, itemsize)
        return Saved(inputs=(0,), output=keeps_output, extra_bytes=extra)

    def linear(self) -> Layer:
        """Without its inline activation."""
        return replace(self, activation=None) if self.activation else self

    def type_label(self) -> str:
        return "Dense"

    def tag(self) -> str:
        return "fc"

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        shape = inputs[0]
        n_in = self._n_in(shape)
        lines = []
        if self._flattens(shape):
            lines.append(f"the input {shape_str(shape)} is flattened to "
                         f"{'*'.join(map(str, shape))} = {n_in:,} values")
        elif len(shape) > 1:
            lines.append(f"applied at each of the {prod(shape[:-1]):,} positions to the "
                         f"{n_in} channels (like a 1x1 convolution)")
        count = self.params(inputs)
        bias = f" + {self.units}" if self.bias else ""
        lines.append(f"output shape: {shape_str(output)}")
        lines.append(f"params = n_in*n_out{' + n_out' if self.bias else ''} = "
                     f"{n_in}*{self.units}{bias} = {count.total:,}")
        lines.append(f"MACs = {prod(output[:-1])}*{n_in}*{self.units} = "
                     f"{self.macs(inputs, output):,} (FLOPs = 2 x MACs)")
        return lines

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        shape = inputs[0]
        act = activation_module(self.activation)
        if len(shape) > 1 and not self._flattens(shape):
            # channels-first tensors: a dense layer on the channel axis is a 1x1 conv
            conv = getattr(nn(), f"Conv{len(shape) - 1}d")(shape[-1], self.units, 1,
                                                           bias=self.bias)
            return sequential(conv, act)
        flatten = nn().Flatten(1) if self._flattens(shape) else None
        return sequential(flatten, nn().Linear(self._n_in(shape), self.units, bias=self.bias),
                          act)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        return with_activation({"type": "dense", "units": field(cfg, "units", DIM),
                                "use_bias": field(cfg, "use_bias", FLAG, True)}, cfg)

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        pre = [layers.Flatten(name=f"{name}_flatten")] if self._flattens(inputs[0]) else []
        return [*pre, layers.Dense(self.units, use_bias=self.bias,
                                   activation=keras_act(self.activation), name=name)]

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """``F.linear`` on (N, K): addmm(bias, x, weight.t()) or mm(x, weight.t())."""
        with_bias = op.name == "addmm"
        bias, a, w = op.args[:3] if with_bias else (None, *op.args[:2])
        if a is not x or not constant(op, w, bias) or x.dim() != 2:
            return None
        if with_bias and (arg(op, 3, "beta", 1) != 1 or arg(op, 4, "alpha", 1) != 1
                          or bias.dim() != 1):
            return None
        return {"type": "dense", "units": int(w.shape[1]), "bias": with_bias}

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Gemm (transB, bias C) with stored B; MatMul by a stored matrix, whose bias is
        the Add after it (onnx/importer.py's ``dense_bias``)."""
        if node.op_type == "MatMul":
            onnx_matmul(reader, node, index)
            return
        a = reader.attrs(node)
        if a.get("transA", 0) or reader.is_data(node.input[1]):
            raise Unsupported("Gemm with a transposed or computed A / B")
        b = reader.shape(node.input[1])
        units = int(b[0] if a.get("transB", 0) else b[1])
        reader.emit(node, index, {"type": "dense", "units": units,
                                  "bias": has_bias(reader, node)},
                    [node.input[0]], params=list(node.input[1:]))


def onnx_matmul(reader: Any, node: Any, index: int) -> None:
    if reader.is_data(node.input[0]) and reader.is_data(node.input[1]):
        from .matmul import MatMul

        MatMul.from_onnx(reader, node, index)  # of two computed tensors: a matmul
        return
    if reader.is_data(node.input[1]) or len(reader.shape(node.input[1])) != 2:
        raise Unsupported("MatMul of a constant and a computed tensor")
    x = reader.values[node.input[0]]
    if x.rank > 2 and x.layout != "last":
        raise Unsupported("MatMul over a channels-first tensor's last axis")
    units = int(reader.shape(node.input[1])[1])
    name = reader.emit(node, index, {"type": "dense", "units": units, "bias": False},
                       [node.input[0]], layout=x.layout, params=[node.input[1]])
    reader.pending_bias[node.output[0]] = name
