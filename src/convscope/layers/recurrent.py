"""The recurrent family SimpleRNN / LSTM / GRU in one class (the embedding that feeds it
token vectors is in embedding.py).

A sequence is a 2-D shape ``(T, F)``: T time steps of F features, channels last like
every other shape here (Keras's ``(batch, timesteps, features)`` without the batch).
Token indices for an embedding are a 1-D shape ``(T,)``.

Parameters of one direction with input size i and h units, g gates (SimpleRNN 1,
LSTM 4, GRU 3; seed 001 introduces them next to CNNs; Keras's and PyTorch's sources):

* Keras: ``g*(h*(i+h) + h)``, one bias vector per gate; e.g. LSTM 4*(h*(i+h)+h).
* Keras GRU with ``reset_after=True`` (Keras 3's default): ``3*(h*(i+h) + 2h)``: the
  recurrent kernel has its own bias because the reset gate is applied after the product.
* PyTorch (nn.RNN / nn.LSTM / nn.GRU): ``g*h*(i+h) + 2*g*h``, two bias vectors (b_ih and
  b_hh) for every gate. For GRU this equals Keras's reset_after=True count; for SimpleRNN
  and LSTM PyTorch holds g*h more (the ``torch_extra`` of :class:`ParamCount`).
  Keras's ``reset_after=False`` GRU has no PyTorch module (building it is refused).
* Bidirectional doubles everything; the two directions' outputs are concatenated
  (``merge_mode: concat``, 2h) or summed / multiplied / averaged (h).

MACs: ``T * directions * g * h * (i+h)`` (the input and recurrent matrix products, bias
excluded): 2 x MACs is what torch.utils.flop_counter counts for nn.RNN/LSTM/GRU.
other_ops per step and direction (``STEP_OPS``): SimpleRNN 2h (bias, tanh), LSTM 13h,
GRU 10h. Receptive field: every output may depend on every earlier step (on every step
when bidirectional), so the field is global.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import LayerRuleError
from ..limits import shown
from .base import GLOBAL, Layer, ParamCount, RFRule, Saved, Shape, prod, shape_str
from .bridge import Item, Unsupported
from .checks import check_declared
from .fields import DIM, FLAG, MAPPING, TEXT, field
from .keras_read import activation as keras_activation
from .onnx_read import need, text

GATES = {"simple": 1, "lstm": 4, "gru": 3}
LABELS = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
# element-wise operations per time step, direction and unit (convscope's convention):
# SimpleRNN: bias add, tanh; LSTM: 4 bias adds, 4 gate activations, c = f*c + i*g (3),
# h = o*tanh(c) (2); GRU: 3 bias adds, 3 gate activations, r*(.) (1), h = (1-z)*n + z*h (3)
STEP_OPS = {"simple": 2, "lstm": 13, "gru": 10}
MERGES = ("concat", "sum", "mul", "ave")


@dataclass(frozen=True)
class Recurrent(Layer):
    """SimpleRNN, LSTM or GRU over a (T, F) sequence, optionally bidirectional."""

    kind: ClassVar[str] = "recurrent"
    autocast_policy = None  # cuDNN's and oneDNN's kernels keep workspaces: not modelled
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        "rnn": {"cell": "simple"}, "simple_rnn": {"cell": "simple"},
        "simplernn": {"cell": "simple"}, "lstm": {"cell": "lstm"}, "gru": {"cell": "gru"}}
    keras_classes: ClassVar[tuple[str, ...]] = ("SimpleRNN", "LSTM", "GRU", "Bidirectional")
    refused: ClassVar[dict[str, str]] = {
        "pytorch": "ATen runs the cells step by step (mm, add, sigmoid, tanh, stack ...): "
                   "imported as those operations, partly opaque, counting PyTorch's biases"}
    onnx_ops: ClassVar[tuple[str, ...]] = ("RNN", "LSTM", "GRU")
    onnx_arity: ClassVar[dict[str, int]] = {"RNN": 3, "LSTM": 3, "GRU": 3}
    summary: ClassVar[str] = "SimpleRNN / LSTM / GRU over a T x F sequence (bidirectional too)"

    cell: str
    units: int
    input_size: int
    return_sequences: bool = False
    bidirectional: bool = False
    merge_mode: str = "concat"
    bias: bool = True
    reset_after: bool = True
    activation: str = "tanh"

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Recurrent:
        cell = args.choice("cell", tuple(GATES))
        layer = cls(
            cell=cell, units=args.integer("units", aliases=("hidden_size",)),
            input_size=inputs[0][-1],
            return_sequences=args.flag("return_sequences", False),
            bidirectional=args.flag("bidirectional", False),
            merge_mode=args.choice("merge_mode", MERGES, "concat"),
            bias=args.flag("bias", True, aliases=("use_bias",)),
            reset_after=args.flag("reset_after", True) if cell == "gru" else True,
            activation=args.choice("activation", ("tanh", "relu"), "tanh")
            if cell == "simple" else "tanh")
        declared = args.optional_int("input_features", aliases=("input_size",))
        args.finish()
        check_declared("input_size", declared, layer.input_size, "features")
        return layer

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def gates(self) -> int:
        return GATES[self.cell]

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        if len(shape) != 2:
            raise LayerRuleError(f"expects a sequence T x F (time steps x features); received "
                                 f"{shape_str(shape)}")
        if shape[-1] != self.input_size:
            raise LayerRuleError(f"expects {self.input_size} features; received {shape[-1]}")
        width = self.units * (self.directions if self.merge_mode == "concat" else 1)
        return (shape[0], width) if self.return_sequences else (width,)

    def _biases(self) -> int:
        """Bias vectors per gate in Keras: two for reset_after GRU, else one."""
        if not self.bias:
            return 0
        return 2 if self.cell == "gru" and self.reset_after else 1

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        """Keras's count g*(h*(i+h) + b*h) per direction; PyTorch's extra b_hh in torch_extra."""
        g, h, i, d = self.gates, self.units, self.input_size, self.directions
        b = self._biases()
        keras = d * g * (h * (i + h) + b * h)
        torch_biases = 2 if self.bias else 0
        extra = d * g * h * (torch_biases - b)
        inner = f"{h}x({i}+{h})" + (f"+{b}x{h}" if b == 2 else f"+{h}" if b else "")
        formula = f"{g}x({inner})" if g > 1 else inner
        if d == 2:
            formula = f"2x{formula}" if g > 1 else f"2x({formula})"
        return ParamCount(keras, formula=formula, torch_extra=extra,
                          tensors=d * (2 + torch_biases))

    def torch_formula(self) -> str:
        """PyTorch's count, written out: g*h*(i+h) + 2*g*h per direction."""
        g, h, i = self.gates, self.units, self.input_size
        text = f"{g}x{h}x({i}+{h})" + (f"+2x{g}x{h}" if self.bias else "")
        return f"2x({text})" if self.bidirectional else text

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        steps = inputs[0][0]
        return steps * self.directions * self.gates * self.units * (self.input_size + self.units)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        ops = inputs[0][0] * self.directions * STEP_OPS[self.cell] * self.units
        if self.bidirectional and self.merge_mode != "concat":
            ops += prod(output)
        return ops

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return GLOBAL

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """PyTorch's native CPU/GPU kernels (measured with saved_tensors_hooks): each direction
        keeps its own contiguous copy of the sequence (T*F) and, per step, SimpleRNN its
        output and the initial state (T*h + h), LSTM and GRU 7h values (gates, states);
        merge_mode mul keeps both directions' outputs.
        oneDNN's LSTM on CPU keeps an extra workspace that this rule does not model."""
        steps, h, d = inputs[0][0], self.units, self.directions
        per_step = h if self.cell == "simple" else 7 * h
        values = steps * self.input_size + steps * per_step + (h if self.cell == "simple" else 0)
        # merge_mode mul keeps both directions' outputs (one storage of 2 x the output)
        merge = 2 * prod(output) if self.bidirectional and self.merge_mode == "mul" else 0
        return Saved(extra_bytes=itemsize * (d * values + merge))

    def type_label(self) -> str:
        label = LABELS[self.cell]
        return f"Bidirectional({label})" if self.bidirectional else label

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        g, h, i, t = self.gates, self.units, self.input_size, inputs[0][0]
        count = self.params(inputs)
        lines = [f"{t} time steps of {i} features; {h} units, {g} gate(s) "
                 f"({LABELS[self.cell]}){'; both directions' if self.bidirectional else ''}",
                 f"output shape: {shape_str(output)} ("
                 + ("every step" if self.return_sequences else "the last step only") + ")"]
        b = self._biases()
        bias = {0: "", 1: " + h", 2: " + 2h"}[b]
        lines.append(f"params (Keras) = {'2 x ' if self.bidirectional else ''}"
                     f"{g} x (h*(i+h){bias}) = {count.formula} = {count.total:,}")
        if count.torch_extra:
            lines.append(f"params (PyTorch, two bias vectors b_ih and b_hh) = "
                         f"{self.torch_formula()} = {count.torch_params:,}")
        lines.append(f"MACs = T x directions x g x h x (i+h) = {t}*{self.directions}*{g}*{h}*"
                     f"({i}+{h}) = {self.macs(inputs, output):,} (FLOPs = 2 x MACs)")
        return lines

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        if self.cell == "gru" and not self.reset_after:
            raise LayerRuleError("PyTorch's nn.GRU applies the reset gate after the recurrent "
                                 "product (Keras reset_after=True); a reset_after=False GRU "
                                 "has no PyTorch module")
        from .recurrent_torch import RNN

        return RNN(self.cell, self.input_size, self.units, bias=self.bias,
                   bidirectional=self.bidirectional, merge_mode=self.merge_mode,
                   return_sequences=self.return_sequences, nonlinearity=self.activation)

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        if class_name != "Bidirectional":
            return keras_cell(class_name, cfg)
        inner = field(cfg, "layer", MAPPING)
        inner_class = field(inner, "class_name", TEXT)
        if inner_class not in KERAS_CELLS:
            raise Unsupported(f"Bidirectional({shown(inner_class)})")
        if "merge_mode" in cfg and cfg["merge_mode"] is None:
            raise Unsupported("Bidirectional with merge_mode=None (two outputs)")
        merge = field(cfg, "merge_mode", TEXT, "concat")
        return {**keras_cell(inner_class, field(inner, "config", MAPPING)), "bidirectional": True,
                "merge_mode": merge}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        kwargs: dict[str, Any] = {"return_sequences": self.return_sequences,
                                  "use_bias": self.bias}
        if self.cell == "gru":
            kwargs["reset_after"] = self.reset_after
        if self.cell == "simple":
            kwargs["activation"] = self.activation
        cell = getattr(layers, LABELS[self.cell])
        if not self.bidirectional:
            return [cell(self.units, name=name, **kwargs)]
        return [layers.Bidirectional(cell(self.units, **kwargs), merge_mode=self.merge_mode,
                                     name=name)]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """RNN / LSTM / GRU: X (T, N, F) (or (N, T, F) with layout=1); outputs Y
        (T, D, N, H) and Y_h (D, N, H): one layer for whichever of them is used."""
        x = reader.values[node.input[0]]
        item = onnx_cell(reader, node, x.layout)
        used = reader.consumed
        seq = bool(node.output[0]) and node.output[0] in used
        state = len(node.output) > 1 and node.output[1] in used
        cells = len(node.output) > 2 and node.output[2] in used
        if (seq and state) or cells:
            raise Unsupported(f"{node.op_type} whose sequence and final states are both used")
        item["return_sequences"] = seq
        name = reader.emit(node, index, item, [node.input[0]], layout="seq",
                           params=list(node.input[1:4]))
        if not seq and len(node.output) > 1:
            out = node.output[1]
            reader.values[out] = type(x)(name, "state", reader.shape(out))


