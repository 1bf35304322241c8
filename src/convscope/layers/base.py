"""What every layer kind provides, and the small shared rules they use.

Conventions of this module (and of the whole analysis):

* A shape is a tuple of ints **without the batch**, channels last, as the seeds
  write it: ``(H, W, C)`` for images, ``(L, C)`` for 1-D signals,
  ``(D, H, W, C)`` for volumes and ``(N,)`` for vectors. Conversion to PyTorch's
  channels-first order happens only in ``to_torch``.
* Counts are per sample (batch 1) and exact Python ints.
* ``macs`` counts the multiply-adds of conv / transposed conv / dense only, bias excluded
  (fvcore's and torchvision's); FLOPs = 2 x MACs, as ``torch.utils.flop_counter`` counts.
* ``other_ops`` counts the element-wise work every other rule does (one op per bias
  add, activation value, pooled window element, ...); each kind's docstring says which.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from .regrid import Regroup

if TYPE_CHECKING:  # pragma: no cover
    from fractions import Fraction

    from ..description.args import Args

Shape = tuple[int, ...]
Pairs = tuple[tuple[int, int], ...]
Padding = str | Pairs  # "valid", "same", or per-axis (before, after)


# ----------------------------------------------------------------- counts ---
@dataclass(frozen=True)
class ParamCount:
    """Parameters of one layer.

    ``trainable`` is what PyTorch's ``parameters()`` holds; ``non_trainable`` is
    what Keras adds to it (batch-norm moving mean and variance); ``buffers`` is
    the numel of PyTorch's registered buffers (moving statistics plus the
    scalar ``num_batches_tracked``). ``formula`` is the seeds' arithmetic.
    ``torch_extra``: parameters PyTorch's module holds beyond ``trainable`` where the two
    frameworks count differently (LSTM's second bias vector b_hh: 4h per direction).
    """

    trainable: int = 0
    non_trainable: int = 0
    buffers: int = 0
    formula: str = "0"
    tensors: int = 0  # how many parameter tensors (weight, bias, ...) hold the trainable ones
    torch_extra: int = 0

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def torch_params(self) -> int:
        """What ``sum(p.numel() for p in module.parameters())`` holds in PyTorch."""
        return self.trainable + self.torch_extra


NO_PARAMS = ParamCount()


# ------------------------------------------------------- receptive fields ---
@dataclass(frozen=True)
class RFStep:
    """How a layer maps positions, per spatial axis (Araujo et al., Distill 2019).

    ``kernel``: how many consecutive input positions one output position reads
    (for dilation the effective kernel d*(k-1)+1). ``stride``: input positions
    per output position (a Fraction below 1 for upsampling). ``offset``: index
    of the first input position read by output 0 (minus the left padding).
    """

    kernel: tuple[int, ...]
    stride: tuple[Fraction | int, ...]  # ints where exact: Fractions cost time
    offset: tuple[Fraction | int, ...]


@dataclass(frozen=True)
class Saved:
    """What PyTorch's autograd keeps for the backward pass of a layer as convscope builds it
    (training mode), measured per kind with ``torch.autograd.graph.saved_tensors_hooks``.

    ``inputs``: positions of the inputs whose tensors are kept; ``output``: the layer's own
    output is kept; ``extra_bytes``: other tensors kept, per sample (masks, indices,
    intermediate values); ``fixed_bytes``: kept once per batch (batch-norm statistics);
    ``view``: the output shares its input's storage (flatten, slices), no new memory.
    Parameters and buffers are not activations and are never counted here.
    """

    inputs: tuple[int, ...] = ()
    output: bool = False
    extra_bytes: int = 0
    fixed_bytes: int = 0
    view: bool = False


NOTHING_SAVED = Saved()
INDEX_BYTES = 8  # max-pooling indices are int64


def acc_bytes(itemsize: int) -> int:
    """Statistics are kept in float32 (float64 for float64 tensors)."""
    return 8 if itemsize == 8 else 4


def float32_statistics(rule: Saved, affine: bool, itemsize: int) -> Saved:
    """A layer or group norm under autocast: with float32 weights on a 16-bit input, the
    mean and inverse deviation it keeps are float32, twice the input's 2 bytes."""
    if not affine or itemsize != 2:
        return rule
    return replace(rule, extra_bytes=rule.extra_bytes * 2)


IDENTITY = "identity"  # every output position reads exactly its own input position
GLOBAL = "global"  # every output value reads the whole input
RFRule = RFStep | Regroup | str  # Regroup: regrid.py


def window_step(kernel: tuple[int, ...], stride: tuple[int, ...], pads: Pairs,
                dilation: tuple[int, ...] | None = None) -> RFStep:
    """RF step of a sliding window: k_eff = d*(k-1)+1, stride s, offset -p_before."""
    dilation = dilation or (1,) * len(kernel)
    return RFStep(
        kernel=tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)),
        stride=tuple(stride),
        offset=tuple(-before for before, _ in pads),
    )


