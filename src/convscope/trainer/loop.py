"""The training loop (seed 003's steps: load, normalise, define, forward, cost, gradient
descent, train; seed 004's fit: validation every epoch, best checkpoint, resume, weights
dump, curves).

Reproducibility: the model is initialised from ``seed``; each epoch's order comes from
``DistributedSampler(seed=seed)`` with ``set_epoch`` (the same global batches whatever the
number of processes, each process taking one contiguous share of every global batch, and
the loss of a share scaled so that the averaged gradient is the global batch's mean);
augmentation draws from a generator seeded by (seed, epoch, rank);
the RNG states are checkpointed at every epoch's end, so a resumed run repeats the
interrupted epoch exactly and ends with the same weights, bit for bit.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DistributedSampler

from ..errors import ConvscopeError
from ..ir import Graph
from ..layers.base import shape_str
from .checkpoint import load_checkpoint, save_checkpoint, strip_module
from .data import Data, Split
from .progress import Progress
from .setup import TrainConfig


@dataclass
class Context:
    """The live pieces of a run."""

    config: TrainConfig
    graph: Graph
    loss: str  # categorical or binary
    data: Data
    model: torch.nn.Module  # possibly DDP-wrapped
    optimizer: torch.optim.Optimizer
    scheduler: Any
    per_batch: bool
    device: torch.device
    rank: int
    world: int
    out: Path

    @property
    def core(self) -> torch.nn.Module:
        return getattr(self.model, "module", self.model)


def criterion(ctx: Context, logits: torch.Tensor, y: torch.Tensor,
              reduction: str = "mean") -> torch.Tensor:
    if ctx.loss == "binary":
        return F.binary_cross_entropy_with_logits(logits[:, 0], y.float(), reduction=reduction)
    return F.cross_entropy(logits, y, label_smoothing=ctx.config.label_smoothing,
                           reduction=reduction)


def correct(ctx: Context, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    pred = (logits[:, 0] > 0).long() if ctx.loss == "binary" else logits.argmax(1)
    return (pred == y).sum()


def augment(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop after zero padding, and a random horizontal flip (images only)."""
    if x.dim() != 4:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    out[flip] = out[flip].flip(-1)
    return out


