"""What every command shares: writing its output, and the check that PyTorch is there."""

from __future__ import annotations

import sys

from .errors import ConvscopeError


def write_output(text: str, path: str | None) -> None:
    """Print, or write ``path`` atomically (temporary file + rename)."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    from .files import write_text_atomic

    print(f"wrote {write_text_atomic(path, text)}", file=sys.stderr)


def need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConvscopeError("this command needs PyTorch: pip install 'convscope[torch]'") \
            from None
