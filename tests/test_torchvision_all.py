"""Every model of ``torchvision.models.list_models()`` through the ``torchvision:NAME`` source.

Classification (and quantization-ready) models, segmentation, video and optical-flow
models import exactly; detection models in eval mode choose their boxes from the data's
values and are refused with the ATen operation that needs them. Every expected number is
measured in the test from PyTorch itself, on meta tensors (no memory, no arithmetic):
``numel()`` of the parameters of the modules the forward calls (an auxiliary head that
eval mode skips is named in a note, not counted) and of every buffer, the output shapes
of the forward, and ``FlopCounterMode`` / 2 with scaled dot-product attention on its math
backend (the default fused CPU kernel is invisible to FlopCounterMode).
"""

from __future__ import annotations

import pytest
import torch  # noqa: E402 - tests of the PyTorch bridge
import torchvision  # noqa: E402

import convscope  # noqa: E402
from convscope.errors import ConvscopeError  # noqa: E402
from convscope.pytorch.sources import (  # noqa: E402
    _torchvision,
    torchvision_inputs,
    torchvision_task,
)
from torch_oracle import reference

models = torchvision.models
CLASSIFICATION = models.list_models(module=models)
QUANTIZATION = models.list_models(module=models.quantization)
SEGMENTATION = models.list_models(module=models.segmentation)
VIDEO = models.list_models(module=models.video)
OPTICAL_FLOW = models.list_models(module=models.optical_flow)
DETECTION = models.list_models(module=models.detection)
# over about a second to import and measure on a loaded CI machine
SLOW = {"regnet_y_128gf", "regnet_y_32gf", "regnet_y_16gf", "regnet_x_32gf", "regnet_x_16gf",
        "regnet_y_8gf", "efficientnet_b7", "efficientnet_b6", "efficientnet_v2_l",
        "efficientnet_v2_m", "densenet201", "densenet161", "swin_v2_b", "swin_v2_s", "swin_s",
        "swin_b", "convnext_base", "convnext_large", "vit_h_14", "vit_l_16", "raft_large",
        "raft_small", "swin3d_b", "swin3d_s", "mvit_v1_b", "mvit_v2_s"}


def params_of(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


def check_exact(name):
    torch.set_num_threads(1)
    graph = convscope.load(f"torchvision:{name}")
    report = convscope.analyze(graph)
    params, buffers, shapes, macs = reference(_torchvision(name), torchvision_inputs(name))
    assert report.totals.trainable_params == params
    assert report.totals.buffers == buffers
    assert [s for _, s in report.outputs] == shapes
    assert report.totals.macs == macs
    return graph, report


@pytest.mark.parametrize("name", params_of(CLASSIFICATION + QUANTIZATION))
def test_classification_is_exact(name):
    graph, report = check_exact(name)
    assert [s for _, s in report.outputs] == [(1000,)]
    if not name.startswith(("vit_", "swin", "maxvit", "convnext")):  # convolutional
        assert all(s.kind != "opaque" for s in report.layers if s.type != "Opaque[buffers]")


@pytest.mark.parametrize("name", params_of(SEGMENTATION + VIDEO + OPTICAL_FLOW))
def test_segmentation_video_and_optical_flow_are_exact(name):
    _, report = check_exact(name)
    if name in SEGMENTATION:
        assert report.outputs[0][1] == (520, 520, 21)  # per pixel, at the input's size


@pytest.mark.parametrize("name", DETECTION)
def test_detection_is_refused_with_the_data_dependent_operation(name):
    with pytest.raises(ConvscopeError) as err:
        convscope.load(f"torchvision:{name}")
    text = str(err.value)
    assert "needs the values of the data" in text
    assert "aten.nonzero" in text or "aten.index (boolean-mask indexing" in text


def test_input_conventions():
    assert torchvision_inputs("resnet18") == [(224, 224, 3)]
    assert torchvision_inputs("inception_v3") == [(299, 299, 3)]
    assert torchvision_inputs("quantized_inception_v3") == [(299, 299, 3)]
    assert torchvision_inputs("fcn_resnet50") == [(520, 520, 3)]
    assert torchvision_inputs("r3d_18") == [(16, 112, 112, 3)]
    assert torchvision_inputs("mvit_v2_s") == [(16, 224, 224, 3)]
    assert torchvision_inputs("raft_small") == [(128, 128, 3)] * 2
    assert [torchvision_task(n) for n in ("vit_b_16", "deeplabv3_resnet50", "ssd300_vgg16",
                                          "s3d", "raft_large", "quantized_resnet18")] == [
        "classification", "segmentation", "detection", "video", "optical_flow",
        "quantization"]
    assert len(CLASSIFICATION + QUANTIZATION + SEGMENTATION + VIDEO + OPTICAL_FLOW +
               DETECTION) == len(models.list_models())


def test_eval_mode_auxiliary_heads_named_and_their_buffers_counted():
    graph, report = check_exact("googlenet")
    assert graph.notes[-1] == ("parameters the forward pass does not use (not counted): "
                               "aux1 (3,188,968), aux2 (3,191,016)")
    assert report.layer("aux1").type == "Opaque[buffers]"
