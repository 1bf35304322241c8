"""Mixed precision, activation checkpointing and the CUDA allocator's rounding in the
training-memory estimate, against PyTorch: ``saved_tensors_hooks`` under
``torch.autocast('cpu')``, ``torch.utils.checkpoint`` per block, autocast's parameter casts
caught at the ATen level, and the CUDA autocast lists of the header shipped with torch."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import convscope
from convscope import zoo
from convscope.analysis.memory import largest_batch, training_memory
from convscope.errors import SpecError
from convscope.pytorch.memory import measure_training_memory

NOT_MODELLED = {"lrn", "recurrent", "opaque", "pool"}  # kinds whose autocast() may be None


def refused_kinds(graph, target="cpu"):
    return {n.layer.kind for n in graph.nodes if n.layer.autocast(target) is None}


def small_zoo_models(limit=300 * 2**20):
    """Zoo models whose float32 training step at batch 2 is estimated under ``limit`` bytes:
    autocast runs for real on the CPU (weights and activations allocated), so the VGGs and
    the deep ResNets (0.4-2.6 GB each per worker) stay out; the meta-device tests below and the
    per-kind sweep in tests/test_layers_vs_torch.py cover their layers."""
    small = []
    for name in zoo.names():
        graph = convscope.load(name)
        if training_memory(graph, 2).peak_bytes < limit and len(graph.nodes) < 500:
            small.append(name)
    return small


@pytest.mark.parametrize("zoo_id", small_zoo_models())
def test_mixed_precision_of_the_smaller_zoo_models(zoo_id):
    graph = convscope.load(zoo_id)
    if refused_kinds(graph):
        assert refused_kinds(graph) <= NOT_MODELLED
        with pytest.raises(SpecError, match="no mixed-precision rule for cpu"):
            training_memory(graph, 2, amp="bfloat16")
        return
    estimate = training_memory(graph, 2, amp="bfloat16")
    measured = measure_training_memory(graph, 2, device="cpu", amp="bfloat16")
    assert estimate.activation_bytes == measured["activation_bytes"]
    assert estimate.cast_bytes == measured["cast_bytes"]
    assert estimate.param_bytes == measured["param_bytes"]  # float32 master weights
    assert estimate.optimizer_bytes == measured["optimizer_bytes"]


@pytest.mark.parametrize("zoo_id", zoo.names())
def test_checkpointing_of_every_zoo_model(zoo_id):
    graph = convscope.load(zoo_id)
    estimate = training_memory(graph, 3, checkpointing=True)
    measured = measure_training_memory(graph, 3, checkpointing=True)
    assert estimate.blocks == measured["blocks"]
    assert estimate.activation_bytes == measured["activation_bytes"]
    assert estimate.recompute_bytes == measured["recompute_bytes"]


@pytest.mark.parametrize("zoo_id", ["cifar_resnet20", "mobilenet_v2", "inception_bottleneck"])
def test_float16_and_both_together(zoo_id):
    graph = convscope.load(zoo_id)
    for amp in ("float16", "bfloat16"):
        estimate = training_memory(graph, 2, amp=amp, checkpointing=True)
        measured = measure_training_memory(graph, 2, device="cpu", amp=amp, checkpointing=True)
        assert (estimate.activation_bytes, estimate.recompute_bytes, estimate.cast_bytes) == (
            measured["activation_bytes"], measured["recompute_bytes"], measured["cast_bytes"])


def test_checkpointing_keeps_less_and_mixed_precision_halves_the_activations():
    graph = convscope.load("resnet50")
    plain = training_memory(graph, 32)
    checked = training_memory(graph, 32, checkpointing=True)
    half = training_memory(graph, 32, amp="bfloat16")
    assert checked.blocks == 16  # 3 + 4 + 6 + 3 bottlenecks
    assert checked.activation_bytes + checked.recompute_bytes < plain.activation_bytes / 2
    assert half.activation_bytes < 0.6 * plain.activation_bytes
    assert half.cast_bytes == 2 * sum(n.layer.params(graph.input_shapes(n)).torch_params
                                      for n in graph.nodes if n.layer.kind in ("conv", "dense"))


def autocast_lists() -> dict[str, set[str]]:
    """CUDA's autocast lists from the header torch ships (aten/src/ATen/autocast_mode.h)."""
    header = Path(torch.__file__).parent / "include" / "ATen" / "autocast_mode.h"
    text = header.read_text()
    lists = {}
    for macro, policy in (("AT_FORALL_LOWER_PRECISION_FP", "lower"), ("AT_FORALL_FP32", "float32"),
                          ("AT_FORALL_FP32_SET_OPT_DTYPE", "float32")):
        body = re.search(rf"#define {macro}\(_\)(.*?)\n\n", text, re.S).group(1)
        lists.setdefault(policy, set()).update(re.findall(r"_\((\w+)", body))
    return lists