def batches(ctx: Context, epoch: int) -> list[tuple[torch.Tensor, int]]:
    """This process's share of each global batch of the epoch, with the global batch's
    size. The order is DistributedSampler's (``set_epoch``) for one replica, the same
    whatever the number of processes; each global batch of ``batch_size`` samples is cut
    into one contiguous share per process, so N processes see exactly the batches one
    process sees."""
    n = len(ctx.data.train.y)
    indices: Any = range(n)  # a sized sequence is all the sampler needs
    sampler: DistributedSampler[int] = DistributedSampler(indices, num_replicas=1, rank=0,
                                                          shuffle=True, seed=ctx.config.seed)
    sampler.set_epoch(epoch)
    order = torch.tensor(list(sampler), dtype=torch.long)
    out = []
    for i in range(0, n, ctx.config.batch_size):
        batch = order[i:i + ctx.config.batch_size]
        share = -(-len(batch) // ctx.world)
        out.append((batch[ctx.rank * share:(ctx.rank + 1) * share], len(batch)))
    return out


def train_epoch(ctx: Context, epoch: int) -> dict[str, float]:
    ctx.model.train()
    split = ctx.data.train
    plan = batches(ctx, epoch)
    gen = torch.Generator().manual_seed(ctx.config.seed * 1_000_003 + epoch * 101 + ctx.rank)
    progress = Progress(epoch + 1, ctx.config.epochs, len(plan),
                        enabled=ctx.rank == 0 and not ctx.config.quiet)
    losses: list[torch.Tensor] = []  # summed at the end: no extra work per step
    rights: list[torch.Tensor] = []
    seen = 0
    binary = ctx.loss == "binary"
    for step, (idx, global_size) in enumerate(plan, 1):
        x, y = split.x[idx], split.y[idx]
        if ctx.config.augment:
            x = augment(x, gen)
        if ctx.device.type != "cpu":
            x, y = x.to(ctx.device, non_blocking=True), y.to(ctx.device, non_blocking=True)
        if ctx.config.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        logits = ctx.model(x)
        if ctx.world == 1:
            loss = criterion(ctx, logits, y)
            losses.append(loss.detach() * len(y))
        else:  # each process's share, scaled: DDP's average is then the global batch's mean
            loss_sum = criterion(ctx, logits, y, "sum")
            loss = loss_sum * (ctx.world / global_size)
            losses.append(loss_sum.detach())
        ctx.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        ctx.optimizer.step()
        if ctx.scheduler is not None and ctx.per_batch:
            ctx.scheduler.step()
        pred = (logits[:, 0] > 0).long() if binary else logits.argmax(1)  # no grad: argmax
        rights.append(pred == y)
        seen += len(y)
        if progress.tty and progress.enabled:
            progress.update(step, {"loss": float(sum(losses)) / seen,
                                   "accuracy": float(sum(r.sum() for r in rights)) / seen})
    total_loss = float(torch.stack(losses).double().sum()) if losses else 0.0
    total_correct = float(torch.cat(rights).sum()) if rights else 0.0
    if ctx.scheduler is not None and not ctx.per_batch:
        ctx.scheduler.step()
    train_seconds = time.perf_counter() - progress.start
    stats = reduce(ctx, [total_loss, total_correct, float(seen)])
    metrics = {"loss": stats[0] / stats[2], "accuracy": stats[1] / stats[2]}
    val = evaluate_split(ctx, ctx.data.val)
    progress.end({**metrics, "val_loss": val["loss"], "val_accuracy": val["accuracy"]})
    return {"train_loss": metrics["loss"], "train_accuracy": metrics["accuracy"],
            "val_loss": val["loss"], "val_accuracy": val["accuracy"],
            "train_seconds": train_seconds}


def reduce(ctx: Context, values: list[float]) -> list[float]:
    if ctx.world == 1:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


@torch.no_grad()
def evaluate_split(ctx: Context, split: Split, batch: int = 512) -> dict[str, float]:
    ctx.model.eval()
    total, right = 0.0, 0
    for i in range(0, len(split.y), batch):
        x = split.x[i:i + batch].to(ctx.device)
        y = split.y[i:i + batch].to(ctx.device)
        logits = ctx.core(x)
        total += float(criterion(ctx, logits, y)) * len(y)
        right += int(correct(ctx, logits, y))
    n = max(len(split.y), 1)
    return {"loss": total / n, "accuracy": right / n}


def state(ctx: Context, epoch: int, history: list[dict[str, Any]], best: dict[str, Any],
          extra: dict[str, Any]) -> dict[str, Any]:
    return {"epoch": epoch, "model": strip_module(ctx.core.state_dict()),
            "optimizer": ctx.optimizer.state_dict(),
            "scheduler": ctx.scheduler.state_dict() if ctx.scheduler is not None else None,
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
            "history": history, "best": best, **extra}


def _refusals(ctx: Context, saved: dict[str, Any], done: int) -> list[str]:
    """Why the checkpoint cannot continue as this run ('epochs' may grow: a finished run
    without a schedule is extended)."""
    diffs = ctx.config.differences(saved)
    epochs, before = ctx.config.epochs, saved.get("epochs")
    if epochs < done:
        diffs.append(f"epochs: {done} already trained, --epochs {epochs} now (fewer)")
    elif before != epochs and ctx.config.schedule != "none":
        diffs.append(f"epochs: {before!r} in the checkpoint, {epochs!r} now (--schedule "
                     f"{ctx.config.schedule} is planned over all the epochs, so only a run "
                     "without a schedule can be extended; start a new run)")
    return diffs


def restore(ctx: Context, payload: dict[str, Any],
            file: Path) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    done = payload["epoch"]  # checked by load_checkpoint, as 'config' and 'model'
    diffs = _refusals(ctx, payload["config"], done)
    if diffs:
        raise ConvscopeError(f"{file} was written by a different run; cannot "
                             f"resume: {'; '.join(diffs[:4])}")
    try:
        ctx.core.load_state_dict(payload["model"])
        ctx.optimizer.load_state_dict(payload["optimizer"])
        if ctx.scheduler is not None:
            ctx.scheduler.load_state_dict(payload["scheduler"])
        torch.set_rng_state(payload["rng"]["torch"])
        py = payload["rng"]["python"]
        random.setstate((py[0], tuple(py[1]), py[2]))
        history, best = list(payload["history"]), dict(payload["best"])
        best = {"val_accuracy": float(best["val_accuracy"]), "epoch": int(best["epoch"])}
    except (KeyError, RuntimeError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise ConvscopeError(f"{file}: cannot resume from it (its weights, optimizer, "
                             "schedule, RNG state or history do not fit this run): "
                             f"{str(err).splitlines()[0][:200] if str(err) else err!r}") \
            from None
    return done, history, best


def resume_file(ctx: Context) -> Path:
    """last.pt, or best.pt when the run stopped before its first last.pt was complete."""
    last, best = ctx.out / "last.pt", ctx.out / "best.pt"
    if last.exists():
        return last
    if best.exists():
        if ctx.rank == 0:  # said even with --quiet: not the checkpoint the user may expect
            print(f"convscope: {ctx.out}: no last.pt (the run stopped before writing it); "
                  "resuming from best.pt", file=sys.stderr, flush=True)
        return best
    raise ConvscopeError(f"{ctx.out}: nothing to resume (no last.pt or best.pt); train "
                         "without --resume to start the run")


def begin(ctx: Context, resume: bool) -> dict[str, Any]:
    """Where the run starts: from scratch, or restored from its checkpoint (checked
    before any file of the run is written, so that a refused resume changes nothing)."""
    if not resume:
        return {"start": 0, "history": [], "best": {"val_accuracy": -1.0, "epoch": 0}}
    file = resume_file(ctx)
    start, history, best = restore(ctx, load_checkpoint(file), file)
    if ctx.rank == 0 and not ctx.config.quiet:
        print(f"resuming after epoch {start} of {ctx.config.epochs}", flush=True)
    return {"start": start, "history": history, "best": best}


def fit(ctx: Context, extra: dict[str, Any], begun: dict[str, Any]) -> dict[str, Any]:
    """Train from ``begin``'s state; returns the last state (history, best)."""
    history, best = begun["history"], begun["best"]
    last = ctx.out / "last.pt"
    for epoch in range(begun["start"], ctx.config.epochs):
        began = time.perf_counter()
        row = train_epoch(ctx, epoch)
        row = {"epoch": epoch + 1, **row, "lr": ctx.optimizer.param_groups[0]["lr"],
               "seconds": time.perf_counter() - began}  # the epoch with its validation
        history.append(row)
        improved = row["val_accuracy"] > best["val_accuracy"]
        if improved:
            best = {"val_accuracy": row["val_accuracy"], "epoch": epoch + 1}
        if ctx.rank == 0:
            payload = state(ctx, epoch + 1, history, best, extra)
            if improved:
                save_checkpoint(ctx.out / "best.pt", payload)
            save_checkpoint(last, payload)
            from .outputs import write_metrics

            write_metrics(ctx.out, history)
    return {"history": history, "best": best}


def describe_mismatch(data: Data, graph: Graph, classes: int) -> None:
    """The dataset must fit the model: input shape and class count."""
    want = graph.shapes[graph.inputs[0].name]
    if data.input_shape != want:
        raise ConvscopeError(
            f"dataset {data.name} gives {shape_str(data.input_shape)} inputs but the model "
            f"'{graph.name}' expects {shape_str(want)}; use a model made for "
            f"{shape_str(data.input_shape)} (or --input {shape_str(data.input_shape)} when "
            "the description allows it)")
    labels = len(data.classes)
    if classes != labels and not (classes == 1 and labels == 2):
        raise ConvscopeError(f"dataset {data.name} has {labels} classes but the model "
                             f"'{graph.name}' outputs {classes} value(s); its last layer "
                             f"must have {labels} units")
