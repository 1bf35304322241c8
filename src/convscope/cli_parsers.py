"""The ``convscope`` command line: one parser per command, no work and no heavy imports.

The commands themselves are the ``cmd_*`` functions of cli.py, found by command name.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace
from typing import Any

from .cli_train import evaluate_parsers, train_parsers
from .version import __version__

EPILOG = ("MODEL is a zoo id (convscope zoo), a .yaml/.json description, a one-line form in "
          "quotes, a Keras .keras file or model.to_json() config, an .onnx file, "
          "keras:ResNet50, torchvision:resnet50, timm:convnext_atto or path/to/file.py:ClassName "
          "(with --input).")
_SKIPPED = SimpleNamespace(add_argument=lambda *args, **kwargs: None)  # a command not run


def _positive_int(text: str) -> int:
    """A whole number from 1 to 10**18 - 1 (ASCII digits; the maximum is said when passed)."""
    largest = 10**18 - 1
    digits = text.strip()
    shown = repr(text[:40]) + (f"...({len(text):,} characters)" if len(text) > 40 else "")
    if not (digits.isascii() and digits.isdigit()):
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {largest:,}; "
                                         f"received {shown}")
    if len(digits.lstrip("0")) > len(str(largest)):
        raise argparse.ArgumentTypeError(f"a number of {len(digits.lstrip('0')):,} digits is "
                                         f"above the maximum, {largest:,}; received {shown}")
    value = int(digits)
    if not 1 <= value <= largest:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {largest:,}; "
                                         f"received {shown}")
    return value


class _MaxLayers(argparse.Action):
    """``--max-layers N``: sets limits.MAX_LAYERS_ENV, which limits.max_layers() reads."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        import os

        from .limits import MAX_LAYERS_ENV

        os.environ[MAX_LAYERS_ENV] = str(values)
        setattr(namespace, self.dest, values)


def _summary_parser(sub: Any) -> None:
    from .render import FORMATS  # light: renderers import lazily

    p = sub.add_parser("summary", help="per-layer shapes, parameters, MACs, memory, receptive "
                       "field", description="Analyse a network exactly, without running it.",
                       epilog=EPILOG)
    p.add_argument("model", metavar="MODEL", help="zoo id, description file, one-line form, "
                   ".keras/.onnx file or keras:/torchvision:/timm:/file.py: source (see below)")
    p.add_argument("--input", help="override the input shape, e.g. 224x224x3 (H x W x C)")
    p.add_argument("--batch", type=int, default=1,
                   help="samples per batch: scales MACs, FLOPs and activation memory (default 1)")
    p.add_argument("--dtype", default="float32",
                   help="float32 (default), float16, bfloat16, int8 or float64")
    p.add_argument("--format", "-f", default="table", choices=FORMATS, help="output format")
    p.add_argument("--columns", "-c", help="extra table columns, comma separated, or 'all': "
                   "input, formula, trainable, non_trainable, buffers, param_bytes, macs, flops, "
                   "other_ops, memory, rf, rf_stride, rf_start, filter, stride, padding, connected")
    p.add_argument("--depth", type=int, metavar="N", help="one row per module N levels deep "
                   "(layer names are module paths: layer1.0.conv1 is 3 levels), its counts "
                   "summed (like torchinfo's depth; default: every layer)")
    p.add_argument("--lint", action="store_true", help="print the design findings (convscope "
                   "lint) after the summary, on stderr")
    p.add_argument("-o", "--output", help="write to this file (atomically) instead of stdout")
    q = sub.add_parser("lint", help="what is questionable in a design: wasted parameters, "
                       "input never read, receptive field, ...", epilog=EPILOG,
                       description="Design findings with the rule, the layer and the numbers "
                       "(convscope help lint lists the rules). Exit status 0, or 1 with "
                       "--strict when any finding is a warning.")
    q.add_argument("model", metavar="MODEL")
    q.add_argument("--input", help="override the input shape (H x W x C)")
    q.add_argument("--dtype", default="float32", help="float16 / bfloat16 add the "
                   "channel-multiple rule")
    q.add_argument("--strict", action="store_true", help="exit 1 when any finding is a warning")


