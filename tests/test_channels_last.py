"""Receptive fields stay local where real models are local (issue 11), checked against a
gradient measured on the real model.

* Channels-last maps in PyTorch import: a permute that only moves the channels last,
  (0, 2, 3, 1), changes the tensor's layout rather than adding a layer, and the kinds that
  read channels-last maps (layer norm over the channels, element-wise kinds, views in the
  tensor's order, ``F.linear`` on the channels, read whole) give real layers. ConvNeXt's
  blocks (timm's LayerNorm2d, torchvision's Permute + LayerNorm + Linear) then import
  with no opaque layer.
* An opaque group that is one convolution with element-wise work around it (NF-Nets'
  weight-standardised ScaledStdConv2d, BlurPool2d's fixed filter after its padding) keeps
  that convolution's window (pytorch/window.py).
"""

from __future__ import annotations

import copy

import pytest
import timm
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import convscope
from convscope.pytorch.importer import import_module
from convscope.pytorch.layout import flipped, our_shape


def kinds(graph: convscope.Graph) -> set[str]:
    return {node.layer.kind for node in graph.nodes}


def test_only_a_move_of_the_channels_is_a_layout_change():
    assert flipped([0, 2, 3, 1], 4, "first") == "last"
    assert flipped([0, 3, 1, 2], 4, "last") == "first"
    assert flipped([0, 2, 3, 4, 1], 5, "first") == "last"
    assert flipped([0, 3, 1, 2], 4, "first") is None  # a real permute of a channels-first map
    assert flipped([0, 2, 1], 3, "first") is None  # sequences: as likely a real permute
    t = torch.empty(2, 5, 6, 7, device="meta")
    assert our_shape(t) == (6, 7, 5) and our_shape(t, "last") == (5, 6, 7)


def test_timm_convnext_imports_with_no_opaque_layer():
    """convnext_atto: LayerNorm2d (permute, layer_norm, permute) is a layer norm over the
    channels; parameters and MACs stay PyTorch's (numel, FlopCounterMode in test_timm_import)."""
    model = timm.create_model("convnext_atto", pretrained=False).eval()
    graph = import_module(model, [(224, 224, 3)])
    assert "opaque" not in kinds(graph)
    report = convscope.analyze(graph)
    stem = report.layer("stem.1")
    assert (stem.type, stem.params) == ("LayerNormalization", model.stem[1].weight.numel() * 2)
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_linear_on_channels_last_maps_is_a_dense_layer():
    """torchvision's ConvNeXt: Permute, LayerNorm, Linear, GELU, Linear, Permute per block;
    each Linear is a dense layer with its module's numel and n_positions x in x out MACs."""
    model = torchvision.models.convnext_tiny().eval()
    graph = import_module(model, [(224, 224, 3)])
    assert "opaque" not in kinds(graph)
    fc1 = convscope.analyze(graph).layer("features.1.0.block.3")
    linear = model.features[1][0].block[3]
    assert fc1.type == "Dense"
    assert fc1.params == sum(p.numel() for p in linear.parameters())
    assert fc1.output_shape == (56, 56, linear.out_features)
    assert fc1.macs == 56 * 56 * linear.in_features * linear.out_features


@pytest.mark.parametrize("block", [0, 1])
def test_convnext_receptive_field_is_the_models(block):
    """The field convscope gives the output of stage 0's blocks equals the region of the
    input that the centre output position's gradient reaches, on the real timm model
    (float64, random weights)."""
    model = timm.create_model("convnext_atto", pretrained=False).double().eval()
    graph = import_module(model, [(224, 224, 3)])
    field = convscope.analyze(graph).layer(f"stages.0.blocks.{block}.add").receptive_field
    extent = reached(lambda x: model.stages[0].blocks[:block + 1](model.stem(x)), 28)
    assert not field.is_global
    assert field.sizes() == extent


