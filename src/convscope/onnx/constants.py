"""ONNX nodes that compute constants only (weights' shapes, bounds, Shape / Size of data):
no layers. The few that shapes need are folded with onnx's reference evaluator, within
bounds (no ConstantOfShape of 10**12 zeros)."""

from __future__ import annotations

import math
from typing import Any

from ..layers.bridge import Unsupported
from ..limits import MAX_DIM, echo

#: values of one tensor computed while folding constants (shapes, bounds: a few values)
MAX_FOLD = 2**20
SAME_SIZE = {"Identity", "Cast", "CastLike", "Squeeze", "Unsqueeze", "Reshape", "Flatten",
             "Transpose", "Neg", "Abs", "Floor", "Ceil", "Sqrt", "Sign", "Not", "Relu", "Slice",
             "Split", "Clip", "Exp", "Log", "Reciprocal", "Round", "ReduceProd", "ReduceSum",
             "ReduceMin", "ReduceMax", "ReduceMean", "Shape", "Size", "Softmax"}
BROADCAST = {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Equal", "Less", "Greater",
             "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "Min", "Max", "Sum",
             "Mean"}


def bounded_prod(values: Any) -> int | None:
    """The product of integers, None when one is negative or the product passes MAX_FOLD."""
    total = 1
    for v in values:
        v = int(v)
        if v < 0:
            return None
        total *= v
        if total > MAX_FOLD:
            return None
    return total


def fold_size(node: Any, feeds: dict[str, Any]) -> int | None:
    """The values a constant-only node would compute, when known and at most MAX_FOLD;
    None otherwise (the node is then not folded: no ConstantOfShape of 10**12 zeros)."""
    import numpy as np

    arrays = [np.asarray(feeds[i]) if i else np.zeros(0) for i in node.input]
    sizes = [int(a.size) for a in arrays]
    if sum(sizes) > MAX_FOLD:
        return None
    op, first = node.op_type, arrays[0] if arrays else None
    try:
        if op in SAME_SIZE:
            return max(sizes, default=1)
        if op in BROADCAST:
            return bounded_prod(np.broadcast_shapes(*[a.shape for a in arrays]))
        if op == "Concat":
            return sum(sizes)
        if op == "Gather":
            return bounded_prod([sizes[0], sizes[1]])
        if op == "ConstantOfShape":
            return bounded_prod(first.reshape(-1)) if first is not None else 1
        if op == "Expand":
            target = [int(v) for v in arrays[1].reshape(-1)]
            if any(v < 0 for v in target):
                return None
            return bounded_prod(np.broadcast_shapes(first.shape, tuple(target)))
        if op == "Tile":
            return bounded_prod([sizes[0], *arrays[1].reshape(-1)])
        if op == "Range":
            start, limit, delta = (float(a.reshape(-1)[0]) for a in arrays[:3])
            count = math.ceil((limit - start) / delta) if delta else -1
            return count if 0 <= count <= MAX_FOLD else None
    except (ValueError, TypeError, IndexError, OverflowError, AttributeError):
        return None
    return None


def constant_node(constants: dict[str, Any], node: Any) -> None:
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
                    constants[node.output[0]] = read[attr.name](attr)
                except Exception:  # noqa: BLE001 - a malformed tensor: the value is unknown
                    pass
    elif all(not i or i in constants for i in node.input):
        evaluate(constants, node)


def evaluate(constants: dict[str, Any], node: Any) -> None:
    """Fold an operation on constants (CastLike, Concat, Unsqueeze, ... of shapes and
    bounds) with onnx's reference evaluator; what it cannot fold stays unknown."""
    from onnx.reference import ReferenceEvaluator

    feeds = {i: constants[i] for i in node.input if i}
    if fold_size(node, feeds) is None:
        return  # too large (or of unknown size) to compute: the value stays unknown
    try:
        results = ReferenceEvaluator(node).run(None, feeds)
    except Exception:  # noqa: BLE001 - an op the reference runtime lacks: stays unknown
        return
    for name, value in zip(node.output, results, strict=False):
        constants[name] = value


def shape_node(reader: Any, node: Any) -> None:
    """Shape / Size of data: metadata, not a layer (the batch counts as 1)."""
    import numpy as np

    dims = [1 if d is None else int(d) for d in reader.values[node.input[0]].shape]
    a = {attr.name: attr.i for attr in node.attribute}
    if node.op_type == "Size":
        reader.constants[node.output[0]] = np.array(int(np.prod(dims)), dtype=np.int64)
        return
    start, end = a.get("start", 0), a.get("end", len(dims))
    if not all(-MAX_DIM <= v <= MAX_DIM for v in (start, end)):
        raise Unsupported(f"Shape with start {echo(start)} and end {echo(end)}")
    reader.constants[node.output[0]] = np.array(dims[start:end], dtype=np.int64)