def _profile_parser(sub: Any) -> None:
    p = sub.add_parser("profile", help="measured latency per layer beside the static MACs "
                       "(PyTorch)", epilog=EPILOG, description="Build the network in PyTorch, "
                       "run it on random inputs (warm-up, then the median of N timed runs) and "
                       "report each layer's time, share, MACs and GFLOP/s. Layer times come "
                       "from hooks on each layer's module; measured on this machine, they "
                       "vary from run to run.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--input", help="override the input shape (H x W x C)")
    p.add_argument("--batch", type=int, default=1, help="samples per run (default 1)")
    p.add_argument("--runs", type=int, default=20, help="timed runs (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    p.add_argument("--backward", action="store_true", help="time the backward pass too")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--top", type=int, default=10, help="how many slowest layers to list")
    p.add_argument("--format", "-f", default="table", choices=("table", "json"))
    p.add_argument("--plot", metavar="FILE", help="operations versus latency chart (.png/.svg)")
    p.add_argument("-o", "--output", help="write to this file (atomically)")


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


def _torch_parsers(sub: Any) -> None:
    b = sub.add_parser("build", help="write the network as PyTorch source, a Keras model or "
                       "ONNX", description="Write a Python file defining the network as a "
                       "torch.nn.Module (default; needs PyTorch), a Keras 3 .keras file "
                       "(--to keras; needs keras) or an ONNX file (--to onnx; needs PyTorch "
                       "and onnx). Weights are freshly initialised.", epilog=EPILOG)
    b.add_argument("model", metavar="MODEL")
    b.add_argument("--to", choices=("torch", "keras", "onnx"), default="torch",
                   help="torch source (default), keras (.keras file) or onnx (.onnx file)")
    b.add_argument("--input", help="override the input shape (H x W x C)")
    b.add_argument("--class-name", help="name of the generated class (torch)")
    b.add_argument("-o", "--output", help="write to this file (atomically); required for "
                   "keras and onnx, else stdout")
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
    m.add_argument("--fit", metavar="SIZE", help="the largest batch whose estimated peak fits "
                   "in SIZE (16GB; KB = 1024 B)")
    m.add_argument("--amp", choices=("bf16", "fp16"), help="mixed precision as torch.autocast "
                   "runs it: 16-bit activations, float32 weights and optimizer state")
    m.add_argument("--checkpointing", action="store_true", help="activation checkpointing, "
                   "one checkpoint per block (residual / Inception blocks)")
    m.add_argument("--target", default="cpu", choices=("cpu", "cuda"), help="the device the "
                   "estimate is for: cpu (default; exact tensor bytes, the CPU's autocast "
                   "lists) or cuda (CUDA's autocast lists, allocations rounded up to 512 B, "
                   "Adam's step counters on the CPU; --measure reads the GPU's peak)")
    m.add_argument("--measure", action="store_true", help="also measure with PyTorch")
    m.add_argument("--device", default=None, choices=("meta", "cpu"),
                   help="where --measure runs: meta (no memory used; the default) or cpu "
                   "(the default with --amp: autocast runs on the CPU)")
    m.add_argument("--format", "-f", default="table", choices=("table", "json"))
    m.add_argument("-o", "--output", help="write to this file instead of stdout")


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
    e = sub.add_parser("explain", help="every number of a layer derived step by step",
                       description="Explain a layer's numbers with the formulas and the "
                       "values, or (without --layer) the model's receptive-field recursion.",
                       epilog=EPILOG)
    e.add_argument("model", metavar="MODEL")
    e.add_argument("--layer", "-l", help="the layer to explain (its name)")
    e.add_argument("--input", help="override the input shape (H x W x C)")
    e.add_argument("--batch", type=int, default=1)
    e.add_argument("--dtype", default="float32")
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