def reached(forward, position: int) -> tuple[int, ...]:
    """Height and width of the input region the gradient of ``forward``'s output at
    (position, position), summed over channels, reaches (float64, one random image)."""
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64, requires_grad=True)
    forward(x)[0, :, position, position].sum().backward()
    hit = x.grad[0].abs().sum(0) > 0
    return tuple(int(idx.max() - idx.min() + 1) for idx in (hit.any(1).nonzero(),
                                                            hit.any(0).nonzero()))


def linearised(model: nn.Module) -> nn.Module:
    """A float64 copy whose ReLUs are the identity, max pools average pools and parameters
    positive, so that no dead unit, unchosen maximum or zero-initialised gain (timm's
    zero_init_last) hides a position of the field (convscope verify's linearised copy, on
    the real model)."""
    model = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(0.5, 1.5)
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, name, nn.Identity())
            elif isinstance(child, nn.MaxPool2d):
                setattr(parent, name, nn.AvgPool2d(child.kernel_size, child.stride,
                                                   child.padding))
    return model


@pytest.mark.parametrize(("arch", "layer", "forward", "position"), [
    ("nf_resnet26", "stages.0.0.add", lambda m, x: m.stages[0][0](m.stem(x)), 28),
    ("resnetblur18", "layer2.0.act2",
     lambda m, x: m.layer2[0](m.layer1(m.maxpool(m.act1(m.bn1(m.conv1(x)))))), 14),
])
def test_opaque_convolutions_keep_their_window(arch, layer, forward, position):
    """ScaledStdConv2d (a weight computed from parameters) and BlurPool2d (a buffer as the
    weight, after a reflection padding) are opaque, yet their fields are their windows."""
    model = timm.create_model(arch, pretrained=False).eval()
    graph = import_module(model, [(224, 224, 3)])
    assert any(n.layer.kind == "opaque" for n in graph.nodes)
    field = convscope.analyze(graph).layer(layer).receptive_field
    twin = linearised(model)
    assert not field.is_global
    assert field.sizes() == reached(lambda x: forward(twin, x), position)


def test_an_opaque_window_is_checked():
    """rf_kernel / rf_stride / rf_padding: per spatial axis, of one map or several."""
    from convscope.errors import ConvscopeError

    item = {"type": "opaque", "op": "c", "shape": [5, 5, 3], "rf_kernel": 3, "rf_stride": 2,
            "rf_padding": 1, "inputs": ["x"]}
    graph = convscope.load({"inputs": {"x": [9, 9, 2]}, "layers": [item]})
    axis = convscope.analyze(graph).layers[-1].receptive_field.axes[0]
    assert (axis.size, axis.stride, axis.start) == (3, 2, -1)
    crop = {**item, "rf_padding": -1}  # a crop before: output 0's window starts at 1
    axis = convscope.analyze(convscope.load({"inputs": {"x": [9, 9, 2]}, "layers": [crop]}
                                            )).layers[-1].receptive_field.axes[0]
    assert (axis.size, axis.stride, axis.start) == (3, 2, 1)
    with pytest.raises(ConvscopeError, match="rf_padding"):
        convscope.load({"inputs": {"x": [9, 9, 2]},
                        "layers": [{**item, "rf_padding": 1.5}]})
    conv = {"type": "conv", "name": "c", "out_channels": 2, "kernel_size": 3, "padding": 1,
            "inputs": ["x"]}
    two = {**item, "rf_kernel": 1, "rf_stride": 1, "rf_padding": 0, "shape": [9, 9, 3],
           "inputs": ["x", "c"]}  # position by position: the union of the two fields
    field = convscope.analyze(convscope.load({"inputs": {"x": [9, 9, 2]},
                                              "layers": [conv, two]})).layers[-1].receptive_field
    assert not field.is_global and field.sizes() == (3, 3)
    # a window over the union of two maps on one grid: x (field 1) and c (field 3): 3 + 2
    both = {"inputs": {"x": [9, 9, 2]}, "layers": [conv, {**item, "inputs": ["x", "c"]}]}
    field = convscope.analyze(convscope.load(both)).layers[-1].receptive_field
    assert field.sizes() == (5, 5) and field.axes[0].start == -2
    with pytest.raises(ConvscopeError, match="same rank"):
        convscope.load({"inputs": {"x": [9, 9, 2], "y": [8, 2]},
                        "layers": [{**item, "inputs": ["x", "y"]}]})


