"""The static path's fast paths (issue 16) give exactly what the plain paths give.

* description/yaml_plain.py: whatever it reads equals libyaml's safe loading, type for
  type (``1`` is not ``true`` is not ``1.0``); whatever it cannot read (aliases, bombs,
  deep nesting, duplicate keys, long numbers, octal, timestamps...) it gives up on, so the
  full loader's budgets and errors apply unchanged. Hand-written cases, then a seeded
  random grammar with random damage.
* description/layer_memo.py: equal tokens parse once into fresh copies; equal layers
  build once, and arguments that ``==`` would mix up stay apart.
* ir.py / analysis/layer_rules.py: a shared layer's rules are asked once per shapes.
* render/json_lines.py: each line is ``json.dumps(layer_json(s))``, unusual values too.
* frozen.assemble builds what the constructor builds.

Whole outputs before and after are compared by scripts/compare_static_outputs.py.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
from fractions import Fraction
from typing import Any

import pytest
import yaml

import convscope
from convscope import zoo
from convscope.analysis.layer_rules import LayerRules
from convscope.analysis.receptive_field import AxisField, Field
from convscope.analysis.report import LayerStats
from convscope.description import reader
from convscope.description.layer_memo import LayerMemo
from convscope.description.yaml_plain import read_plain
from convscope.errors import ConvscopeError
from convscope.frozen import assemble
from convscope.ir import Node
from convscope.render.data import layer_json
from convscope.render.json_lines import layer_lines

LOADER = reader._FAST or reader.SafeDescriptionLoader


def typed(value: Any) -> Any:
    """``value`` with every type spelt out, so that 1, True and 1.0 compare unequal."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def full(text: str) -> Any:
    """What the full loader makes of ``text`` (an exception's type if it refuses)."""
    try:
        return typed(yaml.load(text, Loader=LOADER))  # noqa: S506 - a safe loader
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as err:
        return type(err)


def check(text: str) -> bool:
    """read_plain gives up or agrees with the full loader; True when it read the text."""
    fast = read_plain(text)
    if fast is None:
        return False
    assert typed(fast) == full(text), text
    return True


READ = [
    "name: x\ninput: 32x32x8\nlayers:\n  - {type: conv, out_channels: 8, kernel_size: 3, "
    "padding: 1}\n  - relu\n",
    "layers:\n- conv3-64 p=1 *2\n- {type: relu}\nname: yes\n",
    "a:\n  b:\n    - 1\n    - -2.5\n    - ~\n    - 1.5e-3\n  c: [1, [2, {d: e f}]]\n",
    "- a: 1\n  b: 2\n- c: [x]\n- z\n",
    "a: 'q # x' # c\nb: \"\u00fc\"\n# only a comment\n\n   \nc: []\nd: {}\n",
    "a: 1e3\n", "a: on\n", "a: Off\n", "a: NULL\n", "a: -0\n", "a: -0.0\n", "a: 1.\n",
    "a:\nb:\n", "a:\n- 1\n- 2\nb: 3\n", "a: ...\n", "- ...\n", "a: -1\n", "a: ~x\n",
    "a: {b: [1, 2], c: {d: ~}}\n", "x:\n  - y:\n    - 1\n", "k: v   \n", "k:    \n",
    "a: b=c *d (e)\n", "a: {b : 1}\n", "a: [ 1 , 2 ]\n",
]
GIVEN_UP = [
    "a: b\n  c\n", "a: 010\n", "a: 0x1F\n", "a: 1_000\n", "a: .5\n", "on: 1\n", "1: a\n",
    "a: [1, 2,]\n", "a: {b}\n", "a: &x 1\nb: *x\n", "a: 1\na: 2\n", "a: 2001-12-14\n",
    "a: 12:30\n", "a: -\n", "a: |\n  x\n", "a: >\n  x\n", "---\na: 1\n", "a: 1\n...\n",
    "a: !!str 1\n", "a: \"x\\ty\"\n", "a: 'it''s'\n", "a:\tb\n", "a: 1\r\nb: 2\r\n",
    "a: [1,\n  2]\n", "? a\n: b\n", "a: b: c\n", "a: x#y\n", "<<: {a: 1}\n", "a: \"x\n",
    "a: " + "9" * 1001 + "\n", "a: [" + "[" * 60 + "]" * 60 + "]\n", "", "just text\n",
    "a: 1\n b: 2\n", "- a\nb: 1\n", "a: {b: 1, b: 2}\n", "a: [a: b]\n", "-\n  a: 1\n",
    "a: \x07\n", "a: \ufeffx\n", "a: \u2028\n", "a: @x\n", "a: `x`\n", "%YAML 1.1\n---\na: 1\n",
]


