"""The ONNX walker's dispatch: each operator type is read by the layer kind that declares it
(``onnx_ops`` and ``from_onnx`` in its file under layers/, the contract of
layers/bridge.py; ONNX's operator specification, opsets 11-21:
https://onnx.ai/onnx/operators/), or by the plumbing (plumbing.py: Identity, Cast and the
views of recurrent outputs). An operator no one reads becomes an opaque layer.
"""

from __future__ import annotations

from typing import Any

from ..layers import LAYER_KINDS
from ..layers.bridge import Malformed, Unsupported, table
from .plumbing import PLUMBING, Handler, view


def handlers() -> dict[str, Handler]:
    table(LAYER_KINDS, "onnx_ops")  # refuses an operator two kinds claim
    found: dict[str, Handler] = {op: kind.from_onnx for kind in LAYER_KINDS
                                 for op in kind.onnx_ops}
    for op in PLUMBING:
        if op in found:
            raise RuntimeError(f"ONNX operator '{op}' is both plumbing and a layer kind's")
    for kind in LAYER_KINDS:
        extra = (set(kind.onnx_arity) | set(kind.onnx_any_first)) - set(kind.onnx_ops)
        if extra:
            raise RuntimeError(f"{kind.__name__} sets ONNX arities of operators it does not "
                               f"read: {sorted(extra)}")
    return {**found, **PLUMBING}


HANDLERS = handlers()
# inputs each operator needs (ONNX's operator specification); the others need one
ARITY = {op: n for kind in LAYER_KINDS for op, n in kind.onnx_arity.items()}
# operators whose first input may be a constant (the others read data there)
ANY_FIRST = {op for kind in LAYER_KINDS for op in kind.onnx_any_first}


def handle(reader: Any, node: Any, index: int) -> None:
    """Map one node that reads data; unknown operators become opaque layers."""
    handler = HANDLERS.get(node.op_type)
    if len(node.input) < ARITY.get(node.op_type, 1) or not node.input[0] and handler:
        raise Malformed(f"{node.op_type} takes at least {ARITY.get(node.op_type, 1)} inputs; "
                        f"received {len(node.input)}")
    try:
        if handler is None:
            raise Unsupported(f"the operator {node.op_type}")
        if node.op_type not in ANY_FIRST and not reader.is_data(node.input[0]):
            raise Unsupported(f"{node.op_type} whose first input is a constant")
        if not view(reader, node, index):
            handler(reader, node, index)
    except Unsupported as why:
        reader.opaque(node, index, str(why))
