"""timm's architectures through the ``timm:NAME`` source, one small variant per family.

Every expected number is measured in the test from PyTorch itself: ``numel()`` of the
parameters and buffers, the output shape of a real forward (on meta tensors) and
``FlopCounterMode`` / 2 with scaled dot-product attention on its math backend (the
default fused CPU kernel is invisible to FlopCounterMode).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch  # noqa: E402 - tests of the PyTorch bridge
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import convscope  # noqa: E402
from convscope.pytorch.sources import _timm  # noqa: E402

slow = pytest.mark.slow
FAST = ["resnet18", "seresnext26d_32x4d", "tf_efficientnet_b0", "tf_efficientnetv2_b0",
        "mobilenetv3_small_100", "tf_mobilenetv3_small_100", "mobilenetv4_conv_small",
        "regnetx_002", "regnety_002", "convnext_atto", "ghostnet_100", "hrnet_w18_small",
        "nf_resnet26", "nfnet_l0", "repvgg_a0", "xception41", "cspdarknet53",
        "ese_vovnet19b_dw", "tf_mixnet_s", "vit_tiny_patch16_224", "deit_tiny_patch16_224",
        "swin_tiny_patch4_window7_224", "maxvit_nano_rw_256", "coatnet_nano_rw_224",
        "mobilevit_xxs", "efficientformer_l1", "poolformer_s12", "edgenext_xx_small",
        "resnetblur18"]
SLOW = ["efficientnet_b0", "dla34", "densenet121", "inception_v3", "cspresnet50", "mixnet_s",
        "fastvit_t8"]
# families that are convolutional end to end: every layer maps onto a kind
LOCAL = {"resnet18", "seresnext26d_32x4d", "tf_efficientnet_b0", "tf_efficientnetv2_b0",
         "mobilenetv3_small_100", "tf_mobilenetv3_small_100", "mobilenetv4_conv_small",
         "regnetx_002", "regnety_002", "ghostnet_100", "hrnet_w18_small", "repvgg_a0",
         "xception41", "cspdarknet53", "ese_vovnet19b_dw", "tf_mixnet_s", "efficientnet_b0",
         "dla34", "densenet121", "inception_v3", "cspresnet50", "mixnet_s"}


def reference(model, shape):
    """numel of parameters and buffers, output shape, FlopCounterMode / 2 (per sample)."""
    x = torch.empty(2, shape[2], shape[0], shape[1], device="meta")
    model = model.to("meta")
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        out = model(x)
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()),
            tuple(out.shape[1:]), counter.get_total_flops() // 4)


@pytest.mark.parametrize("name", FAST + [pytest.param(n, marks=slow) for n in SLOW])
def test_timm_import_is_exact(name):
    torch.set_num_threads(1)
    model, shape = _timm(name)
    graph = convscope.load(f"timm:{name}")
    report = convscope.analyze(graph)
    params, buffers, out_shape, macs = reference(model, shape)
    assert report.totals.trainable_params == params
    assert report.totals.buffers == buffers
    assert report.totals.macs == macs
    (_, ours), = report.outputs
    assert ours == out_shape  # (classes,): the same in both orders
    names = {s.name for s in report.layers}
    first_conv = next(n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d))
    # layer names are module paths (a module giving several layers: path.kind)
    assert first_conv in names or f"{first_conv}.conv" in names
    if name in LOCAL:
        assert all(s.kind != "opaque" for s in report.layers)
        assert not graph.notes
        stem = [s for s in report.layers if s.kind != "input"][:4]  # batch norms included
        assert not any(s.receptive_field.is_global for s in stem)


def test_opaque_layers_read_like_the_model():
    graph = convscope.load("timm:vit_tiny_patch16_224")
    report = convscope.analyze(graph)
    # timm's F.scaled_dot_product_attention call is read whole: an attention layer on
    # 3 heads of 197 tokens x 64 channels (PyTorch's (N, 3, 197, 64))
    attn = report.layer("blocks.0.attn.attention")
    n, d, heads = 197, 64, 3
    assert (attn.type, attn.params, attn.output_shape) == ("Attention", 0, (n, d, heads))
    assert attn.macs == 2 * heads * n * n * d  # QK^T and AV
    qkv = report.layer("blocks.0.attn.qkv")
    assert (qkv.params, qkv.macs) == (192 * 576 + 576, n * 192 * 576)
    assert report.layer("blocks.0.mlp.act").type == "GELU"
    assert report.totals.trainable_params == 5_717_416


def test_cli_timm_source():
    proc = subprocess.run([sys.executable, "-m", "convscope", "summary", "timm:convnext_atto",
                           "-f", "json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["totals"]["trainable_params"] == 3_695_520
    assert data["input"] == [224, 224, 3]
    proc = subprocess.run([sys.executable, "-m", "convscope", "summary", "timm:resnet51"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("convscope: timm:resnet51: timm has no model 'resnet51'. "
                                   "Did you mean 'resnet51q'?")
