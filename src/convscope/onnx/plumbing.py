"""ONNX operators the walker (ops.py) reads itself: plumbing, no layer kind's.

* Identity and Cast pass their input on (convscope counts no dtypes).
* The views of a recurrent operator's outputs, which only move a value between the
  recurrent layouts (importer.py: "time", "seq", "seq_b", "seq_t", "state"): a Transpose
  or Reshape / Squeeze / Unsqueeze that reorders or drops the axes of (directions, hidden)
  is no layer; a Gather of one direction of the final states Y_h (D, N, H) is a slice of
  the layer's output channels (nothing with one direction). On other values these
  operators are layer kinds' (Permute, Reshape, Embedding): ``view`` is asked first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..layers.bridge import Unsupported
from ..layers.onnx_read import permutation

Handler = Callable[[Any, Any, int], None]
RECURRENT_LAYOUTS = ("time", "seq", "seq_b", "seq_t", "state")
# (layout, perm) -> the layout of the result, for transposes that only change layouts
RELAYOUT = {("last", (1, 0, 2)): "time", ("first", (2, 0, 1)): "time",
            ("time", (1, 0, 2)): "last", ("time", (1, 2, 0)): "first",
            ("seq", (2, 0, 1, 3)): "seq_b", ("seq", (0, 2, 1, 3)): "seq_t"}


def identity(reader: Any, node: Any, index: int) -> None:
    reader.alias(node, node.input[0])


PLUMBING: dict[str, Handler] = {"Identity": identity, "Cast": identity}


def view(reader: Any, node: Any, index: int) -> bool:
    """Read ``node`` if it only views a recurrent output (or enters the time-major layout);
    False: it is its kind's."""
    op, x = node.op_type, reader.values.get(node.input[0])
    if x is None:
        return False
    if op == "Transpose":
        layout = RELAYOUT.get((x.layout, tuple(permutation(reader, node, x.rank))))
        if layout:
            reader.alias(node, node.input[0], layout)
        return layout is not None
    if x.layout not in RECURRENT_LAYOUTS:
        return False
    if op in ("Reshape", "Squeeze", "Unsqueeze"):
        layout = recurrent_relayout(x, reader.shape(node.output[0]))
        if layout:
            reader.alias(node, node.input[0], layout)
        return layout is not None
    if op == "Gather" and x.layout == "state":
        state_direction(reader, node, index)
        return True
    return False


def recurrent_relayout(x: Any, out: tuple[Any, ...]) -> str | None:
    """Reshapes that merge a recurrent output's (directions, H) or drop its axis of one
    direction: the layout of the result, or None."""
    s = x.shape
    if x.layout == "seq" and s[1] == 1 and tuple(out) == (s[0], s[2], s[3]):
        return "time"
    if x.layout == "seq_b" and tuple(out) == (s[0], s[1], s[2] * s[3]):
        return "last"
    if x.layout == "seq_t" and tuple(out) == (s[0], s[1], s[2] * s[3]):
        return "time"
    if x.layout == "state" and s[0] == 1 and tuple(out) == (s[1], s[2]):
        return "first"
    return None


def state_direction(reader: Any, node: Any, index: int) -> None:
    """h_n[k] of a recurrent layer's final states (D, N, H): one direction's part of the
    layer's output, whose channels are the directions side by side."""
    x = reader.values[node.input[0]]
    if int(reader.attrs(node).get("axis", 0)) != 0:
        raise Unsupported("Gather of a recurrent state along an axis other than 0")
    directions, hidden = int(x.shape[0]), int(x.shape[2])
    k = int(reader.const(node.input[1]).reshape(-1)[0]) % directions
    if directions == 1:
        reader.alias(node, node.input[0], "first")
        return
    reader.emit(node, index, {"type": "slice", "axis": -1, "start": k * hidden,
                              "stop": (k + 1) * hidden}, [node.input[0]])
