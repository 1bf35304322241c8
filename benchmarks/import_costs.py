"""Where PyTorch import time goes, per operation (issue 11's speed target).

Prints, in one process with one thread:

1. PyTorch's own meta kernels for a few common operations (the time of one call on meta
   tensors, fastest of 50): what convscope's size rules (pytorch/meta_rules.py) avoid;
2. the capture's cost per layer for a stack of 100 identical modules (ReLU, BatchNorm2d,
   Conv2d): the floor a module and its operations cost to record;
3. for small mobile networks, the ATen operations captured and convscope's import +
   analysis time (fastest of 3) per operation.

    OMP_NUM_THREADS=1 python benchmarks/import_costs.py
"""

from __future__ import annotations

import gc
import time
import warnings
from typing import Any

import torch
from torch import nn

import convscope
from convscope.pytorch.capture import capture
from convscope.pytorch.importer import BATCH, MAPPERS, import_module
from convscope.pytorch.sources import _torchvision

aten = torch.ops.aten


def fastest(run: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def meta(*size: int) -> torch.Tensor:
    return torch.empty(size, device="meta")


def kernels() -> None:
    x = meta(1, 72, 28, 28)
    calls = {"hardsigmoid": (aten.hardsigmoid.default, (meta(1, 72, 1, 1),)),
             "relu": (aten.relu.default, (x,)), "mul": (aten.mul.Tensor, (x, x)),
             "mean over H, W": (aten.mean.dim, (x, [2, 3], True)),
             "addmm": (aten.addmm.default, (meta(10), meta(4, 20), meta(20, 10))),
             "native_layer_norm": (aten.native_layer_norm.default,
                                   (meta(1, 196, 192), [192], meta(192), meta(192), 1e-5)),
             "convolution": (aten.convolution.default,
                             (x, meta(24, 72, 1, 1), None, [1, 1], [0, 0], [1, 1], False,
                              [0, 0], 1))}
    print("PyTorch's meta kernels, one call (fastest of 50):")
    for name, (func, args) in calls.items():
        func(*args)
        once = lambda f=func, a=args: f(*a)  # noqa: E731
        print(f"  {name:20s} {fastest(once, 50) * 1e6:8.0f} us")


def per_layer() -> None:
    print("the capture, per layer of a stack of 100 (fastest of 9):")
    for name, make in (("ReLU", nn.ReLU), ("BatchNorm2d (eval)", lambda: nn.BatchNorm2d(16)),
                       ("Conv2d 3x3", lambda: nn.Conv2d(16, 16, 3, padding=1))):
        model = nn.Sequential(*[make() for _ in range(100)]).eval()
        run = lambda m=model: capture(m, [(BATCH, 16, 8, 8)], frozenset(MAPPERS))  # noqa: E731
        run()
        print(f"  {name:20s} {fastest(run, 9) / 100 * 1e6:8.1f} us")


def per_operation() -> None:
    print("import + analysis per captured operation (fastest of 3):")
    for name in ("mobilenet_v3_large", "shufflenet_v2_x1_0", "mnasnet1_0"):
        model = _torchvision(name)
        ops = len(capture(model, [(BATCH, 3, 224, 224)], frozenset(MAPPERS)).ops)
        run = lambda m=model: convscope.analyze(import_module(m, [(224, 224, 3)]))  # noqa: E731
        run()
        ms = fastest(run, 3) * 1000
        print(f"  {name:20s} {ops:4d} operations {ms:7.1f} ms  {ms / ops * 1000:6.0f} us each")


def main() -> None:
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    gc.disable()  # as import_module does while it captures
    kernels()
    per_layer()
    gc.enable()
    per_operation()


if __name__ == "__main__":
    main()
