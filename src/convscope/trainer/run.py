"""``convscope train``: assembles a run (model, data, optimizer, schedule, run directory),
trains it, tests the best checkpoint and writes the run's files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..analysis import analyze
from ..errors import ConvscopeError
from ..files import remove_stale_temporaries
from ..pytorch.build import GraphModule
from ..sources import load
from .checkpoint import load_checkpoint
from .data import load_data
from .loop import Context, begin, describe_mismatch, evaluate_split, fit
from .outputs import write_curves, write_json, write_safetensors, write_weights
from .recipe import description_of, threads_for
from .setup import (
    TrainConfig,
    distributed,
    make_optimizer,
    make_schedule,
    pick_device,
    training_graph,
)
from .threads import timed


@dataclass
class TrainResult:
    out: Path
    test_accuracy: float
    best_val_accuracy: float
    epochs: int
    train_seconds: float
    params: int
    history: list[dict[str, Any]]


def default_out(config: TrainConfig) -> str:
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in config.model)[:40]
    data = config.data.split(":")[0]
    return str(Path("runs") / f"{name}-{data}-seed{config.seed}")


def build_model(config: TrainConfig, trained: Any, device: torch.device,
                world: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(the GraphModule, what the loop calls: the same, DDP-wrapped and/or compiled)."""
    torch.manual_seed(config.seed)
    core = GraphModule(trained).to(device)
    if config.channels_last:
        core = core.to(memory_format=torch.channels_last)
    model: torch.nn.Module = core
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(core, device_ids=[device.index] if device.type ==
                                        "cuda" else None)
    if config.compile:
        model = torch.compile(model)  # type: ignore[assignment]
    return core, model


RUN_FORMAT = "convscope-run"  # config.json's 'format': the folder is a convscope run


def is_run_folder(out: Path) -> bool:
    """Whether ``out/config.json`` is one that convscope train wrote."""
    file = out / "config.json"
    try:
        if not file.is_file() or file.stat().st_size > 1 << 20:  # never a FIFO, never huge
            return False
        saved = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(saved, dict) and (saved.get("format") == RUN_FORMAT or (
        isinstance(saved.get("config"), dict) and {"params", "torch"} <= set(saved)))


def check_run_directory(config: TrainConfig, resume: bool) -> Path:
    """The run folder, checked before anything is loaded or written: a folder (or a new
    path), writable, not another run unless resumed, not a folder of the user's files
    unless --force."""
    out = Path(config.out or default_out(config))
    where = f"--out {out}"
    if out.exists() and not out.is_dir():
        raise ConvscopeError(f"{where}: is a file; expected a run folder (a new or empty "
                             "folder, or an earlier run's to --resume)")
    if not out.exists():
        if resume:
            raise ConvscopeError(f"{where}: no such folder: nothing to resume")
        return out
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConvscopeError(f"{where}: the folder is not writable by this user; expected a "
                             "folder convscope can write the run's files into")
    if resume:
        return out
    if (out / "last.pt").exists():
        raise ConvscopeError(f"{out} already holds a run (last.pt); use --resume to continue "
                             "it or --out to start another")
    try:
        entries = sorted(p.name for p in out.iterdir())
    except OSError as err:
        raise ConvscopeError(f"{where}: cannot read the folder: {err.strerror}") from None
    if entries and not is_run_folder(out) and not config.force:
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5
                                          else "")
        raise ConvscopeError(f"{where}: the folder is not empty and is not a convscope run "
                             f"(it holds {shown}); choose a new or empty folder, or add "
                             "--force to write the run's files (config.json, result.json, "
                             "metrics.csv, best.pt, last.pt, ...) among them, replacing any "
                             "of the same name")
    return out


def make_run_directory(out: Path, rank: int) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConvscopeError(f"--out {out}: cannot create the run folder: {err.strerror}; "
                             "expected a path where this user can create a folder") from None
    if rank == 0:
        remove_stale_temporaries(out)


