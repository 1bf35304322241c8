"""An ONNX model -> a convscope description and graph (``convscope summary net.onnx``).

The file is read with the ``onnx`` package and its shapes inferred with
``onnx.shape_inference`` (no runtime, nothing executed). Each node that computes on the
data path becomes a layer (ops.py maps the standard CNN operators: Conv with group,
dilation and auto_pad, ConvTranspose, Gemm / MatMul, Max/Average/Lp pooling with
ceil_mode, global pooling, BatchNormalization, LRN, activations, Clip, Concat, Add / Mul
/ ..., Flatten, Reshape, Transpose, Pad, Resize, Slice, Split, Gather (embeddings),
Dropout, Softmax). Nodes that only compute constants (weights, shapes) are not layers.
An operator convscope has no rule for becomes an ``opaque`` layer with the inferred
output shape and, as parameters, the initializers it reads; a note names it (its
multiply-adds are then not counted). An initializer several nodes read is counted once
(tied.py).

Layouts: ONNX tensors are channels first, (N, C, *spatial); convscope's shapes are
channels last. Each value remembers its ONNX layout: channels first ("first"), already
channels last ("last", e.g. after a Transpose that moves C to the end, or the (N, T, D)
output of an embedding), or one of the recurrent operators' time-major layouts ("time"
(T, N, C); "seq" (T, directions, N, H) of an LSTM's Y, "seq_b" (N, T, directions, H) and
"seq_t" (T, N, directions, H) after its Transpose; "state" (directions, N, H) of Y_h).
A Transpose or Reshape that only moves between layouts is no layer at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConvscopeError, SpecError
from ..ir import Graph
from ..layers.base import shape_str
from ..limits import MAX_DIM, echo
from ..names import unique_name
from .common import (
    MAX_ONNX_BYTES,
    Malformed,
    UnexpectedModel,
    Unsupported,
    fold_size,
    node_label,
    weights,
)
from .tied import share


@dataclass(frozen=True)
class Value:
    """A data tensor of the ONNX graph: the convscope layer computing it, its layout and
    its ONNX shape (batch first)."""

    node: str
    layout: str  # "first" (N, C, *S) or "last" (N, *S, C)
    shape: tuple[int | None, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)

    def ours(self) -> tuple[int, ...]:
        """convscope's shape of this value (no batch, channels last)."""
        s = tuple(1 if d is None else int(d) for d in self.shape)
        if self.layout == "time":  # (T, N, C)
            return (s[0], s[2])
        if self.layout in ("seq", "seq_t"):  # (T, D, N, H) / (T, N, D, H)
            return (s[0], s[1 if self.layout == "seq" else 2] * s[3])
        if self.layout == "seq_b":  # (N, T, D, H)
            return (s[1], s[2] * s[3])
        if self.layout == "state":  # (D, N, H)
            return (s[0] * s[2],)
        dims = s[1:]
        if self.layout == "last" or len(dims) <= 1:
            return dims
        return (*dims[1:], dims[0])


def load_model(source: Any) -> Any:
    """A ModelProto from a path, the bytes of a file, or a ModelProto; external data
    (weights in other files) is never read: convscope needs only their shapes."""
    import onnx

    if isinstance(source, onnx.ModelProto):
        return source
    if isinstance(source, (bytes, bytearray)):
        data, where = bytes(source), None
    elif isinstance(source, (str, Path)):
        path, where = Path(source), str(source)
        if not path.is_file():
            raise SpecError("no such file" if not path.exists() else "not a regular file", where)
        if path.stat().st_size > MAX_ONNX_BYTES:
            raise SpecError(f"the file has {path.stat().st_size:,} bytes, more than convscope "
                            f"reads ({MAX_ONNX_BYTES:,}, the limit of protobuf)", where)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise SpecError(f"cannot read the file: {err.strerror or err}", where) from None
    else:
        raise SpecError(f"expected an ONNX file, its bytes or a ModelProto; received "
                        f"{type(source).__name__}")
    if len(data) > MAX_ONNX_BYTES:
        raise SpecError(f"the model has {len(data):,} bytes, more than convscope reads", where)
    try:
        return onnx.ModelProto.FromString(data)
    except Exception as err:  # noqa: BLE001 - protobuf DecodeError, RecursionError, ...
        raise SpecError(f"not a readable ONNX model ({type(err).__name__}: "
                        f"{echo(str(err).splitlines()[0]) if str(err) else 'corrupt file'})",
                        where) from None