class CropAndRmsNorm(nn.Module):
    """NASNet's shift (``ZeroPad2d((-1, 1, -1, 1))``: one row and column cropped before,
    one padded after) and an RMS norm over the channels (timm's RmsNorm2d in MobileNet-V5:
    the mean of squares over axis 1), between two 3x3 convolutions."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 8, 3), nn.Conv2d(8, 4, 3, stride=2)
        self.shift, self.weight = nn.ZeroPad2d((-1, 1, -1, 1)), nn.Parameter(torch.ones(8))

    def forward(self, x):
        x = self.shift(self.conv1(x))
        x = x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-6)
        return self.conv2(x * self.weight.view(1, -1, 1, 1))


def test_a_crop_and_an_rms_norm_over_channels_keep_the_window():
    """Both are opaque (no kind for a crop or an RMS norm), yet read their input position
    by position (pytorch/window.py): the field of the last layer is the input region the
    gradient of its output position (5, 5) reaches, start included."""
    model = CropAndRmsNorm().double()
    graph = import_module(model, [(32, 32, 3)])
    assert {n.layer.kind for n in graph.nodes} >= {"opaque"}
    field = convscope.analyze(graph).layers[-1].receptive_field
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    model(x)[0, :, 5, 5].sum().backward()
    hit = x.grad[0].abs().sum(0) > 0
    rows, cols = hit.any(1).nonzero().flatten(), hit.any(0).nonzero().flatten()
    assert not field.is_global
    for axis, idx in zip(field.axes, (rows, cols), strict=True):
        first = axis.start + 5 * axis.stride
        assert (first, first + axis.size - 1) == (int(idx.min()), int(idx.max()))
    assert field.axes[0].start == 1  # the crop: output 0 starts one row in


class GatedSplit(nn.Module):
    """A gated block on a channels-last map, as timm's MambaOut GatedConvBlock: one linear
    makes a gate, an identity part and a convolved part; ``addcmul`` (no kind) joins them."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 12), nn.Linear(4, 4)
        self.conv = nn.Conv2d(4, 4, 3, padding=1, groups=4)

    def forward(self, x):
        g, i, c = torch.split(self.fc1(x.permute(0, 2, 3, 1)), [4, 4, 4], dim=-1)
        c = self.conv(c.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.fc2(torch.addcmul(i, nn.functional.gelu(g), c)).permute(0, 3, 1, 2)


def test_a_split_and_concatenation_of_channels_keeps_the_fields():
    """The element-wise ``addcmul`` of the three parts is an opaque group with several
    inputs that reads position by position: its field is the union of its inputs' (the
    convolved part's 3x3), which the gradient of the real module confirms."""
    model = GatedSplit().double()
    graph = import_module(model, [(16, 16, 4)])
    assert any(n.layer.kind == "opaque" and len(n.inputs) > 1 for n in graph.nodes)
    field = convscope.analyze(graph).layers[-1].receptive_field
    x = torch.randn(1, 4, 16, 16, dtype=torch.float64, requires_grad=True)
    model(x)[0, :, 8, 8].sum().backward()
    hit = x.grad[0].abs().sum(0) > 0
    assert not field.is_global
    for axis, idx in zip(field.axes, (hit.any(1).nonzero(), hit.any(0).nonzero()),
                         strict=True):
        first = axis.start + 8 * axis.stride
        assert (first, first + axis.size - 1) == (int(idx.min()), int(idx.max())) == (7, 9)


def test_vit_tokens_are_positions_by_channels():
    """timm's ViT: the patch embedding's (N, C, L) sequence transposed to (N, L, C) is the
    same tokens channels last (no layer), so its layer norms and linears are kinds: tokens
    197 x 192 (196 patches + the class token, embed_dim), q / k / v a dense layer with the
    module's numel and 197 x 192 x 576 MACs, its attention call one attention layer."""
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False).eval()
    report = convscope.analyze(import_module(model, [(224, 224, 3)]))
    tokens, width = model.patch_embed.num_patches + 1, model.embed_dim
    block = model.blocks[0]
    norm = report.layer("blocks.0.norm1")
    assert (norm.type, norm.output_shape, norm.params) == (
        "LayerNormalization", (tokens, width), sum(p.numel() for p in block.norm1.parameters()))
    qkv = report.layer("blocks.0.attn.qkv")
    assert (qkv.type, qkv.output_shape) == ("Dense", (tokens, 3 * width))
    assert qkv.params == sum(p.numel() for p in block.attn.qkv.parameters())
    assert qkv.macs == tokens * width * 3 * width
    for name in ("blocks.0.attn.proj", "blocks.0.mlp.fc1", "blocks.0.mlp.fc2"):
        assert report.layer(name).type == "Dense"
    assert report.layer("blocks.0.attn.attention").type == "Attention"
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_swin_blocks_read_like_the_model():
    """torchvision's Swin-T works on (N, H, W, C) throughout, its window attention folding
    windows into the batch: the attention stays one opaque layer, and what comes out of it
    is channels last again, so each block's norms, residual adds and MLP are kinds."""
    model = torchvision.models.swin_t().eval()
    report = convscope.analyze(import_module(model, [(224, 224, 3)]))
    block = model.features[1][0]
    types = {name: report.layer(f"features.1.0.{name}").type
             for name in ("norm1", "attn", "add", "norm2", "mlp.0", "mlp.1", "mlp.3", "add_2")}
    assert types == {"norm1": "LayerNormalization", "attn": "Opaque[ShiftedWindowAttention]",
                     "add": "Add", "norm2": "LayerNormalization", "mlp.0": "Dense",
                     "mlp.1": "GELU", "mlp.3": "Dense", "add_2": "Add"}
    fc1 = report.layer("features.1.0.mlp.0")
    assert fc1.output_shape == (56, 56, block.mlp[0].out_features)
    assert fc1.params == sum(p.numel() for p in block.mlp[0].parameters())
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def assert_pytorchs_totals(model: nn.Module, report: convscope.Report,
                           params: bool = True) -> None:
    """2 x MACs == FlopCounterMode on one 16 x 16 image; parameters == numel()."""
    flops = FlopCounterMode(display=False)
    with flops, torch.no_grad():
        model(torch.randn(1, 3, 16, 16))
    assert 2 * report.totals.macs == flops.get_total_flops()
    if params:
        assert report.totals.params == sum(p.numel() for p in model.parameters())


