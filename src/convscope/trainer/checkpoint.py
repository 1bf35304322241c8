"""Checkpoints: written atomically (temporary file, then rename), read with
``torch.load(weights_only=True)``, and checked: a corrupt, truncated or foreign file gives
a clear error, never a crash or a silent fresh start.

A checkpoint holds everything a run needs to continue bit for bit: the model, optimizer
and scheduler states, the RNG states, the completed epochs, the metrics so far, and the
run's configuration, description and dataset statistics (so that ``evaluate`` and
``predict`` need nothing else). Model keys never carry DistributedDataParallel's
``module.`` prefix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..errors import ConvscopeError
from ..files import save_atomic

FORMAT = "convscope-checkpoint"
VERSION = 1
CRASH_HOOK = "CONVSCOPE_TEST_CRASH_DURING_SAVE"  # tests: die half-way through a write


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    payload = {"format": FORMAT, "version": VERSION, **payload}

    def write(tmp: str) -> None:
        torch.save(payload, tmp)
        crash_at = os.environ.get(CRASH_HOOK)
        if crash_at is not None and crash_at == f"{path.name}:{payload.get('epoch')}":
            size = os.path.getsize(tmp)
            with open(tmp, "r+b") as handle:  # leave a truncated temporary file behind
                handle.truncate(size // 2)
            os._exit(17)

    save_atomic(path, write)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    if file.is_dir():
        for name in ("best.pt", "last.pt"):
            if (file / name).exists():
                file = file / name
                break
        else:
            raise ConvscopeError(f"{path}: no best.pt or last.pt in this run directory")
    if not file.exists():
        raise ConvscopeError(f"{file}: no such checkpoint")
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same user error
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConvscopeError(f"{file}: not a readable checkpoint (corrupt, truncated or not "
                             f"written by torch.save): {first[:200]}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConvscopeError(f"{file}: not a convscope checkpoint (it holds no "
                             f"'format: {FORMAT}' entry; a plain state_dict cannot resume a "
                             "run)")
    if payload.get("version") != VERSION:
        raise ConvscopeError(f"{file}: checkpoint version {payload.get('version')} is not "
                             f"supported (this convscope writes version {VERSION})")
    return payload


def strip_module(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in state.items()}
