"""Windowed attention keeps a local receptive field (issue 11: "receptive fields local
wherever the model is local").

* pytorch/axis_flow.py follows which input position each index of an opaque group's
  tensors stands for, through window partitions folded into the batch, cyclic shifts,
  Q x K^T, softmax and scaled dot-product attention: Swin's block gets a window of
  2 x window - 1 tokens, checked here against the gradient of the real module.
* A reshape of a map to tokens and back (Swin's (H, W, C) -> (H x W, C) around its MLP)
  keeps each token's field (layers/base.py's Regrid), onto the same grid only.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import convscope
from convscope.pytorch.importer import import_module

SIZE = 32


class WindowAttention(nn.Module):
    """Swin's attention at its plainest: channels last, an optional cyclic shift, windows of
    ``window`` x ``window`` folded into the batch, multi-head attention inside each window
    (scaled dot-product attention, or its matmul-softmax-matmul), windows back, shift back,
    a residual."""

    def __init__(self, channels: int = 8, window: int = 4, shift: int = 0,
                 fused: bool = False) -> None:
        super().__init__()
        self.window, self.shift, self.fused, self.heads = window, shift, fused, 2
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        ws, heads = self.window, self.heads
        y = x.permute(0, 2, 3, 1)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        y = y.reshape(n, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        y = y.reshape(-1, ws * ws, c)
        q, k, v = self.qkv(y).reshape(-1, ws * ws, 3, heads, c // heads) \
            .permute(2, 0, 3, 1, 4).unbind(0)
        if self.fused:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = (q @ k.transpose(-2, -1) * (c // heads) ** -0.5).softmax(-1) @ v
        o = self.proj(o.transpose(1, 2).reshape(-1, ws * ws, c))
        o = o.reshape(n, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        o = o.reshape(n, h, w, c)
        if self.shift:
            o = torch.roll(o, (self.shift, self.shift), (1, 2))
        return x + o.permute(0, 3, 1, 2)


def network(*blocks: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), *blocks,
                         nn.Conv2d(8, 8, 3, padding=1)).double().eval()


def measured(model: nn.Module, position: int) -> list[tuple[int, int]]:
    """Per axis, the first and last input index the gradient of the output at (position,
    position) reaches (float64, random weights and image)."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, SIZE, SIZE, dtype=torch.float64, requires_grad=True)
    model(x)[0, :, position, position].sum().backward()
    hit = x.grad[0].abs().sum(0) > 0
    return [(int(i.min()), int(i.max())) for i in (hit.any(1).nonzero(), hit.any(0).nonzero())]


def field_at(model: nn.Module, position: int) -> list[tuple[int, int]] | None:
    """convscope's window of the last layer's output at (position, position); None: global."""
    graph = import_module(model, [(SIZE, SIZE, 3)])
    field = convscope.analyze(graph).layers[-1].receptive_field
    if field.is_global:
        return None
    return [(a.start + position * a.stride, a.start + position * a.stride + a.size - 1)
            for a in field.axes]


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("position", [9, 16, 21])
def test_windowed_attention_reads_its_window(fused, position):
    """Windows of 4 (then shifted by 2): each output reads its own window, so convscope's
    window holds the measured region: 17 of the 32 x 32 input."""
    model = network(WindowAttention(fused=fused), WindowAttention(shift=2, fused=fused))
    ours = field_at(model, position)
    assert ours is not None
    for (first, last), (low, high) in zip(measured(model, position), ours, strict=True):
        assert low <= first and last <= high
        assert high - low + 1 == 1 + 2 + 2 * 3 * 2 + 2  # two convs, two windows of +-3


def test_one_window_over_the_whole_map_is_global():
    """A window as large as the map is plain attention: every output reads everything."""
    model = network(WindowAttention(window=SIZE))
    assert field_at(model, 8) is None
    assert measured(model, 8) == [(0, SIZE - 1)] * 2


def test_tokens_keep_their_positions_fields():
    """(8, 8, 4) -> (64, 4) tokens -> dense per token -> (8, 8, 4): fields unchanged, the
    next 3 x 3 convolution adds 2; tokens put on another grid mix (global)."""
    conv = {"type": "conv", "out_channels": 4, "kernel_size": 3, "padding": 1}
    layers = [{**conv, "name": "c1"}, {"type": "reshape", "name": "tokens",
                                        "target_shape": [64, 4]},
              {"type": "dense", "name": "mlp", "units": 4},
              {"type": "reshape", "name": "map", "target_shape": [8, 8, 4]},
              {**conv, "name": "c2"}]
    report = convscope.analyze(convscope.load({"inputs": {"x": [8, 8, 3]}, "layers": layers}))
    assert report.layer("mlp").receptive_field.sizes() == (3, 3)
    assert report.layer("c2").receptive_field.sizes() == (5, 5)
    other = [*layers[:3], {**layers[3], "target_shape": [4, 16, 4]}, layers[4]]
    report = convscope.analyze(convscope.load({"inputs": {"x": [8, 8, 3]}, "layers": other}))
    assert report.layer("c2").receptive_field.is_global


