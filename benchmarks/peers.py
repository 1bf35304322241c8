"""convscope against torchinfo, fvcore, ptflops and thop, in one run on this machine.

For ResNet-18/50/152 and VGG-16 at 224x224 and 1024x1024 (batch 1) it times

* convscope from the zoo description (``load`` + ``analyze``, no forward pass),
* convscope importing torchvision's module (torch.fx trace on the meta device),
* torchinfo.summary, fvcore's FlopCountAnalysis, ptflops and thop (real forward passes),

and checks every tool's parameter count and multiply-adds against PyTorch's own numbers
(``sum(p.numel())`` and ``torch.utils.flop_counter.FlopCounterMode`` / 2). A peer that is
not installed is reported as such. Timings are medians of ``--repeat`` runs (one run at
1024x1024), after one warm-up call.

Run: ``python benchmarks/peers.py [--repeat 3] [--sizes 224 1024]``
(pip install torchinfo fvcore ptflops thop first).
"""

from __future__ import annotations

import argparse
import copy
import io
import statistics
import time
import warnings
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

import convscope
from convscope.pytorch.importer import import_module

MODELS = ("resnet18", "resnet50", "resnet152", "vgg16")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    with redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fn()  # warm-up
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times), result


def truth(model: torch.nn.Module, size: int) -> tuple[int, int]:
    meta = copy.deepcopy(model).to("meta")
    with FlopCounterMode(display=False) as counter:
        meta(torch.empty(1, 3, size, size, device="meta"))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def tools(name: str, model: torch.nn.Module, size: int) -> dict[str, Callable[[], Any]]:
    x = torch.zeros(1, 3, size, size)
    out: dict[str, Callable[[], Any]] = {
        "convscope (zoo)": lambda: _convscope(convscope.load(name, f"{size}x{size}x3")),
        "convscope (import)": lambda: _convscope(import_module(model, [(size, size, 3)])),
    }
    try:
        import torchinfo

        def run_torchinfo() -> tuple[int, int]:
            stats = torchinfo.summary(model, input_size=(1, 3, size, size), verbose=0)
            return stats.total_params, stats.total_mult_adds

        out["torchinfo"] = run_torchinfo
    except ImportError:
        out["torchinfo"] = None  # type: ignore[assignment]
    try:
        from fvcore.nn import FlopCountAnalysis, parameter_count

        out["fvcore"] = lambda: (parameter_count(model)[""], FlopCountAnalysis(model, x)
                                 .unsupported_ops_warnings(False)
                                 .uncalled_modules_warnings(False).total())
    except ImportError:
        out["fvcore"] = None  # type: ignore[assignment]
    try:
        from ptflops import get_model_complexity_info

        def run_ptflops() -> tuple[int, int]:
            macs, params = get_model_complexity_info(model, (3, size, size), as_strings=False,
                                                     print_per_layer_stat=False, verbose=False)
            return int(params), int(macs)

        out["ptflops"] = run_ptflops
    except ImportError:
        out["ptflops"] = None  # type: ignore[assignment]
    try:
        import thop

        def run_thop() -> tuple[int, int]:
            macs, params = thop.profile(copy.deepcopy(model), inputs=(x,), verbose=False)
            return int(params), int(macs)

        out["thop"] = run_thop
    except ImportError:
        out["thop"] = None  # type: ignore[assignment]
    return out


def _convscope(graph: convscope.Graph) -> tuple[int, int]:
    report = convscope.analyze(graph)
    return report.totals.trainable_params, report.totals.macs


def agree(value: int, exact: int) -> str:
    return "exact" if value == exact else f"{(value - exact) / exact:+.3%} ({value - exact:+,})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 1024])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; times are medians; "
          "ratio = tool time / convscope (zoo) time\n")
    for size in args.sizes:
        for name in args.models:
            model = torchvision.models.get_model(name, weights=None).eval()
            params, macs = truth(model, size)
            print(f"{name} at {size}x{size}: PyTorch {params:,} params, {macs:,} MACs")
            base = None
            for tool, fn in tools(name, model, size).items():
                if fn is None:
                    print(f"  {tool:20} not installed")
                    continue
                seconds, (p, m) = timed(fn, args.repeat if size <= 224 else 1)
                base = base or seconds
                print(f"  {tool:20} {seconds * 1000:9.1f} ms  {seconds / base:7.1f}x  "
                      f"params {agree(int(p), params)}  MACs {agree(int(m), macs)}",
                      flush=True)


if __name__ == "__main__":
    main()
