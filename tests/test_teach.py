"""Teaching tools: worked convolutions against PyTorch, the seeds' worked numbers,
explanations and comparisons."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope
from convscope.analysis.explain import explain_layer, rf_table
from convscope.teach import compare
from convscope.teach.convolve import Settings, as_matrix, convolve, parse_matrix, pool
from convscope.teach.worked import SEED_IMAGE, Request, worked


def tensor(volume):
    return torch.tensor([[[float(v) for v in row] for row in m] for m in volume],
                        dtype=torch.float64)


def matrix(t):
    return [[Fraction(v).limit_denominator(10**6) for v in row] for row in t.tolist()]


# seeds 000 and 001: "3 * 1 + 1 * 1 + 2 * 1 + 0 * 0 + 0 * 0 + 0 * 0 + 1 * (-1) + 8 * (-1) +
# 2 * (-1) = -5" (the seeds print the middle column's inputs as 0; the image's are 0, 5, 7)
def test_seed_edge_example():
    text = worked(Request(example="seed-edge"))
    assert "Output[0,0] = 3*1 + 1*1 + 2*1 + 0*0 + 5*0 + 7*0 + 1*(-1) + 8*(-1) + 2*(-1) = -5" \
        in text
    image = parse_matrix(SEED_IMAGE)
    kernel = parse_matrix("1 0 -1; 1 0 -1; 1 0 -1")
    cells = convolve(image, kernel, Settings())
    expected = F.conv2d(tensor(image)[None], tensor(kernel)[None])[0, 0]
    assert as_matrix(cells) == matrix(expected)
    assert cells[0].value == -5


def test_vertical_edge_detector_seed_000():
    text = worked(Request(example="seed-vertical-edge"))
    rows = [line.split() for line in text.splitlines()]
    assert rows.count(["0", "30", "30", "0"]) == 4  # the bright band in the middle


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_examples(mode):
    text = worked(Request(example=f"seed-{mode}pool"))
    volume = parse_matrix("1 3 2 1; 2 9 1 1; 1 3 2 3; 5 6 1 2")
    op = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = op(tensor(volume)[None], 2)[0, 0]
    cells = pool(volume, (2, 2), Settings(stride=(2, 2)), mode)[0]
    assert as_matrix(cells) == matrix(expected)
    assert ("max(1, 3, 2, 9) = 9" if mode == "max" else "(1 + 3 + 2 + 9) / 4 = 3.75") in text


def test_two_filters_on_a_6x6x3_input_give_4x4x2():
    text = worked(Request(example="seed-rgb"))
    assert "Output: 4x4x2 (one channel per filter)" in text


def test_padding_same_and_stride_examples():
    assert "Output: 6x6x1" in worked(Request(example="same-padding"))
    assert "floor((7 + 2*0 - 3) / 2) + 1 = 3" in worked(Request(example="stride-2"))


small = st.integers(-5, 5)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_convolve_equals_torch(data):
    c = data.draw(st.integers(1, 3))
    h, w = data.draw(st.integers(3, 7)), data.draw(st.integers(3, 7))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    stride, pad, dil = (data.draw(st.integers(1, 3)), data.draw(st.integers(0, 2)),
                        data.draw(st.integers(1, 2)))
    if dil * (kh - 1) + 1 > h + 2 * pad or dil * (kw - 1) + 1 > w + 2 * pad:
        return
    volume = [[[Fraction(data.draw(small)) for _ in range(w)] for _ in range(h)]
              for _ in range(c)]
    kernel = [[[Fraction(data.draw(small)) for _ in range(kw)] for _ in range(kh)]
              for _ in range(c)]
    s = Settings((stride, stride), ((pad, pad), (pad, pad)), (dil, dil))
    flip = data.draw(st.booleans())
    cells = convolve(volume, kernel, s, Fraction(2), flip)
    weight = tensor(kernel)
    if flip:
        weight = weight.flip(-1, -2)
    bias = torch.tensor([2.0], dtype=torch.float64)
    expected = F.conv2d(tensor(volume)[None], weight[None], bias, stride=stride, padding=pad,
                        dilation=dil)[0, 0]
    assert as_matrix(cells) == matrix(expected)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_pooling_equals_torch(data):
    h, w = data.draw(st.integers(2, 7)), data.draw(st.integers(2, 7))
    k = data.draw(st.integers(1, 3))
    stride = data.draw(st.integers(1, 3))
    pad = data.draw(st.integers(0, k // 2))
    ceil = data.draw(st.booleans())
    if k > h + 2 * pad or k > w + 2 * pad:
        return
    volume = [[[Fraction(data.draw(small)) for _ in range(w)] for _ in range(h)]]
    s = Settings((stride, stride), ((pad, pad), (pad, pad)))
    for mode, op in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
        cells = pool(volume, (k, k), s, mode, ceil)[0]
        expected = op(tensor(volume)[None], k, stride, pad, ceil_mode=ceil)[0, 0]
        assert as_matrix(cells) == matrix(expected), mode


# ---------------------------------------------------------- explain, compare ---
def test_explain_layer_shows_the_arithmetic():
    text = explain_layer(convscope.load("alexnet"), "Conv1")
    assert "H, W: out = floor((227 + 2*0 - 11) / 4) + 1 = 55" in text
    assert "params = k*C_in*C_out + C_out = 11*11*3*96 + 96 = 34,944" in text
    assert "all axes: RF = 1 + (11 - 1) x 1 = 11; jump = 1 x 4 = 4" in text
    assert "55*55*96 = 290,400 values" in text


def test_receptive_field_table_seed_001():
    text = rf_table(convscope.load("rf_example"))
    for rf in ("3 = 1 + (3 - 1) x 1", "5 = 3 + (3 - 1) x 1", "7 = 5 + (3 - 1) x 1",
               "9 = 7 + (3 - 1) x 1", "10 = 9 + (2 - 1) x 1"):
        assert rf in text


@pytest.mark.parametrize("x", [5, 12, 28, 56, 224])
def test_two_3x3_against_one_5x5_demo(x):
    one, two = (e.report.totals for e in compare.entries(compare.demo_sources("3x3", x)))
    assert (one.params, two.params) == (25, 18)
    assert one.macs == 25 * x**2 - 200 * x + 400
    assert two.macs == 18 * x**2 - 108 * x + 180
    assert f"(convscope: {one.macs:,})" in compare.demo("3x3", x)


def test_demos():
    text = compare.demo("inception")
    assert "output depth: 128 + 192 + 96 + 256 = 672 against 128 + 192 + 96 + 64 = 480" in text
    text = compare.demo("fc-vs-conv")
    assert "28*28*3*500 + 500 = 1,176,500 parameters" in text
    assert "28*28*3*500 = 1,176,000" in text and "3*3*3*500 + 500 = 14,000" in text
    assert "VGG-16" in compare.demo("classics")


def test_compare_and_plot(tmp_path):
    target = tmp_path / "cmp.png"
    proc = subprocess.run([sys.executable, "-m", "convscope", "compare", "lenet5",
                           "keras_baseline", "--plot", str(target)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert "  vs lenet5" in proc.stdout
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "message"), [
    (["convolve", "--input", "1 2; 3", "--kernel", "1"],
     "convscope: input: rows have different lengths [1, 2]; every row needs the same number "
     "of values"),
    (["convolve", "--input", "1 2; 3 4", "--kernel", "verticall"],
     "convscope: unknown kernel preset 'verticall'. Did you mean 'vertical'? Presets: "
     "vertical, horizontal, sobel_x, sobel_y, scharr_x, identity, box, laplacian"),
    (["convolve", "--input", "1 2; 3 4", "--kernel", "vertical"],
     "convscope: kernel 3 on axis rows is larger than the padded input 2 (input 2, padding "
     "0+0)"),
    (["convolve", "--example", "seed-edgy"],
     "convscope: no example 'seed-edgy'. Did you mean 'seed-edge'? Examples: seed-edge, "
     "seed-vertical-edge, seed-rgb, seed-maxpool, seed-avgpool, same-padding, stride-2"),
    (["explain", "lenet5", "--layer", "conv1"],
     "convscope: no layer named 'conv1'. Did you mean 'Conv1'? Layers: input, Conv1, MaxPool1, "
     "Conv2, MaxPool2, FC1, FC2, FC3"),
    (["compare", "lenet5"], "convscope: compare needs at least two models (or --demo NAME)"),
])
def test_errors(args, message):
    proc = subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and proc.stderr.strip() == message
