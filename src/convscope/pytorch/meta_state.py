"""A module's parameters and buffers as meta tensors, for the capture (capture.py).

One walk over the module's submodules finds every parameter and buffer (tied ones once,
named as ``named_parameters`` and ``named_buffers`` name them) and makes a meta copy of
each; while the forward runs, the copies stand in the modules' own tables, as
``torch.func.functional_call`` puts them, and the user's tensors are back afterwards,
whatever happens. This replaces functional_call, which walks the module five times.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .captured import Leaf


def meta_copy(t: torch.Tensor) -> torch.Tensor:
    return torch.empty(t.shape, dtype=t.dtype, device="meta")


@dataclass
class MetaState:
    """A module's parameters and buffers and their meta copies (tied tensors share one):
    ``leaves`` names each, ``paths`` gives each module's first path, and ``slots`` are
    the entries of the modules' own tables that hold them."""

    copies: dict[int, torch.Tensor]  # id of the user's tensor -> its meta copy
    leaves: dict[str, Leaf]
    names: dict[int, str]  # id of a meta copy -> its name
    paths: dict[int, str]  # id of a module -> its path
    slots: list[tuple[dict[str, Any], str, torch.Tensor]]

    @contextmanager
    def swapped(self) -> Iterator[None]:
        """The meta copies in the modules' tables while the forward runs, as
        ``torch.func.functional_call`` puts them (``module._parameters[name] = copy``);
        the user's tensors back afterwards, whatever happens."""
        try:
            for table, name, t in self.slots:
                table[name] = self.copies[id(t)]
            yield
        finally:
            for table, name, t in self.slots:
                table[name] = t


def meta_state(module: nn.Module) -> MetaState:
    """The :class:`MetaState` of ``module`` (its own tensors are only read)."""
    state = MetaState({}, {}, {}, {}, [])
    found: tuple[dict[int, str], dict[int, str]] = ({}, {})  # params, buffers: id -> name
    for path, sub in module.named_modules(remove_duplicate=False):
        state.paths.setdefault(id(sub), path)
        for kind, table in ((0, sub._parameters), (1, sub._buffers)):
            for name, t in table.items():
                if t is not None:
                    state.slots.append((table, name, t))
                    found[kind].setdefault(id(t), f"{path}.{name}" if path else name)
    tensors = {id(t): t for _, _, t in state.slots}
    for kind, named in enumerate(found):
        for key, name in named.items():
            t = tensors[key]
            if key not in state.copies:  # a tensor both a parameter and a buffer: one copy
                state.copies[key] = meta_copy(t)
            state.names.setdefault(id(state.copies[key]), name)
            state.leaves[name] = Leaf(name, t.numel(), kind == 0, name.rpartition(".")[0])
    return state


__all__ = ["MetaState", "meta_copy", "meta_state"]
