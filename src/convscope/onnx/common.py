"""Helpers shared by the ONNX operator handlers."""

from __future__ import annotations

from typing import Any


class Unsupported(Exception):
    """An operator or setting convscope has no rule for."""


def attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def data_inputs(reader: Any, node: Any) -> list[str]:
    return [i for i in node.input if i and reader.is_data(i)]


def first_layout(reader: Any, name: str, op: str) -> Any:
    v = reader.values[name]
    if v.rank > 2 and v.layout != "first":
        raise Unsupported(f"{op} on a channels-last tensor")
    return v
