"""Element-wise activations (and softmax): no parameters, shape unchanged.

other_ops: one operation per output element (softmax: three, for the
exponential, the sum and the division). MACs: 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..limits import shown
from .aten_args import arg
from .base import Layer, Saved, Shape, prod
from .bridge import CannotExpress, Item, Unsupported
from .fields import NUMBER, field
from .keras_read import activation as keras_activation
from .keras_write import act
from .onnx_read import channel_axis, text
from .torch_util import nn

# name -> (torch module factory taking the layer, ops per element, Keras-style label)
FUNCTIONS: dict[str, tuple[Callable[[Any], Any], int, str]] = {
    "relu": (lambda a: nn().ReLU(), 1, "ReLU"),
    "relu6": (lambda a: nn().ReLU6(), 1, "ReLU6"),
    "leaky_relu": (lambda a: nn().LeakyReLU(a.negative_slope), 1, "LeakyReLU"),
    "elu": (lambda a: nn().ELU(), 1, "ELU"),
    "selu": (lambda a: nn().SELU(), 1, "SELU"),
    "sigmoid": (lambda a: nn().Sigmoid(), 1, "Sigmoid"),
    "hard_sigmoid": (lambda a: nn().Hardsigmoid(), 1, "HardSigmoid"),
    "tanh": (lambda a: nn().Tanh(), 1, "Tanh"),
    "softmax": (lambda a: nn().Softmax(dim=1), 3, "Softmax"),
    "log_softmax": (lambda a: nn().LogSoftmax(dim=1), 3, "LogSoftmax"),
    "gelu": (lambda a: nn().GELU(), 1, "GELU"),
    # GELU's tanh approximation, 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))) (Hendrycks &
    # Gimpel 2016): PyTorch's GELU(approximate="tanh"), timm's GELUTanh, ONNX's Gelu "tanh"
    "gelu_tanh": (lambda a: nn().GELU(approximate="tanh"), 1, "GELUTanh"),
    "silu": (lambda a: nn().SiLU(), 1, "SiLU"),
    "hardswish": (lambda a: nn().Hardswish(), 1, "HardSwish"),
    "mish": (lambda a: nn().Mish(), 1, "Mish"),
    "softplus": (lambda a: nn().Softplus(), 1, "Softplus"),
    # Keras 3's defaults, which are PyTorch's: clip to [-1, 1]; alpha 1; threshold 0.5
    "hard_tanh": (lambda a: nn().Hardtanh(), 1, "HardTanh"),
    "celu": (lambda a: nn().CELU(), 1, "CELU"),
    "soft_shrink": (lambda a: nn().Softshrink(0.5), 1, "SoftShrink"),
    "hard_shrink": (lambda a: nn().Hardshrink(0.5), 1, "HardShrink"),
    "linear": (lambda a: nn().Identity(), 0, "Linear"),
}
# Keras 3 names hard swish "hard_silu" (alias "hard_swish"); its hard_sigmoid is
# relu6(x + 3) / 6, PyTorch's Hardsigmoid
SYNONYMS = {"swish": "silu", "hard_swish": "hardswish", "hard_silu": "hardswish",
            "leakyrelu": "leaky_relu", "identity": "linear", "hardsigmoid": "hard_sigmoid",
            "logsoftmax": "log_softmax", "hardtanh": "hard_tanh", "softshrink": "soft_shrink",
            "hardshrink": "hard_shrink", "gelu_approximate": "gelu_tanh",
            "gelu_pytorch_tanh": "gelu_tanh"}
NAMES = tuple(sorted(set(FUNCTIONS) | set(SYNONYMS)))
# what PyTorch's autograd keeps for each function (measured with saved_tensors_hooks)
CUDA_FLOAT32 = {"softmax", "log_softmax", "softplus"}  # autocast_mode.h
KEEPS_OUTPUT = {"relu", "sigmoid", "tanh", "softmax", "log_softmax"}
KEEPS_NOTHING = {"linear"}  # nn.Identity returns its input
# ATen operators that are one function whatever their settings (and their in-place forms)
ATEN_PLAIN = {"relu": "relu", "silu": "silu", "sigmoid": "sigmoid", "tanh": "tanh",
              "hardswish": "hardswish", "hardsigmoid": "hard_sigmoid", "mish": "mish"}
# ... and those whose settings (after the input) make a function, or none
SELU = (1.6732632423543772, 1.0507009873554805)  # torch.selu is elu(x, alpha, scale)
ATEN_SETTINGS: dict[str, dict[tuple[Any, ...], str]] = {
    "elu": {(): "elu", (1.0,): "elu", (1.0, 1): "elu", (1.0, 1, 1): "elu", SELU: "selu",
            (*SELU, 1): "selu"},
    "celu": {(): "celu", (1.0,): "celu"},
    "hardtanh": {(): "hard_tanh", (-1, 1): "hard_tanh", (0, 6): "relu6"},  # clamp too
    "softplus": {(): "softplus", (1,): "softplus", (1, 20): "softplus"},
    "hardshrink": {(): "hard_shrink", (0.5,): "hard_shrink"},
    "softshrink": {(): "soft_shrink", (0.5,): "soft_shrink"}}
ATEN_SET = ("gelu", "leaky_relu", "clamp", "elu", "celu", "hardtanh")  # and in place
# ONNX operators that are one function whatever their attributes
ONNX_PLAIN = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Elu": "elu",
              "Selu": "selu", "HardSigmoid": "hard_sigmoid", "HardSwish": "hardswish",
              "Gelu": "gelu", "Softplus": "softplus", "Mish": "mish"}


def canonical(name: str) -> str:
    name = name.lower()
    return SYNONYMS.get(name, name)


def activation_ops(function: str | None, output: Shape) -> int:
    """Element-wise ops of an (inline) activation on ``output``."""
    return FUNCTIONS[function][1] * prod(output) if function else 0


def activation_saved(function: str | None, output: Shape, itemsize: int) -> tuple[bool, int]:
    """(keeps its output, extra bytes per sample) of an inline activation after a layer:
    functions that keep their *input* keep the layer's intermediate result."""
    if not function or function in KEEPS_NOTHING:
        return False, 0
    if function in KEEPS_OUTPUT:
        return True, 0
    return False, prod(output) * itemsize


