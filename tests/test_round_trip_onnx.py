"""Every layer kind through ONNX and back (issue 11's bridge contract).

A few of the registry sweep's cases of each kind (tests/test_layers_vs_torch.py, spread
evenly) are described, written to ONNX as ``convscope build ... --to onnx`` writes them
(onnx/export.py: the PyTorch module, torch.onnx), and read back. The kind's layer must
come back once with the description's parameters, buffers and multiply-adds; the model
with its output shapes and totals, no opaque layer and no note (other layers without
parameters may come with it: a conv's inline activation, fc's flatten).

A kind that cannot round trip gives the reason in its file's ``refused["onnx"]``, and its
cases must indeed not come back. A case the exporter writes in a way no kind reads is
listed in EXCEPTIONS with the reason, and must not come back either. Every other kind
needs at least one case that does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import convscope
from convscope.errors import ConvscopeError
from convscope.layers import LAYER_KINDS, Layer
from convscope.onnx import import_onnx
from convscope.onnx.export import to_onnx
from harness import one_layer
from test_layers_vs_torch import SWEEPS

MOST = 4  # cases per kind
KINDS = {k.kind: k for k in LAYER_KINDS}
Case = tuple[dict[str, Any], list[tuple[int, ...]]]

# (kind, which of its cases, why the exporter writes them in a way no kind reads)
EXCEPTIONS: list[tuple[str, Callable[[dict[str, Any], list[Any]], bool], str]] = [
    ("pool", lambda item, shapes: item["type"].startswith("lppool"),
     "PyTorch's F.lp_pool is the power of an average pool: torch.onnx writes Pow, "
     "AveragePool, Sign, Abs, Relu, Mul, no LpPool node"),
    ("global_pool", lambda item, shapes: item["mode"] == "max",
     "torch.onnx writes AdaptiveMaxPool(1) as a MaxPool over the whole map: read back as "
     "a pool with the same numbers"),
    ("dense", lambda item, shapes: len(shapes[0]) > 1 and item["type"] != "fc",
     "a dense layer on a sequence or a map is built as a 1x1 convolution of the "
     "channels-first tensor: read back as a conv with the same numbers"),
    ("dropout", lambda item, shapes: item["type"] == "dropout2d" and len(shapes[0]) > 1,
     "torch.onnx cannot export Dropout2d in training mode (aten::feature_dropout)"),
    ("activation", lambda item, shapes: item["function"] in ("mish", "gelu", "gelu_tanh"),
     "opset 17 has no Mish nor Gelu: torch.onnx writes their formulas (Softplus, Tanh, "
     "Mul; Div, Erf, Add, Mul; Pow, Tanh ...)"),
    ("permute", lambda item, shapes: len(shapes[0]) == 2 and item["dims"] == [2, 1],
     "swapping a sequence's two axes is the channels-first tensor's move of its channels "
     "to the end: read back as the value's layout, no layer"),
]


def sampled(kind: str) -> list[Case]:
    """Up to MOST of the sweep's cases of ``kind``, spread evenly."""
    cases = [(item, shapes) for item, *shapes in SWEEPS[kind]()]
    return cases[::max(1, -(-len(cases) // MOST))]


def exception(kind: str, item: dict[str, Any], shapes: list[Any]) -> str | None:
    return next((why for k, applies, why in EXCEPTIONS if k == kind and applies(item, shapes)),
                None)


def differences(kind: str, want: Any, got: Any, notes: tuple[str, ...]) -> list[str]:
    found = [f"note: {n}" for n in notes]
    found += [f"opaque layer '{s.name}'" for s in got.layers if s.kind == "opaque"]
    if [s for _, s in got.outputs] != [s for _, s in want.outputs]:
        found.append(f"outputs {got.outputs} != {want.outputs}")
    if (got.totals.params, got.totals.macs) != (want.totals.params, want.totals.macs):
        found.append(f"totals {got.totals.params:,} params, {got.totals.macs:,} MACs != "
                     f"{want.totals.params:,}, {want.totals.macs:,}")
    wanted = [s for s in want.layers if s.kind == kind]
    mine = [s for s in got.layers if s.kind == kind]
    numbers = [[(s.params, s.buffers, s.macs, s.output_shape if kind == "input" else None)
                for s in layers] for layers in (mine, wanted)]
    if numbers[0] != numbers[1]:
        found.append(f"{kind} layers (params, buffers, MACs) {numbers[0]} != {numbers[1]}; "
                     f"read back: {[(s.kind, s.name) for s in got.layers]}")
    return found


def round_trip(kind: str, item: dict[str, Any], shapes: list[Any], path: Any) -> list[str]:
    """What differs between the one-layer description and its ONNX file read back."""
    graph = one_layer(item, *shapes)
    want = convscope.analyze(graph)
    try:
        to_onnx(graph, str(path))
        back = import_onnx(str(path))
    except ConvscopeError as err:
        return [f"{type(err).__name__}: {str(err).splitlines()[0]}"]
    return differences(kind, want, convscope.analyze(back), back.notes)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_round_trips_through_onnx(kind, tmp_path):
    refused = KINDS[kind].refused.get("onnx")
    results = [(item, shapes, round_trip(kind, item, shapes, tmp_path / f"case{i}.onnx"),
                exception(kind, item, shapes)) for i, (item, shapes) in enumerate(sampled(kind))]
    for item, shapes, found, why in results:
        if refused or why:
            assert found, (f"{kind} {item} on {shapes} round trips through ONNX, but "
                           f"{'its refused' if refused else 'EXCEPTIONS'} says: {refused or why}")
        else:
            assert not found, f"{kind} {item} on {shapes}: " + "; ".join(found)
    assert refused or any(not found for *_, found, _ in results), (
        f"no case of {kind} round trips through ONNX: give the reason in its "
        "refused['onnx']")


def test_every_exception_applies_to_a_sampled_case():
    used = {why for kind in KINDS for item, shapes in sampled(kind)
            if (why := exception(kind, item, shapes))}
    assert used == {why for *_, why in EXCEPTIONS}
    assert not [kind for kind, *_ in EXCEPTIONS if "onnx" in KINDS[kind].refused]


@pytest.mark.parametrize("kind", [k for k in LAYER_KINDS if k.onnx_ops])
def test_a_kind_reading_onnx_has_its_reader(kind):
    """onnx_ops without from_onnx would keep every such node opaque."""
    assert kind.from_onnx.__func__ is not Layer.from_onnx.__func__
