"""The ``convscope`` command: argument parsing only; the work is in the library.

Exit status: 0 on success, 2 on bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConvscopeError

EPILOG = "MODEL is a zoo id (convscope zoo), a .yaml/.json file or a one-line form in quotes."


def write_output(text: str, path: str | None) -> None:
    """Print, or write ``path`` atomically (temporary file + rename)."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as err:
        raise ConvscopeError(f"{path}: cannot write the output: {err}") from None
    print(f"wrote {target}", file=sys.stderr)


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope", description="Exact shapes, parameters, memory, multiply-adds and "
        "receptive fields of convolutional neural networks.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _summary_parser(sub)
    _calc_parser(sub)
    _torch_parsers(sub)
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
