"""``convscope convolve``: the text of a worked convolution or pooling, and the seeds'
built-in examples."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import ConvscopeError, closest
from .convolve import (
    Settings,
    Volume,
    as_matrix,
    convolve,
    fmt,
    grid_text,
    kernel_from,
    output_size,
    parse_matrix,
    pool,
    read_matrix_file,
    resolve_padding,
    size_lines,
)

SEED_IMAGE = ("3 0 1 2 7 4; 1 5 8 9 3 1; 2 7 2 5 1 3; 0 1 3 1 7 8; 4 2 1 6 2 8; "
              "2 4 5 2 3 9")
HALF_BRIGHT = "; ".join(["10 10 10 0 0 0"] * 6)
POOL_INPUT = "1 3 2 1; 2 9 1 1; 1 3 2 3; 5 6 1 2"

EXAMPLES: dict[str, dict[str, object]] = {
    "seed-edge": {"input": SEED_IMAGE, "kernel": ["vertical"],
                  "about": "seeds 000 and 001: a 6x6 image and a 3x3 vertical-edge filter; "
                           "the first output is -5"},
    "seed-vertical-edge": {"input": HALF_BRIGHT, "kernel": ["vertical"],
                           "about": "seed 000: bright on the left, dark on the right; the "
                                    "vertical edge shows as a bright band in the middle"},
    "seed-rgb": {"input": " | ".join([SEED_IMAGE] * 3),
                 "kernel": ["vertical | vertical | vertical",
                            "horizontal | horizontal | horizontal"],
                 "about": "seed 000: a 6x6x3 input and two 3x3x3 filters give 4x4x2"},
    "seed-maxpool": {"input": POOL_INPUT, "pool": "max", "size": 2,
                     "about": "2x2 max pooling with stride 2 (seed 000): each output is the "
                              "largest value of its window"},
    "seed-avgpool": {"input": POOL_INPUT, "pool": "avg", "size": 2,
                     "about": "2x2 average pooling with stride 2 (seed 000): each output is "
                              "the mean of its window"},
    "same-padding": {"input": SEED_IMAGE, "kernel": ["vertical"], "padding": "same",
                     "about": "padding 'same': one ring of zeros keeps the 6x6 size "
                              "(n + 2p - f + 1 = 6 + 2 - 3 + 1)"},
    "stride-2": {"input": "; ".join(" ".join(str(7 * r + c) for c in range(7))
                                    for r in range(7)), "kernel": ["box"], "stride": 2,
                 "about": "stride 2 on a 7x7 input: floor((7 - 3) / 2) + 1 = 3"},
}


@dataclass
class Request:
    input: str | None = None
    input_file: str | None = None
    kernels: list[str] = field(default_factory=list)
    kernel_file: str | None = None
    pool: str | None = None
    size: int = 2
    stride: int | None = None
    padding: str = "0"
    dilation: int = 1
    ceil: bool = False
    flip: bool = False
    bias: list[str] = field(default_factory=list)
    cell: str | None = None
    steps: bool = False
    example: str | None = None


def from_example(req: Request) -> Request:
    if req.example is None:
        return req
    if req.example not in EXAMPLES:
        raise ConvscopeError(f"no example '{req.example}'.{closest(req.example, list(EXAMPLES))}"
                             f" Examples: {', '.join(EXAMPLES)}")
    ex: dict[str, Any] = dict(EXAMPLES[req.example])
    return Request(input=str(ex["input"]), kernels=list(ex.get("kernel", [])),
                   pool=ex.get("pool"), size=int(ex.get("size", 2)), stride=ex.get("stride"),
                   padding=str(ex.get("padding", "0")), cell=req.cell, steps=req.steps,
                   flip=req.flip)


def chosen(cell: str | None, shape: tuple[int, int]) -> tuple[int, int]:
    if cell is None:
        return (0, 0)
    try:
        i, j = (int(v) for v in cell.replace(" ", "").split(","))
    except ValueError:
        raise ConvscopeError(f"--cell wants row,column (0-based), e.g. 1,2; received "
                             f"'{cell}'") from None
    if not (0 <= i < shape[0] and 0 <= j < shape[1]):
        raise ConvscopeError(f"--cell {i},{j} is outside the {shape[0]}x{shape[1]} output")
    return (i, j)


def worked(req: Request) -> str:
    """The whole worked example as text."""
    name = req.example
    req = from_example(req)
    about = str(EXAMPLES[name]["about"]) if name else ""
    if (req.input is None) == (req.input_file is None):
        raise ConvscopeError("give the input matrix with --input \"1 2; 3 4\" or --input-file "
                             "(or use --example)")
    volume: Volume = parse_matrix(req.input) if req.input is not None else \
        read_matrix_file(str(req.input_file), "input")
    size = (len(volume[0]), len(volume[0][0]))
    lines = [f"Example {name}: {about}", ""] if about else []
    lines += [f"Input ({size[0]}x{size[1]}, {len(volume)} channel{'s' * (len(volume) > 1)}):"]
    for c, m in enumerate(volume):
        if len(volume) > 1:
            lines.append(f" channel {c + 1}:")
        lines += grid_text(m)
    if req.pool:
        return "\n".join(lines + pooled(req, volume, size)) + "\n"
    return "\n".join(lines + convolved(req, volume, size)) + "\n"


def settings(req: Request, size: tuple[int, int], window: tuple[int, int],
             default_stride: int) -> Settings:
    for name, value in (("stride", req.stride), ("dilation", req.dilation),
                        ("size", req.size)):
        if value is not None and value < 1:
            raise ConvscopeError(f"--{name} must be >= 1; received {value}")
    stride = (req.stride or default_stride,) * 2
    dilation = (req.dilation,) * 2
    return Settings(stride, resolve_padding(req.padding, size, window, stride, dilation),
                    dilation)


def convolved(req: Request, volume: Volume, size: tuple[int, int]) -> list[str]:
    kernels = [kernel_from(k) for k in req.kernels] or [read_matrix_file(str(req.kernel_file),
                                                                         "kernel")] \
        if req.kernels or req.kernel_file else []
    if not kernels:
        raise ConvscopeError("give a kernel with --kernel (a preset such as vertical, or a "
                             "matrix), or choose --pool max|avg")
    if len(volume) > 1:  # one 2-D preset for a C-channel input: the same on every channel
        kernels = [k * len(volume) if len(k) == 1 else k for k in kernels]
    shapes = {(len(k[0]), len(k[0][0])) for k in kernels}
    if len(shapes) != 1:
        raise ConvscopeError("all filters must have the same size")
    window = shapes.pop()
    s = settings(req, size, window, 1)
    out = output_size(size, window, s)
    biases = [Fraction(b) for b in req.bias] or [Fraction(0)] * len(kernels)
    if len(biases) != len(kernels):
        raise ConvscopeError(f"{len(biases)} biases for {len(kernels)} filters")
    op = "convolution (kernel flipped)" if req.flip else \
        "cross-correlation (what CNNs call convolution: the kernel is not flipped)"
    lines = [f"{len(kernels)} filter(s) of {window[0]}x{window[1]}x{len(volume)}, "
             f"stride {s.stride[0]}, padding {fmt_padding(s)}, dilation {s.dilation[0]}; {op}"]
    for f, k in enumerate(kernels):
        lines.append(f"Filter {f + 1}{f' (bias {fmt(biases[f])})' if biases[f] else ''}:")
        for c, m in enumerate(k):
            if len(k) > 1:
                lines.append(f" channel {c + 1}:")
            lines += grid_text(m)
    lines += size_lines(size, window, s, out)
    lines.append(f"Output: {out[0]}x{out[1]}x{len(kernels)} (one channel per filter)")
    results = [convolve(volume, k, s, b, req.flip) for k, b in zip(kernels, biases, strict=True)]
    for f, cells in enumerate(results):
        if len(results) > 1:
            lines.append(f" filter {f + 1}:")
        lines += grid_text(as_matrix(cells))
    return lines + arithmetic(req, results, volume, out)


def fmt_padding(s: Settings) -> str:
    (t, b), (lft, r) = s.padding
    return str(t) if t == b == lft == r else f"top {t}, bottom {b}, left {lft}, right {r}"


def pooled(req: Request, volume: Volume, size: tuple[int, int]) -> list[str]:
    if req.pool not in ("max", "avg"):
        raise ConvscopeError(f"--pool must be max or avg; received '{req.pool}'")
    window = (req.size, req.size)
    s = settings(req, size, window, req.size)
    out = output_size(size, window, s, req.ceil)
    lines = [f"{req.pool} pooling {req.size}x{req.size}, stride {s.stride[0]}, padding "
             f"{fmt_padding(s)}"]
    lines += size_lines(size, window, s, out, req.ceil)
    results = pool(volume, window, s, req.pool, req.ceil)
    lines.append(f"Output: {out[0]}x{out[1]}x{len(volume)} (pooling keeps the channels)")
    for c, cells in enumerate(results):
        if len(results) > 1:
            lines.append(f" channel {c + 1}:")
        lines += grid_text(as_matrix(cells))
    return lines + arithmetic(req, results, volume, out)


def arithmetic(req: Request, results: list, volume: Volume, out: tuple[int, int]) -> list[str]:
    lines = []
    target = None if req.steps else chosen(req.cell, out)
    for f, cells in enumerate(results):
        for cell in cells:
            if target is not None and (cell.row, cell.col) != target:
                continue
            label = f"[{cell.row},{cell.col}]" + (f" of output {f + 1}" if len(results) > 1
                                                  else "")
            lines.append(f"Output{label} = {cell.text}")
            if not req.steps:
                r0, r1, c0, c1 = cell.region
                lines.append(f"Input region (rows {r0}-{r1}, columns {c0}-{c1}; negative or "
                             "past the end = padding):")
                lines += grid_text(volume[min(f, len(volume) - 1)] if req.pool else volume[0],
                                   cell.region)
    return lines