def _picture_parsers(sub: Any) -> None:
    d = sub.add_parser("draw", help="draw the architecture (SVG or PNG)",
                       description="Draw a network: 'blocks' is the LeNet/AlexNet picture "
                       "(feature maps as 3-D boxes, kernels, bars for dense layers, branches "
                       "and folded repeats), 'graph' a top-down layered graph.", epilog=EPILOG)
    d.add_argument("model", metavar="MODEL")
    d.add_argument("-o", "--output", help="net.svg or net.png (default: SVG on stdout)")
    d.add_argument("--style", default="blocks", choices=("blocks", "graph"))
    d.add_argument("--labels", default="name,shape,params",
                   help="comma list of name, type, shape, params, rf (default "
                   "name,shape,params)")
    d.add_argument("--input", help="override the input shape (H x W x C)")
    d.add_argument("--width", type=int, default=1600, help="blocks style: wrap rows at this "
                   "many pixels (default 1600)")
    d.add_argument("--depth", type=int, metavar="N", help="graph style: one box per module "
                   "N levels deep (layer1 at 1, layer1.0 at 2), its counts summed")
    p = sub.add_parser("plot", help="bar charts of parameters, MACs, memory; receptive-field "
                       "growth (matplotlib)", epilog=EPILOG)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--what", default="params", choices=("params", "macs", "memory", "rf"))
    p.add_argument("-o", "--output", required=True, help="the picture (.png or .svg)")
    p.add_argument("--input", help="override the input shape (H x W x C)")
    p.add_argument("--dtype", default="float32")
    r = sub.add_parser("report", help="one self-contained HTML report (table, diagram, plots, "
                       "receptive fields)", epilog=EPILOG)
    r.add_argument("model", metavar="MODEL")
    r.add_argument("-o", "--output", required=True, help="the report file, e.g. report.html")
    r.add_argument("--input", help="override the input shape (H x W x C)")
    r.add_argument("--dtype", default="float32")
    w = sub.add_parser("serve", help="a local web page: edit a description, see the table, "
                       "the diagram and the errors as you type")
    from .web import options

    w.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1: this "
                   "machine only; any other address is reachable from other machines)")
    w.add_argument("--port", type=options.port, default=8000, help="TCP port, 1-65535 "
                   "(default 8000)")
    w.add_argument("--workers", type=options.workers, default=2, help="processes that run "
                   "the analyses, each one at a time (default 2)")
    w.add_argument("--time-limit", type=options.seconds, default=10.0, metavar="SECONDS",
                   help="an analysis taking longer is stopped and answered 504 (default 10)")
    w.add_argument("--memory-limit", type=options.megabytes, default=2048, metavar="MB",
                   help="memory a worker may use beyond its idle size (default 2048 MB)")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line; given ``argv``, only the parser of the command it runs (issue 16)."""
    command = argv[0] if argv else None
    parser = argparse.ArgumentParser(
        prog="convscope", description="Exact shapes, parameters, memory, multiply-adds and "
        "receptive fields of convolutional neural networks.", epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    parser.add_argument("--max-layers", type=_positive_int, action=_MaxLayers, metavar="N",
                        help="the most layers a description may expand to (default 200,000; "
                        "also CONVSCOPE_MAX_LAYERS)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if command is not None:
        add = sub.add_parser
        sub.add_parser = lambda name, **kw: add(name, **kw) if name == command else _SKIPPED
    _summary_parser(sub)
    _profile_parser(sub)
    _calc_parser(sub)
    _torch_parsers(sub)
    _teach_parsers(sub)
    train_parsers(sub, EPILOG)
    evaluate_parsers(sub)
    _picture_parsers(sub)
    z = sub.add_parser("zoo", help="list the zoo of classic networks")
    z.add_argument("--format", "-f", default="table", choices=("table", "json", "markdown"))
    z.add_argument("-o", "--output", help="write to this file instead of stdout")
    h = sub.add_parser("help", help="help topics: syntax, layers, json, conventions")
    h.add_argument("topic", nargs="?", default="topics")
    if command is not None and command not in sub.choices:  # not a command: the whole parser
        return build_parser()
    return parser
