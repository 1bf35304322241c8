"""Worked numeric convolutions and poolings on small matrices (``convscope convolve``).

As the seeds note, a CNN's "convolution" is a cross-correlation: the kernel slides over
the input unflipped, each output value is the sum of the element-wise products of the
window and the kernel (plus the bias). ``flip=True`` flips the kernel first (a true
convolution). Arithmetic is exact (fractions), so average pooling prints 3.75, not
3.7499999.

Matrices are written row by row, rows separated by ';', values by spaces or commas, and
channels separated by '|': ``"3 0 1; 1 5 8 | 2 7 2; 0 1 3"`` is a 2x3 input with two
channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import ConvscopeError, closest
from ..layers.window import same_padding, window_formula, window_out_len

Matrix = list[list[Fraction]]  # rows of values
Volume = list[Matrix]  # channels of matrices

PRESETS: dict[str, list[list[int]]] = {
    "vertical": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel_x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel_y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "scharr_x": [[3, 0, -3], [10, 0, -10], [3, 0, -3]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box": [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}


def number(text: str) -> Fraction:
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ConvscopeError(f"'{text}' is not a number") from None


def parse_matrix(text: str, what: str = "input") -> Volume:
    """'3 0 1; 1 5 8 | 2 7 2; 0 1 3' -> channels of rows (all rows of equal length)."""
    volume: Volume = []
    for channel in text.split("|"):
        rows = [r.replace(",", " ").split() for r in channel.strip().strip(";").split(";")]
        rows = [r for r in rows if r]
        if not rows:
            raise ConvscopeError(f"{what}: empty matrix; write rows separated by ';' "
                                 "(e.g. \"1 2; 3 4\")")
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            raise ConvscopeError(f"{what}: rows have different lengths {sorted(widths)}; every "
                                 "row needs the same number of values")
        volume.append([[number(v) for v in r] for r in rows])
    shapes = {(len(m), len(m[0])) for m in volume}
    if len(shapes) != 1:
        raise ConvscopeError(f"{what}: channels have different sizes "
                             f"{sorted(f'{h}x{w}' for h, w in shapes)}")
    return volume


def read_matrix_file(path: str, what: str) -> Volume:
    """A CSV file (one channel) or a NumPy .npy array (H x W or H x W x C)."""
    file = Path(path)
    if not file.exists():
        raise ConvscopeError(f"{path}: no such file")
    if file.suffix == ".npy":
        try:
            import numpy as np
        except ImportError:
            raise ConvscopeError("reading .npy files needs NumPy: pip install numpy") from None
        array = np.load(file, allow_pickle=False)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ConvscopeError(f"{path}: expected an H x W or H x W x C array; received "
                                 f"shape {array.shape}")
        return [[[Fraction(str(v)) for v in row] for row in array[:, :, c].tolist()]
                for c in range(array.shape[2])]
    text = file.read_text(encoding="utf-8")
    return parse_matrix(";".join(line for line in text.splitlines() if line.strip()), what)


def kernel_from(text: str) -> Volume:
    """A preset name or an inline matrix, per channel ('vertical | horizontal')."""
    volume: Volume = []
    for part in text.split("|"):
        name = part.strip().lower()
        if name in PRESETS:
            volume.append([[Fraction(v) for v in row] for row in PRESETS[name]])
        elif not any(ch.isdigit() for ch in part):
            raise ConvscopeError(f"unknown kernel preset '{part.strip()}'."
                                 f"{closest(name, list(PRESETS))} Presets: {', '.join(PRESETS)}")
        else:
            volume += parse_matrix(part, "kernel")
    if len({(len(m), len(m[0])) for m in volume}) != 1:
        raise ConvscopeError("kernel: channels have different sizes")
    return volume


def fmt(x: Fraction) -> str:
    if x.denominator == 1:
        return str(x.numerator)
    return f"{float(x):.6g}"


def fmt_term(x: Fraction) -> str:
    return f"({fmt(x)})" if x < 0 else fmt(x)


@dataclass(frozen=True)
class Settings:
    stride: tuple[int, int] = (1, 1)
    padding: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    dilation: tuple[int, int] = (1, 1)


def resolve_padding(text: str, size: tuple[int, int], kernel: tuple[int, int],
                    stride: tuple[int, int], dilation: tuple[int, int]
                    ) -> tuple[tuple[int, int], tuple[int, int]]:
    """'valid', 'same' (TensorFlow's rule) or an integer p (p on every side)."""
    text = str(text).strip().lower()
    if text == "valid":
        return ((0, 0), (0, 0))
    if text == "same":
        a = same_padding(size[0], dilation[0] * (kernel[0] - 1) + 1, stride[0])
        b = same_padding(size[1], dilation[1] * (kernel[1] - 1) + 1, stride[1])
        return (a, b)
    if not text.isdigit():
        raise ConvscopeError(f"padding must be valid, same or an integer >= 0; received "
                             f"'{text}'")
    p = int(text)
    return ((p, p), (p, p))


def padded(volume: Volume, padding: tuple[tuple[int, int], tuple[int, int]],
           fill: Fraction | None = Fraction(0)) -> list[list[list[Fraction | None]]]:
    (top, bottom), (left, right) = padding
    out = []
    for m in volume:
        width = len(m[0]) + left + right
        rows: list[list[Fraction | None]] = [[fill] * width for _ in range(top)]
        rows += [[fill] * left + list(r) + [fill] * right for r in m]
        rows += [[fill] * width for _ in range(bottom)]
        out.append(rows)
    return out


@dataclass(frozen=True)
class Cell:
    """One output value with its arithmetic."""

    row: int
    col: int
    value: Fraction
    text: str  # '3*1 + 1*1 + ... = -5'
    region: tuple[int, int, int, int]  # first/last input row, first/last input column


def output_size(size: tuple[int, int], window: tuple[int, int], s: Settings,
                ceil_mode: bool = False) -> tuple[int, int]:
    from ..errors import LayerRuleError

    try:
        return (window_out_len(size[0], window[0], s.stride[0], s.padding[0], s.dilation[0],
                               ceil_mode, axis="rows"),
                window_out_len(size[1], window[1], s.stride[1], s.padding[1], s.dilation[1],
                               ceil_mode, axis="columns"))
    except LayerRuleError as err:
        raise ConvscopeError(str(err)) from None


def convolve(volume: Volume, kernel: Volume, s: Settings, bias: Fraction = Fraction(0),
             flip: bool = False) -> list[Cell]:
    """Cross-correlation of a C-channel input with one C-channel kernel (column-major terms,
    as the seeds write them)."""
    if len(kernel) != len(volume):
        raise ConvscopeError(f"the kernel has {len(kernel)} channel(s) but the input has "
                             f"{len(volume)}; a filter spans every input channel")
    if flip:
        kernel = [[list(reversed(r)) for r in reversed(m)] for m in kernel]
    kh, kw = len(kernel[0]), len(kernel[0][0])
    size = (len(volume[0]), len(volume[0][0]))
    oh, ow = output_size(size, (kh, kw), s)
    grid = padded(volume, s.padding)
    top, left = s.padding[0][0], s.padding[1][0]
    cells = []
    for i in range(oh):
        for j in range(ow):
            parts, total = [], Fraction(0)
            r0, c0 = i * s.stride[0], j * s.stride[1]
            for c, (channel, weights) in enumerate(zip(grid, kernel, strict=True)):
                terms = []
                for b in range(kw):
                    for a in range(kh):
                        x = channel[r0 + a * s.dilation[0]][c0 + b * s.dilation[1]]
                        w = weights[a][b]
                        assert x is not None
                        terms.append(f"{fmt_term(x)}*{fmt_term(w)}")
                        total += x * w
                parts.append(" + ".join(terms) if len(kernel) == 1 else
                             f"[channel {c + 1}: " + " + ".join(terms) + "]")
            if bias:
                parts.append(fmt_term(bias))
                total += bias
            region = (r0 - top, r0 - top + (kh - 1) * s.dilation[0],
                      c0 - left, c0 - left + (kw - 1) * s.dilation[1])
            cells.append(Cell(i, j, total, " + ".join(parts) + f" = {fmt(total)}", region))
    return cells


def pool(volume: Volume, size: tuple[int, int], s: Settings, mode: str,
         ceil_mode: bool = False) -> list[list[Cell]]:
    """Max or average pooling, per channel. Max ignores the padding; average counts padded
    positions as zeros, and a window running past the padded input (ceil mode) divides by
    the positions it covers, as PyTorch does."""
    shape = (len(volume[0]), len(volume[0][0]))
    oh, ow = output_size(shape, size, s, ceil_mode)
    grid = padded(volume, s.padding, None)  # None marks the padding
    top, left = s.padding[0][0], s.padding[1][0]
    out = []
    for channel in grid:
        cells = []
        for i in range(oh):
            for j in range(ow):
                r0, c0 = i * s.stride[0], j * s.stride[1]
                inside = [(r0 + a * s.dilation[0], c0 + b * s.dilation[1])
                          for a in range(size[0]) for b in range(size[1])
                          if r0 + a * s.dilation[0] < len(channel)
                          and c0 + b * s.dilation[1] < len(channel[0])]
                values = [channel[r][c] for r, c in inside]
                real = [v for v in values if v is not None]
                if mode == "max":
                    value = max(real)
                    text = f"max({', '.join(fmt(v) for v in real)}) = {fmt(value)}"
                else:
                    value = sum(real, Fraction(0)) / len(values)
                    terms = " + ".join(fmt_term(v) if v is not None else "0" for v in values)
                    text = f"({terms}) / {len(values)} = {fmt(value)}"
                region = (r0 - top, r0 - top + (size[0] - 1) * s.dilation[0],
                          c0 - left, c0 - left + (size[1] - 1) * s.dilation[1])
                cells.append(Cell(i, j, value, text, region))
        out.append(cells)
    return out


def grid_text(matrix: list[list[Fraction]], region: tuple[int, int, int, int] | None = None,
              indent: str = "  ") -> list[str]:
    """A matrix with right-aligned columns; the cells of ``region`` in brackets."""
    texts = [[fmt(v) for v in row] for row in matrix]
    width = max(len(t) for row in texts for t in row)
    lines = []
    for i, row in enumerate(texts):
        cells = []
        for j, t in enumerate(row):
            inside = region is not None and region[0] <= i <= region[1] and \
                region[2] <= j <= region[3]
            cells.append(f"[{t:>{width}}]" if inside else f" {t:>{width}} ")
        lines.append(indent + "".join(cells).rstrip())
    return lines


def as_matrix(cells: list[Cell]) -> list[list[Fraction]]:
    rows: dict[int, list[Fraction]] = {}
    for c in cells:
        rows.setdefault(c.row, []).append(c.value)
    return [rows[i] for i in sorted(rows)]


def size_lines(size: tuple[int, int], window: tuple[int, int], s: Settings,
               out: tuple[int, int], ceil_mode: bool = False) -> list[str]:
    lines = ["output size: out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1"
             if not ceil_mode else "output size: out = ceil((n + p_before + p_after - "
             "d*(k-1) - 1) / s) + 1"]
    for axis, n, k, st, p, d, o in zip(("rows", "columns"), size, window, s.stride, s.padding,
                                       s.dilation, out, strict=True):
        lines.append(f"  {axis}: {window_formula(n, k, st, p, d, ceil_mode, o)}")
    return lines
