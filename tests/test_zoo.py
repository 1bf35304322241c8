"""The zoo against independent references: torchvision's models and their published
metadata, the PyTorch DCGAN tutorial, He et al.'s CIFAR ResNets, the papers' tables.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

import convscope
from convscope import zoo
from convscope.pytorch import build
from convscope.pytorch.build import example_inputs


def analysis(model: str):
    return convscope.analyze(convscope.load(model))


# zoo id -> (torchvision builder, weights enum holding the published metadata)
TORCHVISION = {
    "alexnet_tv": ("alexnet", "AlexNet_Weights"),
    "vgg11": ("vgg11", "VGG11_Weights"), "vgg13": ("vgg13", "VGG13_Weights"),
    "vgg16": ("vgg16", "VGG16_Weights"), "vgg19": ("vgg19", "VGG19_Weights"),
    "vgg11_bn": ("vgg11_bn", "VGG11_BN_Weights"), "vgg13_bn": ("vgg13_bn", "VGG13_BN_Weights"),
    "vgg16_bn": ("vgg16_bn", "VGG16_BN_Weights"), "vgg19_bn": ("vgg19_bn", "VGG19_BN_Weights"),
    "googlenet": ("googlenet", "GoogLeNet_Weights"),
    "resnet18": ("resnet18", "ResNet18_Weights"), "resnet34": ("resnet34", "ResNet34_Weights"),
    "resnet50": ("resnet50", "ResNet50_Weights"), "resnet101": ("resnet101", "ResNet101_Weights"),
    "resnet152": ("resnet152", "ResNet152_Weights"),
    "mobilenet_v2": ("mobilenet_v2", "MobileNet_V2_Weights"),
}


def torchvision_model(builder: str) -> nn.Module:
    kwargs = {"aux_logits": False, "init_weights": False} if builder == "googlenet" else {}
    with torch.device("meta"):
        return getattr(torchvision.models, builder)(weights=None, **kwargs).eval()


@pytest.mark.parametrize("zoo_id", sorted(TORCHVISION))
def test_zoo_equals_torchvision(zoo_id):
    builder, weights = TORCHVISION[zoo_id]
    rep = analysis(zoo_id)
    model = torchvision_model(builder)
    assert rep.totals.torch_params == sum(p.numel() for p in model.parameters())
    assert rep.totals.buffers == sum(b.numel() for b in model.buffers())
    with torch.device("meta"):
        out = model(torch.empty(1, 3, 224, 224))
    assert tuple(out.shape[1:]) == rep.outputs[0][1]
    # torchvision's published metadata: num_params, and "_ops" in GFLOPS, which are in fact
    # giga multiply-adds (e.g. ResNet50 4.089, the 8.18 G of torchinfo at batch 2 halved)
    meta = getattr(torchvision.models, weights).IMAGENET1K_V1.meta
    assert rep.totals.trainable_params == meta["num_params"]
    assert round(rep.totals.macs / 1e9, 3) == pytest.approx(meta["_ops"], abs=1e-9)


# ------------------------------------------ PyTorch DCGAN tutorial (nz=100) ---
def dcgan_generator_tutorial(nz=100, ngf=64, nc=3):
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4),
        nn.ReLU(),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
        nn.ReLU(),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


def dcgan_discriminator_tutorial(ndf=64, nc=3):
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())


@pytest.mark.parametrize(("zoo_id", "make", "shape"), [
    ("dcgan_generator", dcgan_generator_tutorial, (1, 100, 1, 1)),
    ("dcgan_discriminator", dcgan_discriminator_tutorial, (1, 3, 64, 64)),
])
def test_dcgan_equals_pytorch_tutorial(zoo_id, make, shape):
    rep = analysis(zoo_id)
    model = make().eval()
    assert rep.totals.torch_params == sum(p.numel() for p in model.parameters())
    assert rep.totals.buffers == sum(b.numel() for b in model.buffers())
    out = model(torch.zeros(shape))
    assert tuple(out.shape[1:]) == (rep.outputs[0][1][-1], *rep.outputs[0][1][:-1])


# ------------------------------------- CIFAR ResNets, He et al. 2016 section 4.2 ---
class OptionABlock(nn.Module):
    """Basic block with the parameter-free shortcut (option A), written from the paper."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = cout - cin
        self.stride = stride

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        short = x[:, :, ::self.stride, ::self.stride]
        short = nn.functional.pad(short, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return torch.relu(out + short)


def cifar_resnet(depth):
    n = (depth - 2) // 6
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(n):
            layers.append(OptionABlock(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


# He et al. 2016, Table 6: "# params" 0.27M, 0.46M, 0.66M, 0.85M, 1.7M, 19.4M
CIFAR_PAPER = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7, 1202: 19.4}


@pytest.mark.parametrize("depth", sorted(CIFAR_PAPER))
def test_cifar_resnets(depth):
    rep = analysis(f"cifar_resnet{depth}")
    with torch.device("meta"):
        model = cifar_resnet(depth)
        out = model(torch.empty(1, 3, 32, 32))
    assert rep.totals.trainable_params == sum(p.numel() for p in model.parameters())
    assert tuple(out.shape[1:]) == rep.outputs[0][1]
    digits = 1 if depth >= 110 else 2
    assert round(rep.totals.trainable_params / 1e6, digits) == CIFAR_PAPER[depth]
    assert rep.layers[-1].name == "fc"


# ------------------------------------------------------- papers' own tables ---
def test_mobilenet_v1_paper_table():
    # Howard et al. 2017, Table 8: 1.0 MobileNet-224: 569 million mult-adds, 4.2 million params
    rep = analysis("mobilenet_v1")
    assert round(rep.totals.macs / 1e6) == 569
    assert round(rep.totals.trainable_params / 1e6, 1) == 4.2


def test_googlenet_paper_table_1_output_sizes():
    # Szegedy et al. 2015, Table 1, "output size" column
    rep = analysis("googlenet_paper")
    shapes = {s.name: s.output_shape for s in rep.layers}
    assert shapes["conv1/7x7_s2"] == (112, 112, 64)
    assert shapes["pool1/3x3_s2"] == (56, 56, 64)
    assert shapes["conv2/3x3"] == (56, 56, 192)
    assert shapes["pool2/3x3_s2"] == (28, 28, 192)
    expected = {"inception_3a": 256, "inception_3b": 480, "inception_4a": 512,
                "inception_4b": 512, "inception_4c": 512, "inception_4d": 528,
                "inception_4e": 832, "inception_5a": 832, "inception_5b": 1024}
    for name, depth in expected.items():
        size = 28 if name[-2] == "3" else 14 if name[-2] == "4" else 7
        assert shapes[name] == (size, size, depth), name
    assert shapes["pool3/3x3_s2"] == (14, 14, 480)
    assert shapes["pool4/3x3_s2"] == (7, 7, 832)
    assert shapes["pool5/7x7_s1"] == (1, 1, 1024)


def test_zfnet_paper_figure_3_sizes():
    # Zeiler & Fergus 2013, Figure 3: 110x110x96, 55x55x96, 26x26x256, 13x13x256, 13x13x384,
    # 13x13x384, 13x13x256, 6x6x256, 4096, 4096, 1000
    rep = analysis("zfnet")
    shapes = [s.output_shape for s in rep.layers if s.kind in ("conv", "pool", "dense")]
    assert shapes == [(110, 110, 96), (55, 55, 96), (26, 26, 256), (13, 13, 256),
                      (13, 13, 384), (13, 13, 384), (13, 13, 256), (6, 6, 256), (4096,),
                      (4096,), (1000,)]


# ------------------------------------------------ every zoo model runs in torch ---
@pytest.mark.parametrize("zoo_id", zoo.names())
def test_every_zoo_model_builds_and_matches_its_analysis(zoo_id):
    graph = convscope.load(zoo_id)
    rep = convscope.analyze(graph)
    with torch.device("meta"):
        model = build(graph).eval()
        out = model(*example_inputs(graph, device="meta", random=False))
    want = rep.outputs[0][1]
    assert tuple(out.shape[1:]) == (want if len(want) == 1 else (want[-1], *want[:-1]))
    assert rep.totals.torch_params == sum(p.numel() for p in model.parameters())
    assert rep.totals.buffers == sum(b.numel() for b in model.buffers())


def test_imagenet_models_default_to_their_usual_input():
    for zoo_id in zoo.names():
        rep = analysis(zoo_id)
        if rep.outputs[0][1] == (1000,):
            assert rep.inputs[0][1] in ((224, 224, 3), (227, 227, 3)), zoo_id


# zoo models whose layer names are torchvision's module paths
@pytest.mark.parametrize("zoo_id", ["resnet50", "googlenet", "resnet101", "resnet18"])
def test_depth_rows_equal_torchvisions_child_modules(zoo_id):
    """``summary --depth 1``: each row's parameters and buffers are those of the
    torchvision module of that name (``named_children``), its output that module's."""
    from convscope.analysis.rollup import rollup

    builder, _ = TORCHVISION[zoo_id]
    model = torchvision_model(builder)
    rows = {s.name: s for s in rollup(analysis(zoo_id), 1).layers}
    children = dict(model.named_children())
    checked = 0
    for name, child in children.items():
        if name not in rows:  # a module with no layer in the zoo (dropout in eval, aux)
            assert sum(p.numel() for p in child.parameters()) == 0 or name.startswith("aux")
            continue
        assert rows[name].trainable_params == sum(p.numel() for p in child.parameters()), name
        assert rows[name].buffers == sum(b.numel() for b in child.buffers()), name
        checked += 1
    assert checked >= 5
    # the output of a stage equals the shape torchvision's forward gives there
    if zoo_id.startswith("resnet"):
        with torch.device("meta"):
            x = torch.empty(1, 3, 224, 224)
            for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3",
                         "layer4"):
                x = children[name](x)
                c, h, w = x.shape[1:]
                assert rows[name].output_shape == (h, w, c), name
