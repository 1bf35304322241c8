"""What a capture records (capture.py): each ATen operation computed from the model's
inputs (:class:`Op`), the constants it reads, the parameters and buffers (:class:`Leaf`),
and the whole :class:`Capture` the importer groups into layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

Source = tuple[int, int]  # (data operation index, output position); (-1, i): input i


def tensors_in(value: Any) -> list[torch.Tensor]:
    """The tensors in an ATen call's arguments or result, in order: tensors, lists and
    tuples of them, dicts of keyword arguments (all ATen passes). The same leaves as
    ``torch.utils._pytree.tree_leaves`` filtered to tensors, without its per-node registry
    lookups (a sixth of a small model's import went there: import_speed.py --profile)."""
    if isinstance(value, torch.Tensor):
        return [value]
    found: list[torch.Tensor] = []
    _collect(value.values() if isinstance(value, dict) else value, found)
    return found


def _collect(items: Any, found: list[torch.Tensor]) -> None:
    for item in items:
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            if item and not isinstance(item[0], (int, float, bool)):  # not an int list
                _collect(item, found)
        elif isinstance(item, dict):
            _collect(item.values(), found)


@dataclass
class Call:
    """One call of a module: its path in the model (``layer1.0.conv1``; ``""``: the root),
    or of a function convscope reads whole (composite.py: ``path.attention``)."""

    path: str
    type: str
    parent: int  # index of the calling module's call; -1 for the root
    composite: Any = None  # a function call: (item, sources of its data inputs) or None
    layout: str = ""  # the layout a function call needs of its input and gives ("last")
    result: int = 0  # a function call: id() of the tensor it returned


@dataclass
class Const:
    """What a constant tensor carries: parameters/buffers read, flops not yet counted."""

    reads: frozenset[str]
    pending: frozenset[int]  # sequence numbers of constant operations with flops
    noise: float | None = None  # bernoulli_(p) masks (dropout): the keep probability


@dataclass
class Op:
    """One ATen operation computed from the model's inputs."""

    index: int
    func: Any  # torch._ops.OpOverload
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    outputs: list[torch.Tensor]  # the tensors it returned, flattened
    call: int
    sources: dict[int, Source]  # id of each data tensor argument -> where it came from
    consts: dict[int, Const]  # id of each constant tensor argument -> what it carries
    reads: frozenset[str]  # parameters / buffers read, directly or through constants
    flops: int  # its own (torch.utils.flop_counter) plus those of the constants it uses
    layout: str = "first"  # of its data inputs (grouping.py): "first", "last" or "mixed"
    data: list[torch.Tensor] = field(default_factory=list)  # its data arguments, in order

    @property
    def name(self) -> str:
        return str(self.func._overloadpacket.__name__)

    @property
    def overload(self) -> str:
        """Which overload of the operator ('default', 'Tensor', 'no_stats', ...)."""
        return str(self.func._overloadname)

    def is_data(self, value: Any) -> bool:
        return isinstance(value, torch.Tensor) and id(value) in self.sources

    def data_args(self) -> list[torch.Tensor]:
        return self.data


@dataclass
class Leaf:
    """A parameter or buffer of the model."""

    name: str
    numel: int
    is_param: bool
    owner: str  # path of the module that registers it


@dataclass
class Capture:
    """Everything one meta forward of a module did."""

    model: str
    batch: int
    input_names: list[str]
    inputs: list[torch.Tensor]
    ops: list[Op]
    calls: list[Call]
    outputs: list[Source]
    output_tensors: list[torch.Tensor]
    leaves: dict[str, Leaf]
    used: set[str]  # leaves some data operation reads
    stray: list[tuple[int, int]] = field(default_factory=list)  # (call, flops) never used
