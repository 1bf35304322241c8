"""The static path's cost against the number of layers: a chain of N layers (3x3 conv of 8
channels, then ReLU, repeated) written as a YAML file, then, in one process, read
(``convscope.load``), analysed (``convscope.analyze``) and rendered to JSON, each timed.
Issue 16's targets: 10,000 layers under 0.5 s and 100,000 under 5 s in all.

Run: ``python benchmarks/static_scaling.py [N ...]`` (default 10000 20000 40000 100000).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import convscope
from convscope.render import render


def chain(n: int, folder: str) -> str:
    body = ("  - {type: conv, out_channels: 8, kernel_size: 3, padding: 1}\n  - relu\n"
            * (n // 2))
    path = Path(folder) / f"chain{n}.yaml"
    path.write_text(f"name: chain\ninput: 32x32x8\nlayers:\n{body}")
    return str(path)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 20_000, 40_000, 100_000]
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path = chain(n, folder)
            t0 = time.perf_counter()
            graph = convscope.load(path)
            t1 = time.perf_counter()
            report = convscope.analyze(graph)
            t2 = time.perf_counter()
            render(report, "json")
            t3 = time.perf_counter()
            print(f"{n:>7,} layers: load {t1 - t0:.2f} s, analyze {t2 - t1:.2f} s, "
                  f"json {t3 - t2:.2f} s, total {t3 - t0:.2f} s", flush=True)


if __name__ == "__main__":
    main()
