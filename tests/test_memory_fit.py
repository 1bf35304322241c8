"""``convscope memory --fit SIZE``: the largest batch whose estimated peak fits."""

from __future__ import annotations

import pytest

import convscope
from convscope.analysis.memory import largest_batch, parse_bytes, training_memory


def brute_force(graph, budget, optimizer):
    """The answer by bisection over the exact estimate (no affinity assumed)."""
    low, high = 0, 1
    while training_memory(graph, high, optimizer=optimizer).peak_bytes <= budget:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if training_memory(graph, mid, optimizer=optimizer).peak_bytes <= budget:
            low = mid
        else:
            high = mid
    return low


@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v2", "googlenet", "lenet5",
                                   "cnn_lstm"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_largest_batch_equals_a_search_over_the_estimate(model, optimizer):
    graph = convscope.load(model)
    for budget in (parse_bytes("2GB"), parse_bytes("16GB"), parse_bytes("300MB")):
        fit = largest_batch(graph, budget, optimizer=optimizer)
        assert fit.batch == brute_force(graph, budget, optimizer), (model, budget)


def test_sizes_and_what_does_not_fit():
    assert parse_bytes("16GB") == 16 * 1024 ** 3 == parse_bytes("16 GiB")
    assert parse_bytes("512mb") == 512 * 1024 ** 2 and parse_bytes("1.5KB") == 1536
    for bad in ("16XB", "GB", "-1GB", "nanGB", "1e9TB"):
        with pytest.raises(convscope.ConvscopeError, match="a memory size"):
            parse_bytes(bad)
    fit = largest_batch(convscope.load("vgg16"), parse_bytes("100MB"))
    assert fit.batch == 0 and fit.fits is None
    assert fit.next.peak_bytes > 100 * 1024 ** 2  # 138 M float32 weights alone are 528 MB
