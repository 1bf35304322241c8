"""PyTorch import's first and last steps: a model built on the meta device has the
structure of a CPU build (sources.meta_build), the user's module gets its own tensors back
whatever its forward does (meta_state.py), and the graph built from the importer's items
equals the description parser's graph of the same description (graph_of.py)."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from convscope.description.parse import parse
from convscope.errors import ConvscopeError
from convscope.pytorch.aten_map import MAPPERS
from convscope.pytorch.capture import capture
from convscope.pytorch.graph_of import graph_of
from convscope.pytorch.grouping import Units
from convscope.pytorch.importer import BATCH, Builder, import_module
from convscope.pytorch.layout import torch_shape
from convscope.pytorch.sources import meta_build
from test_torch_import import Functional, Tied, Unmapped


class TwoWays(nn.Module):
    """Two inputs, two outputs, attention and an operation convscope has no kind for."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.proj = nn.Linear(16, 16)

    def forward(self, tokens, extra):
        out, _ = self.attn(tokens, tokens, tokens, need_weights=False)
        return self.proj(out), torch.erf(extra).cumsum(1)


MODELS = [(Functional, [(16, 14, 3)]), (Tied, [(8, 8, 8)]), (Unmapped, [(10, 10, 3)]),
          (TwoWays, [(16, 5), (3, 7)]),  # torch (N, 5, 16) and (N, 7, 3)
          (lambda: torchvision.models.resnet18(weights=None), [(64, 64, 3)])]


@pytest.mark.parametrize("make, shapes", MODELS, ids=["functional", "tied", "unmapped",
                                                      "two_ways", "resnet18"])
def test_graph_equals_the_parsers(make, shapes):
    model = make().eval()
    cap = capture(model, [(BATCH, *torch_shape(s)) for s in shapes], frozenset(MAPPERS))
    builder = Builder(cap, Units(cap))
    builder.run()
    outputs = list(dict.fromkeys(builder.names[s] for s in cap.outputs))
    inputs = {n: list(s) for n, s in zip(cap.input_names, shapes, strict=True)}
    parsed = parse({"name": "m", "inputs": inputs, "layers": builder.items,
                    "outputs": outputs})
    for built in (builder.built, {}):  # the layers checked, or all built here
        direct = graph_of("m", inputs, builder.items, outputs, built)
        assert direct.nodes == parsed.nodes and direct.outputs == parsed.outputs
        assert [n.path for n in direct.nodes] == [n.path for n in parsed.nodes]
        assert dict(direct.shapes) == dict(parsed.shapes) and direct.name == parsed.name
    assert any(n.shares for n in direct.nodes) == (make is Tied)


class Fails(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("scale", torch.ones(4))

    def forward(self, x):
        y = self.conv(x) * self.scale[:, None, None]
        return y[y > 0]  # boolean-mask indexing: needs the data's values


def test_the_module_gets_its_own_tensors_back():
    for model in (Fails(), torchvision.models.resnet18(weights=None)):
        tensors = [(m, dict(m._parameters), dict(m._buffers)) for m in model.modules()]
        try:
            import_module(model, [(16, 16, 3)])
        except ConvscopeError as err:
            assert isinstance(model, Fails) and "boolean-mask" in str(err)
        else:
            assert not isinstance(model, Fails)
        for m, params, buffers in tensors:
            assert m._parameters.keys() == params.keys() and m._buffers.keys() == buffers.keys()
            assert all(m._parameters[k] is v for k, v in params.items())
            assert all(m._buffers[k] is v for k, v in buffers.items())
            assert all(v is None or v.device.type == "cpu"
                       for v in (*m._parameters.values(), *m._buffers.values()))


class Initialised(nn.Module):
    """A builder that initialises in place: values that a meta tensor does not have."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        nn.init.trunc_normal_(self.conv.weight, std=0.02)
        nn.init.constant_(self.conv.bias, 0.5)
        self.register_buffer("table", torch.arange(12.0).reshape(3, 4).mul_(2).add_(1))
        self.scale = nn.Parameter(torch.ones(8))
        self.scale.data.copy_(torch.full((8,), 3.0))

    def forward(self, x):
        return self.conv(x) * self.scale[:, None, None] + self.table.sum()


def test_meta_build_skips_only_the_values():
    """Building on the meta device skips initialising values (sources.init_skipped) and
    gives the very structure a CPU build gives."""
    for make in (Initialised, lambda: torchvision.models.resnet18(weights=None)):
        on_cpu, on_meta = make(), meta_build(make)
        assert [(n, t.shape, t.dtype) for n, t in on_meta.state_dict().items()] == \
            [(n, t.shape, t.dtype) for n, t in on_cpu.state_dict().items()]
        assert {t.device.type for t in on_meta.state_dict().values()} == {"meta"}
    graph = import_module(meta_build(Initialised), [(10, 10, 3)])
    assert graph.shapes[graph.outputs[0]] == (8, 8, 8)
