"""Unique names for the layers an importer or a builder creates."""

from __future__ import annotations


def unique_name(name: str, taken: set[str]) -> str:
    """``name`` if free, else ``name_2``, ``name_3``, ...: the first not in ``taken``,
    which records it (Keras's and PyTorch's own way of naming repeated layers)."""
    base, i = name, 1
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    taken.add(name)
    return name
