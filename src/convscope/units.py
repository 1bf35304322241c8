"""Number formatting, with the units stated (KB = 1024 B, as the seeds print); shared by the
explanations (analysis/explain.py) and the renderers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from fractions import Fraction

    from .analysis.receptive_field import Field


def thousands(n: int) -> str:
    return f"{n:,}"


def human_bytes(n: int) -> str:
    """2 decimals in the largest unit below 1024 (Keras 3's style): '241.04 KB'."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TB"  # pragma: no cover - the loop returns at GB


def seed_memory(n: int) -> str:
    """Seed 002's style: KB with 3 decimals below 1 MB, else MB (GB) with 4:
    61,706 * 4 B -> '241.039KB'; 62,378,344 * 4 B -> '237.9545MB'."""
    if n < 1024 ** 2:
        return f"{n / 1024:.3f}KB"
    if n < 1024 ** 3:
        return f"{n / 1024 ** 2:.4f}MB"
    return f"{n / 1024 ** 3:.4f}GB"


def si(n: int) -> str:
    """A short magnitude: 416520 -> '416.52 K', 15470264320 -> '15.47 G'."""
    for div, unit in ((10 ** 12, "T"), (10 ** 9, "G"), (10 ** 6, "M"), (10 ** 3, "K")):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return str(n)


def number(x: Fraction | int) -> int | float:
    """A Fraction as JSON wants it: an int when integral, else a float."""
    if isinstance(x, int):
        return x
    return x.numerator if x.denominator == 1 else float(x)


def frac_text(x: Fraction | int) -> str:
    value = number(x)
    return str(value) if isinstance(value, int) else f"{value:.3g}"


def axes_text(values: tuple[Fraction | int, ...]) -> str:
    """Per-axis sizes as the seeds write them: '5x5'."""
    return "x".join(frac_text(v) for v in values)


def axes_list(values: tuple[Fraction | int, ...]) -> str:
    """Per-axis values that may be negative: '-2' when the axes agree, else '-2, -3'."""
    if len(set(values)) == 1:
        return frac_text(values[0])
    return ", ".join(frac_text(v) for v in values)


def rf_text(field: Field) -> str:
    """'5x5', 'global' or '-' (no spatial axes)."""
    if field.is_global:
        return "global"
    if not field.axes:
        return "-"
    text = axes_text(tuple(a.size for a in field.axes))
    if any(a.min_size != a.size for a in field.axes):
        text += f" (min {axes_text(tuple(a.min_size for a in field.axes))})"
    return text