def onnx_cell(reader: Any, node: Any, layout: str) -> Item:
    """The item of an ONNX RNN / LSTM / GRU node: direction, hidden_size, activations."""
    a = reader.attrs(node)
    if layout != ("last" if a.get("layout", 0) else "time"):
        raise Unsupported(f"{node.op_type} input in the {layout} layout")
    direction = text(a.get("direction", "forward"))
    if direction == "reverse":
        raise Unsupported(f"{node.op_type} in the reverse direction only")
    if len(node.input) > 7 and node.input[7]:
        raise Unsupported("LSTM with peepholes")
    cell = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[node.op_type]
    acts = [text(v).lower() for v in a.get("activations", [])]
    item: Item = {"type": cell, "units": int(need(a, "hidden_size")),
                  "bidirectional": direction == "bidirectional",
                  "bias": len(node.input) > 3 and bool(node.input[3])}
    if cell == "rnn" and acts:
        item["activation"] = acts[0]
    elif acts and acts[:3] not in (["sigmoid", "tanh", "tanh"], ["sigmoid", "tanh"]):
        raise Unsupported(f"{node.op_type} with activations {acts}")
    if cell == "gru":
        item["reset_after"] = bool(a.get("linear_before_reset", 0))
    return item


KERAS_CELLS = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}  # Keras class -> item type


def keras_cell(class_name: str, cfg: dict[str, Any]) -> Item:
    """One direction of a Keras SimpleRNN / LSTM / GRU (one output: no return_state)."""
    if field(cfg, "return_state", FLAG, False):
        raise Unsupported("return_state=True (several outputs)")
    if field(cfg, "go_backwards", FLAG, False):
        raise Unsupported("go_backwards=True")
    kind = KERAS_CELLS[class_name]
    item: Item = {"type": kind, "units": field(cfg, "units", DIM),
                  "return_sequences": field(cfg, "return_sequences", FLAG, False),
                  "use_bias": field(cfg, "use_bias", FLAG, True)}
    if kind == "gru":
        item["reset_after"] = field(cfg, "reset_after", FLAG, True)
    if kind == "rnn":
        act = keras_activation(cfg.get("activation", "tanh"))
        if act not in ("tanh", "relu"):
            raise Unsupported(f"SimpleRNN activation {act!r}")
        item["activation"] = act
    return item
