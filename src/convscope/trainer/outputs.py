"""The files of a run directory, each written atomically:

config.json (everything needed to reproduce), result.json, metrics.csv (one row per
epoch), curves.png (accuracy and loss, train against validation, as seed 004 plots them),
weights.txt (every parameter's name, shape and values, as seed 004 dumps them) and
model.safetensors (the best weights, with their SHA-256 in its metadata)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import torch

from ..files import save_atomic, write_text_atomic

METRIC_FIELDS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                 "train_seconds", "seconds")
WEIGHTS_TXT_LIMIT = 2_000_000  # values; larger models need --weights-txt always


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def write_metrics(out: Path, history: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS, lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    write_text_atomic(out / "metrics.csv", buf.getvalue())


def write_curves(out: Path, history: list[dict[str, Any]]) -> bool:
    """curves.png with matplotlib; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = [r["epoch"] for r in history]
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(10, 4))
    acc.plot(epochs, [r["train_accuracy"] for r in history], label="Training Accuracy")
    acc.plot(epochs, [r["val_accuracy"] for r in history], label="Validation Accuracy")
    acc.set_title("Training and Validation Accuracy")
    acc.set_xlabel("epoch")
    acc.legend()
    loss.plot(epochs, [r["train_loss"] for r in history], label="Training Loss")
    loss.plot(epochs, [r["val_loss"] for r in history], label="Validation Loss")
    loss.set_title("Training and Validation Loss")
    loss.set_xlabel("epoch")
    loss.legend()
    fig.tight_layout()
    save_atomic(out / "curves.png", lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
    return True


def write_weights(out: Path, model: torch.nn.Module, mode: str) -> bool:
    """weights.txt as seed 004 writes it: name, shape, values (numpy's full printout)."""
    total = sum(p.numel() for p in model.parameters())
    if mode == "never" or (mode == "auto" and total > WEIGHTS_TXT_LIMIT):
        return False
    import numpy as np

    lines = []
    with np.printoptions(threshold=sys.maxsize):
        for name, p in model.named_parameters():
            lines += [name, str(tuple(p.shape)), str(p.detach().cpu().numpy())]
    write_text_atomic(out / "weights.txt", "\n".join(lines) + "\n")
    return True


def write_safetensors(out: Path, state: dict[str, torch.Tensor]) -> bool:
    try:
        from safetensors.torch import save_file
    except ImportError:
        return False
    from .checkpoint import SAFETENSORS_HASH_KEY, weights_sha256

    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    metadata = {SAFETENSORS_HASH_KEY: weights_sha256(tensors)}  # checked by load_safetensors
    save_atomic(out / "model.safetensors",
                lambda tmp: save_file(tensors, tmp, metadata=metadata))
    return True
