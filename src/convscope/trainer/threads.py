"""How many threads a training process on the CPU uses, when ``--threads`` is not given.

A step under ``SMALL_STEP_MACS`` multiply-adds runs on one thread (trainer/recipe.py
``threads_for``). A larger step, with more than one core to share, is timed: forward and
backward of the first training batch with one thread and with the process's share of the
cores (a warm-up, then the best of up to three runs, about two seconds at most per
count), and the faster count is kept. The machine decides: on a busy one, threads that
wait for a core make a step slower, and no rule on multiply-adds can know it (measured on
the 2-core machine with another process busy: cifar_resnet20, batch 128, three epochs,
6.85 s with one thread, 43.54 s with two; ``benchmarks/results_train_threads.txt``).

The probe runs in eval mode (no batch-norm statistics updated, no dropout drawn) and
leaves no gradients behind, so training is the same whichever count it keeps.
"""

from __future__ import annotations

import math
import time

import torch

PROBE_SECONDS = 2.0  # at most about this long per thread count


def step_seconds(model: torch.nn.Module, x: torch.Tensor) -> float:
    """The best time of a forward and backward pass of ``x`` (a warm-up first)."""
    best = math.inf
    for run in range(4):
        start = time.perf_counter()
        model(x).float().sum().backward()
        took = time.perf_counter() - start
        if run:
            best = min(best, took)
        if took * (4 - run) > PROBE_SECONDS:
            break
    return best if best < math.inf else took


def fastest_threads(model: torch.nn.Module, x: torch.Tensor,
                    counts: tuple[int, ...]) -> tuple[int, dict[int, float]]:
    """The thread count among ``counts`` with the fastest step, and each count's time;
    ``torch.set_num_threads`` is left at the one chosen."""
    training = model.training
    model.eval()
    times: dict[int, float] = {}
    try:
        for n in counts:
            torch.set_num_threads(n)
            times[n] = step_seconds(model, x)
    finally:
        for p in model.parameters():
            p.grad = None
        model.train(training)
    best = min(times, key=lambda n: times[n])
    torch.set_num_threads(best)
    return best, times


def probe_text(times: dict[int, float]) -> str:
    """'threads: 1 (timed per batch: 1 thread 0.210 s, 2 threads 0.452 s)'."""
    best = min(times, key=lambda n: times[n])
    listed = ", ".join(f"{n} thread{'s' if n > 1 else ''} {t:.3f} s" for n, t in times.items())
    return f"threads: {best}, the faster on this machine now (timed per batch: {listed})"


def timed(model: torch.nn.Module, x: torch.Tensor) -> str:
    """One thread against the current count: the faster kept, and the line saying so."""
    _, times = fastest_threads(model, x, (1, torch.get_num_threads()))
    return probe_text(times)
