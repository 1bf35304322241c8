"""The training commands: ``convscope train``, ``evaluate`` and ``predict`` (their
arguments and the calls into convscope.trainer, which imports torch only when run)."""

from __future__ import annotations

import argparse
from typing import Any

from .cli_output import need_torch, write_output

MODEL_HELP = ("the run's model, needed when it came from Python source (torchvision:, "
              "python:, FILE.py:Class): a checkpoint never makes convscope import code")


def train_parsers(sub: Any, epilog: str) -> None:
    t = sub.add_parser("train", help="train a network on a dataset (PyTorch)",
                       description="Train a description with PyTorch: progress bars, "
                       "validation every epoch, best/last checkpoints, curves, weights. Runs "
                       "under torchrun for data-parallel training. A description's train: "
                       "recipe for the dataset sets the defaults (the zoo's mnist1d and "
                       "digits models carry the recipes that reach their papers' numbers); "
                       "flags override it.", epilog=epilog + " "
                       "Datasets: digits, mnist1d, folder:PATH, mnist:PATH, cifar10:PATH, "
                       "synthetic.")
    t.add_argument("model", metavar="MODEL")
    t.add_argument("--data", required=True, help="digits, mnist1d, folder:PATH, mnist:PATH, "
                   "cifar10:PATH or synthetic")
    t.add_argument("--epochs", type=int, help="default 10, or the description's recipe")
    t.add_argument("--batch-size", type=int, help="global batch size (default 64)")
    t.add_argument("--optimizer", help="sgd, adam (default) or adamw")
    t.add_argument("--lr", type=float, help="learning rate (sgd 0.1, adam/adamw 0.001)")
    t.add_argument("--momentum", type=float, help="SGD momentum (default 0.9)")
    t.add_argument("--weight-decay", type=float, help="default 0")
    t.add_argument("--schedule", help="none (default), cosine, onecycle or step")
    t.add_argument("--label-smoothing", type=float, help="default 0")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--input", help="override the input shape (H x W x C)")
    t.add_argument("--val-fraction", type=float,
                   help="share of the training data held out for validation, > 0 and < 1 "
                   "(default 0.1)")
    t.add_argument("--augment", action="store_true", default=None,
                   help="random crop and horizontal flip")
    t.add_argument("--out", help="run directory (default runs/MODEL-DATA-seedS): a new or "
                   "empty folder, or an earlier run's")
    t.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt (or "
                   "best.pt when there is no last.pt); with a larger --epochs (and no "
                   "--schedule), extend a finished run")
    t.add_argument("--force", action="store_true", help="write the run into a non-empty "
                   "folder that is not a convscope run (files of the same names are replaced)")
    t.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    t.add_argument("--threads", type=int, help="threads per process (default: cores / "
                   "processes)")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    t.add_argument("--download", action="store_true", help="fetch MNIST / CIFAR-10 if missing")
    t.add_argument("--weights-txt", default="auto", choices=("auto", "always", "never"),
                   help="write weights.txt (auto: up to 2M parameters)")
    t.add_argument("--quiet", "-q", action="store_true")


def evaluate_parsers(sub: Any) -> None:
    e = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix of "
                       "a trained run")
    e.add_argument("source", metavar="RUN_DIR|CKPT")
    e.add_argument("--model", metavar="SOURCE", help=MODEL_HELP)
    e.add_argument("--data", help="dataset (default: the run's)")
    e.add_argument("--split", default="test", choices=("train", "val", "test"))
    e.add_argument("--download", action="store_true")
    e.add_argument("-o", "--output", help="confusion matrix PNG (default RUN_DIR/confusion.png)")
    p = sub.add_parser("predict", help="top-k classes of images (or .npy arrays)")
    p.add_argument("source", metavar="RUN_DIR|CKPT")
    p.add_argument("inputs", nargs="+", metavar="IMAGE")
    p.add_argument("--model", metavar="SOURCE", help=MODEL_HELP)
    p.add_argument("--top", type=int, default=3)


RECIPE = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "schedule",
          "label_smoothing", "augment", "val_fraction")


def cmd_train(args: argparse.Namespace) -> None:
    need_torch()
    from .trainer import train
    from .trainer.recipe import configure

    given = {k: getattr(args, k) for k in RECIPE}
    given.update(seed=args.seed, input=args.input, out=args.out, device=args.device,
                 threads=args.threads, compile=args.compile,
                 channels_last=args.channels_last, download=args.download,
                 weights_txt=args.weights_txt, quiet=args.quiet, force=args.force)
    config, note = configure(args.model, args.data, given)
    train(config, resume=args.resume, note=note)


def cmd_evaluate(args: argparse.Namespace) -> None:
    need_torch()
    from .trainer.evaluate import evaluate, render_evaluation

    result = evaluate(args.source, args.data, args.split, args.download, args.model)
    write_output(render_evaluation(result, args.output), None)


def cmd_predict(args: argparse.Namespace) -> None:
    need_torch()
    from .trainer.evaluate import predict

    write_output(predict(args.source, args.inputs, args.top, args.model), None)
