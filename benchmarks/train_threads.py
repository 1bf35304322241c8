"""The trainer's default thread count against the best fixed one (issue 15).

For a small and a large zoo model, train a few epochs with the default (no ``--threads``:
convscope chooses from the multiply-adds per step, ``trainer/recipe.py threads_for``) and
with every fixed count from 1 to the number of cores, first with nothing of ours beside it and then
with a CPU hog running beside it (one busy Python process per core, started by this
script, stopped when the measurement ends, and never running longer than ``--hog-limit``
seconds). Prints each time, the best fixed count and the ratio default / best (1.00 means
the default chose the best; above 1 it lost that much).

Run: ``python benchmarks/train_threads.py [--epochs 3] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile

import convscope

RUNS = {  # name: (model, data, epochs-independent settings)
    "mnist1d_cnn on mnist1d (small: 5,210 parameters)": ("mnist1d_cnn", "mnist1d", {}),
    "digits_cnn on digits (small)": ("digits_cnn", "digits", {}),
    "cifar_resnet20 on synthetic 32x32x3 (large per step)": ("cifar_resnet20", "synthetic",
                                                             {"batch_size": 128}),
}
HOG = "import time\nend = time.time() + {limit}\nwhile time.time() < end:\n    pass\n"


def seconds(model: str, data: str, settings: dict, epochs: int, threads: int | None) -> float:
    options = dict(settings, epochs=epochs, seed=0, quiet=True)
    if threads:
        options["threads"] = threads
    with tempfile.TemporaryDirectory() as out:
        return convscope.train(model, data, out=out, **options).train_seconds


def measure(epochs: int, repeat: int, cores: int) -> None:
    for name, (model, data, settings) in RUNS.items():
        times = {}
        for choice in (None, *range(1, cores + 1)):
            times[choice] = min(seconds(model, data, settings, epochs, choice)
                                for _ in range(repeat))
        best = min((t, n) for n, t in times.items() if n)
        fixed = ", ".join(f"{n} thread{'s' if n > 1 else ''} {t:.2f} s"
                          for n, t in times.items() if n)
        print(f"  {name}: default {times[None]:.2f} s; {fixed}; best {best[1]}: "
              f"default / best = {times[None] / best[0]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    parser.add_argument("--hog-limit", type=float, default=900.0,
                        help="seconds after which the CPU hog stops by itself")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{cores} cores; {args.epochs} epochs per run, best of {args.repeat}; training "
          "seconds (epochs and validation, not data loading)", flush=True)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"No hog of ours (load average at the start: {load}):", flush=True)
    measure(args.epochs, args.repeat, cores)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the hogs on a kill too
    hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(limit=args.hog_limit)])
            for _ in range(cores)]
    try:
        print(f"With a CPU hog ({cores} busy processes beside the training):", flush=True)
        measure(args.epochs, args.repeat, cores)
    finally:
        for hog in hogs:  # only the processes this script started
            hog.terminate()
            hog.wait()


if __name__ == "__main__":
    main()