def test_space_to_depth_written_as_reshapes_keeps_a_local_field():
    """TResNet's SpaceToDepth as a description: reshape (4, 2, 4, 2, 3), permute the two
    block offsets next to the channels, reshape (4, 4, 12): each output position reads a
    2 x 2 block (stride 2), and a 3 x 3 convolution after it 6 x 6. convscope verify
    checks every field against the gradient of the PyTorch module it builds."""
    from convscope.pytorch.verify import verify

    layers = [{"type": "reshape", "name": "blocks", "target_shape": [4, 2, 4, 2, 3]},
              {"type": "permute", "name": "offsets", "dims": [1, 3, 2, 4, 5]},
              {"type": "reshape", "name": "s2d", "target_shape": [4, 4, 12]},
              {"type": "conv", "name": "conv", "out_channels": 4, "kernel_size": 3,
               "padding": 1}]
    graph = convscope.load({"inputs": {"x": [8, 8, 3]}, "layers": layers})
    report = convscope.analyze(graph)
    s2d, conv = (report.layer(n).receptive_field for n in ("s2d", "conv"))
    assert [(a.size, a.stride, a.start) for a in s2d.axes] == [(2, 2, 0)] * 2
    assert [(a.size, a.stride, a.start) for a in conv.axes] == [(6, 2, -2)] * 2
    checks = [c for c in verify(graph, rf="all").checks if c.what == "rf"]
    assert {c.layer for c in checks} >= {"s2d", "conv"}
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


