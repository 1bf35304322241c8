"""The bridge contract: how the importers recognise each layer kind, and how it is written
to each framework. Every kind declares its part in its own file, beside its rules:

* PyTorch: ``aten_ops``, the ATen operators (overload packets, by name) whose captured
  calls it reads, and ``from_aten(op, x, out)``; written by ``to_torch`` (and
  ``torch_expression`` in generated source);
* Keras: ``keras_classes``, the Keras layer class names whose configs it reads, and
  ``from_keras(class_name, cfg, rank)``; written by ``to_keras(layers, inputs, name)``;
* ONNX: ``onnx_ops``, the operator types whose nodes it reads, and
  ``from_onnx(reader, node, index)``; written through PyTorch (``torch.onnx``);
* ``refused``: ``{bridge: reason}`` for a bridge that cannot carry the kind, e.g.
  ``{"keras": "Keras has no local response normalisation layer"}``.

One framework operation may give several kinds (ATen ``add`` is a merge, a rescaling by a
number or a dropout mask): it is declared once, by the kind whose file reads it. The
importers are thin walkers: they build their dispatch tables from the registry with
:func:`table`, which refuses an operation claimed twice (as ``torch.utils.flop_counter``'s
registry does), share :class:`Unsupported` (an operation or setting no kind describes:
the importer keeps it as an ``opaque`` layer with the reason) and :func:`our_axis`.

Nothing here imports a framework: readers work on the objects the importers hand them.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConvscopeError

BRIDGES = ("pytorch", "keras", "onnx")
ALIAS = "alias"  # an ATen operation that only passes its input on (clone, _to_copy, ...)
Item = dict[str, Any]  # one layer of a description, without its name and inputs


class Unsupported(Exception):
    """An operation (or one of its settings) that no kind describes; the importer keeps it
    as an ``opaque`` layer whose note gives this reason."""


class Malformed(Exception):
    """An operation that breaks its framework's own specification (an attribute of the
    wrong type, too few inputs); the importer names the layer or node."""


class CannotExpress(ConvscopeError):
    """A layer the target framework has no equivalent for (``to_keras``)."""


def our_axis(dim: int, rank: int, layout: str = "first") -> int | None:
    """A dim of a channels-first tensor of ``rank`` dims (batch included) -> the axis of
    convscope's per-sample, channels-last shape (None: the batch); of a channels-last
    tensor (``layout`` "last", pytorch/layout.py), the same axis less the batch.

    (N, C, H, W): dim 1 (C) -> axis 2, dim 2 (H) -> 0, dim 3 (W) -> 1."""
    dim %= rank
    if dim == 0:
        return None
    if layout == "last":
        return dim - 1
    return rank - 2 if dim == 1 else dim - 2


def table(kinds: tuple[type, ...], attribute: str) -> dict[str, type]:
    """Operation name -> the kind that reads it, from each kind's ``attribute``
    (``aten_ops``, ``keras_classes``, ``onnx_ops``); an operation claimed twice is refused."""
    found: dict[str, type] = {}
    for kind in kinds:
        for name in getattr(kind, attribute):
            if name in found:
                raise RuntimeError(f"duplicate registrations for {attribute} '{name}': "
                                   f"{found[name].__name__} and {kind.__name__}")
            found[name] = kind
    return found
