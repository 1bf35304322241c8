"""Keras layer configs -> convscope layer items: a thin walker over the kinds' readers.

Each kind declares the Keras layer classes it reads (``keras_classes``) and reads their
configs in its own file (``from_keras``, layers/bridge.py; shared reads in
layers/keras_read.py). A config (as ``model.to_json()`` / ``config.json`` of a .keras file
write it) becomes the item of the description (without name and inputs), or raises
:class:`~convscope.layers.bridge.Unsupported`, which the importer turns into an ``opaque``
layer with a note. Keras layers that become several items, and Keras operations recorded
as layers: composite.py.
"""

from __future__ import annotations

from typing import Any

from ..layers import LAYER_KINDS
from ..layers.bridge import Item, Unsupported, table

KERAS_CLASSES = table(LAYER_KINDS, "keras_classes")  # Keras class name -> the kind reading it


def map_layer(class_name: str, cfg: dict[str, Any], rank: int | None) -> Item:
    """The convscope item for one Keras layer; ``rank`` counts the input's axes with the
    batch (4 for images) when known."""
    kind = KERAS_CLASSES.get(class_name)
    if kind is None:
        raise Unsupported(f"layer class {class_name}")
    item: Item = kind.from_keras(class_name, cfg, rank)
    return item
