"""``convscope lint``: what is questionable in a design, with the rule, the layer, the
numbers and why. Each rule is a small pure function over the graph and its report that
returns frozen findings; ``RULES`` lists them in the order they are shown, and
``convscope help lint`` prints their docstrings.

Severity: ``warning`` for what wastes parameters or computation or loses information
(``--strict`` exits 1 on any), ``info`` for what a designer should know.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from ..ir import Graph
from ..layers.activation import Activation
from ..layers.conv import Conv
from ..layers.dense import Dense
from ..layers.global_pool import GlobalPool
from ..layers.norm import BatchNorm
from ..layers.pool import Pool
from .report import LayerStats, Report

EARLY = 8  # windowed layers after the field covers the input: the field-coverage rule


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # "warning" or "info"
    layer: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.layer}: {self.message} [{self.rule}]"


def _consumers(report: Report) -> dict[str, list[LayerStats]]:
    out: dict[str, list[LayerStats]] = {s.name: [] for s in report.layers}
    for s in report.layers:
        for ref in s.inputs:
            out[ref].append(s)
    return out


def bias_before_norm(graph: Graph, report: Report) -> list[Finding]:
    """A convolution with a bias whose only reader is a batch norm: the norm subtracts the
    per-channel mean, which cancels the bias; out_channels parameters do nothing."""
    found = []
    readers = _consumers(report)
    for node in graph.nodes:
        layer = node.layer
        if isinstance(layer, Conv) and layer.bias and layer.activation is None:
            after = readers[node.name]
            if len(after) == 1 and after[0].kind == BatchNorm.kind:
                found.append(Finding(
                    "bias-before-norm", "warning", node.name,
                    f"its bias ({layer.out_channels} parameters) is cancelled by the batch "
                    f"norm '{after[0].name}' that follows; use bias: false"))
    return found


def heavy_layer(graph: Graph, report: Report) -> list[Finding]:
    """One layer holds more than half of all parameters (VGG-16's first dense layer holds
    74 %): global average pooling before the head usually removes most of them."""
    total = report.totals.params
    return [Finding("heavy-layer", "info", s.name,
                    f"holds {s.params:,} of {total:,} parameters ({100 * s.params / total:.0f} "
                    "%); a global average pooling before it would shrink it")
            for s in report.layers if total and 2 * s.params > total]


@functools.lru_cache(maxsize=4096)  # a network asks the same few windows again and again
def unread(n: int, k: int, s: int, d: int, before: int, out: int) -> tuple[int, int]:
    """Input positions (of ``n``) that no window reads, and how many of them are at the
    end: windows start at j*s - before (j < out) and read every d-th of k positions."""
    seen = bytearray(n)
    for t in range(k):  # tap t of every window: positions t*d - before + j*s, one slice
        first = t * d - before
        j0 = max(0, -(first // s))  # the first window whose tap lies at 0 or after
        start, stop = first + j0 * s, min(n, first + out * s)
        if j0 < out and start < n:
            seen[start:stop:s] = b"\1" * len(range(start, stop, s))
    missing = n - seen.count(1)
    tail = len(seen) - len(bytes(seen).rstrip(b"\0"))
    return missing, tail


def unread_positions(graph: Graph, report: Report) -> list[Finding]:
    """A convolution or pooling window that never reads some input positions: the last
    rows / columns when the windows stop short of the edge, holes when dilation skips
    positions (gridding): warnings, information is lost; gaps when the stride exceeds the
    kernel (a 1x1 convolution of stride 2 reads a quarter of its input, as ResNet's
    projection shortcuts do and ResNet-D avoids): information."""
    found = []
    for node in graph.nodes:
        layer = node.layer
        if not isinstance(layer, (Conv, Pool)):
            continue
        *spatial, _ = graph.input_shapes(node)[0]
        out = graph.shapes[node.name][:-1]
        dilation = layer.dilation or (1,) * len(spatial)
        parts, severity, causes = [], "info", set()
        for axis, (n, k, s, d, (before, _), o) in enumerate(zip(
                spatial, layer.kernel_size, layer.stride, dilation,
                layer.pads(tuple(spatial)), out, strict=True)):
            if n * k > 10_000_000:
                continue  # too large to enumerate; such inputs are rare
            missing, tail = unread(n, k, s, d, before, o)
            if not missing:
                continue
            parts.append(f"{missing} of {n} on axis {axis}")
            if missing == tail:
                causes.add("the windows stop before the edge")
                severity = "warning"
            elif s > d * (k - 1) + 1:
                causes.add(f"the stride exceeds the kernel {d * (k - 1) + 1}")
            else:
                causes.add(f"dilation {d} skips positions")
                severity = "warning"
        if parts:
            found.append(Finding("unread-positions", severity, node.name,
                                 f"never reads some input positions: {', '.join(parts)} "
                                 f"({'; '.join(sorted(causes))})"))
    return found


def even_same_kernel(graph: Graph, report: Report) -> list[Finding]:
    """An even kernel with 'same' padding pads one side more than the other: the extra
    row / column goes after (bottom / right), as TensorFlow and Keras do."""
    found = []
    for node in graph.nodes:
        layer = node.layer
        if isinstance(layer, (Conv, Pool)) and layer.padding == "same":
            *spatial, _ = graph.input_shapes(node)[0]
            pads = layer.pads(tuple(spatial))
            uneven = [(a, p) for a, p in enumerate(pads) if p[0] != p[1]]
            if uneven:
                text = ", ".join(f"axis {a}: {b} before, {e} after" for a, (b, e) in uneven)
                found.append(Finding("even-same-kernel", "info", node.name,
                                     f"'same' padding is asymmetric ({text})"))
    return found


def field_coverage(graph: Graph, report: Report) -> list[Finding]:
    """The receptive field of the last spatial layer is smaller than the input (an object
    larger than that is never seen whole by one output), or the field already covers the
    whole input many spatial layers before the head."""
    spatial = [s for s in report.layers if len(s.output_shape) >= 2 and s.kind != "input"
               and not s.receptive_field.is_global and s.receptive_field.axes]
    if not spatial:
        return []
    last = spatial[-1]
    extent = last.receptive_field.extent
    sizes = tuple(a.size for a in last.receptive_field.axes)
    found = []
    if any(size < n for size, n in zip(sizes, extent, strict=False)):
        found.append(Finding("field-coverage", "info", last.name,
                             f"the last spatial layer sees {'x'.join(map(str, sizes))} of "
                             f"the {'x'.join(map(str, extent))} input: larger objects are "
                             "never seen whole by one output"))
    for i, s in enumerate(spatial):
        if all(a.size >= n for a, n in zip(s.receptive_field.axes, extent, strict=False)):
            later = sum(1 for t in spatial[i + 1:] if t.window)  # convolutions and pools
            if later >= EARLY:
                found.append(Finding("field-coverage", "info", s.name,
                                     f"the field covers the whole input here, {later} "
                                     "convolution / pooling layers before the head"))
            break
    return found


def misaligned_merge(graph: Graph, report: Report) -> list[Finding]:
    """Paths merged with different receptive-field strides or centres: the merged values
    do not describe the same input positions."""
    return [Finding("misaligned-merge", "warning", s.name,
                    "the merged paths see the input with different strides or centres")
            for s in report.layers if not s.receptive_field.aligned and len(s.inputs) > 1]


def pooled_point(graph: Graph, report: Report) -> list[Finding]:
    """A pooling of a map that is already 1x1: it does nothing."""
    return [Finding("pooled-point", "info", s.name, "pools a map that is already "
                    f"{'x'.join(['1'] * (len(s.input_shapes[0]) - 1))}")
            for s in report.layers if s.kind in (Pool.kind, GlobalPool.kind)
            and s.input_shapes and len(s.input_shapes[0]) >= 2
            and all(n == 1 for n in s.input_shapes[0][:-1])]


def double_activation(graph: Graph, report: Report) -> list[Finding]:
    """An activation right after another (relu after relu changes nothing)."""
    by_name = {s.name: s for s in report.layers}
    return [Finding("double-activation", "info", s.name,
                    f"follows the activation '{s.inputs[0]}'")
            for s in report.layers if s.kind == Activation.kind and len(s.inputs) == 1
            and by_name[s.inputs[0]].kind == Activation.kind]


def softmax_output(graph: Graph, report: Report) -> list[Finding]:
    """The network ends in a softmax: ``convscope train`` (like PyTorch's CrossEntropyLoss)
    applies log-softmax itself and expects logits; a softmax before it slows learning."""
    found = []
    for name in graph.outputs:
        layer = graph.node(name).layer
        if isinstance(layer, Activation) and layer.function in ("softmax", "log_softmax") \
                or isinstance(layer, (Dense, Conv)) and layer.activation == "softmax":
            found.append(Finding("softmax-output", "warning", name,
                                 "ends in a softmax; a cross-entropy loss expects logits"))
    return found


def channel_multiple(graph: Graph, report: Report) -> list[Finding]:
    """In float16 / bfloat16, channel counts that are multiples of 8 use tensor cores."""
    if report.dtype not in ("float16", "bfloat16"):
        return []
    found = []
    for node in graph.nodes:
        layer = node.layer
        width = layer.out_channels if isinstance(layer, Conv) else \
            layer.units if isinstance(layer, Dense) else None
        if width is not None and width % 8:
            found.append(Finding("channel-multiple", "info", node.name,
                                 f"{width} output channels is not a multiple of 8 "
                                 f"({report.dtype} runs fastest on multiples of 8)"))
    return found


RULES: tuple[Callable[[Graph, Report], list[Finding]], ...] = (
    bias_before_norm, heavy_layer, unread_positions, even_same_kernel, field_coverage,
    misaligned_merge, pooled_point, double_activation, softmax_output, channel_multiple)


def lint(graph: Graph, report: Report) -> tuple[Finding, ...]:
    """Every rule's findings, in the order of RULES."""
    return tuple(f for rule in RULES for f in rule(graph, report))
