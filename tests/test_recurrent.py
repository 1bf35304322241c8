"""Recurrent layers and embeddings: parameters in both frameworks' conventions, output
shapes and multiply-adds, against Keras (count_params, output shapes) and PyTorch
(nn.RNN / nn.LSTM / nn.GRU numel, FlopCounterMode) for a sweep of sizes.

Formulas under test (seed 001's LSTM count, the frameworks' sources):
Keras g*(h*(i+h) + h) per direction (GRU reset_after: g*(h*(i+h) + 2h)); PyTorch
g*h*(i+h) + 2*g*h.
"""

from __future__ import annotations

import itertools

import keras  # a dev dependency (torch backend: conftest.py), never skipped
import pytest
import torch
from keras import layers as L
from torch.utils.flop_counter import FlopCounterMode

import convscope

CELLS = {"rnn": ("SimpleRNN", torch.nn.RNN), "lstm": ("LSTM", torch.nn.LSTM),
         "gru": ("GRU", torch.nn.GRU)}
SIZES = [(5, 3, 4), (12, 16, 8), (1, 1, 1), (30, 64, 32)]  # (time steps, features, units)


def one(item, shape):
    graph = convscope.load({"input": list(shape), "layers": [item]})
    report = convscope.analyze(graph)
    return graph, report.layers[-1]


@pytest.mark.parametrize(("cell", "size", "bi", "seq", "bias"), list(itertools.product(
    CELLS, SIZES, (False, True), (False, True), (True, False))))
def test_recurrent_params_against_keras_and_torch(cell, size, bi, seq, bias):
    t, f, h = size
    keras_name, torch_cls = CELLS[cell]
    inner = getattr(L, keras_name)(h, return_sequences=seq, use_bias=bias)
    keras_layer = L.Bidirectional(inner) if bi else inner
    model = keras.Sequential([keras.Input((t, f)), keras_layer])
    graph, stats = one({"type": cell, "units": h, "return_sequences": seq, "bidirectional": bi,
                        "bias": bias}, (t, f))
    assert stats.params == model.count_params()
    assert stats.output_shape == tuple(model.output_shape[1:])
    module = torch_cls(f, h, bias=bias, bidirectional=bi, batch_first=True)
    assert stats.torch_params == sum(p.numel() for p in module.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad(), \
            torch.backends.mkldnn.flags(enabled=False):
        module(torch.randn(1, t, f))
    assert 2 * stats.macs == counter.get_total_flops()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_reset_after_both_ways(size, reset_after):
    t, f, h = size
    model = keras.Sequential([keras.Input((t, f)), L.GRU(h, reset_after=reset_after)])
    _, stats = one({"type": "gru", "units": h, "reset_after": reset_after}, (t, f))
    assert stats.params == model.count_params()
    # 3*(h*(i+h) + 2h) with reset_after (Keras 3's default), 3*(h*(i+h) + h) without
    assert stats.params == 3 * (h * (f + h) + (2 if reset_after else 1) * h)
    torch_gru = torch.nn.GRU(f, h)
    assert stats.torch_params == sum(p.numel() for p in torch_gru.parameters())


def test_lstm_formula_text_and_both_views():
    """Seed 001 style: an LSTM of 64 units on 100 features: 4*(64*(100+64)+64) = 42,240
    in Keras; PyTorch adds b_hh: 42,496."""
    graph, stats = one({"type": "lstm", "units": 64}, (20, 100))
    assert stats.formula == "4x(64x(100+64)+64)"
    assert stats.params == 42_240 == keras.Sequential(
        [keras.Input((20, 100)), L.LSTM(64)]).count_params()
    assert stats.torch_params == 42_496 == sum(
        p.numel() for p in torch.nn.LSTM(100, 64).parameters())
    explanation = "\n".join(graph.nodes[-1].layer.explain(((20, 100),), (64,)))
    assert "params (PyTorch, two bias vectors b_ih and b_hh) = 4x64x(100+64)+2x4x64 = 42,496" \
        in explanation
    text = convscope.render(convscope.analyze(graph))
    assert "PyTorch view: 42,496 parameters" in text


@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
def test_bidirectional_merge_modes(merge):
    model = keras.Sequential([keras.Input((7, 3)),
                              L.Bidirectional(L.LSTM(5, return_sequences=True),
                                              merge_mode=merge)])
    _, stats = one({"type": "lstm", "units": 5, "return_sequences": True,
                    "bidirectional": True, "merge_mode": merge}, (7, 3))
    assert stats.output_shape == tuple(model.output_shape[1:])
    assert stats.params == model.count_params()


@pytest.mark.parametrize(("vocab", "dim", "length"), [(1000, 64, 100), (5, 1, 1), (20000, 128, 80)])
def test_embedding_against_keras_and_torch(vocab, dim, length):
    model = keras.Sequential([keras.Input((length,), dtype="int32"), L.Embedding(vocab, dim)])
    _, stats = one({"type": "embedding", "input_dim": vocab, "output_dim": dim}, (length,))
    assert stats.params == model.count_params() == \
        sum(p.numel() for p in torch.nn.Embedding(vocab, dim).parameters())
    assert stats.output_shape == tuple(model.output_shape[1:])


def test_one_line_text_model_builds_and_verifies():
    from convscope.pytorch.verify import verify

    line = "100 | embed5000-64 | conv5-32 relu | maxpool2 | lstm32 seq bi | gru16 | fc1 sigmoid"
    result = verify(convscope.load(line))
    assert all(c.ok for c in result.checks), [c for c in result.checks if not c.ok]


def test_text_cnn_fields_are_its_ngram_widths():
    """Kim (2014): filter windows of 3, 4 and 5 words see 3, 4 and 5 tokens; measured by
    gradients in PyTorch (verify's rf check) and stated by the analysis."""
    from convscope.pytorch.verify import verify

    graph = convscope.load("text_cnn")
    rep = convscope.analyze(graph)
    convs = [s for s in rep.layers if s.kind == "conv"]
    assert [s.receptive_field.sizes() for s in convs] == [(3,), (4,), (5,)]
    rf = [c for c in verify(graph).checks if c.what == "rf"]
    assert {c.layer for c in rf} >= {s.name for s in convs} and all(c.ok for c in rf)


def test_recurrent_errors_name_the_rule():
    with pytest.raises(convscope.ConvscopeError, match="expects a sequence T x F"):
        convscope.load("32x32x3 | lstm8")
    with pytest.raises(convscope.ConvscopeError,
                       match=r"expects a sequence of token indices \(T,\); received 10x4"):
        convscope.load("10x4 | embed100-8")
    graph = convscope.load({"input": [5, 3], "layers": [{"type": "gru", "units": 4,
                                                         "reset_after": False}]})
    from convscope.pytorch import build

    with pytest.raises(convscope.ConvscopeError, match=r"'gru1' \(recurrent\): cannot be built "
                       "in PyTorch: .*reset_after=False GRU has no PyTorch module"):
        build(graph)
