"""The zoo: classic networks as readable description files (data, not code).

Each ``<id>.yaml`` beside this module is a description; ``convscope zoo``
lists them and every command accepts the id in place of a file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources


def _natural(name: str) -> list[object]:
    """cifar_resnet20 before cifar_resnet110."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    """Every zoo id, sorted."""
    files = resources.files(__name__)
    return tuple(sorted((f.name[:-5] for f in files.iterdir() if f.name.endswith(".yaml")),
                        key=_natural))


def text(name: str) -> str:
    """The description file of zoo model ``name``."""
    return resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
