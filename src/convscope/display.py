"""What the Python API returns, displayed inline in notebooks (Jupyter and any front end
that reads the ``_repr_*_`` methods), with nothing to install:

* :class:`Summary`: a :class:`~convscope.analysis.report.Report` (every field and number
  of one) that shows itself as the layer table with totals and conventions
  (``_repr_html_``, ``_repr_markdown_``);
* :class:`Diagram`: a drawing of a network (``_repr_svg_``, ``_repr_png_``, ``save``).

PyTorch modules are read as ``torchinfo.summary`` takes them: ``input_size`` is the
batch-first, channels-first size of each input, batch included, e.g. ``(1, 3, 224, 224)``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .analysis.report import Report
from .errors import SpecError
from .ir import Graph


@dataclass(frozen=True)
class Summary(Report):
    """A Report that displays itself (see the module docstring)."""

    @classmethod
    def of(cls, report: Report) -> Summary:
        return cls(**{f.name: getattr(report, f.name) for f in fields(Report)})

    def _repr_html_(self) -> str:
        from .render.notebook import report_html

        return report_html(self)

    def _repr_markdown_(self) -> str:
        from .render import render

        return render(self, "markdown")

    def __str__(self) -> str:
        from .render import render

        return render(self, "table")


@dataclass(frozen=True)
class Diagram:
    """An SVG drawing of a network (``convscope.draw``)."""

    svg: str

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_png_(self) -> bytes:
        from .render.diagram import to_png

        return to_png(self.svg)

    def save(self, path: str | Path) -> Path:
        """Write the drawing as .svg or .png (by the suffix), atomically."""
        from .files import save_atomic

        path = Path(path)
        if path.suffix not in (".svg", ".png"):
            raise SpecError(f"{path}: a diagram is saved as .svg or .png")
        data = self.svg.encode() if path.suffix == ".svg" else self._repr_png_()
        return Path(save_atomic(path, lambda tmp: Path(tmp).write_bytes(data)))


def is_torch_module(model: Any) -> bool:
    """True for a torch.nn.Module (torch is only looked at when the user imported it)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def torchinfo_shapes(input_size: Any) -> tuple[int, list[tuple[int, ...]]]:
    """torchinfo's ``input_size``: (N, C, *S) or a list of them -> the batch and the
    per-sample channels-last shapes convscope uses, (*S, C)."""
    sizes = [input_size] if input_size and isinstance(input_size[0], int) else input_size
    shapes, batches = [], set()
    for size in sizes or ():
        if not (isinstance(size, (tuple, list)) and len(size) >= 2 and
                all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size)):
            raise SpecError(f"input_size is torchinfo's (batch, channels, *spatial) of each "
                            f"input, e.g. (1, 3, 224, 224); received {size!r}")
        batches.add(size[0])
        shapes.append((*size[2:], size[1]))
    if not shapes or len(batches) != 1:
        raise SpecError(f"input_size needs one (batch, channels, *spatial) size per input, "
                        f"all with the same batch; received {input_size!r}")
    return batches.pop(), shapes


def module_graph(module: Any, input_size: Any) -> tuple[Graph, int]:
    """The graph of a PyTorch module, imported through its captured ATen operations."""
    from .pytorch.importer import import_module

    if input_size is None:
        raise SpecError("a PyTorch module needs input_size, torchinfo's (batch, channels, "
                        "*spatial), e.g. input_size=(1, 3, 224, 224)")
    batch, shapes = torchinfo_shapes(input_size)
    return import_module(module, shapes), batch
