"""``convscope lint``: each rule on a zoo model and on a small description written to
trigger it (and one that must not), with the numbers worked out here."""

from __future__ import annotations

import subprocess
import sys

import pytest

import convscope
from convscope.analysis.lint import RULES, lint, unread


def findings(model, dtype="float32", rule=None):
    graph = convscope.load(model)
    found = lint(graph, convscope.analyze(graph, dtype=dtype))
    return [f for f in found if rule is None or f.rule == rule]


def test_vgg16_flags_its_first_dense_layer():
    (f,) = findings("vgg16", rule="heavy-layer")
    # 7*7*512*4096 + 4096 of VGG-16's 138,357,544 parameters
    assert f.layer == "fc1" and "102,764,544 of 138,357,544" in f.message and "74 %" in f.message


def test_resnet18_has_no_bias_warning_and_a_bias_before_bn_is_found():
    assert not findings("resnet18", rule="bias-before-norm")
    (f,) = findings("32x32x3 | conv3-64 | bn | relu", rule="bias-before-norm")
    assert f.severity == "warning" and "64 parameters" in f.message  # one bias per filter
    assert not findings("32x32x3 | conv3-64 nobias | bn | relu", rule="bias-before-norm")
    assert not findings("32x32x3 | conv3-64 relu | bn", rule="bias-before-norm")


def test_unread_positions_by_hand():
    # n=7, k=2, s=2, no padding: windows at 0-1, 2-3, 4-5: position 6 never read (the edge)
    assert unread(7, 2, 2, 1, 0, 3) == (1, 1)
    # n=8, k=1, s=2: every other position (4 of 8), not only at the edge
    assert unread(8, 1, 2, 1, 0, 4) == (4, 1)
    # n=9, k=3, s=1, d=2: windows 0,2,4 / 1,3,5 / ... : all read
    assert unread(9, 3, 1, 2, 0, 5) == (0, 0)
    (f,) = findings("7x7x3 | conv2-4 s=2", rule="unread-positions")
    assert f.severity == "warning" and "1 of 7 on axis 0, 1 of 7 on axis 1" in f.message
    (g,) = findings("8x8x3 | conv1-4 s=2", rule="unread-positions")
    assert g.severity == "info" and "4 of 8 on axis 0" in g.message
    assert not findings("8x8x3 | conv3-4 p=1", rule="unread-positions")


def test_even_kernel_with_same_padding():
    (f,) = findings("8x8x3 | conv2-4 same", rule="even-same-kernel")
    assert "0 before, 1 after" in f.message  # k=2, s=1: total padding 1, after
    assert not findings("8x8x3 | conv3-4 same", rule="even-same-kernel")


def test_receptive_field_coverage():
    (f,) = findings("lenet5", rule="field-coverage")
    assert "16x16 of the 32x32" in f.message  # seed 001's recursion for LeNet-5's MaxPool2
    assert any("covers the whole input" in f.message
               for f in findings("googlenet", rule="field-coverage"))


def test_pooled_point_double_activation_softmax_and_channels():
    assert findings("1x1x8 | maxpool1", rule="pooled-point")
    (f,) = findings("8x8x3 | conv3-4 | relu | relu", rule="double-activation")
    assert f.layer.startswith("relu")
    assert findings("8x8x3 | flatten | fc10 | softmax", rule="softmax-output")
    assert not findings("8x8x3 | flatten | fc10", rule="softmax-output")
    assert findings("8x8x3 | conv3-12", dtype="float16", rule="channel-multiple")
    assert not findings("8x8x3 | conv3-12", rule="channel-multiple")
    assert not findings("8x8x3 | conv3-16", dtype="bfloat16", rule="channel-multiple")


def test_every_rule_is_documented_and_every_zoo_model_lints():
    for rule in RULES:
        assert rule.__doc__ and len(rule.__doc__.split()) > 8
    for model in convscope.zoo.names():
        for f in findings(model):
            assert f.severity in ("warning", "info") and f.message and f.layer


@pytest.mark.parametrize(("args", "status"), [(["lint", "vgg16"], 0),
                                               (["lint", "7x7x3 | conv2-4 s=2"], 0),
                                               (["lint", "7x7x3 | conv2-4 s=2", "--strict"], 1),
                                               (["lint", "vgg16", "--strict"], 0)])
def test_the_command(args, status):
    proc = subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True,
                          text=True)
    assert proc.returncode == status, proc.stderr
    assert "finding(s)" in proc.stdout and "Traceback" not in proc.stderr


def test_summary_counts_and_lists_findings():
    proc = subprocess.run([sys.executable, "-m", "convscope", "summary", "vgg16"],
                          capture_output=True, text=True)
    assert "lint: 2 finding(s)" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "convscope", "summary", "vgg16", "--lint"],
                          capture_output=True, text=True)
    assert "[heavy-layer]" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "convscope", "help", "lint"],
                          capture_output=True, text=True)
    assert all(r.__name__.replace("_", "-") in proc.stdout for r in RULES)


def test_findings_reach_the_html_report_and_the_web_api():
    import json

    from convscope.render.html import render_html
    from convscope.web.jobs import analyze_job

    graph = convscope.load("vgg16")
    html = render_html(convscope.analyze(graph), graph)
    assert "Design findings" in html and "[heavy-layer]" in html
    reply = json.loads(analyze_job("7x7x3 | conv2-4 s=2", None).body)
    assert any("[unread-positions]" in line for line in reply["lint"])
