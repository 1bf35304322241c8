"""Checkpoints: written atomically (temporary file, then rename), read with
``torch.load(weights_only=True)``, and checked: a corrupt, truncated or foreign file gives
a clear error, never a crash or a silent fresh start.

A checkpoint holds everything a run needs to continue bit for bit: the model, optimizer
and scheduler states, the RNG states, the completed epochs, the metrics so far, and the
run's configuration, description and dataset statistics (so that ``evaluate`` and
``predict`` need nothing else). Model keys never carry DistributedDataParallel's
``module.`` prefix.

Integrity: every checkpoint stores ``model_sha256``, the SHA-256 of its weights (names,
dtypes, shapes and bytes, see :func:`weights_sha256`), and ``model.safetensors`` the same
hash in its metadata (``convscope_sha256``); both are checked on load, so a flipped bit in
a weight is a clear error naming the file, never a silently worse model. (The hash finds
corruption; it is not a signature: whoever can write the file can write a new hash.)

A checkpoint is data only: it carries the description as a mapping, and nothing in it
names code that ``evaluate`` or ``predict`` would import (see ``evaluate.model_from``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import ConvscopeError
from ..files import save_atomic

FORMAT = "convscope-checkpoint"
VERSION = 2  # 2: model_sha256; version 1 (no hash) is still read
READABLE = (1, 2)
HASH_KEY = "model_sha256"
SAFETENSORS_HASH_KEY = "convscope_sha256"
CRASH_HOOK = "CONVSCOPE_TEST_CRASH_DURING_SAVE"  # tests: die half-way through a write


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    payload = {"format": FORMAT, "version": VERSION, **payload,
               HASH_KEY: weights_sha256(payload["model"])}

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
    if not file.is_file():  # a FIFO or a device would block or never end
        raise ConvscopeError(f"{file}: not a regular file; expected a checkpoint (.pt) "
                             "written by convscope train")
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
    if payload.get("version") not in READABLE:
        raise ConvscopeError(f"{file}: checkpoint version {payload.get('version')!r} is not "
                             f"supported (this convscope writes version {VERSION})")
    check_payload(file, payload)
    return payload


def weights_sha256(state: Any) -> str:
    """SHA-256 of a state dict: every entry's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numbers(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def plain_tensor(t: Any) -> bool:
    """A dense CPU tensor whose storage holds the values it shows: not sparse, not meta, not a view
    (``expand``) promising more values than its storage holds, so that hashing or loading
    it never allocates what the file does not contain."""
    if not isinstance(t, torch.Tensor) or t.layout != torch.strided or t.is_meta or \
            t.device.type != "cpu":
        return False
    try:
        stored = t.untyped_storage().nbytes()
    except (RuntimeError, NotImplementedError):
        return False
    return t.numel() * t.element_size() <= stored - t.storage_offset() * t.element_size()


CHECKS: dict[str, tuple[Any, str]] = {
    "model": (lambda v: isinstance(v, dict) and all(
        isinstance(k, str) and plain_tensor(t) for k, t in v.items()),
        "a mapping of parameter names to dense tensors that hold their values"),
    "epoch": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "input_shape": (lambda v: isinstance(v, (list, tuple)) and 1 <= len(v) <= 8 and all(
        _is_int(d) and d > 0 for d in v), "a list of positive integers (H x W x C)"),
    "config": (lambda v: isinstance(v, dict) and isinstance(v.get("model"), str) and
               isinstance(v.get("data"), str), "a mapping with the run's 'model' and 'data'"),
    "classes": (lambda v: isinstance(v, (list, tuple)) and len(v) >= 1 and all(
        isinstance(c, str) for c in v), "a non-empty list of class names"),
    "mean": (_numbers, "a list of numbers"),
    "std": (_numbers, "a list of numbers"),
    "loss": (lambda v: v in ("categorical", "binary"), "'categorical' or 'binary'"),
    "description": (lambda v: v is None or isinstance(v, dict), "a description mapping or "
                    "nothing"),
}


def check_payload(file: Path, payload: dict[str, Any]) -> None:
    """Every entry evaluate, predict and resume read, with the right type; the weights'
    hash (version 2)."""
    for key, (ok, expected) in CHECKS.items():
        if key not in payload and key in ("description", "loss"):
            continue
        if key not in payload:
            raise ConvscopeError(f"{file}: the checkpoint has no '{key}' entry (expected "
                                 f"{expected}); it is damaged or was not written by "
                                 "convscope train")
        if not ok(payload[key]):
            value = payload[key]
            shown = type(value).__name__ if not isinstance(value, (int, float, str)) \
                else repr(value)[:40]
            raise ConvscopeError(f"{file}: the checkpoint's '{key}' must be {expected}; "
                                 f"received {shown}")
    if payload.get("version") == 1:
        return
    stored = payload.get(HASH_KEY)
    if not isinstance(stored, str):
        raise ConvscopeError(f"{file}: the checkpoint has no '{HASH_KEY}' entry (expected the "
                             "SHA-256 of its weights); it is damaged or was altered")
    if weights_sha256(payload["model"]) != stored:
        raise ConvscopeError(f"{file}: the weights do not match the SHA-256 stored with them "
                             "(the file was altered or corrupted on disk, e.g. a flipped "
                             "bit); use another checkpoint (best.pt / last.pt) or train again")


def load_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """``model.safetensors``, checked against the SHA-256 in its metadata."""
    from safetensors import SafetensorError, safe_open

    tensors: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt") as handle:
            stored = (handle.metadata() or {}).get(SAFETENSORS_HASH_KEY)
            for key in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                tensors[key] = handle.get_tensor(key)
    except (OSError, SafetensorError) as err:
        raise ConvscopeError(f"{path}: not a readable safetensors file: "
                             f"{str(err).splitlines()[0][:200] if str(err) else err!r}") from None
    if stored is None:
        raise ConvscopeError(f"{path}: no '{SAFETENSORS_HASH_KEY}' in its metadata (expected "
                             "the SHA-256 of the weights convscope train writes)")
    if weights_sha256(tensors) != stored:
        raise ConvscopeError(f"{path}: the weights do not match the SHA-256 stored in its "
                             "metadata (the file was altered or corrupted on disk)")
    return tensors


def strip_module(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in state.items()}
