"""convscope's PyTorch import over every model of ``torchvision.models.list_models()``.

Each model goes through the ``torchvision:NAME`` source (``get_model(NAME, weights=None)``
on the meta device, the input of the source's documented conventions) and is measured
with PyTorch itself: ``numel()`` of the parameters of the modules the forward calls and
of all buffers (before the forward), the
output shapes of a meta forward and ``FlopCounterMode`` / 2 with scaled dot-product
attention on its math backend.

It prints one line per model and the counts per task (classification, quantization,
segmentation, video, optical flow, detection): imported, exact parameters, exact
buffers, exact output shapes, exact MACs, refused (with the reason: detection models in
eval mode need the data's values) and tracebacks (printed).

Run: ``OMP_NUM_THREADS=1 python benchmarks/torchvision_import.py [NAME ...]``
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
import warnings
from pathlib import Path

import torch
import torchvision

import convscope
from convscope.errors import ConvscopeError
from convscope.pytorch.importer import import_module
from convscope.pytorch.sources import _torchvision, torchvision_inputs, torchvision_task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from torch_oracle import reference  # noqa: E402 - the oracle the tests use

TASKS = ("classification", "quantization", "segmentation", "video", "optical_flow",
         "detection")
KEYS = ("imported", "params", "buffers", "shape", "macs", "refused", "tracebacks")


def one(name: str, tally: dict[str, dict[str, list[str]]]) -> None:
    task = torchvision_task(name)
    counts = tally[task]
    shapes = torchvision_inputs(name)
    start = time.perf_counter()
    try:
        model = _torchvision(name)
        report = convscope.analyze(import_module(model, shapes, name))
    except ConvscopeError as err:
        counts["refused"].append(f"{name}: {err}")
        print(f"{name:40s} REFUSED {err}", flush=True)
        return
    except Exception:  # noqa: BLE001 - a traceback is a bug: show it
        counts["tracebacks"].append(name)
        print(f"{name:40s} TRACEBACK", flush=True)
        traceback.print_exc()
        return
    seconds = time.perf_counter() - start
    params, buffers, outs, macs = reference(model, shapes)
    counts["imported"].append(name)
    got = {"params": report.totals.trainable_params == params,
           "buffers": report.totals.buffers == buffers,
           "shape": [s for _, s in report.outputs] == outs,
           "macs": report.totals.macs == macs}
    for key, ok in got.items():
        if ok:
            counts[key].append(name)
    bad = [f"{k}" for k, ok in got.items() if not ok]
    detail = "" if not bad else (f" (params {report.totals.trainable_params - params:+,}, "
                                 f"buffers {report.totals.buffers - buffers:+,}, MACs "
                                 f"{report.totals.macs - macs:+,})")
    opaque = sum(1 for s in report.layers if s.kind == "opaque")
    print(f"{name:40s} {'exact' if not bad else 'WRONG ' + ','.join(bad):14s} "
          f"{len(report.layers):5d} layers {opaque:4d} opaque {seconds:6.2f}s{detail}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="models (default: all of list_models())")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    tally = {t: {k: [] for k in KEYS} for t in TASKS}
    for name in args.names or torchvision.models.list_models():
        one(name, tally)
    print(f"\n{'task':16s}" + "".join(f"{k:>12s}" for k in ("models", *KEYS)))
    for task, counts in tally.items():
        total = sum(len(counts[k]) for k in ("imported", "refused", "tracebacks"))
        if total:
            print(f"{task:16s}{total:12d}" + "".join(f"{len(counts[k]):12d}" for k in KEYS))
    for counts in tally.values():
        for line in counts["refused"]:
            print(f"  refused {line}")


if __name__ == "__main__":
    main()
