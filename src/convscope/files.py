"""Writing files atomically: a temporary file in the same folder, then a rename, so that a
reader never sees half a file and a failure leaves the old file as it was."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import ConvscopeError


def save_atomic(path: str | Path, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary_path)``, then move the result to ``path``."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=target.suffix or ".tmp")
        os.close(fd)
        try:
            write(tmp)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file, not mkstemp's 0600
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as err:
        raise ConvscopeError(f"{path}: cannot write the file: {err}") from None
    return target


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a process killed in the middle of a write."""
    for stale in folder.glob(".*.*"):
        if stale.is_file() and any(stale.name.startswith(f".{p.name}.") for p in
                                   folder.iterdir() if not p.name.startswith(".")) or \
                stale.name.startswith((".last.pt.", ".best.pt.")):
            stale.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    return save_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
