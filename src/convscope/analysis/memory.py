"""Training memory: Graph -> frozen :class:`TrainingMemory` for a batch, dtype and optimizer.

What is counted (all in bytes, KB = 1024 B):

* parameters: the trainable values in the dtype; buffers (batch-norm running
  statistics and ``num_batches_tracked``) in the dtype too;
* gradients: one per trainable value, in the dtype;
* optimizer state, as torch.optim keeps it after its first step: SGD nothing; SGD with
  momentum one buffer per value; Adam and AdamW two (``exp_avg``, ``exp_avg_sq``) plus
  one float32 ``step`` scalar per parameter tensor;
* saved activations: the tensors autograd keeps for the backward pass of the network as
  convscope builds it in PyTorch (training mode, no in-place operations): each layer
  kind's ``saved`` rule (its inputs, its output, masks, int64 pooling indices,
  batch-norm statistics, intermediates), every storage counted once (a flatten or a
  slice is a view of its input, and a tensor kept by two layers is kept once). Layers
  that see no gradient (parameter-free layers straight on the input) keep nothing.
* peak: parameters + buffers + gradients + optimizer state + saved activations + twice
  the largest layer output (the gradients flowing in and out of it during the backward
  pass). An estimate: allocator fragmentation and framework workspaces are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SpecError, closest
from ..ir import Graph
from ..layers.base import prod
from .report import dtype_size

# optimizer -> (state values per trainable value, float32 'step' scalar per tensor)
OPTIMIZERS = {"sgd": (0, False), "sgd_momentum": (1, False), "adam": (2, True),
              "adamw": (2, True)}


@dataclass(frozen=True)
class LayerMemory:
    name: str
    saved_bytes: int  # what this layer makes autograd keep (first keeper of a storage)


@dataclass(frozen=True)
class TrainingMemory:
    model: str
    batch: int
    dtype: str
    optimizer: str
    param_bytes: int
    buffer_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    activation_bytes: int  # saved for the backward pass
    transient_bytes: int
    layers: tuple[LayerMemory, ...]

    @property
    def peak_bytes(self) -> int:
        return (self.param_bytes + self.buffer_bytes + self.gradient_bytes +
                self.optimizer_bytes + self.activation_bytes + self.transient_bytes)


def training_memory(graph: Graph, batch: int = 1, dtype: str = "float32",
                    optimizer: str = "adam") -> TrainingMemory:
    """Memory needed to train ``graph`` (see the module docstring for what is counted)."""
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"unknown optimizer '{optimizer}'; choose one of "
                        f"{', '.join(OPTIMIZERS)}.{closest(optimizer, list(OPTIMIZERS))}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SpecError(f"batch must be an integer >= 1; received {batch!r}")
    itemsize = dtype_size(dtype)
    base: dict[str, str] = {}  # node -> the node whose storage its output is
    needs_grad: dict[str, bool] = {}
    kept: dict[str, str] = {}  # storage -> first layer keeping it
    extras: dict[str, int] = {}
    trainable = buffers = tensors = 0
    for node in graph.nodes:
        in_shapes = graph.input_shapes(node)
        out = graph.shapes[node.name]
        count = node.layer.params(in_shapes)
        if not node.shares:
            trainable += count.torch_params
            buffers += count.buffers
            tensors += count.tensors
        rule = node.layer.saved(in_shapes, out, itemsize)
        base[node.name] = base[node.inputs[0]] if rule.view and node.inputs else node.name
        needs_grad[node.name] = count.trainable > 0 or any(needs_grad[r] for r in node.inputs)
        if not needs_grad[node.name]:
            continue
        for i in rule.inputs:
            kept.setdefault(base[node.inputs[i]], node.name)
        if rule.output:
            kept.setdefault(base[node.name], node.name)
        extras[node.name] = batch * rule.extra_bytes + rule.fixed_bytes

    def size(name: str) -> int:
        return batch * prod(graph.shapes[name]) * itemsize

    per_layer = dict(extras)
    for storage, keeper in kept.items():
        per_layer[keeper] = per_layer.get(keeper, 0) + size(storage)
    per_state, step = OPTIMIZERS[optimizer]
    return TrainingMemory(
        model=graph.name, batch=batch, dtype=dtype, optimizer=optimizer,
        param_bytes=trainable * itemsize, buffer_bytes=buffers * itemsize,
        gradient_bytes=trainable * itemsize,
        optimizer_bytes=per_state * trainable * itemsize + (4 * tensors if step else 0),
        activation_bytes=sum(per_layer.values()),
        transient_bytes=2 * max(size(n.name) for n in graph.nodes),
        layers=tuple(LayerMemory(n.name, per_layer.get(n.name, 0)) for n in graph.nodes))


UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4,
         "KIB": 1024, "MIB": 1024 ** 2, "GIB": 1024 ** 3, "TIB": 1024 ** 4}


def parse_bytes(text: str) -> int:
    """'16GB' -> 16 * 1024**3 (KB = 1024 B, as everywhere in convscope; GiB too)."""
    raw = str(text).strip().upper().replace(" ", "")
    number = raw.rstrip("KMGTIB")
    unit = raw[len(number):] or "B"
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in UNITS or not 0 < value < 1e6 or value != value:
        raise SpecError(f"a memory size is a number and a unit (B, KB, MB, GB, TB; KB = 1024 "
                        f"B), e.g. 16GB; received {text!r}")
    return int(value * UNITS[unit])


@dataclass(frozen=True)
class Fit:
    budget: int
    batch: int  # the largest batch whose peak fits (0: not even one sample)
    fits: TrainingMemory | None  # the estimate at that batch
    next: TrainingMemory  # the estimate one sample more (beyond the budget)


def largest_batch(graph: Graph, budget: int, dtype: str = "float32",
                  optimizer: str = "adam") -> Fit:
    """The largest batch whose estimated peak is at most ``budget`` bytes. The peak is
    affine in the batch (weights, gradients and optimizer state are fixed; activations
    and the transient grow with each sample), so two estimates give the answer, which the
    exact estimate then confirms on both sides."""
    one = training_memory(graph, 1, dtype, optimizer)
    per_sample = training_memory(graph, 2, dtype, optimizer).peak_bytes - one.peak_bytes
    fixed = one.peak_bytes - per_sample
    batch = max(0, (budget - fixed) // per_sample) if per_sample > 0 else 0
    if per_sample <= 0:  # nothing grows with the batch: any batch fits, or none
        batch = 1 if one.peak_bytes <= budget else 0
    fits = training_memory(graph, batch, dtype, optimizer) if batch else None
    after = training_memory(graph, batch + 1, dtype, optimizer)
    assert (fits is None or fits.peak_bytes <= budget) and (
        per_sample <= 0 or after.peak_bytes > budget)
    return Fit(budget, batch, fits, after)
