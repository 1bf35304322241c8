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
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as err:
        raise ConvscopeError(f"{path}: cannot write the file: {err}") from None
    return target


def write_text_atomic(path: str | Path, text: str) -> Path:
    return save_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
