"""Write ``src/convscope/zoo/parsed/<id>.json``: each zoo description as the YAML reader
reads it, which ``convscope.zoo.description`` loads without importing a YAML reader
(issue 16, cold start). Run after editing a zoo file: ``python scripts/zoo_json.py``;
``--check`` only reports the files that differ (exit status 1), as
``tests/test_cold_start.py`` does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from convscope import zoo
from convscope.description.reader import yaml_load

FOLDER = Path(zoo.__file__).parent / "parsed"


def expected() -> dict[str, str]:
    """File name -> the text it should hold, for every zoo id."""
    return {f"{name}.json": json.dumps(yaml_load(zoo.text(name), f"zoo:{name}"),
                                       ensure_ascii=False, indent=1) + "\n"
            for name in zoo.names()}


def stale() -> list[str]:
    """The files missing, differing or left over."""
    want = expected()
    have = {p.name for p in FOLDER.glob("*.json")} if FOLDER.is_dir() else set()
    return sorted(name for name in want.keys() | have
                  if name not in want or name not in have
                  or (FOLDER / name).read_text(encoding="utf-8") != want[name])


def main() -> int:
    if "--check" in sys.argv[1:]:
        bad = stale()
        print("\n".join(bad) or "zoo/parsed is up to date")
        return 1 if bad else 0
    FOLDER.mkdir(exist_ok=True)
    want = expected()
    for path in FOLDER.glob("*.json"):
        if path.name not in want:
            path.unlink()
    for name, body in want.items():
        (FOLDER / name).write_text(body, encoding="utf-8")
    print(f"wrote {len(want)} files in {FOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
