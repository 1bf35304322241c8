"""Positions moved between axes by reshapes and permutes, for the receptive-field
recurrence (analysis/receptive_field.py) and PyTorch import's windows (pytorch/axis_flow.py).

A tensor's axes are described by components ``(spatial axis, step, count)``, row major
(``None`` for an axis with no position: the channels, the batch): a map of 56 x 56 x 96 is
``((0, 1, 56),), ((1, 1, 56),), ((None, 0, 96),)``; Swin's tokens (3136, 96) are
``((0, 1, 56), (1, 1, 56)), ((None, 0, 96),)``; TResNet's space-to-depth puts
``(0, 1, 4), (1, 1, 4)`` in the channels and ``(0, 4, 56)`` on the height. An element's
position along spatial axis a is the sum of its components' index x step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Shape = tuple[int, ...]
Comp = tuple[Any, int, int]  # (spatial axis or None, step in positions, count)
Axis = tuple[Comp, ...]


class Lost(Exception):
    """Positions that cannot be followed (the field becomes global)."""


@dataclass(frozen=True)
class Regroup:
    """The receptive-field step of a reshape or a permute that is not the identity: from
    ``before`` to ``after`` (channels-last shapes); ``order``: a permute's, output axis i
    is input axis order[i]; ``torch_order``: a reshape in PyTorch's channels-first element
    order. Each value keeps its field; where positions end up in one axis per spatial
    axis again, the map's field follows (analysis/receptive_field.py)."""

    before: Shape
    after: Shape
    order: tuple[int, ...] | None = None
    torch_order: bool = False


def normal(axis: Axis) -> Axis:
    """Drop components of count 1, merge neighbours that are one run ((0, 7, 8), (0, 1, 7)
    -> (0, 1, 56)); positionless components merge into one."""
    out: list[Comp] = []
    for a, step, n in axis:
        if n == 1:
            continue
        if out and out[-1][0] == a and (a is None or out[-1][1] == step * n):
            out[-1] = (a, step, out[-1][2] * n)
        else:
            out.append((None, 0, n) if a is None else (a, step, n))
    return tuple(out)


def plain(size: int) -> Axis:
    return ((None, 0, size),)


def labelled(axis: Axis) -> bool:
    return any(a is not None for a, _, _ in axis)


def extent(axes: Any, spatial: int) -> list[int]:
    """Per spatial axis, how far positions along ``axes`` spread: sum of step x (count-1)."""
    ext = [0] * spatial
    for axis in axes:
        for a, step, n in axis:
            if a is not None:
                ext[a] += step * (n - 1)
    return ext


def count(axis: Axis) -> int:
    size = 1
    for _, _, n in axis:
        size *= n
    return size


def map_axes(shape: Shape) -> tuple[Axis, ...]:
    """A channels-last map (*S, C): each spatial axis is itself."""
    return (*(((k, 1, int(n)),) for k, n in enumerate(shape[:-1])), plain(int(shape[-1])))


def regroup(axes: Any, shape: Shape) -> tuple[Axis, ...]:
    """A view or reshape: the same components, in order, cut into the new sizes."""
    comps = [c for axis in axes for c in axis]
    out: list[Axis] = []
    for size in (int(n) for n in shape):
        dim: list[Comp] = []
        while size > 1:
            if not comps:
                raise Lost("reshape")
            a, step, n = comps.pop(0)
            if size % n == 0:
                dim.append((a, step, n))
                size //= n
            elif n % size == 0:  # the outer part of a component
                dim.append((a, step * (n // size), size))
                comps.insert(0, (a, step, n // size))
                size = 1
            else:
                raise Lost("reshape")
        out.append(normal(tuple(dim)))
    if comps:
        raise Lost("reshape")
    return tuple(out)


def regrouped(axes: tuple[Axis, ...], step: Regroup) -> tuple[Axis, ...]:
    """The axes after a :class:`Regroup` step."""
    if step.order is not None:
        return tuple(axes[d] for d in step.order)
    if not step.torch_order or len(step.before) < 2 or len(step.after) < 2:
        return regroup(axes, step.after)
    moved = regroup((axes[-1], *axes[:-1]), (step.after[-1], *step.after[:-1]))
    return (*moved[1:], moved[0])


def as_map(axes: tuple[Axis, ...], spatial: int) -> tuple[list[int], list[int]] | None:
    """(step, spread of the channels) per spatial axis when ``axes`` are a channels-last map
    again, one component per spatial axis in order; None otherwise."""
    if len(axes) != spatial + 1:
        return None
    steps = []
    for k, axis in enumerate(axes[:-1]):
        if len(axis) != 1 or axis[0][0] != k:
            return None
        steps.append(axis[0][1])
    return steps, extent([axes[-1]], spatial)