class WriteIntoView(WindowAttention):
    """Window attention that then adds the mean over all windows, in place, into a view of
    the first window (``o[:1] += o.mean(0)``, the windows folded into the batch): that
    window now reads the whole input, though no operation after the write reads the view
    (a pass that forgot the write would give it its window only)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        ws = self.window
        y = x.permute(0, 2, 3, 1).reshape(n, h // ws, ws, w // ws, ws, c)
        y = y.permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        o = F.scaled_dot_product_attention(y, y, y) * 2.0  # a tensor autograd lets us write
        first = o[:1]
        first += o.mean(0, keepdim=True)
        o = o.reshape(n, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
        return x + o.reshape(n, h, w, c).permute(0, 3, 1, 2)


def test_a_write_into_a_view_is_followed_or_the_field_is_global():
    model = network(WriteIntoView())
    torch.manual_seed(0)
    x = torch.randn(1, 3, SIZE, SIZE, dtype=torch.float64, requires_grad=True)
    model(x)[0, :, 0, 0].sum().backward()
    assert bool((x.grad[0].abs().sum(0) > 0).all())  # window 0 reads every input position
    graph = import_module(model, [(SIZE, SIZE, 3)])
    field = convscope.analyze(graph).layers[-1].receptive_field
    assert field.is_global or all(a.start <= 0 and a.start + a.size >= SIZE
                                  for a in field.axes)


# ---- cases a review built to break the pass (each gave a window that missed reads) -------
class Conv1x1(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)


class RollInWindows(Conv1x1):
    """A cyclic shift inside windows of 4 rows wraps at every window's edge."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        n, c, h, w = y.shape
        return y.reshape(n, c, h // 4, 4, w).roll(1, 3).reshape(n, c, h, w)


class PadInWindows(Conv1x1):
    """Reflection or replication padding of 4 x 4 windows reads inside each window."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        n, c, h, w = y.shape
        t = y.reshape(n, c, h // 4, 4, w // 4, 4).permute(0, 2, 4, 1, 3, 5).reshape(-1, c, 4, 4)
        t = F.pad(t, (1, 1, 1, 1), mode=self.mode)[:, :, :4, :4]
        return t.reshape(n, h // 4, w // 4, c, 4, 4).permute(0, 3, 1, 4, 2, 5) \
            .reshape(n, c, h, w)


class ChannelsLastOut(Conv1x1):
    """Window attention whose channels-last output nothing after it reads: the graph
    takes it as channels first, so no window may be put on its axes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).permute(0, 2, 3, 1)
        n, h, w, c = y.shape
        t = y.reshape(n, h // 2, 2, w // 8, 8, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, 16, c)
        o = F.scaled_dot_product_attention(t, t, t)
        return o.reshape(n, h // 2, w // 8, 2, 8, c).permute(0, 1, 3, 2, 4, 5) \
            .reshape(n, h, w, c)


class TwoStrides(nn.Module):
    """Queries from a stride-1 map, keys and values from a stride-2 one."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.c1(x), self.c2(x)
        n, c, h, w = b.shape

        def part(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(n, c, h // 4, 4, w // 4, 4).permute(0, 2, 4, 3, 5, 1) \
                .reshape(-1, 16, c)
        o = F.scaled_dot_product_attention(part(a[:, :, :h, :w]), part(b), part(b))
        return o.reshape(n, h // 4, w // 4, 4, 4, c).permute(0, 5, 1, 3, 2, 4) \
            .reshape(n, c, h, w)


@pytest.mark.parametrize("model", [RollInWindows(), PadInWindows("reflect"),
                                   PadInWindows("replicate"), ChannelsLastOut(), TwoStrides()],
                         ids=["roll", "reflect", "replicate", "channels-last", "strides"])
def test_what_the_review_built_is_sound(model):
    model = model.double().eval()
    graph = import_module(model, [(16, 16, 3)])
    field = convscope.analyze(graph).layers[-1].receptive_field
    out = graph.shapes[graph.nodes[-1].name]
    for position in [(4, 5), (7, 7), (8, 8), (12, 3)]:
        if any(p >= n for p, n in zip(position, out[:2], strict=True)):
            continue
        torch.manual_seed(0)
        x = torch.randn(1, 3, 16, 16, dtype=torch.float64, requires_grad=True)
        model(x)[0, :, position[0], position[1]].sum().backward()
        hit = x.grad[0].abs().sum(0) > 0
        reached = [(int(i.min()), int(i.max())) for i in (hit.any(1).nonzero(),
                                                          hit.any(0).nonzero())]
        if field.is_global:
            continue
        for (first, last), a, o in zip(reached, field.axes, position, strict=True):
            assert a.start + o * a.stride <= first and last <= a.start + o * a.stride + a.size - 1


def test_an_out_write_into_a_view_is_followed_or_the_field_is_global():
    """``torch.add(view, m, out=view)`` writes into the first window like ``+=``."""
    class OutWrite(Conv1x1):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            n, c, h, w = y.shape
            t = y.permute(0, 2, 3, 1).reshape(n, h // 4, 4, w // 4, 4, c)
            t = t.permute(0, 1, 3, 2, 4, 5).reshape(-1, 16, c)
            o = F.scaled_dot_product_attention(t, t, t) * 2.0
            first = o[:1]
            torch.add(first, o.mean(0, keepdim=True), out=first)
            o = o.reshape(n, h // 4, w // 4, 4, 4, c).permute(0, 1, 3, 2, 4, 5)
            return o.reshape(n, h, w, c).permute(0, 3, 1, 2)

    graph = import_module(OutWrite().double().eval(), [(16, 16, 3)])
    field = convscope.analyze(graph).layers[-1].receptive_field
    assert field.is_global or all(a.start <= 0 and a.start + a.size >= 16 for a in field.axes)


def test_circular_padding_imports_exactly():
    """F.pad's circular mode fills slices of an empty tensor with ``copy_``: the writes
    make it the layer's output (view_writes.py), so the model is no longer refused, and its
    counts are PyTorch's."""
    from torch.utils.flop_counter import FlopCounterMode

    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular")).eval()
    graph = import_module(model, [(16, 16, 3)])
    report = convscope.analyze(graph)
    with FlopCounterMode(display=False) as counter:
        out = model(torch.randn(1, 3, 16, 16))
    assert report.layers[-1].output_shape == (16, 16, 4) == (*out.shape[2:], out.shape[1])
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.macs == counter.get_total_flops() // 2


def test_a_write_into_a_view_of_a_map_reaches_its_later_readers():
    """``y[:, :, 4:8] = y[:, :, 12:16] * 2``: rows 4..7 now read rows 12..15, so the 1 x 1
    convolution after it, which reads y, must see that (a field holding row 13 at row 5)."""
    class WriteIntoMap(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.c1(x) * 1.0
            y[:, :, 4:8] = y[:, :, 12:16] * 2
            return self.c2(y)

    model = WriteIntoMap().double().eval()
    field = convscope.analyze(import_module(model, [(16, 16, 3)])).layers[-1].receptive_field
    assert field.is_global or field.axes[0].start + 5 * field.axes[0].stride \
        + field.axes[0].size - 1 >= 13