def dims_of(type_proto: Any) -> tuple[int | None, ...] | None:
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return None
    dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
    return None if any(d is not None and not 0 <= d <= MAX_DIM for d in dims) else dims


def set_input_shape(model: Any, shape: tuple[int, ...]) -> None:
    """--input H x W x C: rewrite the first input's (N, C, H, W) dims."""
    inits = {i.name for i in model.graph.initializer}
    first = next((i for i in model.graph.input if i.name not in inits), None)
    if first is None:
        raise SpecError(f"--input {shape_str(shape)}: the ONNX model has no input")
    onnx_dims = list(shape) if len(shape) <= 1 else [shape[-1], *shape[:-1]]
    dims = first.type.tensor_type.shape.dim
    if len(dims) != len(onnx_dims) + 1:
        raise SpecError(f"--input {shape_str(shape)} has {len(shape)} axes but the ONNX input "
                        f"'{first.name}' has {len(dims) - 1} besides the batch")
    for d, n in zip(list(dims)[1:], onnx_dims, strict=True):
        d.ClearField("dim_param")
        d.dim_value = n


class Reader:
    """Walks the ONNX nodes in order and writes the description's items."""

    def __init__(self, model: Any) -> None:

        self.model = model
        graph = model.graph
        self.constants: dict[str, Any] = {i.name: weights(i) for i in graph.initializer}
        self.initializers = set(self.constants)
        self.shapes: dict[str, tuple[int | None, ...]] = {}
        for info in [*graph.input, *graph.value_info, *graph.output]:
            dims = dims_of(info.type)
            if dims is not None:
                self.shapes[info.name] = dims
        self.values: dict[str, Value] = {}
        self.items: list[dict[str, Any]] = []
        self.inputs: dict[str, list[int]] = {}
        self.notes: list[str] = []
        self.taken: set[str] = set()
        self.used_initializers: set[str] = set()
        self.owner: dict[str, str] = {}  # initializer -> the layer that counts it
        self.signatures: dict[str, tuple[str, tuple[str, ...]]] = {}  # layer -> what it read
        self.learned: dict[str, int] = {}  # layer -> values of its trainable initializers
        self.pending_bias: dict[str, str] = {}  # MatMul output -> its dense item's name
        self.consumed = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        if not graph.node:
            raise SpecError("the ONNX graph has no nodes")
        seen: set[str] = set()
        for k, node in enumerate(graph.node):
            if not all(isinstance(t, str) for t in (node.name, node.op_type, *node.input,
                                                    *node.output)):
                raise SpecError(f"ONNX node #{k}: its name, operator or a value name is not "
                                "UTF-8 text")
            if not node.output or any(o and o in seen for o in node.output):
                raise SpecError(f"ONNX node {node_label(node)}: "
                                + ("has no output" if not node.output else
                                   f"output '{echo(node.output[0])}' is computed twice"))
            seen.update(node.output)

    # ---- names and values ---------------------------------------------------
    def unique(self, name: str) -> str:
        return unique_name(name, self.taken)

    def layer_name(self, node: Any, index: int) -> str:
        """'/layers/conv1/Conv' -> 'layers.conv1'; unnamed nodes: 'conv_12'."""
        parts = [p for p in node.name.split("/") if p]
        if len(parts) > 1 and parts[-1].split("_")[0] == node.op_type:
            parts = parts[:-1]
        text = ".".join(parts) if parts else f"{node.op_type.lower()}_{index}"
        return self.unique(text)

    def shape(self, name: str) -> tuple[int | None, ...]:
        if name in self.constants:
            return tuple(self.constants[name].shape)
        if name not in self.shapes:
            raise SpecError(f"ONNX value '{echo(name)}' has no inferred shape (shape inference "
                            "could not follow it, or the model gives an impossible size)")
        return self.shapes[name]

    def is_data(self, name: str) -> bool:
        return name in self.values

    def const(self, name: str) -> Any:
        if name not in self.constants:
            raise Unsupported(f"a computed value '{echo(name)}' where a constant is needed")
        return self.constants[name]

    # ---- entry ----------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        graph = self.model.graph
        for value in graph.input:
            if value.name in self.initializers:
                continue
            dims = self.shape(value.name)
            if not dims or any(d is None for d in dims[1:]):
                raise SpecError(f"ONNX input '{value.name}' has unknown sizes "
                                f"{tuple(dims[1:])}; give the input shape with --input "
                                "(H x W x C)")
            name = self.unique(value.name)
            v = Value(name, "first", dims)
            self.values[value.name] = v
            self.inputs[name] = list(v.ours())
        for index, node in enumerate(graph.node):
            try:
                self.node(node, index)
            except ConvscopeError:
                raise
            except Unsupported as why:
                raise SpecError(f"ONNX node {node_label(node)}: convscope cannot read "
                                f"{why}") from None
            except Malformed as why:
                raise SpecError(f"ONNX node {node_label(node)}: {why}") from None
            except Exception as err:  # noqa: BLE001 - the last resort; fuzz tests keep it rare
                raise UnexpectedModel(f"ONNX node {node_label(node)}: cannot read it "
                                      f"({type(err).__name__}: {echo(str(err))})") from None
        outputs = []
        for value in graph.output:
            if value.name not in self.values:
                raise SpecError(f"ONNX output '{value.name}' is not computed from the inputs")
            outputs.append(self.values[value.name].node)
        return {"name": graph.name or "onnx_model", "inputs": self.inputs,
                "layers": self.items, "outputs": outputs}

    def node(self, node: Any, index: int) -> None:
        from .ops import handle

        data = [i for i in node.input if i and self.is_data(i)]
        if not data:
            self.constant_node(node)
        elif node.op_type in ("Shape", "Size"):
            self.shape_node(node)
        elif node.op_type == "CastLike" and node.input[0] in self.constants:
            self.constants[node.output[0]] = self.constants[node.input[0]]  # a type only
        else:
            handle(self, node, index)

    def constant_node(self, node: Any) -> None:
        """Constant, and ops on constants only: evaluate the few that shapes need."""
        import numpy as np
        from onnx import numpy_helper

        if node.op_type == "Constant":
            read = {"value": lambda a: numpy_helper.to_array(a.t),
                    "value_float": lambda a: np.array(a.f), "value_int": lambda a: np.array(a.i),
                    "value_floats": lambda a: np.array(list(a.floats)),
                    "value_ints": lambda a: np.array(list(a.ints))}
            for attr in node.attribute:
                if attr.name in read:
                    try:
                        self.constants[node.output[0]] = read[attr.name](attr)
                    except Exception:  # noqa: BLE001 - a malformed tensor: the value is unknown
                        pass
        elif all(not i or i in self.constants for i in node.input):
            self.evaluate(node)

    def evaluate(self, node: Any) -> None:
        """Fold an operation on constants (CastLike, Concat, Unsqueeze, ... of shapes and
        bounds) with onnx's reference evaluator; what it cannot fold stays unknown."""
        from onnx.reference import ReferenceEvaluator

        feeds = {i: self.constants[i] for i in node.input if i}
        if fold_size(node, feeds) is None:
            return  # too large (or of unknown size) to compute: the value stays unknown
        try:
            results = ReferenceEvaluator(node).run(None, feeds)
        except Exception:  # noqa: BLE001 - an op the reference runtime lacks: stays unknown
            return
        for name, value in zip(node.output, results, strict=False):
            self.constants[name] = value

    def shape_node(self, node: Any) -> None:
        """Shape / Size of data: metadata, not a layer (the batch counts as 1)."""
        import numpy as np

        dims = [1 if d is None else int(d) for d in self.values[node.input[0]].shape]
        a = {attr.name: attr.i for attr in node.attribute}
        if node.op_type == "Size":
            self.constants[node.output[0]] = np.array(int(np.prod(dims)), dtype=np.int64)
            return
        start, end = a.get("start", 0), a.get("end", len(dims))
        if not all(-MAX_DIM <= v <= MAX_DIM for v in (start, end)):
            raise Unsupported(f"Shape with start {echo(start)} and end {echo(end)}")
        self.constants[node.output[0]] = np.array(dims[start:end], dtype=np.int64)

    # ---- writing layers -----------------------------------------------------
    def emit(self, node: Any, index: int, item: dict[str, Any], data: list[str],
             layout: str = "first", params: list[str] | None = None) -> str:
        """Add one layer reading the values ``data``; it defines ``node.output[0]``."""
        name = self.layer_name(node, index)
        tied = share(self, node, name, params or [])
        self.items.append({**item, **tied, "name": name,
                           "inputs": [self.values[d].node for d in data]})
        self.used_initializers.update(p for p in params or [] if p in self.initializers)
        out = node.output[0]
        self.values[out] = Value(name, layout, self.shape(out))
        return name

    def alias(self, node: Any, source: str, layout: str | None = None, output: int = 0) -> None:
        """The node's output is ``source`` itself (maybe seen in the other layout)."""
        v = self.values[source]
        out = node.output[output]
        self.values[out] = Value(v.node, layout or v.layout,
                                 self.shapes.get(out, v.shape))

    def opaque(self, node: Any, index: int, why: str) -> None:
        """A node convscope has no rule for: its output shape and the initializers it
        reads stand in for it."""
        out = node.output[0]
        dims = self.shapes.get(out)
        if dims is None or any(d is None for d in dims[1:]) or len(node.output) > 1 and any(
                o in self.shapes for o in node.output[1:]):
            raise SpecError(f"ONNX node '{node.name or node.op_type}' ({node.op_type}): "
                            f"convscope cannot read {why}")
        data = [i for i in node.input if i and self.is_data(i)]
        weights = [i for i in dict.fromkeys(node.input) if i in self.initializers
                   and i not in self.used_initializers and i not in self.owner]
        params = sum(int(self.constants[w].size) for w in weights)
        first = self.values[data[0]]
        layout = first.layout if len(dims) == first.rank else "first"
        ours = Value("", layout, dims).ours()
        self.notes.append(f"ONNX node '{node.name or node.op_type}' ({node.op_type}): "
                          f"convscope cannot read {why}; kept as an opaque layer with the "
                          f"inferred output shape {shape_str(ours)} and {params:,} parameters "
                          "(its initializers), no multiply-adds counted")
        self.emit(node, index, {"type": "opaque", "op": node.op_type, "shape": list(ours),
                                "params": params}, data, layout, weights)


