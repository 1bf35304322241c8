"""The static path's cost against the number of layers: a chain of N layers (3x3 conv of 8
channels, then ReLU, repeated) written as a YAML file, then, in one process, read
(``convscope.load``), analysed (``convscope.analyze``) and rendered to JSON, each timed.
Issue 16's targets: 10,000 layers under 0.5 s and 100,000 under 5 s in all.

Run: ``python benchmarks/static_scaling.py [--repeat N] [N ...]`` (default sizes 10000
20000 40000 100000; each size run N times, default 1, the fastest run shown). Beside each
figure the previous one recorded in ``benchmarks/results_static_scaling.txt`` is printed,
so that a regression shows.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import convscope
from convscope.render import render

RESULTS = Path(__file__).with_name("results_static_scaling.txt")
LINE = re.compile(r"\s*([\d,]+) layers: load ([\d.]+) s, analyze ([\d.]+) s, json ([\d.]+) s, "
                  r"total ([\d.]+) s")


def chain(n: int, folder: str) -> str:
    body = ("  - {type: conv, out_channels: 8, kernel_size: 3, padding: 1}\n  - relu\n"
            * (n // 2))
    path = Path(folder) / f"chain{n}.yaml"
    path.write_text(f"name: chain\ninput: 32x32x8\nlayers:\n{body}")
    return str(path)


def previous() -> dict[int, str]:
    """The figures recorded in RESULTS (lines starting with '#' are notes), per size."""
    if not RESULTS.exists():
        return {}
    found = {}
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        if match and not line.startswith("#"):
            found[int(match[1].replace(",", ""))] = (
                f"load {match[2]}, analyze {match[3]}, json {match[4]}, total {match[5]} s")
    return found


def once(path: str) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    graph = convscope.load(path)
    t1 = time.perf_counter()
    report = convscope.analyze(graph)
    t2 = time.perf_counter()
    render(report, "json")
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int,
                        default=[10_000, 20_000, 40_000, 100_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (fastest shown)")
    args = parser.parse_args()
    before = previous()
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            path = chain(n, folder)
            load, analyze, json = min((once(path) for _ in range(max(args.repeat, 1))),
                                      key=sum)
            was = f"   (recorded: {before[n]})" if n in before else ""
            print(f"{n:>7,} layers: load {load:.2f} s, analyze {analyze:.2f} s, "
                  f"json {json:.2f} s, total {load + analyze + json:.2f} s{was}", flush=True)


if __name__ == "__main__":
    main()
