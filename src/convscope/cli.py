"""The ``convscope`` command: argument parsing only; the work is in the library.

Exit status: 0 on success, 2 on bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from . import __version__
from .errors import ConvscopeError

EPILOG = "MODEL is a zoo id (convscope zoo), a .yaml/.json file or a one-line form in quotes."


def write_output(text: str, path: str | None) -> None:
    """Print, or write ``path`` atomically (temporary file + rename)."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    from .files import write_text_atomic

    print(f"wrote {write_text_atomic(path, text)}", file=sys.stderr)


# ------------------------------------------------------------------ commands ---
def cmd_summary(args: argparse.Namespace) -> None:
    from .analysis import analyze
    from .render import render
    from .spec import load

    report = analyze(load(args.model, args.input), batch=args.batch, dtype=args.dtype)
    write_output(render(report, args.format, args.columns), args.output)


def cmd_calc(args: argparse.Namespace) -> None:
    from .calc import calc

    extra: dict[str, Any] = {}
    for pair in args.set or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConvscopeError(f"--set wants key=value; received '{pair}'")
        from .spec.oneline import value as read_value

        extra[key] = read_value(value)
    for key in ("kernel", "stride", "padding", "dilation", "groups", "filters", "units"):
        given = getattr(args, key)
        if given is not None:
            extra[key] = given
    if args.ceil:
        extra["ceil_mode"] = True
    if args.nobias:
        extra["bias"] = False
    write_output("\n".join(calc(args.layer, args.input, extra)) + "\n", None)


def need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConvscopeError("this command needs PyTorch: pip install 'convscope[torch]'") \
            from None


def cmd_build(args: argparse.Namespace) -> None:
    from .spec import load

    graph = load(args.model, args.input)
    need_torch()
    from .torch.source import graph_source

    write_output(graph_source(graph, args.class_name), args.output)


def cmd_verify(args: argparse.Namespace) -> int:
    from .spec import load

    graph = load(args.model, args.input)
    need_torch()
    from .torch.verify import render_verification, verify

    result = verify(graph, rf=args.rf)
    write_output(render_verification(result, args.verbose), None)
    return 0 if result.ok else 1


def cmd_memory(args: argparse.Namespace) -> None:
    from .analysis.memory import training_memory
    from .render.memory import memory_json, memory_table
    from .spec import load

    graph = load(args.model, args.input)
    estimate = training_memory(graph, args.batch, args.dtype, args.optimizer)
    measured = None
    if args.measure:
        need_torch()
        from .torch.memory import measure_training_memory

        measured = measure_training_memory(graph, args.batch, args.dtype, args.optimizer,
                                           device=args.device)
    text = memory_json(estimate, measured) if args.format == "json" else \
        memory_table(estimate, measured)
    write_output(text, args.output)


def cmd_convolve(args: argparse.Namespace) -> None:
    from .teach.worked import Request, worked

    write_output(worked(Request(
        input=args.input, input_file=args.input_file, kernels=args.kernel or [],
        kernel_file=args.kernel_file, pool=args.pool, size=args.size, stride=args.stride,
        padding=args.padding, dilation=args.dilation, ceil=args.ceil, flip=args.flip,
        bias=args.bias or [], cell=args.cell, steps=args.steps, example=args.example)), None)


def cmd_explain(args: argparse.Namespace) -> None:
    from .spec import load
    from .teach.explain import explain_layer, rf_table

    graph = load(args.model, args.input)
    text = explain_layer(graph, args.layer, args.batch, args.dtype) if args.layer else \
        rf_table(graph)
    write_output(text, None)


