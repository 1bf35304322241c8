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

import functools
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError, closest
from ..ir import Graph
from ..layers.base import prod
from .report import dtype_size
from .saved import LOW_PRECISION, TARGETS, kept, param_counts

# optimizer -> (state values per trainable value, float32 'step' scalar per tensor)
AMP_NAMES = {"bf16": "bfloat16", "fp16": "float16"}
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
    amp: str | None = None  # autocast's 16-bit dtype
    checkpointing: bool = False
    target: str = "cpu"
    cast_bytes: int = 0  # autocast's 16-bit copies of the weights
    recompute_bytes: int = 0  # the largest checkpointed block, recomputed in backward
    blocks: int = 0  # checkpointed blocks

    @property
    def peak_bytes(self) -> int:
        return (self.param_bytes + self.buffer_bytes + self.gradient_bytes +
                self.optimizer_bytes + self.activation_bytes + self.transient_bytes +
                self.cast_bytes + self.recompute_bytes)


def allocation(nbytes: int, target: str) -> int:
    """Bytes a tensor takes: the CUDA caching allocator rounds every allocation up to a
    multiple of 512 B (``kMinBlockSize`` in c10/cuda/CUDACachingAllocator.cpp)."""
    return -(-nbytes // 512) * 512 if target == "cuda" else nbytes


def check_options(batch: int, dtype: str, optimizer: str, amp: str | None,
                  target: str) -> None:
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"unknown optimizer '{optimizer}'; choose one of "
                        f"{', '.join(OPTIMIZERS)}.{closest(optimizer, list(OPTIMIZERS))}")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SpecError(f"batch must be an integer >= 1; received {batch!r}")
    if amp is not None and amp not in LOW_PRECISION:
        raise SpecError(f"mixed precision is bfloat16 or float16 (bf16, fp16); received {amp!r}")
    if amp is not None and dtype != "float32":
        raise SpecError(f"mixed precision keeps float32 weights: use --dtype float32 with "
                        f"--amp (received --dtype {dtype})")
    if target not in TARGETS:
        raise SpecError(f"the target device is one of {', '.join(TARGETS)}; received {target!r}")


def training_memory(graph: Graph, batch: int = 1, dtype: str = "float32",
                    optimizer: str = "adam", *, amp: str | None = None,
                    checkpointing: bool = False, target: str = "cpu") -> TrainingMemory:
    """Memory needed to train ``graph`` (see the module docstring for what is counted)."""
    amp = AMP_NAMES.get(amp, amp) if amp else None
    check_options(batch, dtype, optimizer, amp, target)
    itemsize = dtype_size(dtype)
    trainable = buffers = tensors = cast = 0
    counts = param_counts(graph)
    for node in graph.nodes:
        count = counts[node.name]
        if not node.shares:
            trainable += count.torch_params
            buffers += count.buffers
            tensors += count.tensors
            if amp and node.layer.autocast(target) == "lower":
                cast += count.torch_params * LOW_PRECISION[amp]
    saved = kept(graph, counts, batch, itemsize, amp, target, checkpointing)
    per_layer: dict[str, int] = {}
    for storage, keeper in saved.keeper.items():
        per_layer[keeper] = per_layer.get(keeper, 0) + allocation(saved.forward[storage],
                                                                  target)
    per_state, step = OPTIMIZERS[optimizer]
    step_bytes = 4 * tensors if step and target == "cpu" else 0  # CUDA: steps stay on the CPU
    largest = max(batch * prod(graph.shapes[n.name]) * saved.itemsizes[n.name]
                  for n in graph.nodes)
    return TrainingMemory(
        model=graph.name, batch=batch, dtype=dtype, optimizer=optimizer,
        param_bytes=trainable * itemsize, buffer_bytes=buffers * itemsize,
        gradient_bytes=trainable * itemsize,
        optimizer_bytes=per_state * trainable * itemsize + step_bytes,
        activation_bytes=sum(per_layer.values()),
        transient_bytes=2 * allocation(largest, target),
        layers=tuple(LayerMemory(n.name, per_layer.get(n.name, 0)) for n in graph.nodes),
        amp=amp, checkpointing=checkpointing, target=target, cast_bytes=cast,
        recompute_bytes=max((sum(allocation(b, target) for b in block)
                             for block in saved.recompute), default=0),
        blocks=len(saved.recompute))


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
                  optimizer: str = "adam", **options: Any) -> Fit:
    """The largest batch whose estimated peak is at most ``budget`` bytes. The peak is
    affine in the batch (weights, gradients and optimizer state are fixed; activations
    and the transient grow with each sample) up to the allocator's rounding, so two
    estimates give the answer, which exact estimates then confirm on both sides."""
    @functools.cache
    def peak(batch: int) -> TrainingMemory:
        return training_memory(graph, batch, dtype, optimizer, **options)

    one = peak(1)
    per_sample = peak(2).peak_bytes - one.peak_bytes
    if per_sample <= 0:  # nothing grows with the batch: any batch fits, or none
        batch = 1 if one.peak_bytes <= budget else 0
        return Fit(budget, batch, one if batch else None, peak(batch + 1))
    batch = max(0, (budget - one.peak_bytes + per_sample) // per_sample)
    while batch and peak(batch).peak_bytes > budget:
        batch -= 1
    while peak(batch + 1).peak_bytes <= budget:
        batch += 1
    return Fit(budget, batch, peak(batch) if batch else None, peak(batch + 1))