def activation_module(function: str | None, layer: Any = None) -> Any:
    return FUNCTIONS[function][0](layer) if function else None


@dataclass(frozen=True)
class Activation(Layer):
    """An element-wise activation function; softmax normalises over channels."""

    kind: ClassVar[str] = "activation"
    aliases: ClassVar[dict[str, dict[str, Any]]] = {
        # 'linear' names the dense layer (nn.Linear); the activation is 'identity'
        **{name: {"function": canonical(name)} for name in NAMES if name != "linear"}}
    aten_ops: ClassVar[tuple[str, ...]] = (
        *(f"{name}{tail}" for name in (*ATEN_PLAIN, *ATEN_SET) for tail in ("", "_")),
        "softplus", "hardshrink", "softshrink", "_softmax", "_log_softmax", "_safe_softmax")
    reads_channels_last: ClassVar[bool] = True  # element-wise; softmax checks its dim
    keras_classes: ClassVar[tuple[str, ...]] = ("Activation", "ReLU", "LeakyReLU", "ELU",
                                                "Softmax")
    onnx_ops: ClassVar[tuple[str, ...]] = (*ONNX_PLAIN, "LeakyRelu", "Celu", "Clip",
                                           "Softmax", "LogSoftmax")
    summary: ClassVar[str] = "element-wise activation: " + ", ".join(sorted(FUNCTIONS))

    function: str
    negative_slope: float = 0.01

    @classmethod
    def from_args(cls, args: Any, inputs: tuple[Shape, ...]) -> Activation:
        function = canonical(args.choice("function", NAMES, aliases=("activation",)))
        slope = (args.number("negative_slope", 0.01, low=0.0, high=1.0, aliases=("alpha",))
                 if function == "leaky_relu" else 0.01)
        args.finish()
        return cls(function=function, negative_slope=slope)

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        return activation_ops(self.function, output)

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        if self.function in KEEPS_NOTHING:
            return Saved(view=True)
        if self.function in KEEPS_OUTPUT:
            return Saved(output=True)
        return Saved(inputs=(0,))

    def linear(self) -> Activation:
        """Every activation becomes the identity (same positions, linear)."""
        return Activation(function="linear")

    def type_label(self) -> str:
        return FUNCTIONS[self.function][2]

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        return [f"{self.function} is applied to each of the {prod(output):,} values; "
                "output shape = input shape", "params = 0"]

    def autocast(self, device: str) -> str:
        """CUDA's autocast runs softmax, log-softmax and softplus in float32; the rest
        follow their input."""
        return "float32" if device == "cuda" and self.function in CUDA_FLOAT32 else "follow"

    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        return activation_module(self.function, self)

    # ---- PyTorch bridge ----
    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """The function (the item's type is its name); None for settings no function here
        has (an elu's alpha, clamp bounds other than relu6's ...)."""
        name = op.name.rstrip("_")  # in place: relu_ -> relu
        if name in ATEN_PLAIN:
            return {"type": ATEN_PLAIN[name]}
        if name in ("_softmax", "_log_softmax", "_safe_softmax"):
            if op.args[1] % x.dim() != (x.dim() - 1 if op.layout == "last" else 1):
                return None  # not over the channels
            return {"type": "log_softmax" if name == "_log_softmax" else "softmax"}
        if name == "leaky_relu":
            return {"type": "leaky_relu",
                    "negative_slope": float(arg(op, 1, "negative_slope", 0.01))}
        if name == "gelu":
            form = arg(op, 1, "approximate", "none")
            return {"type": {"none": "gelu", "tanh": "gelu_tanh"}[form]} if form in (
                "none", "tanh") else None
        settings = tuple(op.args[1:])
        if name == "clamp":  # a missing bound is none (hardtanh's default is -1 / 1)
            name, settings = "hardtanh", (arg(op, 1, "min", None), arg(op, 2, "max", None))
        if any(not isinstance(s, (int, float)) or isinstance(s, bool) for s in settings):
            return None  # tensor bounds ...
        function = ATEN_SETTINGS[name].get(settings)
        return {"type": function} if function else None

    # ---- Keras bridge ----
    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
        if class_name == "ReLU":
            return keras_relu(cfg)
        if class_name == "LeakyReLU":
            slope = field(cfg, "negative_slope", NUMBER, None)
            slope = field(cfg, "alpha", NUMBER, 0.3) if slope is None else slope
            return {"type": "activation", "function": "leaky_relu", "negative_slope": slope}
        if class_name == "Softmax" and cfg.get("axis", -1) not in (-1, [-1]):
            raise Unsupported(f"Softmax over axis {shown(cfg['axis'])}")
        if class_name in ("ELU", "Softmax"):
            return {"type": "activation", "function": class_name.lower()}
        function = keras_activation(cfg.get("activation"))
        return {"type": "activation", "function": function or "linear"}

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        f = self.function
        if f == "gelu_tanh":
            raise CannotExpress("Keras's activations name GELU only in its exact form (the "
                                "tanh form is gelu(x, approximate=True), a call, not a name)")
        if f == "relu6":
            return [layers.ReLU(max_value=6.0, name=name)]
        if f == "leaky_relu":
            return [layers.LeakyReLU(negative_slope=self.negative_slope, name=name)]
        if f == "softmax":
            return [layers.Softmax(axis=-1, name=name)]
        return [layers.Activation(act(f), name=name)]

    # ---- ONNX bridge ----
    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """LeakyRelu's alpha; Celu of alpha 1; Clip to [0, 6] (relu6), [0, inf) (relu) or
        [-1, 1] (hard_tanh); Softmax and LogSoftmax over the channels only."""
        x, op = reader.values[node.input[0]], node.op_type
        item: Item = {"type": "activation", "function": ONNX_PLAIN.get(op)}
        if op == "LeakyRelu":
            item.update(function="leaky_relu",
                        negative_slope=float(reader.attrs(node).get("alpha", 0.01)))
        elif op == "Clip":
            item["function"] = onnx_clip(reader, node)
        elif op == "Celu":
            if float(reader.attrs(node).get("alpha", 1.0)) != 1.0:
                raise Unsupported("Celu with an alpha other than 1")
            item["function"] = "celu"
        elif op == "Gelu":  # opset 20: approximate "none" or "tanh"
            form = text(reader.attrs(node).get("approximate", "none"))
            if form not in ("none", "tanh"):
                raise Unsupported(f"Gelu approximate={shown(form)}")
            item["function"] = "gelu" if form == "none" else "gelu_tanh"
        elif op in ("Softmax", "LogSoftmax"):
            if not channel_axis(x, int(reader.attrs(node).get("axis", -1))):
                raise Unsupported(f"{op} over an axis other than the channels")
            item["function"] = "softmax" if op == "Softmax" else "log_softmax"
        reader.emit(node, index, item, [node.input[0]], layout=x.layout)


def onnx_clip(reader: Any, node: Any) -> str:
    """Clip's bounds (inputs 2 and 3 since opset 11, attributes before) -> its function."""
    a = reader.attrs(node)
    low = float(reader.const(node.input[1])) if len(node.input) > 1 and node.input[1] \
        else a.get("min")
    high = float(reader.const(node.input[2])) if len(node.input) > 2 and node.input[2] \
        else a.get("max")
    if low == 0 and high == 6:
        return "relu6"
    if low == 0 and high is None:
        return "relu"
    if low == -1 and high == 1:
        return "hard_tanh"
    raise Unsupported(f"Clip to [{low}, {high}]")


def keras_relu(cfg: dict[str, Any]) -> Item:
    """Keras's ReLU layer: relu, leaky_relu (negative_slope) or relu6 (max_value 6)."""
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
