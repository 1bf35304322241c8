"""The analysis pass: Graph -> frozen :class:`Report` (per layer and totals).

Conventions (also stated in every rendered report, see ``CONVENTIONS``):

* shapes are H x W x C without the batch;
* ``params`` follows Keras: batch-norm moving statistics are non-trainable
  params, so ``trainable_params`` is what PyTorch's ``parameters()`` holds;
  PyTorch's buffers are counted separately (``buffers``);
* ``macs`` are the multiply-adds of conv, transposed conv and dense layers,
  bias excluded; ``flops`` = 2 x ``macs`` (torch.utils.flop_counter's count);
  ``other_ops`` is the element-wise work of every other rule;
* ``macs``, ``flops``, ``other_ops`` and activation memory are for one batch of
  ``batch`` samples (per sample when batch = 1); params never scale;
* bytes use the chosen dtype; KB = 1024 B, MB = 1024 KB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import Location, SpecError, closest, path_str
from ..frozen import assemble
from ..gc_pause import paused
from ..ir import Graph
from ..layers.base import ParamCount, Shape
from .layer_rules import LayerRules
from .receptive_field import Field, receptive_fields

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}

CONVENTIONS = (
    "Shapes are H x W x C per sample (no batch axis).",
    "Params follow Keras: batch-norm moving mean/variance are non-trainable params; "
    "trainable params = PyTorch's parameters() (LSTM/SimpleRNN: PyTorch adds a second bias "
    "vector, shown in the PyTorch view); PyTorch buffers are listed separately.",
    "MACs = multiply-adds of conv, transposed conv, dense, recurrent, matmul and attention "
    "layers, bias excluded; imported layers convscope has no kind for (opaque) add "
    "torch.utils.flop_counter's count / 2 (attention as its math decomposition); FLOPs = 2 x "
    "MACs.",
    "Other ops = element-wise work of bias, normalisation, pooling, activation and merge "
    "layers (one per value touched), not included in FLOPs.",
    "Memory: KB = 1024 B, MB = 1024 KB. Activation memory = output values of every layer.",
)


@dataclass(frozen=True)
class LayerStats:
    """Every number convscope computes for one layer."""

    index: int
    name: str
    kind: str
    type: str
    path: Location  # the layer's position in the description (its node's path)
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    formula: str
    param_bytes: int
    macs: int
    other_ops: int
    activation_elements: int
    activation_bytes: int
    receptive_field: Field
    hyper: Mapping[str, str]
    window: tuple[int, ...]  # the sliding window per spatial axis; () for none
    tag: str  # a short name for small diagram boxes ('conv 3x3')
    torch_params: int  # what PyTorch's parameters() holds (LSTM: two bias vectors)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def where(self) -> str:
        """``layers[3]``: :attr:`path` as text."""
        return path_str(self.path)


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    non_trainable_params: int
    buffers: int
    param_bytes: int
    macs: int
    flops: int
    other_ops: int
    activation_elements: int
    activation_bytes: int
    input_elements: int
    input_bytes: int
    receptive_field: Field
    torch_params: int


@dataclass(frozen=True)
class Report:
    model: str
    inputs: tuple[tuple[str, Shape], ...]
    outputs: tuple[tuple[str, Shape], ...]
    batch: int
    dtype: str
    dtype_bytes: int
    layers: tuple[LayerStats, ...]
    totals: Totals
    warnings: tuple[str, ...]
    conventions: tuple[str, ...] = CONVENTIONS

    def layer(self, name: str) -> LayerStats:
        for stats in self.layers:
            if stats.name == name:
                return stats
        raise SpecError(f"no layer named '{name}'.{closest(name, [s.name for s in self.layers])}")


def shared_count(count: ParamCount, owner: str, shared: int | None) -> ParamCount:
    """What a layer adds when ``shared`` of its parameters (None: all) are ``owner``'s."""
    if shared is None:
        return ParamCount(formula=f"shared with '{owner}'")
    return ParamCount(trainable=count.trainable - shared, non_trainable=count.non_trainable,
                      buffers=count.buffers, torch_extra=count.torch_extra,
                      formula=f"{count.formula} - {shared} shared with '{owner}'")


def repeated_count(count: ParamCount, repeated: int) -> ParamCount:
    """What a layer adds when ``repeated`` of its values were counted before: its
    non-trainable ones (statistics) first."""
    stats = min(repeated, count.non_trainable)
    return ParamCount(trainable=count.trainable - (repeated - stats),
                      non_trainable=count.non_trainable - stats, buffers=count.buffers,
                      torch_extra=count.torch_extra, tensors=count.tensors,
                      formula=f"{count.formula} - {repeated} repeated")