@pytest.mark.parametrize("text", READ)
def test_plain_yaml_read_like_the_full_loader(text):
    assert check(text), f"given up on {text!r}"


@pytest.mark.parametrize("text", GIVEN_UP)
def test_plain_yaml_gives_up_outside_its_subset(text):
    assert read_plain(text) is None


def test_no_two_places_share_a_list_or_mapping():
    data = read_plain("layers:\n  - {type: conv, kernel_size: [3, 3]}\n"
                      "  - {type: conv, kernel_size: [3, 3]}\n")
    first, second = data["layers"]
    assert first == second and first is not second
    assert first["kernel_size"] is not second["kernel_size"]


SCALARS = ["1", "0", "-3", "2.5", "-0.0", "1e3", "1.0e-3", "yes", "No", "on", "OFF", "true",
           "False", "~", "null", "Null", "x", "relu", "32x32x3", "conv3-64 p=1 *2", "'q'",
           '"d"', "'a b'", '"a#b"', "a #b", "[1, 2]", "{a: 1}", "[]", "{}", "$w", '"${4 * w}"',
           "(x)", "x=1", "1.", "-7", "a b  c"]
TRICKY = [".5", "010", "0x1F", "1_000", "a#b", "a: b", "&a x", "*a", "!!int 3", "2001-01-01",
          "1:30", "-", "${4 * w}", "a,b", "=", "<<", "9" * 1200, "'it''s'", '"\\t"', "? x"]
KEYS = ["a", "b", "type", "name", "layers", "x-y", "x.y", "a b", "on", "1", "'q'", "<<"]


def random_value(rng: random.Random, depth: int) -> str:
    if depth < 3 and rng.random() < 0.3:
        if rng.random() < 0.5:
            return "[" + ", ".join(random_value(rng, depth + 1)
                                   for _ in range(rng.randint(0, 3))) + "]"
        return "{" + ", ".join(f"{rng.choice(KEYS)}: {random_value(rng, depth + 1)}"
                               for _ in range(rng.randint(0, 3))) + "}"
    return rng.choice(TRICKY if rng.random() < 0.05 else SCALARS)


def random_block(rng: random.Random, indent: int, depth: int,
                 dash: bool | None = None) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    dash = rng.random() < 0.5 if dash is None else dash
    for _ in range(rng.randint(1, 4)):
        key = rng.choice(KEYS[:8] if rng.random() < 0.95 else KEYS)
        head = f"{pad}- " if dash else f"{pad}{key}:"
        if dash and depth < 4 and rng.random() < 0.25:  # - key: value, then its siblings
            step = rng.choice((2, 3))
            block = random_block(rng, indent + step, depth + 1, dash=False)
            lines += [f"{pad}-{' ' * (step - 1)}{block[0].lstrip(' ')}", *block[1:]]
        elif depth < 4 and rng.random() < 0.3:
            lines.append(head.rstrip())
            step = rng.choice((0, 2, 4)) if not dash else rng.choice((2, 4))
            lines += random_block(rng, indent + step, depth + 1)
        else:
            lines.append(f"{head}{'' if dash else ' '}{random_value(rng, 0)}"
                         + rng.choice(("", "", " # c", "  ")))
    return lines


