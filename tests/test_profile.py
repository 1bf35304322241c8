"""``convscope profile``: measured per-layer latency beside the static MACs."""

from __future__ import annotations

import json

import convscope
from convscope.cli import main
from convscope.pytorch.profile import profile, profile_json, render_profile


def test_every_layer_is_timed_with_its_static_macs():
    graph = convscope.load("lenet5")
    report = convscope.analyze(graph, batch=4)
    result = profile(graph, report, batch=4, runs=3, warmup=1)
    body = [s for s in report.layers if s.kind != "input"]
    assert [t.name for t in result.layers] == [s.name for s in body]
    assert [t.macs for t in result.layers] == [s.macs for s in body]  # per batch of 4
    assert all(t.forward_ms > 0 and t.backward_ms == 0 for t in result.layers)
    assert result.total_ms > 0
    text = render_profile(result, top=3)
    assert "median of 3 runs" in text and "Slowest 3:" in text and "GFLOP/s" in text


def test_backward_times_and_json(tmp_path, capsys):
    graph = convscope.load("8x8x3 | conv3-4 | relu | flatten | fc10")
    result = profile(graph, convscope.analyze(graph), runs=2, warmup=1, backward=True)
    conv = result.layers[0]
    assert conv.backward_ms > 0 and conv.ms == conv.forward_ms + conv.backward_ms
    data = profile_json(result)
    assert data["backward"] and data["layers"][0]["latency_ms"] == conv.ms
    assert main(["profile", "lenet5", "--runs", "2", "-f", "json", "--plot",
                 str(tmp_path / "lat.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [layer["name"] for layer in out["layers"]][:2] == ["Conv1", "MaxPool1"]
    assert (tmp_path / "lat.png").read_bytes().startswith(b"\x89PNG")
