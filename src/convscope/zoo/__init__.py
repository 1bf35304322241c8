"""The zoo: classic networks as readable description files (data, not code).

Each ``<id>.yaml`` beside this module is a description; ``convscope zoo``
lists them and every command accepts the id in place of a file.

``parsed/<id>.json`` holds each file as the YAML reader reads it (issue 16: a zoo model
loads without importing a YAML reader); ``scripts/zoo_json.py`` writes them from the YAML
files and ``tests/test_cold_start.py`` checks that they are equal, types included.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

HERE = os.path.dirname(__file__)


def _natural(name: str) -> list[object]:
    """cifar_resnet20 before cifar_resnet110."""
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _read(name: str) -> str:
    """The text of the file ``name`` of this package (from a folder, or through
    importlib.resources where the package is not one, e.g. in a zip file)."""
    if os.path.isdir(HERE):
        with open(os.path.join(HERE, name), encoding="utf-8") as handle:
            return handle.read()
    from importlib import resources

    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    """Every zoo id, sorted."""
    if os.path.isdir(HERE):
        found = os.listdir(HERE)
    else:
        from importlib import resources

        found = [f.name for f in resources.files(__name__).iterdir()]
    return tuple(sorted((name[:-5] for name in found if name.endswith(".yaml")), key=_natural))


def text(name: str) -> str:
    """The description file of zoo model ``name``."""
    return _read(f"{name}.yaml")


def description(name: str) -> Any:
    """The description of zoo model ``name`` as the YAML reader reads ``text(name)``."""
    import json

    return json.loads(_read(f"parsed/{name}.json"))