def import_onnx(source: Any, input_shape: tuple[int, ...] | None = None) -> Graph:
    """An ONNX model (path or ModelProto) -> a validated Graph; ``notes`` name what could
    not be read."""
    try:
        import onnx
    except ImportError as err:
        raise ConvscopeError(f"reading ONNX needs the onnx package (pip install onnx): "
                             f"{err}") from None
    from ..description.parse import parse

    model = load_model(source)
    if input_shape is not None:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        set_input_shape(model, input_shape)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as err:  # noqa: BLE001 - onnx raises several kinds
        raise SpecError(f"ONNX shape inference failed: "
                        f"{echo(str(err).splitlines()[0] if str(err) else type(err).__name__)}"
                        ) from None
    reader = Reader(model)
    description = reader.run()
    try:
        graph = parse(description)
    except ConvscopeError:
        raise
    except Exception as err:  # noqa: BLE001 - the last resort, as for each node
        raise UnexpectedModel(f"the ONNX model's layers fail a check convscope did not "
                              f"foresee ({type(err).__name__}: {echo(str(err))})") from None
    check_outputs(graph, reader)
    return graph.with_notes(reader.notes)  # the shapes are not inferred again


def check_outputs(graph: Graph, reader: Reader) -> None:
    """convscope's output shapes must be ONNX's: a mismatch is a bug, never silent."""
    for value in reader.model.graph.output:
        v = reader.values[value.name]
        ours = graph.shapes[v.node]
        if ours != v.ours():
            raise ConvscopeError(f"ONNX output '{value.name}': convscope computes "
                                 f"{shape_str(ours)} but ONNX infers {shape_str(v.ours())}; "
                                 "please report this model")