def damage(rng: random.Random, text: str) -> str:
    spot = rng.randrange(len(text) + 1)
    return text[:spot] + rng.choice(("", " ", "\t", "- ", ":", "#", "\n", "'", "{", "&a ",
                                     "*a", "\n  ")) + text[spot + 1:]


def test_random_documents_read_alike():
    rng = random.Random(16)
    read = 0
    for i in range(3000):
        text = "\n".join(random_block(rng, 0, 0)) + "\n"
        if i % 3 == 0:
            text = damage(rng, text)
        read += check(text)
    assert read > 500  # the subset is exercised, not only given up on


@pytest.mark.parametrize("text,words", [
    ("a: &a [1]\nb: [" + "*a, " * 1001 + "]\n", "alias"),
    ("input: 8x8x3\nlayers:\n  - relu\ninput: 4x4x3\n", "duplicate key 'input'"),
    ("a: " + "[" * 200 + "]" * 200 + "\n", "nesting deeper"),
    ("".join(f"{' ' * (2 * i)}k{i}:\n" for i in range(150)), "nesting deeper"),
    ("a: " + "1" * 2000 + "\n", "digits"),
])
def test_hostile_yaml_still_meets_the_budgets(text, words):
    assert read_plain(text) is None
    with pytest.raises(ConvscopeError, match=words):
        reader.yaml_load(text, "net.yaml")


def test_long_plain_documents_read_in_one_pass():
    lines = "".join(f"  - {{type: conv, name: c{i}, out_channels: {i % 7 + 1}}}\n"
                    for i in range(20_000))
    data = read_plain("layers:\n" + lines)
    assert len(data["layers"]) == 20_000 and data["layers"][-1]["name"] == "c19999"
    assert read_plain("a: [" + "[" * 100_000 + "\n") is None  # no recursion beyond DEPTH


# ---- memo of tokens and layers ---------------------------------------------------------
def test_token_memo_hands_out_fresh_copies():
    memo = LayerMemo()
    first = memo.token("conv3-64 p=1,2 relu", ("layers", 0))
    first["padding"].append(9)
    first.pop("type")
    again = memo.token("conv3-64 p=1,2 relu", ("layers", 1))
    assert again == {"type": "conv", "kernel_size": "3", "out_channels": 64,
                     "padding": [1, 2], "activation": "relu"}
    with pytest.raises(ConvscopeError, match="layers.2"):
        memo.token("conv3-64 ??", ("layers", 2))
    assert "conv3-64 ??" not in memo.tokens


def test_layer_memo_keeps_apart_what_equality_mixes_up():
    memo = LayerMemo()
    built: list[Any] = []

    def build(value: Any) -> Any:
        return lambda: built.append(value) or object()

    shapes = ((8, 8, 3),)
    one = memo.layer("conv", {"bias": 1}, shapes, build(1))
    assert memo.layer("conv", {"bias": 1}, shapes, build(1)) is one
    for value in (True, 1.0, [1], (1,), {"x": 1}, -0.0, 0.0, "1"):
        assert memo.layer("conv", {"bias": value}, shapes, build(value)) is not one
    assert memo.layer("conv", {"bias": 1}, ((8, 8, 4),), build("shape")) is not one
    assert memo.layer("dense", {"bias": 1}, shapes, build("type")) is not one
    assert memo.layer("conv", {"bias": object()}, shapes, build("unkeyed")) is not None
    assert built == [1, True, 1.0, [1], (1,), {"x": 1}, -0.0, 0.0, "1", "shape", "type",
                     "unkeyed"]


def test_equal_layers_are_built_once_and_shared():
    graph = convscope.load({"input": "8x8x3", "layers": ["conv3-4 p=1", "relu"] * 3
                            + [{"type": "conv", "out_channels": 4, "kernel_size": 3,
                                "padding": 1, "bias": False}]})
    convs = [n.layer for n in graph.nodes if n.layer.kind == "conv"]
    assert convs[1] is convs[2] and convs[0] is not convs[1]  # shapes differ: 3 -> 4 channels
    assert convs[3] is not convs[2] and convs[3].bias is False


