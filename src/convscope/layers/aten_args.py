"""Reading the arguments of one captured ATen call, for the kinds' PyTorch readers
(``from_aten``, layers/bridge.py). Pure Python: the call is handed in (pytorch/capture.py's
``Op``: ``name``, ``overload``, ``args``, ``kwargs``, ``consts``, ``is_data``), and tensors
are read through ``.shape`` and ``.dim()`` only, so the core never imports torch.
"""

from __future__ import annotations

from typing import Any


def arg(op: Any, index: int, key: str, default: Any = None) -> Any:
    """Argument ``index`` of the call, or its keyword ``key``, else ``default``."""
    if len(op.args) > index:
        return op.args[index]
    return op.kwargs.get(key, default)


def ints(value: Any) -> list[int]:
    """An int or a list of ints (sizes, strides) -> a list of ints."""
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def is_tensor(value: Any) -> bool:
    """A tensor argument (duck-typed: layers/ never imports torch)."""
    return hasattr(value, "shape") and hasattr(value, "dim")


def constant(op: Any, *values: Any) -> bool:
    """None of ``values`` is computed from the model's inputs (parameters, buffers, None)."""
    return not any(op.is_data(v) for v in values)
