"""Cold start (issue 16): ``python -m convscope summary resnet152 --format json`` as a fresh
process, side by side with torchinfo's whole process on the same network (a fresh
``python -c`` importing torch, torchvision and torchinfo, building torchvision's resnet152
and calling ``torchinfo.summary`` at input (1, 3, 224, 224), its output discarded). Issue
16's target: convscope at least 100 times faster.

The command is the ``convscope`` script installed beside this Python (``python -m
convscope`` if there is none). Its package's bytecode is compiled first, as ``pip install``
does (a checkout installed in editable mode under ``PYTHONDONTWRITEBYTECODE`` would
otherwise compile every module in every run).

It also times the cold ``convscope summary torchvision:resnet50 --format json`` (a PyTorch
model: imported, run on meta tensors, analysed), in fresh processes that time inside
themselves ``import torch, torchvision`` and then the command (``convscope.cli.main``), and
prints convscope's share of the whole (issue 16: the command should be dominated by torch's
own import).

Run: ``python benchmarks/cold_start.py [--runs N] [--torchinfo-runs M] [--no-torchinfo]``
(N fresh convscope processes, default 5, after one untimed run; M torchinfo processes,
default 3; 3 processes for torchvision:resnet50). Prints best and median of each, the ratio
torchinfo / convscope (best against best), and the share of convscope's time spent
importing it (``python -c "import convscope.cli"``, best of N), and the time of the
interpreter with the standard library the command imports (argparse, dataclasses, enum,
inspect, json, re, typing). Beside each figure the
one recorded in ``benchmarks/results_cold_start.txt`` is printed, so that a regression
shows; the new figures are then written there.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results_cold_start.txt")
SCRIPT = Path(sys.executable).with_name("convscope")
CONVSCOPE = [*([str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "convscope"]),
             "summary", "resnet152", "--format", "json"]
IMPORT = [sys.executable, "-c", "import convscope.cli"]
# the interpreter and the standard library the command imports (the floor below it)
STDLIB = [sys.executable, "-c", "import argparse, dataclasses, enum, inspect, json, re, typing"]
TORCHINFO = [sys.executable, "-c",
             "import torch, torchvision, torchinfo\n"
             "model = torchvision.models.resnet152()\n"
             "torchinfo.summary(model, input_size=(1, 3, 224, 224))"]
TORCH_COLD = [sys.executable, "-c", (
    "import contextlib, io, sys, time\n"
    "start = time.perf_counter()\n"
    "import torch, torchvision\n"
    "middle = time.perf_counter()\n"
    "from convscope.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    main(['summary', 'torchvision:resnet50', '--format', 'json'])\n"
    "print(middle - start, time.perf_counter() - middle)")]
KEYS = ("convscope", "import", "stdlib", "torchinfo", "ratio", "torchvision:resnet50")


def timed(command: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` fresh processes (output discarded; a failure raises)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def compile_package() -> None:
    """The package's bytecode, written as ``pip install`` writes it (compileall)."""
    import compileall

    import convscope

    compileall.compile_dir(str(Path(convscope.__file__).parent), quiet=1)


def previous() -> dict[str, str]:
    """The figures recorded in RESULTS, by key (the text before the first ':')."""
    if not RESULTS.exists():
        return {}
    found = {}
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        key, sep, rest = line.partition(":")
        if sep and key in KEYS:
            found[key] = rest.strip()
    return found


def torch_share(runs: int) -> str:
    """The cold ``convscope summary torchvision:resnet50``: torch's import and convscope's
    part (its import, the model's import and analysis, the JSON), best of ``runs``."""
    parts = []
    for _ in range(runs):
        out = subprocess.run(TORCH_COLD, capture_output=True, text=True, check=True).stdout
        parts.append(tuple(map(float, out.split())))
    torch_s, ours_s = min(p[0] for p in parts), min(p[1] for p in parts)
    return (f"import torch, torchvision {torch_s:.2f} s, then convscope {ours_s:.3f} s: "
            f"convscope is {ours_s / (torch_s + ours_s):.0%} of the command (best of {runs})")


def figure(times: list[float]) -> str:
    return (f"best {min(times):.3f} s, median {statistics.median(times):.3f} s "
            f"({len(times)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="convscope processes (default 5)")
    parser.add_argument("--torchinfo-runs", type=int, default=3,
                        help="torchinfo processes (default 3; each takes about 12 s)")
    parser.add_argument("--no-torchinfo", action="store_true",
                        help="time convscope only (the torchinfo line is kept as recorded)")
    args = parser.parse_args()
    before = previous()
    compile_package()
    command = " ".join(["convscope" if SCRIPT.exists() else "python -m convscope",
                        *CONVSCOPE[-4:]])
    lines = [f"# benchmarks/cold_start.py on {platform.python_implementation()} "
             f"{platform.python_version()}, {os.cpu_count()} cores; bytecode compiled first "
             "(as pip install does)", f"# command: {command}"]
    timed(CONVSCOPE, 1)
    ours = timed(CONVSCOPE, args.runs)
    imports = timed(IMPORT, args.runs)
    floor = timed(STDLIB, args.runs)
    found = {"convscope": figure(ours),
             "import": f"{figure(imports)}; {min(imports) / min(ours):.0%} of the command",
             "stdlib": f"{figure(floor)}; the interpreter and the standard library it imports"}
    try:
        theirs = [] if args.no_torchinfo else timed(TORCHINFO, args.torchinfo_runs)
    except subprocess.CalledProcessError:
        print("torchinfo's process failed (pip install torch torchvision torchinfo); its "
              "recorded figures are kept", file=sys.stderr)
        theirs = []
    if theirs:
        found["torchinfo"] = f"{figure(theirs)}, resnet152 at 1x3x224x224"
        found["ratio"] = (f"torchinfo / convscope = {min(theirs) / min(ours):.0f}x "
                          "(best against best; issue 16's target: 100x)")
    else:
        found.update({k: before[k] for k in ("torchinfo", "ratio") if k in before})
    try:
        found["torchvision:resnet50"] = torch_share(3)
    except subprocess.CalledProcessError:
        print("the torchvision:resnet50 process failed (pip install torch torchvision)",
              file=sys.stderr)
    for key in KEYS:
        if key in found:
            was = f"   (recorded: {before[key]})" if key in before else ""
            print(f"{key}: {found[key]}{was}", flush=True)
            lines.append(f"{key}: {found[key]}")
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
