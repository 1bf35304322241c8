"""A description's training recipe: the optional top-level ``train:`` mapping, e.g.

    train: {data: mnist1d, epochs: 100, batch_size: 100, lr: 0.01, label_smoothing: 0.1}

``convscope train MODEL --data DATA`` uses it when DATA is the dataset it names (or when it
names none); flags given on the command line (or keyword arguments of
``convscope.train``) override each setting. Only these keys, with these types, are read;
the trainer checks the values' ranges as it checks flags.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from ..limits import shown

INT, NUMBER, TEXT, FLAG = "a whole number", "a number", "a text", "true or false"
RECIPE_KEYS = {"data": TEXT, "epochs": INT, "batch_size": INT, "optimizer": TEXT, "lr": NUMBER,
               "momentum": NUMBER, "weight_decay": NUMBER, "schedule": TEXT,
               "label_smoothing": NUMBER, "augment": FLAG, "val_fraction": NUMBER}


def _fits(value: Any, kind: str) -> bool:
    if kind == FLAG:
        return isinstance(value, bool)
    if kind == TEXT:
        return isinstance(value, str) and 0 < len(value) <= 200
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) if kind == INT else abs(value) < 1e12


def read_recipe(description: Any) -> dict[str, Any]:
    """The checked ``train:`` mapping of a description mapping ({} when it has none)."""
    if not isinstance(description, dict) or description.get("train") is None:
        return {}
    recipe = description["train"]
    if not isinstance(recipe, dict):
        raise SpecError(f"must be a mapping of training settings; received {shown(recipe)}",
                        path=("train",))
    for key, value in recipe.items():
        kind = RECIPE_KEYS.get(key) if isinstance(key, str) else None
        if kind is None:
            raise SpecError(f"unknown training setting {shown(key)}; known: "
                            f"{', '.join(RECIPE_KEYS)}", path=("train",))
        if not _fits(value, kind):
            raise SpecError(f"must be {kind}; received {shown(value)}", path=("train", key))
    return dict(recipe)