def dtype_size(dtype: str) -> int:
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"unknown dtype '{dtype}'; choose one of {', '.join(DTYPE_BYTES)}."
                        f"{closest(dtype, list(DTYPE_BYTES))}")
    return DTYPE_BYTES[dtype]


def layer_stats(graph: Graph, i: int, fields: dict[str, Field], batch: int, size: int,
                rules: LayerRules | None = None) -> LayerStats:
    """The numbers of ``graph.nodes[i]`` for ``batch`` samples of ``size`` bytes each
    (``rules``: the answers of layers already asked, see layer_rules.py)."""
    node = graph.nodes[i]
    in_shapes = graph.input_shapes(node)
    out = graph.shapes[node.name]
    said = (rules or LayerRules()).of(node.layer, in_shapes, out)
    count = said.count
    if node.shares:  # tied weights are counted once, at the layer that owns them
        count = shared_count(count, node.shares, node.shared_params)
    if node.repeated_params:  # so are tensors it reads again (an ONNX file's shared ones)
        count = repeated_count(count, node.repeated_params)
    trainable = count.trainable if node.trainable else 0
    non_trainable = count.non_trainable + (0 if node.trainable else count.trainable)
    elements = 1
    for n in out:
        elements *= n
    return assemble(LayerStats, {  # LayerStats(...) without 23 setattr (see frozen.py)
        "index": i, "name": node.name, "kind": node.layer.kind, "type": said.type,
        "path": node.path, "inputs": node.inputs, "input_shapes": in_shapes,
        "output_shape": out, "params": count.total, "trainable_params": trainable,
        "non_trainable_params": non_trainable, "buffers": count.buffers,
        "formula": count.formula, "param_bytes": count.total * size,
        "macs": batch * said.macs, "other_ops": batch * said.other_ops,
        "activation_elements": batch * elements, "activation_bytes": batch * elements * size,
        "receptive_field": fields[node.name], "hyper": dict(said.hyper),
        "window": said.window, "tag": said.tag, "torch_params": count.torch_params})


def totals_of(layers: list[LayerStats], field: Field, size: int) -> Totals:
    """Sums over the layers; activation memory counts the body, input memory the inputs."""
    body = [s for s in layers if s.kind != "input"]
    heads = [s for s in layers if s.kind == "input"]
    params = sum(s.params for s in layers)
    macs = sum(s.macs for s in layers)
    return Totals(
        params=params, trainable_params=sum(s.trainable_params for s in layers),
        non_trainable_params=sum(s.non_trainable_params for s in layers),
        buffers=sum(s.buffers for s in layers), param_bytes=params * size,
        macs=macs, flops=2 * macs, other_ops=sum(s.other_ops for s in layers),
        activation_elements=sum(s.activation_elements for s in body),
        activation_bytes=sum(s.activation_bytes for s in body),
        input_elements=sum(s.activation_elements for s in heads),
        input_bytes=sum(s.activation_bytes for s in heads),
        receptive_field=field, torch_params=sum(s.torch_params for s in layers))


@paused()  # see gc_pause.py: linear time on large graphs
def analyze(graph: Graph, batch: int = 1, dtype: str = "float32") -> Report:
    """All per-layer numbers and totals of ``graph`` for ``batch`` samples of ``dtype``.

    Args:
        graph: a validated graph (``convscope.load``).
        batch: samples per batch; scales MACs, FLOPs, other ops and activation memory.
        dtype: float32 (default), float16, bfloat16, int8 or float64.

    Returns:
        A frozen Report; renderers in ``convscope.render`` turn it into text.
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SpecError(f"batch must be an integer >= 1; received {batch!r}")
    size = dtype_size(dtype)
    rules = LayerRules()  # a layer shared by many nodes is asked once
    fields = receptive_fields(graph, rules)
    layers = [layer_stats(graph, i, fields, batch, size, rules)
              for i in range(len(graph.nodes))]
    totals = totals_of(layers, fields[graph.outputs[0]], size)
    warnings = graph.notes + tuple(
        f"{s.where} '{s.name}' ({s.kind}): the paths merged here have different receptive-field "
        f"strides or centers (misaligned); the field shown is their union"
        for s in layers if not s.receptive_field.aligned)
    return Report(model=graph.name,
                  inputs=tuple((n.name, graph.shapes[n.name]) for n in graph.inputs),
                  outputs=tuple((name, graph.shapes[name]) for name in graph.outputs),
                  batch=batch, dtype=dtype, dtype_bytes=size, layers=tuple(layers),
                  totals=totals, warnings=warnings)