def test_a_shared_layers_rules_are_asked_once():
    graph = convscope.load({"input": "8x8x4", "layers": ["conv3-4 p=1"] * 50})
    rules = LayerRules()
    layer = graph.nodes[2].layer
    inputs, out = graph.input_shapes(graph.nodes[2]), graph.shapes[graph.nodes[2].name]
    first = rules.of(layer, inputs, out)
    assert all(rules.of(n.layer, graph.input_shapes(n), graph.shapes[n.name]) is first
               for n in graph.nodes[2:])
    assert len(rules.rules) == 1
    assert first.count == layer.params(inputs) and first.macs == layer.macs(inputs, out)


# ---- frozen.assemble and JSON lines -----------------------------------------------------
def test_assemble_builds_what_the_constructor_builds():
    report = convscope.analyze(convscope.load("lenet5"))
    for stats in report.layers:
        values = {f.name: getattr(stats, f.name) for f in dataclasses.fields(LayerStats)}
        assert LayerStats(**values) == stats and set(vars(stats)) == set(values)
    node = convscope.load("lenet5").nodes[1]
    values = {f.name: getattr(node, f.name) for f in dataclasses.fields(Node)}
    assert assemble(Node, values) == Node(**values)
    for cls, values in ((AxisField, {"size": 3, "min_size": 3, "stride": 1, "start": -1}),
                        (Field, {"source": "x", "extent": (4,), "axes": (), "is_global": True,
                                 "aligned": False, "comps": None})):
        made = assemble(cls, values)
        assert made == cls(**values) and set(vars(made)) == {f.name for f in
                                                            dataclasses.fields(cls)}
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.size = 1  # type: ignore[attr-defined]
    for cls in (LayerStats, Node, AxisField, Field):  # what assemble relies on
        assert not hasattr(cls, "__post_init__") and not hasattr(cls, "__slots__")


@pytest.mark.parametrize("name", zoo.names())
def test_json_lines_equal_json_dumps(name):
    report = convscope.analyze(convscope.load(name), batch=2)
    assert layer_lines(report.layers) == [json.dumps(layer_json(s)) for s in report.layers]


def test_json_lines_of_unusual_values():
    graph = convscope.load({"input": "8x8x2", "layers": [
        "upsample2", "conv2-2", "conv2-2 s=2", "relu", "fc3", "relu"]})
    stats = list(convscope.analyze(graph).layers)
    extra = [dataclasses.replace(stats[2], hyper={"filter": 1, "stride": True}),
             dataclasses.replace(stats[2], hyper={"filter": 1.0, "stride": 1}),
             dataclasses.replace(stats[3], name="r\u00e9\"lu\n", formula="\u2028"),
             dataclasses.replace(stats[3], macs=2.5),
             dataclasses.replace(stats[3], receptive_field=Field(
                 "input", (8, 8), (AxisField(Fraction(3, 2), 1, Fraction(1, 2), -1),) * 2))]
    for description in ({"input": "10", "layers": ["dense4", "relu"]},  # no spatial axis
                        {"input": "16x3", "layers": ["conv3-2", "conv2-2"]},  # 1-D, even
                        {"input": "6x6x6x1", "layers": ["conv3-2 s=2", "relu"]}):  # 3-D
        extra += convscope.analyze(convscope.load(description)).layers
    lines = layer_lines((*stats, *extra))
    assert lines == [json.dumps(layer_json(s)) for s in (*stats, *extra)]
    assert any('"center": [1.5' in line or "0.5" in line for line in lines)


def test_summary_imports_lint_only_when_it_prints_findings():
    code = ("import sys; from convscope.cli import main; main(['summary', 'lenet5', "
            "'--format', 'json']); print('convscope.analysis.lint' in sys.modules, "
            "file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr.strip().endswith("False")
