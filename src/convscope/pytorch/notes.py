"""What an import adds after its layers (importer.py): layers holding the buffers no
operation reads, and the notes (that state, layers without a kind, parameters the forward
does not use)."""

from __future__ import annotations

from typing import Any

from ..names import unique_name


def import_notes(state: dict[str, int], opaque: dict[str, list[str]], leaves: Any,
                 owner: dict[str, str]) -> list[str]:
    """The notes of an import: buffers kept as state, layers without a kind (opaque), and
    parameters the forward does not use."""
    notes = []
    if state:
        listed = ", ".join(f"'{k}' ({v:,})" for k, v in state.items())
        notes.append(f"buffers no operation reads, counted as state in layers of their "
                     f"own (no input, no MACs): {listed}")
    if opaque:
        listed = ", ".join(f"{label} x{len(names)} ('{names[0]}')" if len(names) > 1
                           else f"{label} ('{names[0]}')"
                           for label, names in opaque.items())
        count = sum(len(v) for v in opaque.values())
        notes.append(f"{count} layer(s) have no convscope kind and are shown as opaque "
                     f"(output shape, parameters and MACs measured, receptive field "
                     f"global): {listed}")
    unused: dict[str, int] = {}
    for leaf in leaves:
        if leaf.name not in owner:
            top = leaf.name.split(".")[0] + ("" if leaf.is_param else " buffers")
            unused[top] = unused.get(top, 0) + leaf.numel
    if unused:
        listed = ", ".join(f"{k} ({v:,})" for k, v in sorted(unused.items()))
        notes.append(f"parameters the forward pass does not use (not counted): {listed}")
    return notes


def state_layers(builder: Any) -> None:
    """Buffers no operation reads and no layer could take (a rotary table read through a
    method rather than ``forward``, the batch norms of an auxiliary head that eval mode
    skips) are state all the same: one layer per module holding them (the outermost
    module the forward never called, else their own), with no input, no MACs and those
    buffers, so buffers always total ``sum(b.numel() for b in model.buffers())``."""
    called = {c.path for c in builder.cap.calls}
    groups: dict[str, list[str]] = {}
    for leaf in builder.cap.leaves.values():
        if leaf.is_param or leaf.name in builder.owner:
            continue
        parts = leaf.owner.split(".") if leaf.owner else []
        prefixes = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        key = next((p for p in prefixes if p not in called), leaf.owner)
        groups.setdefault(key, []).append(leaf.name)
    for key, names in groups.items():
        name = unique_name(f"{key}.buffers" if key in builder.taken or not key else key,
                           builder.taken)
        builder.claim(names, name)
        builder.add({"type": "opaque", "op": "buffers", "shape": [1], "params": 0,
                  "buffers": builder.numel(names, False), "ops": "none (state only)"},
                 name, [], (1,))
        builder.state[name] = builder.numel(names, False)
