"""Receptive fields of imported timm models against the real models' gradients (issue 11:
"receptive fields local wherever the model is local"; tests/rf_oracle.py).

Across families: plain residual (resnet18), squeeze-excitation (seresnext26d: global from
the first SE block on, as measured), a weight-standardised opaque convolution (nf_resnet26),
group norm over (C, H, W) (poolformer_s12: statistics are not part of the field),
channels-last layer norms and GRN (convnextv2_atto), and hard-swish SE mobile blocks
(mobilenetv3_small_100), and positions moved between axes (pytorch/axis_flow.py,
layers/regrid.py): Swin's shifted window attention and its tokens (swin_tiny), HaloNet's
blocked local attention with its skewed relative logits (halonet26t), TResNet's
space-to-depth written as reshapes (tresnet_m), Hiera-Det's mask-unit attention whose
output a LayerScale shows channels last (hieradet_small), and torchvision's own Swin (padding,
cyclic shifts and masks written differently). ``benchmarks/rf_locality.py`` runs the
130-model sample, and with ``--torchvision`` torchvision's classification models.
"""

from __future__ import annotations

import pytest
import torch

from rf_oracle import measure

MODELS = ("resnet18", "seresnext26d_32x4d", "nf_resnet26", "poolformer_s12",
          "convnextv2_atto", "mobilenetv3_small_100", "swin_tiny_patch4_window7_224",
          "halonet26t", "tresnet_m", "hieradet_small", "torchvision:swin_t")


@pytest.mark.parametrize("name", MODELS)
def test_fields_hold_what_the_model_reads(name):
    torch.manual_seed(0)
    verdicts = measure(name, most=10)
    wrong = [v for v in verdicts if v[1] in ("UNSOUND", "IMPRECISE")]
    assert len(verdicts) >= 4, verdicts  # the modules measured
    assert not wrong, wrong
    assert any(v[1] == "sound" for v in verdicts)  # some local field was compared
