"""ONNX interop: read ``.onnx`` files into convscope graphs (importer.py, with the
``onnx`` package's shape inference; no runtime needed) and write descriptions as ONNX
through the PyTorch bridge (export.py, ``torch.onnx.export``)."""

from __future__ import annotations

__all__ = ["import_onnx", "load_onnx_file"]


def import_onnx(source, input_shape=None):  # type: ignore[no-untyped-def]
    """An ONNX model (path or ModelProto) -> a validated convscope Graph."""
    from .importer import import_onnx as run

    return run(source, input_shape)


def load_onnx_file(path: str, input_shape=None):  # type: ignore[no-untyped-def]
    from ..errors import ConvscopeError
    from .importer import import_onnx as run

    try:
        return run(path, input_shape)
    except ConvscopeError as err:
        raise err.with_source(path) from None
