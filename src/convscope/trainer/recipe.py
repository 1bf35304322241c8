"""Which settings a run uses: the built-in defaults, then the description's ``train:``
recipe (description/recipe.py) when it was made for the chosen dataset, then what the user
gave (flags or keyword arguments), each overriding the one before; and how many threads a
process uses when the user did not say."""

from __future__ import annotations

import os
from typing import Any

from ..description.load import load_description
from ..description.recipe import read_recipe
from ..errors import ConvscopeError
from ..sources import is_code_source, is_file_model
from .setup import TrainConfig

# below this many multiply-adds per training step and process, one thread is faster: the
# work per operation is too small to share, and threads fight over busy cores (measured:
# mnist1d_cnn took 74.7 s for 10 epochs with 2 threads on the busy 2-core machine, 1.6 s
# with one); above it the cores are shared out
SMALL_STEP_MACS = 200_000_000


def description_of(source: str) -> dict[str, Any] | None:
    """The description mapping behind ``source`` (for config.json), when it has one."""
    if is_code_source(source) or is_file_model(source) or source.startswith("keras:"):
        return None  # Python, Keras or ONNX: not a convscope description
    try:
        description, _ = load_description(source)
    except ConvscopeError:
        return None
    return description if isinstance(description, dict) else None


def configure(model: str, data: str, given: dict[str, Any]) -> tuple[TrainConfig, str]:
    """The run's configuration and a line saying where its settings came from."""
    recipe = read_recipe(description_of(model))
    made_for = recipe.pop("data", None)
    if made_for is not None and made_for.split(":")[0] != data.split(":")[0]:
        recipe = {}  # a recipe for another dataset says nothing about this one
    settings = {**recipe, **{k: v for k, v in given.items() if v is not None}}
    config = TrainConfig(model=model, data=data, **settings)
    used = {k: v for k, v in recipe.items() if k not in given or given[k] is None}
    if not used:
        return config, "settings: defaults and flags (the description has no recipe for " \
                       f"{data})" if not recipe else "settings: all given"
    listed = ", ".join(f"{k}={v}" for k, v in used.items())
    return config, f"settings: the description's recipe for {made_for or data} ({listed})"


def threads_for(config: TrainConfig, world: int, step_macs: int) -> int:
    """Threads per process: ``--threads`` when given; one for small steps (forward and
    backward multiply-adds, about 3x the forward's, below SMALL_STEP_MACS); else the cores
    shared out, so that processes do not oversubscribe them (a single process then times
    one thread against them and keeps the faster: trainer/threads.py)."""
    if config.threads:
        return config.threads
    if step_macs < SMALL_STEP_MACS:
        return 1
    return max(1, (os.cpu_count() or 1) // world)
