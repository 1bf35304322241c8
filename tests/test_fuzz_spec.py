"""Fuzzing descriptions (issue 12): random mixes of valid layers, wrong types, random keys,
huge numbers, deep nesting, aliases and one-line strings, read and analysed in-process.

Nothing but a ConvscopeError may come out. A fixed seed keeps CI reproducible;
``benchmarks/fuzz.py`` runs the same generator for a larger count.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from typing import Any

from convscope.analysis import analyze
from convscope.description import load
from convscope.description.load import read_text
from convscope.errors import ConvscopeError

TOKENS = ["conv3-8", "conv1-4 s=2", "conv3-16 p=1 relu", "conv5-6", "maxpool2", "avgpool3",
          "fc10", "dense4", "bn", "relu", "dropout0.5", "gap", "flatten", "upsample2", "pad1",
          "dw3", "deconv2-4 s=2", "lstm4 seq", "embed10-4", "softmax", "lrn", "identity",
          "conv3-8 *3", "relu *2", "add", "concat", "sepconv", "reshape", "permute"]
TYPES = ["conv", "conv1d", "conv2d", "conv3d", "dense", "fc", "bn", "batchnorm", "dropout",
         "maxpool", "avgpool", "lppool", "gap", "gmp", "flatten", "upsample", "zero_padding",
         "relu", "leaky_relu", "softmax", "add", "concat", "multiply", "subtract", "reshape",
         "permute", "slice", "embedding", "lstm", "gru", "rnn", "layer_norm", "group_norm",
         "rescaling", "normalization", "separable_conv", "depthwise_conv", "conv_transpose",
         "opaque", "input", "sequential", "parallel", "residual", "nosuch", "", "blk", "blk2"]
KEYS = ["out_channels", "filters", "kernel_size", "kernel", "stride", "strides", "padding",
        "dilation", "groups", "bias", "units", "rate", "p", "momentum", "eps", "epsilon",
        "dims", "axis", "target_shape", "shape", "scale_factor", "size", "mode", "activation",
        "return_sequences", "bidirectional", "input_dim", "output_dim", "num_groups",
        "channels", "mean", "variance", "scale", "offset", "start", "stop", "step",
        "ceil_mode", "negative_slope", "layers", "branches", "body", "merge", "shortcut",
        "name", "inputs", "repeat", "first", "trainable", "when", "shares", "shared_params",
        "repeated_params", "out_chanels", "kernal_size", "c", "n", "op", "spatial", "keepdims",
        "layout"]
SCALARS: list[Any] = [0, 1, 2, 3, 4, 7, 8, 64, -1, -3, 10**12, 10**300, 2**31, 2**63,
                      1.5, 0.5, 1e-5, -0.0, math.nan, math.inf, -math.inf, True, False, None,
                      "", "abc", "same", "valid", "3x3", "2x2x2", "channels", "relu",
                      "${c + 1}", "$c", "${10**10**10}", "${'a' * 100000}", "${c * 2}",
                      "${" + "-" * 80 + "1}", "conv1", "input", "x" * 300, "9" * 50]


def scalar(rng: random.Random) -> Any:
    value = rng.choice(SCALARS)
    if rng.random() < 0.1:
        return rng.randint(-5, 300)
    return value


def value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if roll < 0.6 or depth > 3:
        return scalar(rng)
    if roll < 0.85:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {str(rng.choice(KEYS)) if rng.random() < 0.9 else rng.choice([5, None, True]):
            value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def item(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if roll < 0.3:
        token = rng.choice(TOKENS)
        if rng.random() < 0.2:
            token += rng.choice([" s=2", " p=same", " *0", " *100000000", " g=3", " junk",
                                 " act=nope", " *" + "9" * 40, " d=" + "9" * 30, " name=a"])
        return token
    if roll < 0.35:
        return scalar(rng)
    kind = rng.choice(TYPES)
    layer: dict[Any, Any] = {"type": kind}
    if kind in ("sequential", "residual") and depth < 8:
        layer["layers" if kind == "sequential" else "body"] = sequence(rng, depth + 1)
    elif kind == "parallel" and depth < 8:
        layer["branches"] = [sequence(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        layer["merge"] = rng.choice(["add", "concat", "multiply", "nope", 5])
    for _ in range(rng.randint(0, 4)):
        key = rng.choice(KEYS) if rng.random() < 0.95 else rng.choice([5, None, 2.5])
        layer[key] = value(rng, depth + 1)
    if rng.random() < 0.03:
        return {kind: {k: v for k, v in layer.items() if k != "type"}}
    return layer


def sequence(rng: random.Random, depth: int) -> list[Any]:
    return [item(rng, depth) for _ in range(rng.randint(0, 5))]


def nested(rng: random.Random) -> dict[str, Any]:
    inner: Any = "relu"
    for _ in range(rng.choice([20, 60, 120, 400])):
        inner = {"type": rng.choice(["sequential", "residual"]), "layers": [inner]}
        if inner["type"] == "residual":
            inner["body"] = inner.pop("layers")
    return {"input": "8x8x3", "layers": [inner]}


def shape(rng: random.Random) -> Any:
    return rng.choice(["8x8x3", "32x32x1", "16x16x16x3", "100x4", "10", "8x8", [8, 8, 3],
                       "0x8x3", f"{10**12}x{10**12}x3", 10**200, "axb", [], [8, "a"], None,
                       "4096x4096x3", "1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1x1", -3])


def description(rng: random.Random) -> Any:
    if rng.random() < 0.03:
        return nested(rng)
    desc: dict[Any, Any] = {"input": shape(rng), "layers": sequence(rng, 0)}
    if rng.random() < 0.3:
        desc["blocks"] = {
            "blk": {"params": rng.choice([{"c": 4}, ["c"], {"c": None}, {5: 1}, "c"]),
                    "layers": sequence(rng, 2)},
            "blk2": {"params": {"c": 8, "n": rng.choice([1, 2, 10**9, "x"])},
                     "layers": [{"type": "blk", "c": "$c", "repeat": "$n"}, "relu"]}}
    if rng.random() < 0.1:
        desc["defaults"] = rng.choice([{"conv": {"bias": False}}, {"nosuch": {}}, [1], {"conv": 1}])
    if rng.random() < 0.1:
        desc[rng.choice(["outputs", "inputs", "name", "bogus", 5])] = value(rng, 1)
    if rng.random() < 0.05:
        return rng.choice([[desc], "text", 5, None])
    return desc


def one_line(rng: random.Random) -> str:
    head = rng.choice(["8x8x3", "32x32x1", "100x4", "0x1", "9" * 30 + "x3", "axb", ""])
    parts = [rng.choice(TOKENS) for _ in range(rng.randint(0, 8))]
    if rng.random() < 0.3:
        parts.append(rng.choice(["", "  ", "conv" + "9" * 60 + "-3", "relu *" + "9" * 12,
                                 "fc0", "dropout9.9", "conv3-3 p=1,2,3", "x=y=z", "*"]))
    return " | ".join([head, *parts])


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        where = rng.randint(0, len(chars))
        roll = rng.random()
        if roll < 0.4 and chars:
            del chars[min(where, len(chars) - 1)]
        else:
            chars.insert(where, rng.choice(["&a ", "*a", "[", "{", "]", ":", "\n", "- ",
                                            "!!set ", "~", "'", '"', "\t", "\x00", "9" * 20,
                                            "<<: *a\n"]))
    return "".join(chars)


def as_text(rng: random.Random, desc: Any) -> tuple[str, str]:
    import yaml

    if rng.random() < 0.4:
        try:
            return json.dumps(desc, allow_nan=True), ".json"
        except (TypeError, ValueError, RecursionError):
            pass
    try:
        return yaml.safe_dump(desc, default_flow_style=rng.random() < 0.5), ".yaml"
    except (yaml.YAMLError, RecursionError, ValueError):
        return "input: 8x8x3\nlayers: [relu]\n", ".yaml"


def one_case(rng: random.Random) -> str:
    """Run one random case; return how it ended ('ok' or 'error')."""
    roll = rng.random()
    if roll < 0.2:
        graph = load(one_line(rng))
    elif roll < 0.55:
        desc = description(rng)
        graph = load(desc) if isinstance(desc, dict) else load(str(desc) + ".yaml")
    else:
        text, suffix = as_text(rng, description(rng))
        if rng.random() < 0.5:
            text = mutate(rng, text)
        data = read_text(text, "fuzz", suffix)
        if not isinstance(data, dict):
            raise ConvscopeError("not a mapping")
        graph = load(data, rng.choice([None, None, None, "16x16x3", "0x0", [4, 4, 4]]))
    analyze(graph)
    return "ok"


def run_fuzz(count: int, seed: int = 12) -> Counter[str]:
    """``count`` random cases; counts by outcome. Anything but ConvscopeError propagates."""
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    for _ in range(count):
        case_rng = random.Random(rng.getrandbits(64))
        try:
            outcomes[one_case(case_rng)] += 1
        except ConvscopeError as err:
            key = "net" if "cannot read the description:" in err.message else "error"
            outcomes[key] += 1
            assert "\n" not in str(err), str(err)
    return outcomes


def test_fuzzed_descriptions_raise_only_convscope_errors():
    start = time.perf_counter()
    outcomes = run_fuzz(2_000)
    elapsed = time.perf_counter() - start
    assert sum(outcomes.values()) == 2_000
    assert outcomes["ok"] > 50, outcomes  # the generator still makes valid networks
    assert outcomes["net"] == 0, outcomes  # no foreign exception caught by parse's net
    assert elapsed < 60, f"{elapsed:.1f} s"
