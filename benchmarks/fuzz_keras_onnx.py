"""Fuzzing the Keras and ONNX importers at larger counts than CI (fixed seeds).

The engine is the test's (tests/test_fuzz_keras_onnx.py): real Keras configs mutated
(keys deleted, types changed, values swapped, references duplicated or left dangling,
huge / negative / NaN numbers, deep nesting) and small real ONNX files corrupted (bytes
truncated, flipped or inserted; protobufs with dangling inputs, absurd dims, attributes of
the wrong type, cycles, empty graphs). Prints, for each: inputs, clean imports,
ConvscopeErrors (and how many came from the last-resort guard), foreign exceptions with
the places that raised them.

Run: ``python benchmarks/fuzz_keras_onnx.py [--keras 20000] [--onnx 2000] [--seed 12]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_fuzz_keras_onnx import (  # noqa: E402 - the engine lives with its test
    fuzz_keras,
    fuzz_onnx,
    keras_sources,
    onnx_sources,
    report,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", type=int, default=20_000, help="mutated Keras configs")
    parser.add_argument("--onnx", type=int, default=2_000, help="corrupted ONNX models")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    if args.keras:
        start = time.perf_counter()
        tally = fuzz_keras(keras_sources(), args.keras, args.seed)
        print(report("keras", tally), f"\n  ({time.perf_counter() - start:.1f} s)")
    if args.onnx:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            tally = fuzz_onnx(onnx_sources(Path(folder)), args.onnx, args.seed)
            print(report("onnx", tally), f"\n  ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
