"""An ONNX model -> a convscope description and graph (``convscope summary net.onnx``).

The file is read with the ``onnx`` package and its shapes inferred with
``onnx.shape_inference`` (no runtime, nothing executed). Each node that computes on the
data path becomes a layer: the layer kind that declares its operator type reads it
(``onnx_ops`` and ``from_onnx`` in layers/*.py; ops.py dispatches, plumbing.py reads
Identity, Cast and the views of recurrent outputs). Nodes that only compute constants
(weights, shapes) are not layers (constants.py). An operator convscope has no rule for
becomes an ``opaque`` layer with the inferred output shape and, as parameters, the
initializers it reads; a note names it (its multiply-adds are then not counted). An
initializer several nodes (or one node twice) read is counted once (tied.py).

Layouts: ONNX tensors are channels first, (N, C, *spatial); convscope's shapes are
channels last. Each value remembers its ONNX layout: channels first ("first"), already
channels last ("last", e.g. after a Transpose that moves C to the end, or the (N, T, D)
output of an embedding), or one of the recurrent operators' time-major layouts ("time"
(T, N, C); "seq" (T, directions, N, H) of an LSTM's Y, "seq_b" (N, T, directions, H) and
"seq_t" (T, N, directions, H) after its Transpose; "state" (directions, N, H) of Y_h).
A Transpose or Reshape that only moves between layouts is no layer at all.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..errors import ConvscopeError, SpecError
from ..ir import Graph
from ..layers.base import shape_str
from ..layers.bridge import Malformed, Unsupported
from ..limits import echo
from ..names import unique_name
from .common import UnexpectedModel, attrs, node_label, weights
from .constants import constant_node, shape_node
from .model import Value, dims_of, load_model, set_input_shape
from .tied import counted_again, share


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
        self.reads = Counter([*(i for n in graph.node for i in n.input),
                              *(o.name for o in graph.output)])  # value -> its readers
        self.consumed = set(self.reads)
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

    def attrs(self, node: Any) -> dict[str, Any]:
        """The node's attributes, each of the type its operators give it (else Malformed)."""
        return attrs(node)

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
            constant_node(self.constants, node)
        elif node.op_type in ("Shape", "Size"):
            shape_node(self, node)
        elif node.op_type == "CastLike" and node.input[0] in self.constants:
            self.constants[node.output[0]] = self.constants[node.input[0]]  # a type only
        else:
            handle(self, node, index)

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

    def dense_bias(self, node: Any, source: str, const: str) -> None:
        """MatMul then Add of a stored tensor: the bias of the MatMul's dense layer (no
        layer); a tensor counted before is not counted again."""
        item = next(it for it in self.items if it["name"] == self.pending_bias[source])
        item["bias"] = True
        size = int(self.constants[const].size)
        if self.owner.get(const, item["name"]) != item["name"] and \
                not (item.get("shares") and "shared_params" not in item):
            if size == item["units"]:
                item["repeated_params"] = item.get("repeated_params", 0) + size
            else:
                self.notes.append(counted_again(node, size))
        self.used_initializers.add(const)
        self.owner.setdefault(const, item["name"])
        self.alias(node, source)

    def fold_offset(self, node: Any, source: str, offset: float) -> bool:
        """Add / Sub of a number after a rescaling by a number that nothing else reads:
        the rescaling's offset (no layer); False when it is a layer of its own."""
        name = self.values[source].node
        item = next((it for it in reversed(self.items) if it["name"] == name), None)
        if item is None or item["type"] != "rescaling" or item["offset"] or \
                self.reads[source] != 1:
            return False
        item["offset"] = offset
        self.alias(node, source)
        return True

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
