"""Accuracy of `convscope memory` against PyTorch on the CPU, for every zoo model.

For batch 1 and 32 (``--batches``), one training-mode forward pass of the PyTorch build
runs on the CPU with real tensors; the bytes autograd saves (saved_tensors_hooks,
storages counted once, parameters and buffers excluded) and the Adam state after one
step are compared with the static estimate. Prints one row per model and batch and the
worst relative error. Each measurement runs in a fresh process (about 6 GB of RAM at most).

With ``--target cuda`` (a CUDA device needed) it compares instead the estimated peak of
``convscope memory --target cuda`` with ``torch.cuda.max_memory_allocated`` over one
training step (``pytorch/cuda_memory.py``): the estimate is meant as a bound; the median
and worst differences are printed. (The development machine has no GPU.)

Run: ``python benchmarks/memory_accuracy.py [--batches 1 32] [--device cpu] [--target cpu|cuda]
[MODEL ...]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import convscope
from convscope import zoo
from convscope.analysis.memory import training_memory
from convscope.pytorch.memory import measure_training_memory


def measure_one(name: str, batch: int, optimizer: str, device: str,
                target: str = "cpu") -> dict[str, Any]:
    """In a fresh process each time: freed CPU tensors fragment the heap of a long run."""
    return measure_training_memory(convscope.load(name), batch, "float32", optimizer, device,
                                   target=target)


def cuda_peaks(models: list[str], batches: list[int], optimizer: str) -> None:
    """Estimated peak (--target cuda) against the allocator's measured peak."""
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device here (torch.cuda.is_available() is False): nothing measured")
        return
    errors = []
    print(f"{'model':22} {'batch':>5} {'estimate B':>16} {'measured B':>16} {'estimate':>9}")
    for name in models:
        for batch in batches:
            est = training_memory(convscope.load(name), batch, "float32", optimizer,
                                  target="cuda").peak_bytes
            got = measure_one(name, batch, optimizer, "cuda", "cuda")["peak_bytes"]
            errors.append(est / got - 1)
            print(f"{name:22} {batch:5} {est:16,} {got:16,} {errors[-1]:+9.2%}", flush=True)
    errors.sort()
    print(f"median {errors[len(errors) // 2]:+.2%}, lowest {errors[0]:+.2%} (below 0: the "
          f"estimate is not a bound there), highest {errors[-1]:+.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=list(zoo.names()))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--device", default="cpu", choices=("cpu", "meta"))
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--target", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    if args.target == "cuda":
        cuda_peaks(args.models, args.batches, args.optimizer)
        return
    worst = (0.0, "")
    print(f"{'model':22} {'batch':>5} {'convscope B':>16} {'PyTorch B':>16} {'error':>9}  "
          f"optimizer state")
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               max_tasks_per_child=1)
    for name in args.models:
        graph = convscope.load(name)
        for batch in args.batches:
            start = time.perf_counter()
            est = training_memory(graph, batch, "float32", args.optimizer)
            got = pool.submit(measure_one, name, batch, args.optimizer, args.device).result()
            error = est.activation_bytes / got["activation_bytes"] - 1
            if abs(error) >= abs(worst[0]):
                worst = (error, f"{name} at batch {batch}")
            state = "equal" if est.optimizer_bytes == got["optimizer_bytes"] else \
                f"{est.optimizer_bytes:,} vs {got['optimizer_bytes']:,}"
            print(f"{name:22} {batch:5} {est.activation_bytes:16,} "
                  f"{got['activation_bytes']:16,} {error:+9.4%}  {state} "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)
    pool.shutdown()
    print(f"worst relative error of saved activations: {worst[0]:+.4%} ({worst[1]})")


if __name__ == "__main__":
    main()
