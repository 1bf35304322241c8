"""``convscope profile``: measured latency per layer, beside the static multiply-adds.

The network is built in PyTorch (``build``: every layer one submodule) and run on random
inputs: ``warmup`` runs, then ``runs`` timed ones. Each layer's time is taken with hooks
on its module (``perf_counter`` in a forward pre-hook and a forward hook; with
``backward``, in a full backward pre-hook and a full backward hook), the device
synchronised at every hook when it is a GPU, and the median over the runs is reported.
The whole model is timed the same way without hooks; the layers' sum differs from it by the
hooks' own cost and the work between layers (freeing values, Python). Times are measured
on this machine and vary from run to run.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch

from ..analysis.report import Report
from ..ir import Graph
from .build import GraphModule, example_inputs


@dataclass(frozen=True)
class LayerTime:
    name: str
    type: str
    forward_ms: float
    backward_ms: float  # 0 without backward
    macs: int  # per batch, as the report counts them

    @property
    def ms(self) -> float:
        return self.forward_ms + self.backward_ms


@dataclass(frozen=True)
class Profile:
    model: str
    batch: int
    device: str
    runs: int
    backward: bool
    layers: tuple[LayerTime, ...]
    total_ms: float  # the whole model, timed without hooks (median)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _hooks(model: GraphModule, device: torch.device, times: dict[str, list[float]],
           backward: bool) -> list[Any]:
    handles, started = [], {}

    def begin(key: str) -> Any:
        def hook(*_: Any) -> None:
            _sync(device)
            started[key] = time.perf_counter()
        return hook

    def end(key: str) -> Any:
        def hook(*_: Any) -> None:
            _sync(device)
            times.setdefault(key, []).append(time.perf_counter() - started.pop(key))
        return hook

    for name, key, _ in model.steps:
        module = model.layers[key]
        handles += [module.register_forward_pre_hook(begin(f"f:{name}")),
                    module.register_forward_hook(end(f"f:{name}"))]
        if backward:
            handles += [module.register_full_backward_pre_hook(begin(f"b:{name}")),
                        module.register_full_backward_hook(end(f"b:{name}"))]
    return handles


def _run(model: GraphModule, inputs: list[torch.Tensor], backward: bool) -> None:
    out = model(*inputs)
    if backward:
        outs = out if isinstance(out, tuple) else (out,)
        sum(o.float().sum() for o in outs).backward()


def profile(graph: Graph, report: Report, batch: int = 1, runs: int = 20, warmup: int = 3,
            backward: bool = False, device: str = "cpu") -> Profile:
    """Per-layer and whole-model median times of ``graph`` (see the module docstring)."""
    where = torch.device(device)
    model = GraphModule(graph).to(where).train(backward)
    inputs = [t.to(where) for t in example_inputs(graph, batch)]
    if backward:
        inputs = [t.requires_grad_() if t.is_floating_point() else t for t in inputs]
    grad = torch.enable_grad() if backward else torch.no_grad()
    with grad:
        for _ in range(warmup):
            _run(model, inputs, backward)
        whole = []
        for _ in range(runs):
            _sync(where)
            start = time.perf_counter()
            _run(model, inputs, backward)
            _sync(where)
            whole.append(time.perf_counter() - start)
        times: dict[str, list[float]] = {}
        handles = _hooks(model, where, times, backward)
        try:
            for _ in range(runs):
                _run(model, inputs, backward)
        finally:
            for handle in handles:
                handle.remove()
    stats = {s.name: s for s in report.layers}

    def median_ms(key: str) -> float:
        return 1000 * statistics.median(times[key]) if times.get(key) else 0.0

    layers = tuple(LayerTime(name, stats[name].type, median_ms(f"f:{name}"),
                             median_ms(f"b:{name}"), stats[name].macs)
                   for name, _, _ in model.steps)
    return Profile(graph.name, batch, str(where), runs, backward, layers,
                   1000 * statistics.median(whole))


def render_profile(p: Profile, top: int = 10) -> str:
    """The per-layer table (ms, share of the layers' sum, MACs, GFLOP/s) and the top-k."""
    total = sum(t.ms for t in p.layers) or 1.0
    head = (f"{'layer':32} {'type':22} {'ms':>9} {'share':>6} {'MACs':>15} {'GFLOP/s':>8}")
    lines = [f"Profile of '{p.model}': batch {p.batch}, {p.device}, median of {p.runs} runs"
             f"{', forward + backward' if p.backward else ', forward'} (measured on this "
             "machine; times vary from run to run)", "", head, "-" * len(head)]
    for t in p.layers:
        rate = 2 * t.macs / (t.ms / 1000) / 1e9 if t.ms and t.macs else 0.0
        lines.append(f"{t.name[:32]:32} {t.type[:22]:22} {t.ms:9.3f} {100 * t.ms / total:5.1f}%"
                     f" {t.macs:15,} {rate:8.2f}")
    lines += ["", f"Layers' sum {total:.3f} ms; the whole model, timed without hooks: "
              f"{p.total_ms:.3f} ms (they differ by the hooks' cost and the work between "
              "layers). GFLOP/s = 2 x MACs / the layer's time.", "",
              f"Slowest {min(top, len(p.layers))}:"]
    for t in sorted(p.layers, key=lambda t: -t.ms)[:top]:
        lines.append(f"  {t.name}: {t.ms:.3f} ms ({100 * t.ms / total:.1f} %)")
    return "\n".join(lines) + "\n"


def profile_json(p: Profile) -> dict[str, Any]:
    return {"model": p.model, "batch": p.batch, "device": p.device, "runs": p.runs,
            "backward": p.backward, "total_ms": p.total_ms,
            "layers": [{"name": t.name, "type": t.type, "latency_ms": t.ms,
                        "forward_ms": t.forward_ms, "backward_ms": t.backward_ms,
                        "macs": t.macs} for t in p.layers]}