class TokensHead(nn.Module):
    """A patch embedding to 16-channel tokens, and a projection, layer norm and head."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 16, 4, stride=4)
        self.proj = nn.Linear(16, 16)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 5)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x).flatten(2).transpose(1, 2)  # (N, L, C)


class HandWritten(TokensHead):
    """Tokens, attention written by hand (q k^T, softmax, times v), its heads merged back
    by a view no rule reads, a residual add, a layer norm, a dense layer (CaiT, ConvIT)."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(16, 48)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.tokens(x)
        n, length, c = x.shape
        q, k, v = self.qkv(x).reshape(n, length, 3, 2, c // 2).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q @ k.transpose(-2, -1)).softmax(-1)
        y = self.proj((attn @ v).transpose(1, 2).reshape(n, length, c))
        return self.head(self.norm(x + y))


def test_a_merge_with_a_channels_last_tensor_is_channels_last():
    """The residual add's other input, made by operations no kind reads, has the sizes of
    the channels-last tokens it is added to, element by element: it is channels last too,
    so the add, the norm and the head after it are kinds (they were opaque), and the
    totals are PyTorch's."""
    model = HandWritten().eval()
    report = convscope.analyze(import_module(model, [(16, 16, 3)]))
    types = {layer.name: layer.type for layer in report.layers}
    assert (types["add"], types["norm"], types["head"]) == ("Add", "LayerNormalization",
                                                              "Dense")
    assert report.layer("head").output_shape == (16, 5)  # 16 tokens x 5 classes
    assert_pytorchs_totals(model, report)


class ClassAttention(TokensHead):
    """CrossViT's cross-attention, reduced: the class token alone queries every token;
    its result, moved back from the heads by a view no rule reads, goes to a projection,
    a layer norm over its channels and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.wq, self.wk, self.wv = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.tokens(x)
        n, length, c = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(n, t.shape[1], 2, c // 2).permute(0, 2, 1, 3)

        q, k, v = heads(self.wq(x[:, :1])), heads(self.wk(x)), heads(self.wv(x))
        cls = ((q @ k.transpose(-2, -1)).softmax(-1) @ v).transpose(1, 2).reshape(n, 1, c)
        return self.head(self.norm(self.proj(cls)))


def test_a_linear_or_norm_over_the_last_dim_makes_it_the_channels():
    """The class token's (N, 1, C), made by operations no kind reads, has no known layout;
    F.linear and a layer norm over its last dim read it as channels last, so the projection,
    the norm and the head are kinds (they were opaque), with PyTorch's totals."""
    model = ClassAttention().eval()
    report = convscope.analyze(import_module(model, [(16, 16, 3)]))
    types = tuple(report.layer(n).type for n in ("proj", "norm", "head"))
    assert types == ("Dense", "LayerNormalization", "Dense")
    assert report.layer("head").output_shape == (1, 5)  # the class token x 5 classes
    assert_pytorchs_totals(model, report)


class TokensMean(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 4, stride=4)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.norm(self.embed(x).flatten(2).transpose(1, 2))  # (N, L, C)
        m = self.embed(x).permute(0, 2, 3, 1).amax((1, 2))  # a channels-last map's max
        return self.head(t.mean(1) + m)


def test_a_mean_over_channels_last_positions_is_a_global_pool():
    """Tokens averaged (``x.mean(1)``) and a channels-last map's ``amax((1, 2))``: global
    pools over the positions (they were opaque), with PyTorch's totals."""
    model = TokensMean().eval()
    report = convscope.analyze(import_module(model, [(16, 16, 3)]))
    pools = [layer for layer in report.layers if layer.name.startswith("global_pool")]
    assert [(p.type, p.output_shape) for p in pools] == [
        ("GlobalMaxPooling2D", (8,)), ("GlobalAveragePooling1D", (8,))]
    assert not [layer for layer in report.layers if layer.type.startswith("Opaque")]
    assert_pytorchs_totals(model, report, params=False)


def test_a_layer_scale_shows_its_input_channels_last():
    """Hiera-Det's attention returns a channels-last map no kind reads; its LayerScale
    (``x * gamma``, gamma of the last dim's size) shows the layout (tensor_layout.py), so
    the scale is a LayerScale layer with gamma's parameters and the map reads H x W x C."""
    model = timm.create_model("hieradet_small", pretrained=False).eval()
    report = convscope.analyze(import_module(model, [(256, 256, 3)]))
    ls1 = report.layer("blocks.0.ls1")
    assert ls1.type == "LayerScale" and ls1.params == model.blocks[0].ls1.gamma.numel()
    assert report.layer("blocks.0.constant_pad_nd").output_shape == (64, 64, 96)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
