"""``convscope.summary(module, input_size=...)``: torchinfo's call on a PyTorch module,
checked against PyTorch's own numbers measured here."""

from __future__ import annotations

import torch
import torchvision
from torch.utils.flop_counter import FlopCounterMode

import convscope


def test_summary_of_a_module_with_torchinfos_input_size():
    model = torchvision.models.resnet18(weights=None).eval()
    report = convscope.summary(model, input_size=(2, 3, 224, 224), print_fn=None)
    assert report.batch == 2
    assert report.totals.torch_params == sum(p.numel() for p in model.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.randn(2, 3, 224, 224))
    assert report.totals.macs == counter.get_total_flops() // 2  # batch of 2, as measured
    assert report.outputs[0][1] == tuple(out.shape[1:])
    assert "layer4" in report._repr_html_()


def test_a_module_without_input_size_is_refused_with_the_call_to_make():
    model = torch.nn.Conv2d(3, 8, 3)
    try:
        convscope.summary(model, print_fn=None)
    except convscope.ConvscopeError as err:
        assert "input_size=(1, 3, 224, 224)" in str(err)
    else:
        raise AssertionError("no error")
    diagram = convscope.draw(model, input_size=(1, 3, 32, 32))
    assert "<svg" in diagram._repr_svg_()
