"""Receptive fields of imported timm models against the models' own gradients (issue 11:
"receptive fields local wherever the model is local").

For each architecture of timm_import.py's sample, tests/rf_oracle.py (the oracle the tests
use) compares convscope's field of every module of depth 1 and 2 that outputs a map with
the input region the gradient of its central position reaches, on the real model with
random weights. It prints, per architecture, the modules whose field is sound (convscope's
window holds the measured region), global as measured ("global ok"), UNSOUND (the model
reads outside convscope's window) or IMPRECISE (convscope says global, the model reads a
smaller region), with the details of the last two, then the totals.

    OMP_NUM_THREADS=2 python benchmarks/rf_locality.py [--count 130] [NAME ...]
    OMP_NUM_THREADS=2 python benchmarks/rf_locality.py --torchvision [--gflops 40]

``--torchvision`` measures every classification builder of torchvision.models whose
published cost (its weights' ``_ops`` metadata, read locally) is at most ``--gflops``
(names ``torchvision:NAME``, at the input ``convscope summary torchvision:NAME`` uses).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from timm_import import sample  # noqa: E402

from rf_oracle import measure  # noqa: E402 - the oracle the tests use


def torchvision_sample(gflops: float) -> list[str]:
    """torchvision's classification builders whose published GFLOPS are at most ``gflops``."""
    import torchvision

    found = []
    for name in torchvision.models.list_models(module=torchvision.models):
        meta = torchvision.models.get_model_weights(name).DEFAULT.meta
        if meta.get("_ops", 0.0) <= gflops:
            found.append(f"torchvision:{name}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--count", type=int, default=130)
    parser.add_argument("--torchvision", action="store_true",
                        help="torchvision's classification models instead of timm's sample")
    parser.add_argument("--gflops", type=float, default=40.0,
                        help="with --torchvision: the largest published GFLOPS measured")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    tally: dict[str, int] = {}
    models: dict[str, list[str]] = {"UNSOUND": [], "IMPRECISE": []}
    names = args.names or (torchvision_sample(args.gflops) if args.torchvision
                           else sample(args.count))
    for name in names:
        try:
            verdicts = measure(name)
        except Exception as err:  # noqa: BLE001 - reported, the sample goes on
            print(f"{name:36s} not measured: {type(err).__name__}: {str(err)[:100]}")
            continue
        counts = {v: sum(1 for _, x, _ in verdicts if x == v)
                  for v in ("sound", "global ok", "IMPRECISE", "UNSOUND")}
        for v, n in counts.items():
            tally[v] = tally.get(v, 0) + n
        for v in models:
            if counts[v]:
                models[v].append(name)
        print(f"{name:36s} " + ", ".join(f"{v} {n}" for v, n in counts.items()))
        for path, verdict, detail in verdicts:
            if verdict in models:
                print(f"    {verdict}: {path}: {detail}")
    print("modules measured: " + ", ".join(f"{v} {n}" for v, n in tally.items()))
    for v, names in models.items():
        print(f"models with {v} modules: {len(names)} ({', '.join(names)})")


if __name__ == "__main__":
    main()
