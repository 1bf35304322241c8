"""Every layer kind round trips through PyTorch (issue 11, one bridge contract): a one-layer
description -> its PyTorch module (each kind's ``to_torch``) -> the ATen importer (each
kind's ``aten_ops`` / ``from_aten``) -> a graph with the same totals (parameters, trainable,
buffers, MACs) and output shapes, the kind back, and no opaque layer.

A kind that cannot come back declares ``refused["pytorch"]`` in its own file, with the
reason, and the test checks that it indeed does not come back, so that the declaration stays
true. A kind with neither fails: a kind missing a bridge fails a test, it never silently
becomes opaque.

Cases: up to four sweep cases of each kind (tests/test_layers_vs_torch.py), spread over its
list (every activation function), plus the first case of each known gap below. Modules are
imported in training mode (in evaluation mode dropout computes nothing at all, and vanishes).
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import convscope
from convscope.errors import ConvscopeError
from convscope.layers import LAYER_KINDS
from convscope.layers.attention_torch import MatMul
from convscope.layers.bridge import table
from convscope.layers.torch_modules import Pad
from convscope.pytorch import aten_map
from convscope.pytorch.build import build
from convscope.pytorch.importer import import_module
from harness import one_layer
from test_layers_vs_torch import SWEEPS

KINDS = {k.kind: k for k in LAYER_KINDS}


def _odd_padding(module: nn.Module) -> bool:
    return any(isinstance(m, Pad) and (m.value != 0 or min(m.flat) < 0)
               for m in module.modules())


# Cases that import with an opaque part, each with its reason; the test checks that they
# still do (a gap that closes must leave this list). Their totals must agree all the same.
GAPS = {
    "padding": (_odd_padding,
                "F.pad by -inf (a max pool's padding that PyTorch's pool cannot take: "
                "asymmetric, or over half the kernel) or by negative amounts (a transposed "
                "convolution's crop): the zero_padding kind is neither"),
    "lp_pool": (lambda m: any(isinstance(x, (nn.LPPool1d, nn.LPPool2d, nn.LPPool3d))
                              for x in m.modules()),
                "ATen has no L_p pooling: F.lp_pool computes pow, avg_pool, sign, relu, mul"),
    "matmul_heads": (lambda m: any(isinstance(x, MatMul) and x.rank == 3 for x in m.modules()),
                     "a product per head: torch.matmul folds the batch and the heads into "
                     "bmm's one batch dim (a view to (N*H, m, k)), which no per-sample kind "
                     "reads: one opaque layer with the same totals"),
}
# the kinds whose first case of each gap is tested
GAP_KINDS = ("pool", "conv_transpose", "matmul")

# Cases that come back as other kinds computing the same: (kind, test, kinds, reason).
# Besides those, only AROUND may come back: the explicit padding or inline activation a case
# asks for, and views around an operation PyTorch runs in another layout (1-D as 2-D).
AROUND = {"zero_padding", "activation", "reshape", "permute"}
EQUIVALENT = [
    ("separable_conv", lambda layer, shapes: True, {"conv"},
     "PyTorch has no separable convolution: to_torch builds a depthwise and a pointwise "
     "Conv, imported as two conv layers"),
    ("dense", lambda layer, shapes: len(shapes[0]) > 1 and not layer.flatten_input, {"conv"},
     "a dense layer over the channels of a map is built as a 1x1 Conv (channels first)"),
    ("activation", lambda layer, shapes: layer.function == "linear", set(),
     "the identity computes nothing: no layer comes back"),
    ("adaptive_pool", lambda layer, shapes: set(layer.output_size) == {1}, {"global_pool"},
     "the reader names an adaptive pool to one position per channel a global pool"),
    ("reshape", lambda layer, shapes: len(layer.target_shape) == 1, {"flatten"},
     "a reshape of a map to a vector is a flatten (its channels-last order: a permute first)"),
]


def spread(count: int, most: int = 4) -> list[int]:
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def module_of(item: dict, shapes: list) -> tuple[convscope.Graph, nn.Module]:
    graph = one_layer(item, *shapes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return graph, build(graph).train()


def gap_of(module: nn.Module) -> str | None:
    return next((name for name, (test, _) in GAPS.items() if test(module)), None)


def cases():
    for kind, make in SWEEPS.items():
        found = list(make())
        # activations: every function once (each is an ATen operator of its own)
        chosen = list(range(1, len(found), 2)) if kind == "activation" else spread(len(found))
        seen = set()
        for i, (item, *shapes) in enumerate(found):
            if kind in GAP_KINDS:
                gap = gap_of(module_of(item, shapes)[1])
                if gap and gap not in seen:
                    seen.add(gap)
                    chosen.append(i)
        for i in sorted(set(chosen)):
            item, *shapes = found[i]
            yield pytest.param(kind, item, shapes, id=f"{kind}-{i}")


def totals(graph: convscope.Graph) -> tuple:
    t = convscope.analyze(graph).totals
    return (t.params, t.trainable_params, t.buffers, t.macs,
            [graph.shapes[o] for o in graph.outputs])


def kinds_of(graph: convscope.Graph) -> set[str]:
    return {node.layer.kind for node in graph.nodes} - {"input"}


@pytest.mark.parametrize(("kind", "item", "shapes"), list(cases()))
def test_kind_round_trips_through_pytorch(kind, item, shapes):
    graph, module = module_of(item, shapes)
    layer = graph.nodes[-1].layer
    refused = KINDS[kind].refused.get("pytorch")
    try:
        back = import_module(module, [graph.shapes[n.name] for n in graph.inputs])
    except ConvscopeError as err:
        assert refused, f"{kind} does not import from PyTorch ({err}) and declares no " \
                        "refused['pytorch']"
        return
    got = kinds_of(back)
    if refused:  # the declaration must stay true
        assert kind not in got, f"{kind} round trips: drop its refused['pytorch'] ({refused})"
        return
    assert totals(back) == totals(graph)
    if kind == "input":  # the importer's inputs: the case is the identity, no layer at all
        assert [n.layer.kind for n in back.inputs] == ["input"] and not got
        return
    gap = gap_of(module)
    if gap:
        assert "opaque" in got, f"the gap '{gap}' is closed: remove it from GAPS"
        return
    assert "opaque" not in got, f"{kind} imports partly opaque ({sorted(got)}) and declares " \
                                "no refused['pytorch']"
    rule = next((r for r in EQUIVALENT if r[0] == kind and r[1](layer, shapes)), None)
    if rule is None:
        assert kind in got, f"{kind} comes back as {sorted(got)}: no reader gives it back " \
                            "and it declares no refused['pytorch']"
    else:
        assert rule[2] <= got <= rule[2] | AROUND, rule[3]


def test_each_reader_belongs_to_its_kind():
    """A kind that lists ATen operators reads them in its own class."""
    for kind in LAYER_KINDS:
        assert not kind.aten_ops or "from_aten" in vars(kind), kind.__name__


def test_the_dispatch_table_is_the_registry():
    names = set(table(LAYER_KINDS, "aten_ops")) | set(aten_map.ALIASES)
    assert set(aten_map.MAPPERS) == {getattr(torch.ops.aten, n) for n in names}
    assert not set(table(LAYER_KINDS, "aten_ops")) & set(aten_map.ALIASES)


def test_an_unknown_operator_fails_loudly():
    with pytest.raises(RuntimeError, match="no_such_operator"):
        aten_map._packet("no_such_operator", "Conv")


def test_an_operator_claimed_twice_is_refused():
    class A:
        aten_ops = ("relu",)

    class B:
        aten_ops = ("relu",)

    with pytest.raises(RuntimeError, match="duplicate registrations"):
        table((A, B), "aten_ops")


def test_refusals_name_their_reason():
    for kind in LAYER_KINDS:
        reason = kind.refused.get("pytorch")
        assert reason is None or len(reason) > 20, kind.__name__