def cmd_compare(args: argparse.Namespace) -> None:
    from .teach import compare

    if args.demo:
        text = compare.demo(args.demo, args.x)
        items = compare.entries(compare.demo_sources(args.demo, args.x)) if args.plot else []
    else:
        if len(args.models) < 2:
            raise ConvscopeError("compare needs at least two models (or --demo NAME)")
        items = compare.entries(args.models, None, args.input)
        text = compare.compare_table(items)
    write_output(text, None)
    if args.plot:
        compare.plot(items, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> None:
    need_torch()
    from .trainer import TrainConfig, train

    config = TrainConfig(
        model=args.model, data=args.data, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, momentum=args.momentum,
        weight_decay=args.weight_decay, schedule=args.schedule,
        label_smoothing=args.label_smoothing, seed=args.seed, input=args.input,
        val_fraction=args.val_fraction, augment=args.augment, out=args.out,
        device=args.device, threads=args.threads, compile=args.compile,
        channels_last=args.channels_last, download=args.download,
        weights_txt=args.weights_txt, quiet=args.quiet)
    train(config, resume=args.resume)


def cmd_evaluate(args: argparse.Namespace) -> None:
    need_torch()
    from .trainer.evaluate import evaluate, render_evaluation

    result = evaluate(args.source, args.data, args.split, args.download)
    write_output(render_evaluation(result, args.output), None)


def cmd_predict(args: argparse.Namespace) -> None:
    need_torch()
    from .trainer.evaluate import predict

    write_output(predict(args.source, args.inputs, args.top), None)


def cmd_zoo(args: argparse.Namespace) -> None:
    from .zoo_listing import zoo_table

    write_output(zoo_table(args.format), args.output)


def cmd_help(args: argparse.Namespace) -> None:
    from .help import topic

    write_output(topic(args.topic), None)


# -------------------------------------------------------------------- parser ---
def _summary_parser(sub: Any) -> None:
    from .render import FORMATS  # light: renderers import lazily

    p = sub.add_parser("summary", help="per-layer shapes, parameters, MACs, memory, receptive "
                       "field", description="Analyse a network exactly, without running it.",
                       epilog=EPILOG)
    p.add_argument("model", metavar="MODEL", help="zoo id, .yaml/.json file or one-line form")
    p.add_argument("--input", help="override the input shape, e.g. 224x224x3 (H x W x C)")
    p.add_argument("--batch", type=int, default=1,
                   help="samples per batch: scales MACs, FLOPs and activation memory (default 1)")
    p.add_argument("--dtype", default="float32",
                   help="float32 (default), float16, bfloat16, int8 or float64")
    p.add_argument("--format", "-f", default="table", choices=FORMATS, help="output format")
    p.add_argument("--columns", "-c", help="extra table columns, comma separated, or 'all': "
                   "input, formula, trainable, non_trainable, buffers, param_bytes, macs, flops, "
                   "other_ops, memory, rf, rf_stride, rf_start, filter, stride, padding, connected")
    p.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    p.set_defaults(run=cmd_summary)


def _calc_parser(sub: Any) -> None:
    p = sub.add_parser("calc", help="one layer's output size, parameters and MACs, step by "
                       "step", description="Work out one layer by hand, with the arithmetic "
                       "shown. Example: convscope calc conv --input 227x227x3 --kernel 11 "
                       "--stride 4 --filters 96")
    p.add_argument("layer", help="conv, pool (maxpool, avgpool), dense (fc), deconv, or any "
                   "layer type")
    p.add_argument("--input", required=True, help="input shape, e.g. 227x227x3 (H x W x C)")
    p.add_argument("--kernel", "-k", help="kernel size, e.g. 11 or 3x3")
    p.add_argument("--stride", "-s", help="stride (pooling default: the kernel size)")
    p.add_argument("--padding", "-p", help="padding: an integer, valid or same")
    p.add_argument("--dilation", "-d", help="dilation")
    p.add_argument("--groups", "-g", help="groups")
    p.add_argument("--filters", "-n", help="number of filters (output channels)")
    p.add_argument("--units", "-u", help="dense layer outputs")
    p.add_argument("--ceil", action="store_true", help="round up (ceil mode)")
    p.add_argument("--nobias", action="store_true", help="no bias")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any other argument of the layer type (repeatable)")
    p.set_defaults(run=cmd_calc)


def _torch_parsers(sub: Any) -> None:
    b = sub.add_parser("build", help="write runnable PyTorch source for a network",
                       description="Write a Python file defining the network as a torch.nn."
                       "Module (needs PyTorch).", epilog=EPILOG)
    b.add_argument("model", metavar="MODEL")
    b.add_argument("--input", help="override the input shape (H x W x C)")
    b.add_argument("--class-name", help="name of the generated class")
    b.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    b.set_defaults(run=cmd_build)
    v = sub.add_parser("verify", help="check the static numbers against PyTorch, layer by layer",
                       description="Build the network in PyTorch and compare, layer by layer, "
                       "parameters, buffers, output shapes, FLOPs (FlopCounterMode) and "
                       "receptive fields (gradient extent) with the static analysis. Exit "
                       "status 1 on any mismatch.", epilog=EPILOG)
    v.add_argument("model", metavar="MODEL")
    v.add_argument("--input", help="override the input shape (H x W x C)")
    v.add_argument("--rf", choices=("auto", "all", "none"), default="auto",
                   help="receptive fields to measure: where the stride changes and the last "
                   "spatial layer (auto), every spatial layer (all), or none")
    v.add_argument("--verbose", "-v", action="store_true", help="one row per layer, always")
    v.set_defaults(run=cmd_verify)
    m = sub.add_parser("memory", help="memory to train a network: weights, gradients, optimizer "
                       "state, saved activations, peak", description="Estimate the memory of "
                       "one training step; --measure checks it against PyTorch.", epilog=EPILOG)
    m.add_argument("model", metavar="MODEL")
    m.add_argument("--input", help="override the input shape (H x W x C)")
    m.add_argument("--batch", type=int, default=32, help="samples per batch (default 32)")
    m.add_argument("--dtype", default="float32", help="float32 (default), float16, bfloat16, "
                   "float64")
    m.add_argument("--optimizer", default="adam",
                   help="sgd, sgd_momentum, adam (default) or adamw")
    m.add_argument("--measure", action="store_true", help="also measure with PyTorch")
    m.add_argument("--device", default="meta", choices=("meta", "cpu"),
                   help="where --measure runs: meta (no memory used, default) or cpu")
    m.add_argument("--format", "-f", default="table", choices=("table", "json"))
    m.add_argument("-o", "--output", help="write to this file instead of stdout")
    m.set_defaults(run=cmd_memory)


def _teach_parsers(sub: Any) -> None:
    c = sub.add_parser("convolve", help="a worked convolution or pooling on small matrices",
                       description="Work a convolution (cross-correlation, as CNNs do) or a "
                       "pooling by hand: the output matrix and the arithmetic of a cell. "
                       "Matrices: rows separated by ';', channels by '|'. Example: convscope "
                       "convolve --example seed-edge")
    c.add_argument("--input", help='the input, e.g. "3 0 1 2; 1 5 8 9; ..."')
    c.add_argument("--input-file", help="a CSV file, or a NumPy .npy array (H x W x C)")
    c.add_argument("--kernel", "-k", action="append", help="a filter: a preset (vertical, "
                   "horizontal, sobel_x, sobel_y, scharr_x, identity, box, laplacian) or a "
                   "matrix; repeat for several filters")
    c.add_argument("--kernel-file", help="a filter from a CSV or .npy file")
    c.add_argument("--pool", choices=("max", "avg"), help="pool instead of convolving")
    c.add_argument("--size", type=int, default=2, help="pooling window (default 2)")
    c.add_argument("--stride", "-s", type=int, help="stride (convolution 1, pooling the size)")
    c.add_argument("--padding", "-p", default="0", help="an integer, valid or same")
    c.add_argument("--dilation", "-d", type=int, default=1)
    c.add_argument("--ceil", action="store_true", help="round the output size up (pooling)")
    c.add_argument("--flip", action="store_true", help="flip the kernel: a true convolution")
    c.add_argument("--bias", action="append", help="a bias per filter")
    c.add_argument("--cell", help="the output cell to work out, row,column (default 0,0)")
    c.add_argument("--steps", action="store_true", help="the arithmetic of every output cell")
    c.add_argument("--example", help="seed-edge, seed-vertical-edge, seed-rgb, seed-maxpool, "
                   "seed-avgpool, same-padding, stride-2")
    c.set_defaults(run=cmd_convolve)
    e = sub.add_parser("explain", help="every number of a layer derived step by step",
                       description="Explain a layer's numbers with the formulas and the "
                       "values, or (without --layer) the model's receptive-field recursion.",
                       epilog=EPILOG)
    e.add_argument("model", metavar="MODEL")
    e.add_argument("--layer", "-l", help="the layer to explain (its name)")
    e.add_argument("--input", help="override the input shape (H x W x C)")
    e.add_argument("--batch", type=int, default=1)
    e.add_argument("--dtype", default="float32")
    e.set_defaults(run=cmd_explain)
    k = sub.add_parser("compare", help="models side by side, or a classic comparison",
                       description="Compare descriptions side by side (params, MACs, memory, "
                       "receptive field, ratios), or run a demonstration: --demo 3x3 (one "
                       "5x5 against two 3x3, seed 004), inception (seed 001), fc-vs-conv "
                       "(seed 003), classics (VGG-16, ResNet-50, GoogLeNet).", epilog=EPILOG)
    k.add_argument("models", nargs="*", metavar="MODEL")
    k.add_argument("--demo", help="3x3, inception, fc-vs-conv or classics")
    k.add_argument("--x", type=int, default=28, help="map size for --demo 3x3 (default 28)")
    k.add_argument("--input", help="override every model's input shape (H x W x C)")
    k.add_argument("--plot", metavar="FILE.png", help="also draw bar charts (needs matplotlib)")
    k.set_defaults(run=cmd_compare)


def _train_parsers(sub: Any) -> None:
    t = sub.add_parser("train", help="train a network on a dataset (PyTorch)",
                       description="Train a description with PyTorch: progress bars, "
                       "validation every epoch, best/last checkpoints, curves, weights. Runs "
                       "under torchrun for data-parallel training.", epilog=EPILOG + " "
                       "Datasets: digits, mnist1d, folder:PATH, mnist:PATH, cifar10:PATH, "
                       "synthetic.")
    t.add_argument("model", metavar="MODEL")
    t.add_argument("--data", required=True, help="digits, mnist1d, folder:PATH, mnist:PATH, "
                   "cifar10:PATH or synthetic")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64, help="global batch size (default 64)")
    t.add_argument("--optimizer", default="adam", help="sgd, adam (default) or adamw")
    t.add_argument("--lr", type=float, help="learning rate (sgd 0.1, adam/adamw 0.001)")
    t.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--schedule", default="none", help="none, cosine, onecycle or step")
    t.add_argument("--label-smoothing", type=float, default=0.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--input", help="override the input shape (H x W x C)")
    t.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of the training data held out for validation (default 0.1)")
    t.add_argument("--augment", action="store_true", help="random crop and horizontal flip")
    t.add_argument("--out", help="run directory (default runs/MODEL-DATA-seedS)")
    t.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt")
    t.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    t.add_argument("--threads", type=int, help="threads per process (default: cores / "
                   "processes)")
    t.add_argument("--compile", action="store_true", help="torch.compile the model")
    t.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    t.add_argument("--download", action="store_true", help="fetch MNIST / CIFAR-10 if missing")
    t.add_argument("--weights-txt", default="auto", choices=("auto", "always", "never"),
                   help="write weights.txt (auto: up to 2M parameters)")
    t.add_argument("--quiet", "-q", action="store_true")
    t.set_defaults(run=cmd_train)
    e = sub.add_parser("evaluate", help="accuracy, per-class accuracy and confusion matrix of "
                       "a trained run")
    e.add_argument("source", metavar="RUN_DIR|CKPT")
    e.add_argument("--data", help="dataset (default: the run's)")
    e.add_argument("--split", default="test", choices=("train", "val", "test"))
    e.add_argument("--download", action="store_true")
    e.add_argument("-o", "--output", help="confusion matrix PNG (default RUN_DIR/confusion.png)")
    e.set_defaults(run=cmd_evaluate)
    p = sub.add_parser("predict", help="top-k classes of images (or .npy arrays)")
    p.add_argument("source", metavar="RUN_DIR|CKPT")
    p.add_argument("inputs", nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=int, default=3)
    p.set_defaults(run=cmd_predict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope", description="Exact shapes, parameters, memory, multiply-adds and "
        "receptive fields of convolutional neural networks.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _summary_parser(sub)
    _calc_parser(sub)
    _torch_parsers(sub)
    _teach_parsers(sub)
    _train_parsers(sub)
    z = sub.add_parser("zoo", help="list the zoo of classic networks")
    z.add_argument("--format", "-f", default="table", choices=("table", "json", "markdown"))
    z.add_argument("-o", "--output", help="write to this file instead of stdout")
    z.set_defaults(run=cmd_zoo)
    h = sub.add_parser("help", help="help topics: syntax, layers, json, conventions")
    h.add_argument("topic", nargs="?", default="topics")
    h.set_defaults(run=cmd_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int | None] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 0
    try:
        return run(args) or 0
    except ConvscopeError as err:
        print(f"convscope: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `convscope summary resnet152 | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
