"""What a training run is made of: its configuration, the model to train (the description
with the final softmax turned into logits for the loss), the optimizer and the schedule."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch

from ..errors import ConvscopeError, closest
from ..ir import Graph
from ..layers.activation import Activation
from ..layers.base import shape_str

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "cosine", "onecycle", "step")
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3}


@dataclass
class TrainConfig:
    """Everything that decides a run (saved as config.json; a resume must agree on it)."""

    model: str
    data: str
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"
    label_smoothing: float = 0.0
    seed: int = 0
    input: str | None = None
    val_fraction: float = 0.1
    augment: bool = False
    out: str | None = None
    device: str = "cpu"
    threads: int | None = None
    compile: bool = False
    channels_last: bool = False
    download: bool = False
    weights_txt: str = "auto"
    quiet: bool = False
    force: bool = False  # write into a non-empty folder that is not a convscope run

    # settings that may change between an interrupted run and its resume ('epochs' may
    # grow: see loop.restore)
    RUNTIME = ("out", "device", "threads", "compile", "quiet", "download", "force")

    def check(self) -> None:
        def bad(what: str) -> ConvscopeError:
            return ConvscopeError(what)

        for name in ("lr", "momentum", "weight_decay", "label_smoothing", "val_fraction"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise bad(f"--{name.replace('_', '-')} must be a finite number; received "
                          f"{value}")
        if self.epochs < 1:
            raise bad(f"--epochs must be >= 1; received {self.epochs}")
        if self.batch_size < 1:
            raise bad(f"--batch-size must be >= 1; received {self.batch_size}")
        if self.optimizer not in OPTIMIZERS:
            raise bad(f"unknown optimizer '{self.optimizer}'; choose {', '.join(OPTIMIZERS)}."
                      f"{closest(self.optimizer, OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise bad(f"unknown schedule '{self.schedule}'; choose {', '.join(SCHEDULES)}."
                      f"{closest(self.schedule, SCHEDULES)}")
        if self.lr is not None and self.lr <= 0:
            raise bad(f"--lr must be > 0; received {self.lr}")
        if not 0 <= self.label_smoothing < 1:
            raise bad(f"--label-smoothing must be in [0, 1); received {self.label_smoothing}")
        if not 0 < self.val_fraction < 1:
            raise bad(f"--val-fraction must be > 0 and < 1 (the best checkpoint is chosen on "
                      f"the validation split, which must not be the test split); received "
                      f"{self.val_fraction}")
        if self.weights_txt not in ("auto", "always", "never"):
            raise bad("--weights-txt must be auto, always or never")

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def differences(self, saved: dict[str, Any]) -> list[str]:
        mine = asdict(self)
        return [f"{k}: {saved.get(k)!r} in the checkpoint, {mine[k]!r} now" for k in mine
                if k not in (*self.RUNTIME, "epochs") and saved.get(k) != mine[k]]


def training_graph(graph: Graph) -> tuple[Graph, str]:
    """The graph trained on logits, and the loss: the final softmax (a layer or a dense
    layer's activation) is left out and cross-entropy applied to the logits; a single
    output with a sigmoid becomes a binary cross-entropy on its logit."""
    out_name = graph.outputs[0]
    shape = graph.shapes[out_name]
    if len(graph.outputs) != 1 or len(shape) != 1:
        raise ConvscopeError(f"convscope train needs a model with one output vector of class "
                             f"scores; '{graph.name}' outputs "
                             f"{', '.join(shape_str(graph.shapes[o]) for o in graph.outputs)}")
    opaque = [n.name for n in graph.nodes if n.layer.kind == "opaque"]
    if opaque:
        raise ConvscopeError(f"cannot train '{graph.name}': {len(opaque)} operation(s) could not "
                             f"be mapped (first: '{opaque[0]}')")
    last = graph.node(out_name)
    layer = last.layer
    function = getattr(layer, "function", None) or getattr(layer, "activation", None)
    loss = "binary" if shape == (1,) else "categorical"
    if function in ("softmax", "log_softmax", "sigmoid"):
        if isinstance(layer, Activation):
            layer = Activation(function="linear")
        else:
            layer = replace(layer, activation=None)  # type: ignore[type-var]
        nodes = tuple(replace(n, layer=layer) if n.name == out_name else n for n in graph.nodes)
        graph = replace(graph, nodes=nodes)
    return graph, loss


def make_optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    lr, wd = config.learning_rate(), config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, weight_decay=wd)


def make_schedule(config: TrainConfig, optimizer: torch.optim.Optimizer,
                  steps: int) -> tuple[Any, bool]:
    """(scheduler or None, stepped every batch?)"""
    total = config.epochs * steps
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total), True
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate(),
                                                   total_steps=total), True
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, config.epochs // 3),
                                               gamma=0.1), False
    return None, False


def distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, (0, 1) otherwise; initialises the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get(
            "CONVSCOPE_BACKEND") != "gloo" else "gloo"
        dist.init_process_group(backend)
    return dist.get_rank(), world


def pick_device(name: str, rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConvscopeError("--device cuda: no CUDA device is available here")
        return torch.device("cuda", rank % torch.cuda.device_count())
    if name != "cpu":
        raise ConvscopeError(f"--device must be cpu, cuda or auto; received '{name}'")
    return torch.device("cpu")
