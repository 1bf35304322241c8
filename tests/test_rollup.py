"""``summary --depth N`` (analysis/rollup.py): rows rolled up to module paths N levels
deep, their counts summed, so every column still adds up to the totals."""

from __future__ import annotations

import subprocess
import sys

import pytest

import convscope
from convscope import zoo
from convscope.analysis.rollup import rollup
from convscope.render import render

SUMMED = ("params", "trainable_params", "non_trainable_params", "buffers", "macs",
          "other_ops", "torch_params")


def _report(model: str):
    return convscope.analyze(convscope.load(model))


@pytest.mark.parametrize("model", zoo.names())
def test_rows_add_up_to_the_totals_at_every_depth(model):
    report = _report(model)
    for depth in (0, 1, 2, 3):
        rows = rollup(report, depth).layers
        for field in SUMMED:
            assert sum(getattr(r, field) for r in rows) == getattr(report.totals, field), \
                (model, depth, field)
        body = [r for r in rows if r.kind != "input"]
        assert sum(r.activation_bytes for r in body) == report.totals.activation_bytes
        assert [r.name for r in rows if r.kind == "input"] == [n for n, _ in report.inputs]
        assert len({r.name for r in rows}) == len(rows)


def test_resnet18_at_depth_1_by_hand():
    rows = {r.name: r for r in rollup(_report("resnet18"), 1).layers}
    assert list(rows) == ["input", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                          "layer3", "layer4", "avgpool", "fc"]
    # layer1: two basic blocks, each two 3x3 convolutions of 64 -> 64 (no bias) and two
    # batch norms (gamma and beta trainable; running mean and variance not)
    assert rows["layer1"].trainable_params == 2 * (2 * 3 * 3 * 64 * 64 + 2 * 2 * 64)
    assert rows["layer1"].non_trainable_params == 2 * 2 * 2 * 64
    assert rows["layer1"].macs == 2 * 2 * (56 * 56 * 64) * (3 * 3 * 64)
    assert rows["layer1"].output_shape == (56, 56, 64)
    assert rows["layer2"].inputs == ("layer1",)
    assert rows["fc"].inputs == ("avgpool",)


def test_depth_zero_is_one_row_and_a_deep_depth_changes_nothing():
    report = _report("googlenet")
    assert [r.name for r in rollup(report, 0).layers] == ["input", "googlenet"]
    assert rollup(report, 99).layers == tuple(
        r for r in report.layers)  # every name has fewer than 99 parts


def test_every_format_renders_rolled_up_rows():
    report = rollup(_report("googlenet"), 1)
    for fmt in ("table", "seed", "keras", "markdown", "csv", "json"):
        text = render(report, fmt, None)
        assert "inception3a" in text, fmt


def test_negative_depth_is_refused():
    with pytest.raises(convscope.SpecError, match="depth must be an integer >= 0"):
        rollup(_report("lenet5"), -1)
    proc = subprocess.run([sys.executable, "-m", "convscope", "summary", "resnet18",
                           "--depth", "-1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "depth must be an integer >= 0" in proc.stderr


def test_the_api_takes_depth():
    report = convscope.summary("resnet18", depth=1, print_fn=None)
    assert "layer1" in [r.name for r in report.layers]