CUDA_OPS = [  # one-layer descriptions and the ATen operation PyTorch runs for them
    ({"type": "conv", "out_channels": 4, "kernel_size": 3}, "conv2d"),
    ({"type": "conv_transpose", "out_channels": 4, "kernel_size": 3}, "conv_transpose2d"),
    ({"type": "dense", "units": 4}, "linear"),
    ({"type": "batch_norm"}, "batch_norm"),
    ({"type": "layer_norm"}, "layer_norm"),
    ({"type": "group_norm", "groups": 2}, "group_norm"),
    ({"type": "softmax"}, "softmax"),
    ({"type": "relu"}, "relu"),
    ({"type": "upsample", "scale_factor": 2}, "upsample_nearest2d"),
    ({"type": "upsample", "scale_factor": 2, "interpolation": "bilinear"}, "upsample_bilinear2d"),
    ({"type": "maxpool", "kernel_size": 2}, "max_pool2d"),
]


@pytest.mark.parametrize(("item", "op"), CUDA_OPS)
def test_cuda_policies_follow_the_autocast_header(item, op):
    layer = convscope.load({"input": "8x8x4", "layers": [item]}).nodes[-1].layer
    lists = autocast_lists()
    expected = next((p for p, ops in lists.items() if op in ops), "follow")
    assert layer.autocast("cuda") == expected


def test_cuda_target_rounds_allocations_and_keeps_adams_steps_on_the_cpu():
    graph = convscope.load("lenet5")
    cpu = training_memory(graph, 3)
    cuda = training_memory(graph, 3, target="cuda")
    assert all(x.saved_bytes % 512 == 0 for x in cuda.layers)
    assert cuda.activation_bytes >= cpu.activation_bytes
    tensors = len(list(convscope.pytorch.build(graph).parameters()))
    assert cpu.optimizer_bytes - cuda.optimizer_bytes == 4 * tensors


def test_fit_with_every_option_is_the_largest_batch():
    graph = convscope.load("resnet18")
    options = {"amp": "bfloat16", "checkpointing": True, "target": "cuda"}
    fit = largest_batch(graph, 2 * 1024 ** 3, optimizer="adam", **options)
    assert training_memory(graph, fit.batch, **options).peak_bytes <= 2 * 1024 ** 3
    assert training_memory(graph, fit.batch + 1, **options).peak_bytes > 2 * 1024 ** 3
    assert fit.batch > largest_batch(graph, 2 * 1024 ** 3).batch


def run(*args):
    return subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True,
                          text=True)


def test_memory_command_with_amp_and_checkpointing():
    proc = run("memory", "cifar_resnet20", "--batch", "4", "--amp", "bf16", "--checkpointing",
               "--measure", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["amp"] == "bfloat16" and data["checkpointing"] and data["checkpointed_blocks"]
    for key in ("activation_bytes", "cast_bytes", "recompute_bytes"):
        assert data[key] == data["measured"][key]
    proc = run("memory", "alexnet", "--amp", "bf16")  # local response normalisation
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no mixed-precision rule" in proc.stderr and "lrn" in proc.stderr
    proc = run("memory", "lenet5", "--amp", "bf16", "--dtype", "float16")
    assert proc.returncode == 2 and "float32 weights" in proc.stderr
    proc = run("memory", "lenet5", "--target", "cuda", "--measure")
    if torch.cuda.is_available():  # the allocator's peak under the estimate (a bound)
        assert proc.returncode == 0, proc.stderr
        assert "max_memory_allocated" in proc.stdout
    else:
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "torch.cuda.is_available() is False" in proc.stderr


def test_a_measured_cuda_peak_is_shown_as_a_bound():
    from convscope.render.memory import memory_json, memory_table

    estimate = training_memory(convscope.load("lenet5"), 8, target="cuda")
    measured = {"peak_bytes": estimate.peak_bytes // 2}
    text = memory_table(estimate, measured)
    assert "max_memory_allocated" in text and "a bound" in text
    assert f"{measured['peak_bytes']:,} B" in text and "(+100.00%)" in text
    assert json.loads(memory_json(estimate, measured))["measured"] == measured
