"""Rendering of a TrainingMemory (``convscope memory``)."""

from __future__ import annotations

import json
from typing import Any

from ..analysis.memory import Fit, TrainingMemory
from ..units import human_bytes

STATE = {"sgd": "none", "sgd_momentum": "one momentum buffer per value",
         "adam": "exp_avg + exp_avg_sq per value, a float32 step per tensor",
         "adamw": "exp_avg + exp_avg_sq per value, a float32 step per tensor"}


def setting(m: TrainingMemory) -> str:
    """'float32, adam', then mixed precision, checkpointing and the target device."""
    parts = [m.dtype if m.amp is None else f"autocast {m.amp} (float32 weights)", m.optimizer]
    if m.checkpointing:
        parts.append("checkpointing per block")
    return ", ".join([*parts, f"for {m.target}"])


def memory_json(m: TrainingMemory, measured: dict[str, Any] | None = None) -> str:
    data: dict[str, Any] = {
        "model": m.model, "batch": m.batch, "dtype": m.dtype, "optimizer": m.optimizer,
        "param_bytes": m.param_bytes, "buffer_bytes": m.buffer_bytes,
        "gradient_bytes": m.gradient_bytes, "optimizer_bytes": m.optimizer_bytes,
        "activation_bytes": m.activation_bytes, "transient_bytes": m.transient_bytes,
        "amp": m.amp, "checkpointing": m.checkpointing, "target": m.target,
        "cast_bytes": m.cast_bytes, "recompute_bytes": m.recompute_bytes,
        "checkpointed_blocks": m.blocks, "peak_bytes": m.peak_bytes,
        "layers": [{"name": x.name, "saved_bytes": x.saved_bytes} for x in m.layers]}
    if measured is not None:
        data["measured"] = measured
    return json.dumps(data, indent=2) + "\n"


def memory_table(m: TrainingMemory, measured: dict[str, Any] | None = None, top: int = 8) -> str:
    rows = [("parameters", m.param_bytes), ("buffers (BN statistics)", m.buffer_bytes),
            ("gradients", m.gradient_bytes),
            (f"optimizer state ({m.optimizer})", m.optimizer_bytes),
            ("activations saved for the backward pass", m.activation_bytes),
            ("transient (2 x the largest layer output)", m.transient_bytes)]
    if m.amp:
        rows.append((f"autocast's {m.amp} copies of weights", m.cast_bytes))
    if m.checkpointing:
        rows.append((f"largest of {m.blocks} checkpointed blocks, recomputed", m.recompute_bytes))
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"Training memory of '{m.model}': batch {m.batch}, {setting(m)} (KB = 1024 B)"]
    lines += [f"  {label:{width}}{human_bytes(value):>12}  {value:>16,} B"
              for label, value in rows]
    lines.append(f"  {'peak (estimate: the sum)':{width}}{human_bytes(m.peak_bytes):>12}  "
                 f"{m.peak_bytes:>16,} B")
    biggest = sorted((x for x in m.layers if x.saved_bytes), key=lambda x: -x.saved_bytes)
    if biggest:
        lines.append(f"Largest saved activations (of {m.activation_bytes:,} B):")
        lines += [f"  {x.name:30} {human_bytes(x.saved_bytes):>12}" for x in biggest[:top]]
    lines.append(f"Optimizer state of {m.optimizer}: {STATE[m.optimizer]}.")
    if measured is not None:
        lines.append("Measured by PyTorch (" + (
            "torch.cuda.max_memory_allocated over one training step after the first; the "
            "estimate is a bound: its parts' maxima do not all coincide in time):"
            if "peak_bytes" in measured else
            "saved_tensors_hooks, optimizer state after one step):"))
        for key, label in (("peak_bytes", "peak"), ("activation_bytes", "saved activations"),
                           ("optimizer_bytes", "optimizer state"),
                           ("param_bytes", "parameters"), ("gradient_bytes", "gradients"),
                           ("cast_bytes", "weight copies"), ("recompute_bytes", "recomputed")):
            if key not in measured:
                continue
            ours = getattr(m, key)
            theirs = measured[key]
            diff = f"{(ours - theirs) / theirs:+.2%}" if theirs else "exact" if not ours else "-"
            lines.append(f"  {label:20} {theirs:>16,} B   convscope {ours:>16,} B  ({diff})")
    lines.append("Saved activations: what autograd keeps in the network as convscope builds it "
                 "(training mode, no in-place ops); parameters and buffers excluded; a view "
                 "(flatten, slice) shares its input's storage; dropout masks, int64 pooling "
                 "indices and batch-norm statistics included.")
    return "\n".join(lines) + "\n"


def fit_text(fit: Fit) -> str:
    """``convscope memory --fit``: the largest batch, its peak, and what one more needs."""
    model = fit.next.model
    if not fit.batch:
        return (f"'{model}' does not fit in {human_bytes(fit.budget)} ({fit.budget:,} B) even "
                f"with batch 1: its estimated peak is {human_bytes(fit.next.peak_bytes)}.\n")
    lines = [f"Largest batch of '{model}' whose estimated training peak fits in "
             f"{human_bytes(fit.budget)} ({fit.budget:,} B; {setting(fit.next)}): "
             f"{fit.batch:,}",
             f"  batch {fit.batch:,}: peak {human_bytes(fit.fits.peak_bytes)} "  # type: ignore[union-attr]
             f"({fit.fits.peak_bytes:,} B)",  # type: ignore[union-attr]
             f"  batch {fit.batch + 1:,}: peak {human_bytes(fit.next.peak_bytes)} "
             f"({fit.next.peak_bytes:,} B)",
             "An estimate of tensor bytes (parameters, gradients, optimizer state, saved "
             "activations, the largest layer output twice"
             + (", autocast's weight copies" if fit.next.amp else "")
             + (", the largest checkpointed block again" if fit.next.checkpointing else "")
             + "); " + ("each allocation rounded up to 512 B as the CUDA caching allocator "
                        "does; its 2 MB / 20 MB segments, fragmentation and library (cuDNN, "
                        "cuBLAS) workspaces are not modelled, so leave a margin."
                        if fit.next.target == "cuda" else
                        "tensor bytes on the CPU; for a GPU use --target cuda.")]
    return "\n".join(lines) + "\n"
