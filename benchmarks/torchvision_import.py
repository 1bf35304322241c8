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
import time
import traceback
import warnings
from typing import Any

import torch
import torchvision
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

import convscope
from convscope.errors import ConvscopeError
from convscope.torch.importer import import_module, our_shape
from convscope.torch.sources import _torchvision, torchvision_inputs, torchvision_task

TASKS = ("classification", "quantization", "segmentation", "video", "optical_flow",
         "detection")
KEYS = ("imported", "params", "buffers", "shape", "macs", "refused", "tracebacks")


class Reads(TorchDispatchMode):
    """The ids of every tensor some ATen operation reads (the parameters the forward uses;
    an auxiliary head that eval mode skips is named in a note, not counted: SPEC)."""

    def __init__(self):
        super().__init__()
        self.ids = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.ids.update(id(t) for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor))
        return func(*args, **kwargs)


def reference(model: Any, shapes: list[tuple[int, ...]]) -> tuple[int, int, list[Any], int]:
    """numel of parameters and buffers, output shapes (ours), FlopCounterMode / 2 / batch."""
    model = model.to("meta")
    xs = [torch.empty(2, s[-1], *s[:-1], device="meta") for s in shapes]
    buffers = sum(b.numel() for b in model.buffers())
    reads = Reads()
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), \
            FlopCounterMode(display=False) as counter, reads:
        out = model(*xs)
    params = sum(p.numel() for p in model.parameters() if id(p) in reads.ids)
    outs = [our_shape(t) for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
    return params, buffers, outs, counter.get_total_flops() // 4


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
