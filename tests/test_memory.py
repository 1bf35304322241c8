"""The training-memory estimate against PyTorch: the bytes autograd saves
(saved_tensors_hooks) and the optimizer's real state after one step."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import convscope
from convscope import zoo
from convscope.analysis.memory import training_memory
from convscope.pytorch.memory import measure_training_memory


@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("zoo_id", zoo.names())
def test_saved_activations_of_every_zoo_model(zoo_id, batch):
    graph = convscope.load(zoo_id)
    estimate = training_memory(graph, batch, "float32", "adam")
    measured = measure_training_memory(graph, batch, "float32", "adam")
    # the target is 5 %; the rules are exact, so equality is what we check
    assert estimate.activation_bytes == measured["activation_bytes"]
    assert estimate.optimizer_bytes == measured["optimizer_bytes"]
    assert estimate.param_bytes == measured["param_bytes"]
    assert estimate.gradient_bytes == measured["gradient_bytes"]


@pytest.mark.parametrize("zoo_id", ["lenet5", "keras_baseline", "alexnet", "cifar_resnet20",
                                    "inception_bottleneck", "dcgan_generator",
                                    "googlenet_paper", "cnn_lstm", "text_cnn"])
def test_meta_measurement_equals_a_real_cpu_run(zoo_id):
    graph = convscope.load(zoo_id)
    meta = measure_training_memory(graph, 2, "float32", "adam", device="meta")
    cpu = measure_training_memory(graph, 2, "float32", "adam", device="cpu")
    assert meta == cpu


@pytest.mark.parametrize("optimizer", ["sgd", "sgd_momentum", "adam", "adamw"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_optimizers_and_dtypes(optimizer, dtype):
    graph = convscope.load("keras_baseline")
    estimate = training_memory(graph, 4, dtype, optimizer)
    measured = measure_training_memory(graph, 4, dtype, optimizer)
    assert estimate.optimizer_bytes == measured["optimizer_bytes"]
    assert estimate.activation_bytes == measured["activation_bytes"]
    assert estimate.param_bytes == measured["param_bytes"]


def test_peak_is_the_sum_of_its_parts():
    m = training_memory(convscope.load("resnet18"), 8, "float32", "sgd")
    assert m.optimizer_bytes == 0
    assert m.peak_bytes == (m.param_bytes + m.buffer_bytes + m.gradient_bytes +
                            m.activation_bytes + m.transient_bytes)
    assert m.transient_bytes == 2 * 8 * 112 * 112 * 64 * 4  # the first conv's output, twice
    assert sum(x.saved_bytes for x in m.layers) == m.activation_bytes


def test_memory_command():
    proc = subprocess.run([sys.executable, "-m", "convscope", "memory", "lenet5", "--batch",
                           "8", "--optimizer", "sgd_momentum", "--measure", "-f", "json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["activation_bytes"] == data["measured"]["activation_bytes"]
    assert data["optimizer_bytes"] == 61706 * 4
    proc = subprocess.run([sys.executable, "-m", "convscope", "memory", "lenet5",
                           "--optimizer", "adamm"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("convscope: unknown optimizer 'adamm'; choose one of sgd, "
                                   "sgd_momentum, adam, adamw. Did you mean 'adam'?")
