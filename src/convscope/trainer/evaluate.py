"""``convscope evaluate`` (accuracy, per-class accuracy, confusion matrix as text and PNG)
and ``convscope predict`` (top-k classes of images), from a run directory or a checkpoint:
the checkpoint carries the description, the classes and the normalisation statistics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..description.parse import parse
from ..errors import ConvscopeError
from ..layers.base import shape_str
from ..limits import echo
from ..pytorch.build import GraphModule
from ..sources import is_code_source, load
from .checkpoint import load_checkpoint
from .data import IMAGE_SUFFIXES, _image, load_data, normalise
from .setup import training_graph


@dataclass
class Evaluation:
    source: str
    split: str
    accuracy: float
    per_class: list[tuple[str, int, float]]  # class, samples, accuracy
    confusion: list[list[int]]  # rows: true class, columns: predicted
    classes: list[str]
    out: Path


def graph_of(payload: dict[str, Any], model: str | None = None) -> Any:
    """The run's graph, from data only: ``model`` when the user gives it, else the
    description the checkpoint carries, else the run's description file or Keras / ONNX
    file. Python named by a checkpoint (torchvision:, python:, FILE.py:Class) is never
    imported: such a model must be given again with ``--model``."""
    config = payload["config"]
    shape = tuple(payload["input_shape"])
    if model is not None:
        override = config.get("input") if isinstance(config.get("input"), str) else None
        return load(model, override)
    description = payload.get("description")
    if isinstance(description, dict):
        return parse(description, shape)
    source = config["model"]
    if is_code_source(source):
        raise ConvscopeError(f"the run's model came from Python source ('{echo(source)}'); "
                             "evaluate and predict never import code named by a checkpoint: "
                             "give the model again with --model SOURCE (only if you trust "
                             "that code)")
    override = config.get("input") if isinstance(config.get("input"), str) else None
    return load(source, override)


def model_from(payload: dict[str, Any], model: str | None = None
               ) -> tuple[torch.nn.Module, str, Any]:
    """The trained module (logits), its loss kind and its graph, from a checkpoint."""
    graph = graph_of(payload, model)
    trained, loss = training_graph(graph)
    outputs, classes = graph.shapes[graph.outputs[0]][0], len(payload["classes"])
    if outputs != classes and not (outputs == 1 and classes == 2):
        raise ConvscopeError(f"the model '{echo(graph.name)}' outputs {outputs} value(s); the "
                             f"checkpoint was trained on {classes} classes")
    module = GraphModule(trained)
    try:
        module.load_state_dict(payload["model"])
    except RuntimeError as err:
        raise ConvscopeError(f"the checkpoint's weights do not fit its model: "
                             f"{str(err).splitlines()[0][:200]}") from None
    return module.eval(), loss, graph


def evaluate(source: str, data: str | None = None, split: str = "test",
             fetch: bool = False, model: str | None = None) -> Evaluation:
    payload = load_checkpoint(source)
    module, loss, graph = model_from(payload, model)
    config = payload["config"]
    fraction = config.get("val_fraction", 0.1)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise ConvscopeError(f"{source}: the checkpoint's config.val_fraction must be a "
                             f"number; received {type(fraction).__name__}")
    dataset = load_data(data or config["data"], graph.shapes[graph.inputs[0].name],
                        graph.shapes[graph.outputs[0]][0], fraction, fetch)
    if dataset.input_shape != tuple(payload["input_shape"]):
        raise ConvscopeError(f"dataset {dataset.name} gives {shape_str(dataset.input_shape)} "
                             f"inputs; the model was trained on "
                             f"{shape_str(tuple(payload['input_shape']))}")
    if len(dataset.classes) != len(payload["classes"]):
        raise ConvscopeError(f"dataset {dataset.name} has {len(dataset.classes)} classes; the "
                             f"model was trained on {len(payload['classes'])}")
    part = {"train": dataset.train, "val": dataset.val, "test": dataset.test}[split]
    x = normalise(_denormalised(part.x, dataset.mean, dataset.std), payload["mean"],
                  payload["std"])
    with torch.no_grad():
        logits = torch.cat([module(x[i:i + 512]) for i in range(0, len(x), 512)])
    pred = (logits[:, 0] > 0).long() if loss == "binary" else logits.argmax(1)
    classes = list(payload["classes"])
    n = len(classes)
    confusion = torch.zeros(n, n, dtype=torch.long)
    for t, p in zip(part.y.tolist(), pred.tolist(), strict=True):
        confusion[t, p] += 1
    rows = confusion.tolist()
    per_class = [(classes[i], sum(rows[i]), rows[i][i] / sum(rows[i]) if sum(rows[i]) else 0.0)
                 for i in range(n)]
    out = Path(source) if Path(source).is_dir() else Path(source).parent
    return Evaluation(str(source), split, float((pred == part.y).float().mean()), per_class,
                      rows, classes, out)


def _denormalised(x: torch.Tensor, mean: list[float], std: list[float]) -> np.ndarray:
    shape = (1, -1, *([1] * (x.dim() - 2)))
    return (x.numpy() * np.asarray(std, np.float32).reshape(shape) +
            np.asarray(mean, np.float32).reshape(shape))


def render_evaluation(e: Evaluation, png: str | None = None) -> str:
    lines = [f"{e.source}: accuracy on the {e.split} split {e.accuracy:.4f} "
             f"({sum(r[i] for i, r in enumerate(e.confusion))}/{sum(map(sum, e.confusion))})",
             "per class:"]
    width = max(len(c) for c in e.classes)
    lines += [f"  {name:{width}}  {acc:.4f}  ({count} samples)" for name, count, acc in
              e.per_class]
    lines.append("confusion matrix (rows: true class, columns: predicted):")
    cell = max(len(str(v)) for row in e.confusion for v in row) + 1
    lines.append("  " + " " * width + "".join(f"{c[:cell - 1]:>{cell}}" for c in e.classes))
    lines += [f"  {name:{width}}" + "".join(f"{v:>{cell}}" for v in row)
              for name, row in zip(e.classes, e.confusion, strict=True)]
    target = Path(png) if png else e.out / f"confusion_{e.split}.png"
    if confusion_png(e, target):
        lines.append(f"confusion matrix drawn in {target}")
    return "\n".join(lines) + "\n"


def confusion_png(e: Evaluation, target: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from ..files import save_atomic

    n = len(e.classes)
    fig, ax = plt.subplots(figsize=(1 + 0.5 * n, 1 + 0.5 * n))
    ax.imshow(e.confusion, cmap="Blues")
    ax.set_xticks(range(n), e.classes, rotation=90)
    ax.set_yticks(range(n), e.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, row in enumerate(e.confusion):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
    ax.set_title(f"{e.split} accuracy {e.accuracy:.4f}")
    fig.tight_layout()
    save_atomic(target, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
    return True


def predict(source: str, inputs: list[str], top: int = 3, model: str | None = None) -> str:
    payload = load_checkpoint(source)
    module, loss, graph = model_from(payload, model)
    shape = tuple(payload["input_shape"])
    classes = list(payload["classes"])
    lines = []
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise ConvscopeError(f"{item}: no such file")
        if path.suffix == ".npy":
            arr = np.load(path, allow_pickle=False).astype(np.float32)
            first = shape if len(shape) == 1 else (shape[-1], *shape[:-1])
            if arr.shape == shape and len(shape) > 1:
                arr = np.moveaxis(arr, -1, 0)
            if arr.shape != first:
                raise ConvscopeError(f"{item}: array of shape {arr.shape}; the model takes "
                                     f"{shape_str(shape)} (H x W x C)")
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            if len(shape) != 3:
                raise ConvscopeError(f"{item}: the model takes {shape_str(shape)}, not images")
            arr = _image(path, shape)
        else:
            raise ConvscopeError(f"{item}: give images or .npy arrays")
        x = normalise(arr[None], payload["mean"], payload["std"])
        with torch.no_grad():
            logits = module(x)[0]
        if loss == "binary":
            p1 = float(torch.sigmoid(logits[0]))
            probs = torch.tensor([1 - p1, p1])
        else:
            probs = torch.softmax(logits, 0)
        values, index = probs.topk(min(top, len(probs)))
        ranked = ", ".join(f"{classes[i]} {v:.3f}" for v, i in zip(values.tolist(),
                                                                   index.tolist(), strict=True))
        lines.append(f"{item}: {ranked}")
    return "\n".join(lines) + "\n"