def train(config: TrainConfig, resume: bool = False, note: str = "") -> TrainResult:
    """Train ``config.model`` on ``config.data``; see the module docstring. ``note`` (where
    the settings came from, trainer/recipe.py) is printed with the run's first line."""
    config.check()
    out = check_run_directory(config, resume)
    rank, world = distributed()
    if config.batch_size % world:
        raise ConvscopeError(f"--batch-size {config.batch_size} must be divisible by the "
                             f"{world} processes (it is the global batch)")
    graph = load(config.model, config.input)
    step_macs = 3 * analyze(graph).totals.macs * config.batch_size // world
    torch.set_num_threads(threads_for(config, world, step_macs))
    trained, loss = training_graph(graph)
    classes = graph.shapes[graph.outputs[0]][0]
    data = load_data(config.data, graph.shapes[graph.inputs[0].name], classes,
                     config.val_fraction, config.download)
    describe_mismatch(data, graph, classes)
    device = pick_device(config.device, rank)
    core, model = build_model(config, trained, device, world)
    if world == 1 and device.type == "cpu" and torch.get_num_threads() > 1 and \
            not config.threads:  # a large step: time it with one thread and with all
        note = "\n".join(filter(None, [note, timed(model, data.train.x[:config.batch_size])]))
    optimizer = make_optimizer(config, core.parameters())
    scheduler, per_batch = make_schedule(config, optimizer,
                                         -(-len(data.train.y) // config.batch_size))
    ctx = Context(config, trained, loss, data, model, optimizer, scheduler, per_batch, device,
                  rank, world, out)
    begun = begin(ctx, resume)  # a refused resume writes nothing
    make_run_directory(out, rank)
    params = sum(p.numel() for p in core.parameters())
    extra = {"config": config.as_dict(), "description": description_of(config.model),
             "classes": data.classes, "mean": data.mean, "std": data.std, "loss": loss,
             "input_shape": list(data.input_shape)}
    if rank == 0:
        write_json(out / "config.json", {"format": RUN_FORMAT, **extra, "params": params,
                                         "world_size": world, "torch": torch.__version__})
        if not config.quiet:
            print(f"training '{graph.name}' ({params:,} parameters) on {config.data}: "
                  f"{len(data.train.y)} train / {len(data.val.y)} validation / "
                  f"{len(data.test.y)} test samples, {world} process(es), "
                  f"{torch.get_num_threads()} thread(s) each -> {out}", flush=True)
            if note:
                print(note, flush=True)
    state = fit(ctx, extra, begun)
    result = finish(ctx, core, state, params)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    return result


def finish(ctx: Context, core: torch.nn.Module, state: dict[str, Any],
           params: int) -> TrainResult:
    """Test the last and the best weights; write result.json, curves, weights."""
    out, history = ctx.out, state["history"]
    last_test = evaluate_split(ctx, ctx.data.test)["accuracy"]
    if (out / "best.pt").exists():
        core.load_state_dict(load_checkpoint(out / "best.pt")["model"])
    test = evaluate_split(ctx, ctx.data.test)["accuracy"]
    result = TrainResult(out, test, state["best"]["val_accuracy"], len(history),
                         sum(r["seconds"] for r in history), params, history)
    if ctx.rank == 0:
        write_json(out / "result.json", {
            "test_accuracy": test, "last_test_accuracy": last_test,
            "best_val_accuracy": result.best_val_accuracy, "best_epoch": state["best"]["epoch"],
            "epochs": result.epochs, "train_seconds": result.train_seconds, "params": params})
        write_curves(out, history)
        write_weights(out, core, ctx.config.weights_txt)
        write_safetensors(out, core.state_dict())
        if not ctx.config.quiet:
            print(f"test accuracy {test:.4f} (best validation {result.best_val_accuracy:.4f} at "
                  f"epoch {state['best']['epoch']}); {result.train_seconds:.1f} s of training; "
                  f"files in {out}", flush=True)
    return result
