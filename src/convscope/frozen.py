"""Assembling instances of frozen dataclasses in bulk (issue 16).

A frozen dataclass's generated ``__init__`` sets each field through
``object.__setattr__``; for the 23 fields of a ``LayerStats`` that is most of the cost of
analysing a layer (about 5.6 us against 0.6 us here). :func:`assemble` builds the same
instance by filling its ``__dict__`` once. It is for classes whose ``__init__`` does
nothing else: no ``__post_init__``, no ``__slots__``, no ``InitVar``, every field given
(tests/test_static_path.py checks each class it is used for against its constructor).
The instance is as frozen as any other: assigning a field afterwards raises.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def assemble(cls: type[T], values: dict[str, Any]) -> T:
    """``cls(**values)`` for a plain frozen dataclass ``cls``, without per-field setattr."""
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance
