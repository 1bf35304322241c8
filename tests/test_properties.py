"""Property tests (hypothesis): random descriptions either analyse, with consistent
numbers, or raise convscope's own error type, never anything else; and whatever analyses
also builds in PyTorch with the same output shape and parameter count.
"""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convscope
from convscope.errors import ConvscopeError
from convscope.pytorch import build

small = st.integers(min_value=-1, max_value=6)
anything = st.one_of(small, st.text(max_size=4), st.none(), st.booleans(),
                     st.lists(small, max_size=4), st.floats(allow_nan=True))
padding = st.one_of(st.sampled_from(["valid", "same"]), small, st.lists(small, max_size=3),
                    st.lists(st.lists(small, min_size=2, max_size=2), max_size=3))
KINDS = ["conv", "conv1d", "conv2d", "conv3d", "deconv", "maxpool", "avgpool", "lppool", "fc",
         "dense", "flatten", "gap", "gmp", "bn", "layernorm", "lrn", "dropout", "relu", "softmax",
         "add", "concat", "multiply", "zero_padding", "upsample", "reshape",
         "adaptive_avg_pool", "groupnorm", "depthwise_conv2d", "nosuchkind"]
ARGS = {"out_channels": st.integers(-1, 8), "kernel_size": st.one_of(small, st.lists(small)),
        "stride": st.one_of(small, st.lists(small)), "padding": padding,
        "dilation": st.integers(0, 3), "groups": st.integers(0, 4), "units": st.integers(-1, 9),
        "ceil_mode": st.booleans(), "rate": st.floats(-0.5, 1.5), "bias": st.booleans(),
        "scale_factor": st.integers(0, 3), "output_size": st.integers(0, 4),
        "target_shape": st.lists(st.integers(-1, 6), max_size=3), "axis": st.integers(-4, 3),
        "output_padding": st.integers(0, 2), "size": st.integers(0, 6),
        "strange": anything}


@st.composite
def items(draw):
    item = {"type": draw(st.sampled_from(KINDS))}
    for key in draw(st.lists(st.sampled_from(sorted(ARGS)), max_size=4, unique=True)):
        item[key] = draw(ARGS[key])
    if item["type"] in ("add", "concat", "multiply"):
        item["inputs"] = draw(st.lists(st.sampled_from(["input", "prev"]), min_size=1,
                                       max_size=3))
    return item


@st.composite
def descriptions(draw):
    shape = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4))
    layers = draw(st.lists(items(), min_size=1, max_size=6))
    for i, item in enumerate(layers):
        item["name"] = f"l{i}"
        if "inputs" in item:
            item["inputs"] = ["input" if r == "input" or i == 0 else f"l{i - 1}"
                              for r in item["inputs"]]
    return {"input": draw(st.one_of(st.just(shape), anything)), "layers": layers}


REQUIRED = {
    "conv": lambda: {"out_channels": st.integers(1, 8), "kernel_size": st.integers(1, 4)},
    "deconv": lambda: {"out_channels": st.integers(1, 8), "kernel_size": st.integers(1, 4)},
    "maxpool": lambda: {"kernel_size": st.integers(1, 3)},
    "avgpool": lambda: {"kernel_size": st.integers(1, 3)},
    "lppool": lambda: {"kernel_size": st.integers(1, 3)},
    "fc": lambda: {"units": st.integers(1, 9)}, "dense": lambda: {"units": st.integers(1, 9)},
    "depthwise_conv2d": lambda: {"kernel_size": st.integers(1, 3)},
    "adaptive_avg_pool": lambda: {"output_size": st.integers(1, 4)},
    "groupnorm": lambda: {"groups": st.sampled_from([1, 2])},
    "reshape": lambda: {"target_shape": st.just([-1])},
    "upsample": lambda: {"scale_factor": st.integers(1, 2)},
}
OPTIONAL = {"stride": st.integers(1, 3), "padding": st.one_of(
    st.sampled_from(["valid", "same"]), st.integers(0, 2)), "dilation": st.integers(1, 2),
    "ceil_mode": st.booleans(), "bias": st.booleans()}
PLAUSIBLE = ["conv", "deconv", "maxpool", "avgpool", "lppool", "fc", "dense", "flatten", "gap",
             "bn", "layernorm", "lrn", "dropout", "relu", "softmax", "add", "concat", "multiply",
             "zero_padding", "upsample", "reshape", "adaptive_avg_pool", "groupnorm",
             "depthwise_conv2d"]


@st.composite
def plausible_descriptions(draw):
    """Mostly valid descriptions: required arguments present, values in range."""
    rank = draw(st.integers(2, 4))
    shape = [draw(st.integers(4, 14)) for _ in range(rank - 1)] + [draw(st.sampled_from([2, 4]))]
    layers = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(PLAUSIBLE))
        item = {"type": kind, "name": f"l{i}"}
        for key, strategy in REQUIRED.get(kind, dict)().items():
            item[key] = draw(strategy)
        if kind in ("conv", "deconv", "maxpool", "avgpool", "lppool"):
            for key in draw(st.lists(st.sampled_from(sorted(OPTIONAL)), max_size=3, unique=True)):
                item[key] = draw(OPTIONAL[key])
        if kind in ("add", "concat", "multiply"):
            item["inputs"] = [f"l{i - 1}" if i else "input", "input"]
        layers.append(item)
    return {"input": shape, "layers": layers}


def check_invariants(report):
    t = report.totals
    assert t.params == t.trainable_params + t.non_trainable_params
    assert t.params == sum(s.params for s in report.layers)
    assert t.flops == 2 * t.macs == 2 * sum(s.macs for s in report.layers)
    body = [s for s in report.layers if s.kind != "input"]
    assert t.activation_elements == sum(s.activation_elements for s in body)
    for s in report.layers:
        assert all(n >= 1 for n in s.output_shape)
        assert s.params >= 0 and s.macs >= 0 and s.other_ops >= 0
        if not s.receptive_field.is_global:
            assert all(a.size >= a.min_size >= 1 for a in s.receptive_field.axes)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(descriptions())
def test_random_descriptions_analyse_or_raise_convscope_errors(description):
    try:
        graph = convscope.load(description)
    except ConvscopeError as err:
        assert str(err)
        return
    check_invariants(convscope.analyze(graph))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plausible_descriptions())
def test_plausible_descriptions_analyse_or_raise_convscope_errors(description):
    test_random_descriptions_analyse_or_raise_convscope_errors.hypothesis.inner_test(description)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plausible_descriptions())
def test_whatever_analyses_runs_in_torch_with_the_same_numbers(description):
    try:
        graph = convscope.load(description)
    except ConvscopeError:
        return
    report = convscope.analyze(graph)
    try:
        model = build(graph).eval()
    except ConvscopeError:
        return  # a description PyTorch cannot express (e.g. BN with only centre)
    shape = report.inputs[0][1]
    x = torch.randn(2, *(shape if len(shape) == 1 else (shape[-1], *shape[:-1])))
    with torch.no_grad():
        y = model(x)
    out = report.outputs[0][1]
    assert tuple(y.shape[1:]) == (out if len(out) == 1 else (out[-1], *out[:-1]))
    assert sum(p.numel() for p in model.parameters()) == report.totals.torch_params


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789x|-=. convmaxpoolfcdrelusame*", max_size=40))
def test_random_one_line_text(text):
    try:
        report = convscope.analyze(convscope.load(text if "|" in text else text + "|"))
    except ConvscopeError as err:  # anything else fails the test
        assert str(err).startswith("one-line: ") and "\n" not in str(err)
    else:
        assert report.totals.params >= 0 and report.outputs
