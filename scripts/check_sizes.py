"""Size budget (in the spirit of tinygrad's line-count CI job): no module in src/ over
450 lines, so that each file stays readable in one sitting."""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 450


def main() -> int:
    root = Path(__file__).resolve().parent.parent / "src"
    too_big = [(p, n) for p in sorted(root.rglob("*.py"))
               if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT]
    for path, lines in too_big:
        print(f"{path.relative_to(root.parent)}: {lines} lines (limit {LIMIT})")
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main())
