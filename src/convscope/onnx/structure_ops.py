"""ONNX operators that move values rather than compute them (Concat, Flatten, Reshape,
Transpose, Pad, Resize, Slice, Split, Gather), and the recurrent operators with the
layouts of their outputs. Same contract as ops.py."""

from __future__ import annotations

from typing import Any

from .common import Malformed, Unsupported, attrs, data_inputs, first_layout, need, text


def concat(reader: Any, node: Any, index: int) -> None:
    data = data_inputs(reader, node)
    if len(data) != len([i for i in node.input if i]):
        raise Unsupported("Concat with a constant tensor")
    layouts = {reader.values[d].layout for d in data if reader.values[d].rank > 2}
    if len(layouts) > 1:
        raise Unsupported("Concat of channels-first and channels-last tensors")
    layout = layouts.pop() if layouts else "first"
    v = reader.values[data[0]]
    axis = int(need(attrs(node), "axis")) % v.rank
    if axis == 0:
        raise Unsupported("Concat along the batch axis")
    reader.emit(node, index, {"type": "concat", "axis": our_axis(v, axis)}, data, layout=layout)


def flatten(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    if int(attrs(node).get("axis", 1)) != 1:
        raise Unsupported("Flatten from an axis other than 1")
    if x.rank <= 2:
        reader.alias(node, node.input[0])
        return
    reader.emit(node, index, {"type": "flatten"}, [node.input[0]])


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


def reshape(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    out = reader.shape(node.output[0])
    if tuple(out) == tuple(x.shape):
        reader.alias(node, node.input[0])
        return
    relayout = recurrent_relayout(x, out)
    if relayout:
        reader.alias(node, node.input[0], relayout)
        return
    if x.layout not in ("first", "last"):
        raise Unsupported(f"{node.op_type} of a {x.layout} tensor")
    if any(d is None for d in out[1:]):
        raise Unsupported("Reshape to an unknown shape")
    if len(out) == 2:
        reader.emit(node, index, {"type": "flatten"} if x.rank > 2 and x.layout == "first"
                    else {"type": "reshape", "target_shape": [int(out[1])]}, [node.input[0]])
        return
    layout = "channels_first" if x.layout == "first" and x.rank > 2 else "channels_last"
    target = reader_value_shape(out, "first" if layout == "channels_first" else "last")
    reader.emit(node, index, {"type": "reshape", "target_shape": list(target),
                              "layout": layout},
                [node.input[0]], layout="first" if layout == "channels_first" else "last")


def reader_value_shape(onnx_shape: Any, layout: str) -> tuple[int, ...]:
    dims = tuple(int(d) for d in onnx_shape[1:])
    return dims if layout == "last" or len(dims) <= 1 else (*dims[1:], dims[0])


# (layout, perm) -> the layout of the result, for transposes that only change layouts
RELAYOUT = {("last", (1, 0, 2)): "time", ("first", (2, 0, 1)): "time",
            ("time", (1, 0, 2)): "last", ("time", (1, 2, 0)): "first",
            ("seq", (2, 0, 1, 3)): "seq_b", ("seq", (0, 2, 1, 3)): "seq_t"}


def transpose(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    r = x.rank
    perm = list(attrs(node).get("perm", list(reversed(range(r)))))
    if sorted(perm) != list(range(r)):
        raise Malformed(f"attribute 'perm' must order the {r} axes; received {perm}")
    if (x.layout, tuple(perm)) in RELAYOUT:
        reader.alias(node, node.input[0], RELAYOUT[(x.layout, tuple(perm))])
        return
    if x.layout not in ("first", "last") or perm[0] != 0:
        raise Unsupported(f"Transpose {perm} of a {x.layout} tensor")
    to_last = [0, *range(2, r), 1]
    to_first = [0, r - 1, *range(1, r - 1)]
    if x.layout == "first" and perm == to_last:
        reader.alias(node, node.input[0], "last")
        return
    if x.layout == "last" and perm == to_first:
        reader.alias(node, node.input[0], "first")
        return
    if perm == list(range(r)):
        reader.alias(node, node.input[0])
        return
    # a real permutation: Keras-style 1-based dims over the channels-last axes
    ours_in = [*range(2, r), 1] if x.layout == "first" else list(range(1, r))
    out_layout = x.layout
    ours_out = [*range(2, r), 1] if out_layout == "first" else list(range(1, r))
    dims = [ours_in.index(perm[k]) + 1 for k in ours_out]
    reader.emit(node, index, {"type": "permute", "dims": dims}, [node.input[0]],
                layout=out_layout)


def pad(reader: Any, node: Any, index: int) -> None:
    x = first_layout(reader, node.input[0], "Pad")
    a = attrs(node)
    if text(a.get("mode", "constant")) != "constant":
        raise Unsupported(f"Pad mode {text(a.get('mode'))}")
    pads = a.get("pads")
    if pads is None:
        pads = [int(v) for v in reader.const(node.input[1]).reshape(-1)]
    if len(node.input) > 3 and node.input[3]:
        raise Unsupported("Pad of selected axes")
    r = x.rank
    before, after = pads[:r], pads[r:]
    if before[0] or after[0]:
        raise Unsupported("Pad of the batch axis")
    if r == 2:
        raise Unsupported("Pad of a vector")
    item: dict[str, Any] = {"type": "zero_padding",
                            "padding": [[before[i], after[i]] for i in range(2, r)]}
    if before[1] or after[1]:
        item["channels"] = [before[1], after[1]]
    reader.emit(node, index, item, [node.input[0]])


def resize(reader: Any, node: Any, index: int) -> None:
    x = first_layout(reader, node.input[0], node.op_type)
    out = reader.shape(node.output[0])
    scales = []
    for n_in, n_out in zip(x.shape[2:], out[2:], strict=True):
        if n_out is None or n_in is None or n_out % n_in:
            raise Unsupported(f"{node.op_type} by a non-integer factor")
        scales.append(int(n_out // n_in))
    mode = text(attrs(node).get("mode", "nearest"))
    reader.emit(node, index, {"type": f"upsample{x.rank - 2}d", "scale_factor": scales,
                              "mode": "nearest" if mode == "nearest" else "linear"},
                [node.input[0]])


def slice_op(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    starts = [int(v) for v in reader.const(node.input[1]).reshape(-1)]
    ends = [int(v) for v in reader.const(node.input[2]).reshape(-1)]
    axes = [int(v) for v in reader.const(node.input[3]).reshape(-1)] \
        if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
    steps = [int(v) for v in reader.const(node.input[4]).reshape(-1)] \
        if len(node.input) > 4 and node.input[4] else [1] * len(starts)
    if len(axes) != 1:
        raise Unsupported("Slice of several axes")
    axis, n = axes[0] % x.rank, x.shape[axes[0] % x.rank]
    if axis == 0 or steps[0] < 1 or n is None:
        raise Unsupported("Slice of the batch axis or with a negative step")
    start = max(0, starts[0] + n if starts[0] < 0 else min(starts[0], n))
    stop = max(0, ends[0] + n if ends[0] < 0 else min(ends[0], n))
    ours = our_axis(x, axis)
    reader.emit(node, index, {"type": "slice", "axis": ours, "start": start, "stop": stop,
                              "step": steps[0]}, [node.input[0]], layout=x.layout)


def our_axis(x: Any, axis: int) -> int:
    """An ONNX axis (batch = 0) -> convscope's (channels last)."""
    if x.rank == 2 or (x.layout == "first" and axis == 1):
        return -1
    return axis - 2 if x.layout == "first" else axis - 1


def split(reader: Any, node: Any, index: int) -> None:
    x = reader.values[node.input[0]]
    axis = int(attrs(node).get("axis", 0)) % x.rank
    shapes = [reader.shape(o) for o in node.output]
    if any(len(s) != x.rank or s[axis] is None for s in shapes):
        raise Unsupported("Split into parts of unknown sizes")
    sizes = [int(s[axis]) for s in shapes]  # type: ignore[arg-type]
    start = 0
    for k, (out, size) in enumerate(zip(node.output, sizes, strict=True)):
        name = reader.unique(f"{reader.layer_name(node, index)}.{k}")
        reader.items.append({"type": "slice", "axis": our_axis(x, axis), "start": start,
                             "stop": start + size, "name": name, "inputs": [x.node]})
        reader.values[out] = type(x)(name, x.layout, reader.shape(out))
        start += size


def gather(reader: Any, node: Any, index: int) -> None:
    table, indices = node.input[0], node.input[1]
    if reader.is_data(table) and reader.values[table].layout == "state":
        state_direction(reader, node, index)
        return
    if reader.is_data(table) or not reader.is_data(indices) or \
            int(attrs(node).get("axis", 0)) != 0 or len(reader.shape(table)) != 2:
        raise Unsupported("Gather other than an embedding lookup")
    vocab, dim = (int(d) for d in reader.shape(table))
    reader.emit(node, index, {"type": "embedding", "input_dim": vocab, "output_dim": dim},
                [indices], layout="last", params=[table])


def state_direction(reader: Any, node: Any, index: int) -> None:
    """h_n[k] of a recurrent layer's final states (D, N, H): one direction's part of the
    layer's output, whose channels are the directions side by side."""
    x = reader.values[node.input[0]]
    if int(attrs(node).get("axis", 0)) != 0:
        raise Unsupported("Gather of a recurrent state along an axis other than 0")
    directions, hidden = int(x.shape[0]), int(x.shape[2])
    k = int(reader.const(node.input[1]).reshape(-1)[0]) % directions
    if directions == 1:
        reader.alias(node, node.input[0], "first")
        return
    reader.emit(node, index, {"type": "slice", "axis": -1, "start": k * hidden,
                              "stop": (k + 1) * hidden}, [node.input[0]])


def recurrent(reader: Any, node: Any, index: int) -> None:
    """RNN / LSTM / GRU: X (T, N, F) (or (N, T, F) with layout=1); outputs Y (T, D, N, H)
    and Y_h (D, N, H); one convscope recurrent layer for whichever of them is used."""
    a = attrs(node)
    x = reader.values[node.input[0]]
    if x.layout != ("last" if a.get("layout", 0) else "time"):
        raise Unsupported(f"{node.op_type} input in the {x.layout} layout")
    direction = text(a.get("direction", "forward"))
    if direction == "reverse":
        raise Unsupported(f"{node.op_type} in the reverse direction only")
    if len(node.input) > 7 and node.input[7]:
        raise Unsupported("LSTM with peepholes")
    cell = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[node.op_type]
    acts = [text(v).lower() for v in a.get("activations", [])]
    item: dict[str, Any] = {"type": cell, "units": int(need(a, "hidden_size")),
                            "bidirectional": direction == "bidirectional",
                            "bias": len(node.input) > 3 and bool(node.input[3])}
    if cell == "rnn" and acts:
        item["activation"] = acts[0]
    elif acts and acts[:3] not in (["sigmoid", "tanh", "tanh"], ["sigmoid", "tanh"]):
        raise Unsupported(f"{node.op_type} with activations {acts}")
    if cell == "gru":
        item["reset_after"] = bool(a.get("linear_before_reset", 0))
    used = reader.consumed
    seq = bool(node.output[0]) and node.output[0] in used
    state = len(node.output) > 1 and node.output[1] in used
    cells = len(node.output) > 2 and node.output[2] in used
    if (seq and state) or cells:
        raise Unsupported(f"{node.op_type} whose sequence and final states are both used")
    item["return_sequences"] = seq
    name = reader.emit(node, index, item, [node.input[0]], layout="seq",
                       params=list(node.input[1:4]))
    if not seq and len(node.output) > 1:
        out = node.output[1]
        reader.values[out] = type(x)(name, "state", reader.shape(out))


def identity(reader: Any, node: Any, index: int) -> None:
    reader.alias(node, node.input[0])