# ------------------------------------------------------------ axis names ---
def axis_names(ndim: int) -> tuple[str, ...]:
    """Names of the spatial axes: L (1-D), H W (2-D), D H W (3-D)."""
    names = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
    return names.get(ndim, tuple(f"S{i}" for i in range(ndim)))


def shape_str(shape: Shape) -> str:
    """The seeds' notation: 28x28x6; vectors as a plain number."""
    return "x".join(str(n) for n in shape)


def prod(values: Any) -> int:
    return math.prod(values)


# ----------------------------------------------------------- layer base ---
class Layer(ABC):
    """Base of every layer kind. Subclasses are frozen dataclasses.

    A kind states all its rules side by side: how it reads its arguments
    (``from_args``), ``output_shape``, ``params``, ``macs``, ``other_ops``,
    ``rf_step``, the seed-table columns (``hyper``), a step-by-step
    ``explain`` and ``to_torch``. The registry in ``layers/__init__.py``
    lists every kind explicitly.
    """

    kind: ClassVar[str]
    # alias name -> arguments it fixes, e.g. {"conv2d": {"ndim": 2}}
    aliases: ClassVar[dict[str, dict[str, Any]]] = {}
    reads_indices: ClassVar[bool] = False  # its input holds integer indices (Embedding)
    # to_torch builds a stand-in computing nothing (opaque): verify checks its parameters,
    # buffers and shape, not its FLOPs (measured on the imported model) nor fields after it
    stand_in: ClassVar[bool] = False
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    summary: ClassVar[str] = ""
    # on every device, or per device ({"cuda": ..., "cpu": ...}); see autocast()
    autocast_policy: ClassVar[str | None | dict[str, str]] = "follow"

    # ---- construction -------------------------------------------------
    @classmethod
    @abstractmethod
    def from_args(cls, args: Args, inputs: tuple[Shape, ...]) -> Layer:
        """Read and validate the description's arguments for this kind."""

    # ---- rules ---------------------------------------------------------
    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        """Default: element-wise, the output has the input's shape."""
        return inputs[0]

    def params(self, inputs: tuple[Shape, ...]) -> ParamCount:
        return NO_PARAMS

    def macs(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """Multiply-adds of conv/dense-like work, bias excluded. Default 0."""
        return 0

    def other_ops(self, inputs: tuple[Shape, ...], output: Shape) -> int:
        """Element-wise operations. Default 0."""
        return 0

    def rf_step(self, inputs: tuple[Shape, ...], output: Shape) -> RFRule:
        return IDENTITY

    def saved(self, inputs: tuple[Shape, ...], output: Shape, itemsize: int) -> Saved:
        """What autograd keeps for the backward pass (see :class:`Saved`). Default: nothing."""
        return NOTHING_SAVED

    def saved_under_autocast(self, inputs: tuple[Shape, ...], output: Shape,
                             itemsize: int) -> Saved:
        """What autograd keeps under ``torch.autocast``, computing in ``itemsize`` bytes while
        the weights stay float32. Default: the same as :meth:`saved`."""
        return self.saved(inputs, output, itemsize)

    def autocast(self, device: str) -> str | None:
        """How ``torch.autocast`` runs this layer on ``device`` ('cuda' or 'cpu'), from
        PyTorch's autocast lists: 'lower' (in 16 bit: inputs and weights cast down),
        'float32' (inputs cast up), 'follow' (in its inputs' dtype), 'promote' (as
        'follow', float32 weights taking part), or None (not modelled: mixed-precision
        memory is then refused with the layer named). Default: ``autocast_policy``."""
        policy = self.autocast_policy
        return policy[device] if isinstance(policy, dict) else policy

    def linear(self) -> Layer:
        """This layer in the *linearised copy* that measures receptive fields empirically
        (convscope verify): non-linear rules become linear ones that see the same
        positions. Default: the layer itself."""
        return self

    def type_label(self) -> str:
        """The layer type as shown in tables (Keras-style class name)."""
        return type(self).__name__

    def hyper(self, inputs: tuple[Shape, ...], output: Shape) -> dict[str, str]:
        """Seed-table columns: 'filter', 'stride', 'padding' (empty when none)."""
        return {}

    def window(self) -> tuple[int, ...]:
        """The sliding window per spatial axis, which diagrams project into the next map;
        () for a layer without one (the default)."""
        return ()

    def tag(self) -> str:
        """A short name for a small diagram box ('conv 3x3', 'maxpool 3x3', 'fc');
        default: the type label in lower case."""
        return self.type_label().lower()

    def explain(self, inputs: tuple[Shape, ...], output: Shape) -> list[str]:
        """Step-by-step derivation; default: shape and parameters only."""
        count = self.params(inputs)
        return [f"output shape: {shape_str(output)} (same as input)" if output == inputs[0]
                else f"output shape: {shape_str(output)}",
                f"params = {count.formula} = {count.total:,}"]

    @abstractmethod
    def to_torch(self, inputs: tuple[Shape, ...]) -> Any:
        """An equivalent torch.nn.Module working on channels-first tensors."""

    def torch_expression(self, inputs: tuple[Shape, ...], names: tuple[str, ...]) -> str | None:
        """How generated PyTorch source (``convscope build``) writes this layer in ``forward``:
        an expression over its inputs' variable ``names`` (a merge: ``'a + b'``) computing
        what ``to_torch``'s module computes, or None (the default): a submodule built by
        ``to_torch``, written as its constructor, and called on the inputs."""
        return None

    # ---- bridges (the contract: layers/bridge.py) ------------------------
    aten_ops: ClassVar[tuple[str, ...]] = ()  # ATen operators read by from_aten
    keras_classes: ClassVar[tuple[str, ...]] = ()  # Keras layer classes read by from_keras
    onnx_ops: ClassVar[tuple[str, ...]] = ()  # ONNX operator types read by from_onnx
    onnx_arity: ClassVar[dict[str, int]] = {}  # inputs each of them needs (others: 1)
    onnx_any_first: ClassVar[tuple[str, ...]] = ()  # their first input may be a constant
    refused: ClassVar[dict[str, str]] = {}  # bridge -> why it cannot carry this kind
    # from_aten also reads operations on channels-last maps (op.layout == "last"): the
    # element-wise kinds, and those whose readers check the layout themselves
    reads_channels_last: ClassVar[bool] = False

    @classmethod
    def from_aten(cls, op: Any, x: Any, out: Any) -> Any:
        """The item for one captured ATen call ``op`` of an operator in ``aten_ops`` (``x``:
        its first data input, ``out``: its first output, channels first): an item, an
        (item, data inputs) pair, ``bridge.ALIAS``, or None (kept opaque)."""
        return None

    @classmethod
    def from_keras(cls, class_name: str, cfg: dict[str, Any], rank: int | None) -> Any:
        """The item for one Keras layer of a class in ``keras_classes`` (``cfg``: its
        ``get_config()``; ``rank``: its input's rank with the batch, when known)."""
        from .bridge import Unsupported

        raise Unsupported(f"layer class {class_name}")

    @classmethod
    def from_onnx(cls, reader: Any, node: Any, index: int) -> None:
        """Read one ONNX node of a type in ``onnx_ops`` into ``reader`` (onnx/importer.py)."""
        from .bridge import Unsupported

        raise Unsupported(f"the operator {node.op_type}")

    def to_keras(self, layers: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
        """The Keras layers (``layers``: ``keras.layers``) computing this layer, applied in
        order; default: refused with the reason in ``refused['keras']``."""
        from .bridge import CannotExpress

        raise CannotExpress(self.refused.get("keras", f"Keras has no {self.type_label()} layer"))
