"""An ONNX file's model and values: loading it (the file, its bytes or a ModelProto),
the declared input shape, and :class:`Value`, a data tensor of the graph with its layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..layers.base import shape_str
from ..limits import MAX_DIM, echo
from .common import MAX_ONNX_BYTES


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
