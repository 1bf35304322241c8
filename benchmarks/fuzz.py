"""Fuzzing descriptions at a larger count than CI (fixed seed).

The engine is the test's (tests/test_fuzz_spec.py): random mixes of valid layers, wrong
types, random and non-text keys, huge / negative / NaN numbers, block expressions, deep
nesting, YAML / JSON text with random edits (aliases, brackets, control characters) and
one-line strings, each read with ``convscope.description`` and analysed. Prints the counts:
descriptions, clean analyses, ConvscopeErrors (and how many came from the parser's
last-resort net), foreign exceptions with the places that raised them, and the slowest case.

Run: ``python benchmarks/fuzz.py [--count 50000] [--seed 12]``
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from convscope.errors import ConvscopeError  # noqa: E402
from test_fuzz_spec import one_case  # noqa: E402 - the engine lives with its test


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    foreign: Counter[str] = Counter()
    slowest = (0.0, -1)
    start = time.perf_counter()
    for index in range(args.count):
        case_rng = random.Random(rng.getrandbits(64))
        began = time.perf_counter()
        try:
            outcomes[one_case(case_rng)] += 1
        except ConvscopeError as err:
            net = "cannot read the description:" in err.message
            outcomes["convscope error (last-resort net)" if net else "convscope error"] += 1
            if "\n" in str(err):
                outcomes["multi-line message"] += 1
        except Exception as err:  # noqa: BLE001 - counting them is the point
            frame = traceback.extract_tb(err.__traceback__)[-1]
            place = f"{Path(frame.filename).name}:{frame.lineno}"
            foreign[f"{type(err).__name__} at {place}: {str(err)[:80]}"] += 1
            outcomes["foreign exception"] += 1
        slowest = max(slowest, (time.perf_counter() - began, index))
    elapsed = time.perf_counter() - start
    print(f"descriptions: {args.count:,} (seed {args.seed}) in {elapsed:.1f} s")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome}: {count:,}")
    print(f"  slowest case: #{slowest[1]} {slowest[0] * 1000:.0f} ms")
    for place, count in foreign.most_common():
        print(f"  {count:,} x {place}")
    return 1 if foreign or outcomes["multi-line message"] else 0


if __name__ == "__main__":
    sys.exit(main())
