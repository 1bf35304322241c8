"""Speed of convscope against its peers, measured in one run on this machine.

1. Command-line latency: ``convscope summary MODEL --format json`` as a fresh process
   (what a user waits for), median of several runs; then ``convscope draw`` (SVG in both
   styles, PNG) and ``convscope report`` (HTML) the same way, with the files' sizes.
2. In-process analysis time of convscope (description -> graph -> report) against the
   peers that need a forward pass (torchinfo, fvcore, ptflops) on the same architecture,
   with the ratio peer / convscope. Peers that are not installed are skipped and said so.

Run: ``make bench`` (or ``python benchmarks/startup_and_speed.py [--repeat N]``).
Numbers are printed, never asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import convscope

MODELS = ("resnet18", "resnet50", "resnet152", "vgg16", "googlenet", "mobilenet_v2")


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_latency(model: str, repeat: int, *command: str) -> float:
    """Median wall time of ``convscope COMMAND MODEL ...`` as a fresh process."""
    words = command or ("summary", "--format", "json", "-o", "/dev/null")
    cmd = [sys.executable, "-m", "convscope", words[0], model, *words[1:]]
    return median_seconds(lambda: subprocess.run(cmd, check=True, capture_output=True), repeat)


def pictures(repeat: int) -> None:
    """convscope draw and convscope report as fresh processes, with the files' sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        for model, style, suffix in [(m, s, "svg") for m in ("lenet5", "alexnet", "googlenet",
                                                             "resnet152")
                                     for s in ("blocks", "graph")] + [("resnet50", "blocks",
                                                                        "png")]:
            out = Path(tmp) / f"{model}.{suffix}"
            t = cli_latency(model, repeat, "draw", "--style", style, "-o", str(out))
            print(f"  draw {model:10} {style:6} {suffix}  {t * 1000:8.1f} ms  "
                  f"{out.stat().st_size / 1024:8.1f} KB")
        out = Path(tmp) / "report.html"
        t = cli_latency("resnet50", repeat, "report", "-o", str(out))
        print(f"  report resnet50 html     {t * 1000:8.1f} ms  "
              f"{out.stat().st_size / 1024 / 1024:8.2f} MB")


def peers(model_name: str) -> dict[str, Callable[[], Any]]:
    """Peer tools on the torchvision twin of ``model_name`` (input 1x3x224x224)."""
    try:
        import torch
        import torchvision
    except ImportError:
        return {}
    kwargs = {"aux_logits": False, "init_weights": False} if model_name == "googlenet" else {}
    model = getattr(torchvision.models, model_name)(weights=None, **kwargs).eval()
    x = torch.zeros(1, 3, 224, 224)
    out: dict[str, Callable[[], Any]] = {}
    try:
        import torchinfo

        out["torchinfo"] = lambda: torchinfo.summary(model, input_size=(1, 3, 224, 224),
                                                     verbose=0)
    except ImportError:
        pass
    try:
        from fvcore.nn import FlopCountAnalysis

        out["fvcore"] = lambda: FlopCountAnalysis(model, x).unsupported_ops_warnings(False).total()
    except ImportError:
        pass
    try:
        from ptflops import get_model_complexity_info

        out["ptflops"] = lambda: get_model_complexity_info(
            model, (3, 224, 224), as_strings=False, print_per_layer_stat=False, verbose=False)
    except ImportError:
        pass
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"convscope {convscope.__version__}, Python {sys.version.split()[0]}, "
          f"median of {args.repeat} runs\n")
    print("Command line: convscope summary MODEL --format json (fresh process)")
    for model in ("lenet5", "resnet152", "cifar_resnet1202"):
        print(f"  {model:18} {cli_latency(model, args.repeat) * 1000:8.1f} ms")
    print("\nPictures (fresh process; KB = 1024 B, MB = 1024 KB)")
    pictures(args.repeat)
    print("\nIn process, per model: convscope analysis vs peers (forward pass, 1x3x224x224)")
    print(f"  {'model':14} {'convscope':>12}  peers (time, ratio peer/convscope)")
    for model in MODELS:
        ours = median_seconds(lambda m=model: convscope.analyze(convscope.load(m)), args.repeat)
        cells = []
        for name, fn in peers(model).items():
            fn()  # warm-up: first calls pay for lazy imports and allocations
            theirs = median_seconds(fn, args.repeat)
            cells.append(f"{name} {theirs * 1000:.1f} ms ({theirs / ours:.1f}x)")
        print(f"  {model:14} {ours * 1000:9.1f} ms  " + ("; ".join(cells) or
                                                         "no peer installed"))


if __name__ == "__main__":
    main()
