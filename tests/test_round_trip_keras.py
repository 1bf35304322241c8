"""Every kind through Keras and back: a one-layer description (tests/test_layers_vs_torch.py's
sweep cases) -> ``to_keras`` -> ``model.to_json()`` -> the Keras importer, and the layer
comes back the same: its kind, parameters (trainable and not), MACs and the output shape,
with no opaque layer and no import note.

Up to four cases per kind, spread evenly over its sweep (deterministic). A case Keras
cannot express (some paddings, ceil-mode average pooling, strides with dilation, ...) is
skipped only when ``to_keras`` refuses it with ``CannotExpress``; every kind must round
trip at least one case, unless its file refuses Keras (``refused['keras']``), and then no
case may export: the refused set stays true.
"""

from __future__ import annotations

import json

import pytest

import convscope
from convscope.keras import import_config
from convscope.keras.build import CannotExpress, keras_name, to_keras
from convscope.layers import LAYER_KINDS
from harness import one_layer
from test_layers_vs_torch import SWEEPS

CASES_PER_KIND = 4
# Keras has no adaptive pooling: an adaptive pool is written as the pool it equals
BECOMES = {"adaptive_pool": {"global_pool", "pool"}}


def picked(kind: str) -> list[tuple[dict, list[tuple[int, ...]]]]:
    """Up to CASES_PER_KIND sweep cases, spread evenly over the kind's sweep."""
    cases = [(item, shapes) for item, *shapes in SWEEPS[kind]()]
    if len(cases) <= CASES_PER_KIND:
        return cases
    last = len(cases) - 1
    return [cases[i] for i in sorted({round(k * last / (CASES_PER_KIND - 1))
                                      for k in range(CASES_PER_KIND)})]


def counts(report, name: str) -> tuple:
    s = report.layer(name)
    return s.params, s.trainable_params, s.non_trainable_params, s.macs


def round_trip(kind: str, item: dict, shapes: list[tuple[int, ...]]) -> None:
    """Export one case and read it back; raises CannotExpress when Keras cannot carry it."""
    graph = one_layer(item, *shapes)
    node = graph.nodes[0] if kind == "input" else graph.nodes[-1]
    ours = convscope.analyze(graph)
    model = to_keras(graph)
    back = import_config(json.loads(model.to_json()))
    theirs = convscope.analyze(back)
    name = keras_name(node.name)
    case = f"{kind} {item} on {shapes}"
    assert back.notes == (), f"{case}: {back.notes}"
    assert all(n.layer.kind != "opaque" for n in back.nodes), case
    assert back.node(name).layer.kind in {kind} | BECOMES.get(kind, set()), case
    assert counts(theirs, name) == counts(ours, node.name), case
    assert theirs.outputs[0][1] == ours.outputs[0][1], case
    assert (theirs.totals.params, theirs.totals.macs) == (ours.totals.params, ours.totals.macs)


@pytest.mark.parametrize("kind", [k.kind for k in LAYER_KINDS])
def test_every_kind_round_trips_through_keras_or_is_refused(kind):
    layer_kind = next(k for k in LAYER_KINDS if k.kind == kind)
    refused = layer_kind.refused.get("keras")
    passed, skipped = 0, []
    for item, shapes in picked(kind):
        try:
            round_trip(kind, item, shapes)
        except CannotExpress as why:
            assert str(why), f"{kind} {item}: a refusal without a reason"
            skipped.append(str(why))
            continue
        passed += 1
    if refused:
        assert passed == 0, f"{kind} is refused by Keras ({refused}) but round trips"
        assert skipped, f"{kind} has no sweep case to check its refusal with"
    else:
        assert passed >= 1, (f"{kind} neither round trips through Keras nor declares "
                             f"refused['keras'] (cases refused: {skipped})")


def test_the_refused_set():
    """The kinds Keras cannot carry, and why (each says so in its own file)."""
    assert {k.kind: k.refused["keras"] for k in LAYER_KINDS if "keras" in k.refused} == {
        "lrn": "Keras has no LocalResponseNorm layer", "slice": "Keras has no Slice layer",
        "opaque": "Keras has no layer for an operation convscope could not read",
        "attention": "Keras's Attention layer scales scores by a learned scalar or not at all "
                     "(never 1 / sqrt(d)) and takes [query, value, key]: no layer computes "
                     "this",
        "position_embedding": "Keras 3 has no position-embedding layer (KerasHub's is not "
                              "part of Keras)",
        "class_token": "Keras 3 has no layer that prepends learned tokens"}


def test_keras_classes_are_read_by_one_kind_each():
    from convscope.keras.mapping import KERAS_CLASSES

    assert KERAS_CLASSES["Conv2D"].kind == "conv" and KERAS_CLASSES["LSTM"].kind == "recurrent"
    assert sum(len(k.keras_classes) for k in LAYER_KINDS) == len(KERAS_CLASSES)
