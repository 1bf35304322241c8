"""A corpus of hostile and malformed inputs for the command line (issue 12).

Each case is one ``convscope`` command, with the files it needs (written into a fresh
temporary folder), and what must happen: ``error`` (exit status 2, one clear line on
stderr naming what is wrong, no traceback) or ``ok`` (exit status 0: extreme but valid).
``words`` are words the error line must contain (any one of each tuple), so the test
checks that the message names the rule, not only that something failed.

Cases are plain data, generated here; tests/test_hostile_corpus.py runs each in a
subprocess under a CPU-time and address-space limit.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from io import BytesIO

Files = dict[str, bytes]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    files: Files = field(default_factory=dict)
    # "error": exit 2 and one line; "usage": argparse's own usage + error lines; "rejected":
    # either of those two; "clean": exit 0 or an "error"; "ok": exit 0 (valid extremes)
    expect: str = "error"
    words: tuple[tuple[str, ...], ...] = ()
    torch: bool = False  # needs PyTorch: a larger memory and CPU budget (torch's import)


def _yaml(text: str) -> bytes:
    return text.encode()


def summary(case_id: str, text: str | bytes, *words: tuple[str, ...] | str,
            name: str = "net.yaml", extra: tuple[str, ...] = ()) -> Case:
    data = text if isinstance(text, bytes) else text.encode()
    return Case(case_id, ("summary", name, *extra), {name: data},
                words=tuple((w,) if isinstance(w, str) else w for w in words))


def oneline(case_id: str, line: str, *words: tuple[str, ...] | str,
            extra: tuple[str, ...] = ()) -> Case:
    return Case(case_id, ("summary", line, *extra),
                words=tuple((w,) if isinstance(w, str) else w for w in words))


# ----------------------------------------------------------------- file shape ---
def file_cases() -> list[Case]:
    return [
        summary("empty-file", ""),
        summary("scalar-document", "42\n"),
        summary("list-document", "- a\n- b\n"),
        summary("string-document", "just some words\n"),
        summary("binary-garbage", bytes(range(256)) * 4),
        summary("not-utf8", b"input: 32x32x3\nlayers:\n  - {type: relu, name: \xff\xfe}\n"),
        summary("null-layers", "input: 32x32x3\nlayers: null\n"),
        summary("layers-int", "input: 32x32x3\nlayers: 5\n", "layers"),
        summary("layers-string", "input: 32x32x3\nlayers: relu\n", "layers"),
        summary("layers-list-of-int", "input: 32x32x3\nlayers: [5]\n", "layers[0]"),
        summary("layers-list-of-list", "input: 32x32x3\nlayers: [[]]\n", "layers[0]"),
        Case("layers-empty", ("summary", "net.yaml"), {"net.yaml": b"input: 8x8x3\nlayers: []\n"},
             expect="clean"),
        summary("no-type", "input: 32x32x3\nlayers: [{name: a}]\n", "type"),
        summary("type-int", "input: 32x32x3\nlayers: [{type: 5}]\n", "type"),
        summary("type-null", "input: 32x32x3\nlayers: [{type: null}]\n", "type"),
        summary("type-list", "input: 32x32x3\nlayers: [{type: [conv]}]\n", "type"),
        summary("type-misspelt", "input: 32x32x3\nlayers: [{type: convv, out_channels: 3, "
                "kernel_size: 3}]\n", "conv"),
        summary("no-input", "layers: [{type: relu}]\n", "input"),
        summary("input-word", "input: abc\nlayers: [{type: relu}]\n", "input"),
        summary("input-zero", "input: 0x0x3\nlayers: [{type: relu}]\n", "input"),
        summary("input-negative", "input: -1x5x3\nlayers: [{type: relu}]\n", "input"),
        summary("input-list", "input: []\nlayers: [{type: relu}]\n", "input"),
        summary("input-mapping", "input: {}\nlayers: [{type: relu}]\n", "input"),
        summary("input-float", "input: 32.5x32x3\nlayers: [{type: relu}]\n", "input"),
        summary("input-bool", "input: true\nlayers: [{type: relu}]\n", "input"),
        summary("duplicate-keys", "input: 32x32x3\nlayers:\n  - {type: conv, out_channels: 3,"
                " kernel_size: 3, kernel_size: 5}\n", ("duplicate", "twice")),
        summary("duplicate-top-keys", "input: 32x32x3\ninput: 28x28x1\nlayers: [{type: relu}]\n",
                ("duplicate", "twice")),
        summary("yaml-syntax", "input: 32x32x3\nlayers: [{type: relu\n", "YAML"),
        summary("yaml-tab", "input: 32x32x3\nlayers:\n\t- {type: relu}\n", "YAML"),
        summary("yaml-unterminated-quote", "input: '32x32x3\nlayers: []\n", "YAML"),
        summary("yaml-python-tag", "input: 32x32x3\nlayers: !!python/object/apply:os.system "
                "['touch pwned']\n"),
        summary("yaml-python-name", "input: !!python/name:os.system\nlayers: []\n"),
        summary("yaml-binary-tag", "input: !!binary aGVsbG8=\nlayers: []\n", "input"),
        summary("yaml-set", "input: 32x32x3\nlayers: !!set {a, b}\n", "layers"),
        summary("json-syntax", "{\"input\": \"32x32x3\", \"layers\": [}", "JSON", name="n.json"),
        summary("json-top-list", "[1, 2, 3]", name="n.json"),
        summary("json-nan", '{"input": "32x32x3", "layers": [{"type": "dropout", "rate": NaN}]}',
                ("rate", "NaN", "nan"), name="n.json"),
        summary("huge-file", b"input: 32x32x3\n# " + b"x" * (17 * 1024 * 1024) + b"\nlayers: []\n",
                ("large", "big", "bytes", "MB")),
        Case("no-such-file", ("summary", "missing.yaml"), words=(("no such", "not found"),)),
        Case("unknown-source", ("summary", "lenet55"), words=(("lenet5",),)),
        Case("directory-as-model", ("summary", "folder.yaml"), {"folder.yaml/x": b""}),
    ]


# -------------------------------------------------------------------- bombs ---
def _alias_bomb(where: str) -> str:
    levels = "\n".join(f"  - &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}, "
                       f"*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]" for i in range(1, 10))
    head = f"bomb:\n  - &l0 [relu, relu, relu, relu, relu, relu, relu, relu, relu]\n{levels}\n"
    bodies = {
        "layers": "input: 32x32x3\nlayers: *l9\n",
        "argument": "input: 32x32x3\nlayers: [{type: conv, out_channels: *l9, kernel_size: 3}]\n",
        "name": "input: 32x32x3\nlayers: [{type: relu, name: *l9}]\n",
        "input": "input: *l9\nlayers: [{type: relu}]\n",
        "block": "input: 32x32x3\nblocks:\n  b:\n    layers: *l9\nlayers: [{type: b}]\n",
    }
    return head + bodies[where]


def bomb_cases() -> list[Case]:
    cases = [summary(f"alias-bomb-{where}", _alias_bomb(where), ("alias", "anchor"))
             for where in ("layers", "argument", "name", "input", "block")]
    block = ("input: 32x32x3\nblocks:\n  b:\n    params: {c: 1}\n    layers:\n"
             "      - {type: conv, out_channels: '%s', kernel_size: 1}\n"
             "layers: [{type: b, c: 2}]\n")
    for case_id, expr in [("expr-power-tower", "${10**10**10}"),
                          ("expr-string-times", "${'a' * 2000000000}"),
                          ("expr-long-chain", "${" + "+".join(["c"] * 20000) + "}"),
                          ("expr-unary-minus", "${" + "-" * 3000 + "c}"),
                          ("expr-parentheses", "${" + "(" * 5000 + "c" + ")" * 5000 + "}"),
                          ("expr-not-chain", "${" + "not " * 3000 + "c}"),
                          ("expr-shift", "${c << 100000000}"),
                          ("expr-big-pow", "${2**100000}"),
                          ("expr-division-zero", "${c // 0}"),
                          ("expr-call", "${__import__('os').system('true')}"),
                          ("expr-attribute", "${c.__class__}"),
                          ("expr-lambda", "${(lambda: 1)()}"),
                          ("expr-syntax", "${c +}")]:
        cases.append(summary(case_id, block % expr))
    cases += [
        summary("repeat-billion", "input: 32x32x3\nlayers: [{type: relu, repeat: 1000000000}]\n",
                ("layers", "repeat")),
        oneline("oneline-repeat-billion", "32x32x3 | relu *1000000000", ("layers", "repeat")),
        summary("blocks-doubling", "input: 8x8x3\nblocks:\n" + "".join(
            f"  b{i}:\n    layers: [{{type: b{i - 1}}}, {{type: b{i - 1}}}]\n"
            for i in range(1, 41)) + "  b0:\n    layers: [{type: relu}]\n"
            "layers: [{type: b40}]\n", ("layers", "repeat", "budget")),
        summary("repeat-nested", "input: 8x8x3\nlayers:\n  - type: sequential\n    repeat: 100000\n"
                "    layers:\n      - {type: relu, repeat: 100000}\n", ("layers", "budget")),
        summary("nested-sequential", "input: 8x8x3\nlayers:\n" + "".join(
            "  " * i + "  - type: sequential\n" + "  " * i + "    layers:\n" for i in range(300))
            + "  " * 300 + "  - {type: relu}\n", ("deep", "depth", "nest")),
        summary("nested-flow-lists", "input: 8x8x3\nlayers: " + "[" * 100000 + "]" * 100000 + "\n",
                ("deep", "depth", "nest")),
        summary("json-nested-lists", '{"input": "8x8x3", "layers": ' + "[" * 100000 + "]" * 100000
                + "}", ("deep", "depth", "nest"), name="n.json"),
        summary("json-nested-objects", '{"input": "8x8x3", "layers": [' + '{"a":' * 50000 + "1"
                + "}" * 50000 + "]}", name="n.json"),
        summary("block-recursion", "input: 8x8x3\nblocks:\n  a:\n    layers: [{type: b}]\n"
                "  b:\n    layers: [{type: a}]\nlayers: [{type: a}]\n"),
        summary("block-self", "input: 8x8x3\nblocks:\n  a:\n    layers: [{type: a}]\n"
                "layers: [{type: a}]\n"),
        summary("shape-1e200", f"input: {10**200}x3\nlayers: [{{type: relu}}]\n", "input"),
        summary("shape-1e300", f"input: {10**300}x{10**300}x3\nlayers: [{{type: relu}}]\n",
                "input"),
        summary("shape-1e12-square", f"input: {10**12}x{10**12}x3\nlayers: [{{type: relu}}]\n",
                "input"),
        summary("shape-5000-digits", f"input: {'9' * 5000}x3\nlayers: [{{type: relu}}]\n",
                "input"),
        summary("kernel-5000-digits", "input: 32x32x3\nlayers: [{type: conv, out_channels: 3, "
                f"kernel_size: {'7' * 5000}}}]\n", ("kernel", "digits")),
        summary("channels-1e30", "input: 32x32x3\nlayers: [{type: conv, out_channels: "
                f"{10**30}, kernel_size: 3}}]\n", ("out_channels", "channels")),
        summary("units-1e18", f"input: 32x32x3\nlayers: [{{type: fc, units: {10**18}}}]\n",
                "units"),
        summary("upsample-huge", "input: 32x32x3\nlayers: [{type: upsample, scale_factor: "
                f"{10**9}}}]\n"),
        summary("pad-huge", f"input: 32x32x3\nlayers: [{{type: pad, padding: {10**12}}}]\n"),
        summary("embedding-huge", f"input: 100\nlayers: [{{type: embedding, input_dim: {10**15}, "
                "output_dim: 1000000}]\n"),
        Case("many-names", ("summary", "net.yaml"), {"net.yaml": (
            "input: 8x8x3\nlayers:\n" + "".join(
                f"  - {{type: relu, name: n{i}, inputs: [n{i - 1}]}}\n" if i else
                "  - {type: relu, name: n0}\n" for i in range(5000))).encode()}, expect="ok"),
        Case("oneline-100kb", ("summary", "32x32x3 | " + "relu | " * 14000 + "relu", "-f", "json",
                               "-o", "r.json"), expect="clean"),
        oneline("oneline-long-token", "32x32x3 | conv" + "3" * 100000 + "-8", "conv"),
    ]
    return cases


# ------------------------------------------------------------ layer arguments ---
KIND_ARGS: dict[str, tuple[str, dict[str, object], tuple[str, ...]]] = {
    # kind: (input, valid arguments, arguments to spoil)
    "conv": ("32x32x3", {"out_channels": 8, "kernel_size": 3},
             ("out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias")),
    "conv_transpose": ("16x16x8", {"out_channels": 4, "kernel_size": 2, "stride": 2},
                       ("out_channels", "kernel_size", "stride", "output_padding")),
    "separable_conv": ("32x32x8", {"out_channels": 16, "kernel_size": 3},
                       ("out_channels", "kernel_size", "depth_multiplier")),
    "maxpool": ("32x32x3", {"kernel_size": 2}, ("kernel_size", "stride", "padding", "ceil_mode")),
    "adaptive_avg_pool": ("32x32x3", {"output_size": 4}, ("output_size",)),
    "dense": ("32", {"units": 10}, ("units", "bias", "activation")),
    "reshape": ("4x4x2", {"target_shape": [8, 4]}, ("target_shape",)),
    "pad": ("8x8x3", {"padding": 1}, ("padding",)),
    "upsample": ("8x8x3", {"scale_factor": 2}, ("scale_factor", "mode")),
    "bn": ("8x8x3", {}, ("momentum", "eps", "affine")),
    "groupnorm": ("8x8x4", {"num_groups": 2}, ("num_groups",)),
    "lrn": ("8x8x4", {"size": 5}, ("size",)),
    "dropout": ("8x8x3", {"rate": 0.5}, ("rate",)),
    "leaky_relu": ("8x8x3", {}, ("negative_slope",)),
    "concat": ("8x8x3", {}, ("axis",)),
    "rescaling": ("8x8x3", {"scale": 0.5}, ("scale", "offset")),
    "slice": ("8x8x4", {"axis": -1, "start": 0, "end": 2}, ("axis", "start", "end", "step")),
    "permute": ("8x8x4", {"dims": [2, 1, 3]}, ("dims",)),
    "embedding": ("20", {"input_dim": 100, "output_dim": 8}, ("input_dim", "output_dim")),
    "lstm": ("20x8", {"units": 16}, ("units", "return_sequences", "bidirectional")),
}

BAD_VALUES: dict[str, object] = {
    "zero": 0, "negative": -3, "float": 2.5, "word": "abc", "list": [1, [2]], "map": {"a": 1},
    "null": None, "huge": 10**40, "nan": float("nan"),
}


def _value_yaml(value: object) -> str:
    if isinstance(value, float) and value != value:
        return ".nan"
    return json.dumps(value)


def argument_cases() -> list[Case]:
    """Every spoilt argument of every kind: mostly errors; a few values are legal for some
    arguments (e.g. padding 0), so those cases only require a clean exit (0 or 2)."""
    cases = []
    for kind, (shape, args, spoil) in KIND_ARGS.items():
        for arg in spoil:
            for label, value in BAD_VALUES.items():
                merged = {**args, arg: value}
                body = ", ".join(f"{k}: {_value_yaml(v)}" for k, v in merged.items())
                text = f"input: {shape}\nlayers:\n  - {{type: {kind}, name: spoilt, {body}}}\n"
                cases.append(Case(f"arg-{kind}-{arg}-{label}", ("summary", "net.yaml"),
                                  {"net.yaml": text.encode()}, expect="clean"))
    return cases


# ------------------------------------------------------------------ semantics ---
def semantic_cases() -> list[Case]:
    head = "input: 16x16x3\nlayers:\n"
    return [
        summary("trainable-string", head + "  - {type: conv, out_channels: 3, kernel_size: 3, "
                "trainable: 'no'}\n", "trainable"),
        summary("trainable-int", head + "  - {type: conv, out_channels: 3, kernel_size: 3, "
                "trainable: 0}\n", "trainable"),
        summary("dropout-nan", head + "  - {type: dropout, rate: .nan}\n", "rate"),
        summary("dropout-inf", head + "  - {type: dropout, rate: .inf}\n", "rate"),
        summary("dropout-above-one", head + "  - {type: dropout, rate: 1.5}\n", "rate"),
        summary("bn-momentum-nan", head + "  - {type: bn, momentum: .nan}\n", "momentum"),
        summary("bn-eps-negative", head + "  - {type: bn, eps: -1}\n", "eps"),
        summary("add-single-input", head + "  - {type: relu, name: a}\n"
                "  - {type: add, inputs: [a]}\n", "input"),
        Case("concat-single-input", ("summary", "net.yaml"), {"net.yaml": (
            head + "  - {type: relu, name: a}\n  - {type: concat, inputs: [a]}\n").encode()},
             expect="clean"),  # torch.cat([x]) is x: legal
        summary("misspelt-argument", head + "  - {type: conv, out_channels: 3, kernal_size: 3}\n",
                "kernel_size"),
        summary("unknown-argument", head + "  - {type: relu, colour: blue}\n", "colour"),
        summary("non-string-key", head + "  - {type: relu, 5: 1}\n"),
        summary("null-key", head + "  - {type: relu, ~: 1}\n"),
        summary("bool-key", head + "  - {type: relu, true: 1}\n"),
        summary("list-key", head + "  - {type: relu, [a]: 1}\n"),
        summary("first-non-string-key", head + "  - {type: relu, repeat: 2, first: {5: 1}}\n"),
        summary("first-not-mapping", head + "  - {type: relu, repeat: 2, first: 5}\n", "first"),
        summary("kernel-larger-than-input", head + "  - {type: conv, out_channels: 3, "
                "kernel_size: 17}\n", "kernel"),
        summary("groups-not-dividing", head + "  - {type: conv, out_channels: 4, kernel_size: 3,"
                " groups: 2}\n", "groups"),
        summary("concat-mismatch", head + "  - {type: conv, name: a, out_channels: 3, "
                "kernel_size: 3}\n  - {type: relu, name: b, inputs: [input]}\n"
                "  - {type: concat, inputs: [a, b]}\n", "concat"),
        summary("add-mismatch", head + "  - {type: conv, name: a, out_channels: 4, "
                "kernel_size: 1}\n  - {type: relu, name: b, inputs: [input]}\n"
                "  - {type: add, inputs: [a, b]}\n"),
        summary("unknown-input-ref", head + "  - {type: relu, inputs: [nowhere]}\n", "nowhere"),
        summary("input-ref-int", head + "  - {type: relu, inputs: [5]}\n"),
        summary("inputs-mapping", head + "  - {type: relu, inputs: {a: 1}}\n", "inputs"),
        summary("forward-reference", head + "  - {type: relu, name: a, inputs: [b]}\n"
                "  - {type: relu, name: b, inputs: [a]}\n"),
        summary("duplicate-names", head + "  - {type: relu, name: a}\n  - {type: relu, name: a}\n",
                "a"),
        Case("residual-no-body", ("summary", "net.yaml"), {"net.yaml": (
            head + "  - {type: residual}\n").encode()}, expect="clean"),
        summary("residual-bad-shortcut", head + "  - {type: residual, shortcut: sideways, body: "
                "[{type: relu}]}\n", "shortcut"),
        summary("residual-bad-merge", head + "  - {type: residual, merge: divide, body: "
                "[{type: relu}]}\n", "merge"),
        summary("parallel-no-branches", head + "  - {type: parallel}\n", "branches"),
        summary("parallel-branches-int", head + "  - {type: parallel, branches: 3}\n",
                "branches"),
        summary("repeat-negative", head + "  - {type: relu, repeat: -1}\n", "repeat"),
        summary("repeat-word", head + "  - {type: relu, repeat: many}\n", "repeat"),
        summary("repeat-float", head + "  - {type: relu, repeat: 1.5}\n", "repeat"),
        summary("repeat-bool", head + "  - {type: relu, repeat: true}\n", "repeat"),
        summary("block-unknown-param", "input: 8x8x3\nblocks:\n  b:\n    params: {c: 1}\n"
                "    layers: [{type: conv, out_channels: $c, kernel_size: 1}]\n"
                "layers: [{type: b, d: 2}]\n", "d"),
        summary("block-missing-param", "input: 8x8x3\nblocks:\n  b:\n    params: {c: null}\n"
                "    layers: [{type: conv, out_channels: $c, kernel_size: 1}]\n"
                "layers: [{type: b}]\n", "c"),
        summary("block-params-list", "input: 8x8x3\nblocks:\n  b:\n    params: [c]\n"
                "    layers: [{type: relu}]\nlayers: [{type: b}]\n", ("params", "parameter")),
        summary("blocks-list", "input: 8x8x3\nblocks: [a]\nlayers: [{type: relu}]\n", "blocks"),
        summary("block-non-string-name", "input: 8x8x3\nblocks:\n  5:\n    layers: [{type: relu}]\n"
                "layers: [{type: relu}]\n"),
        summary("defaults-list", "input: 8x8x3\ndefaults: [a]\nlayers: [{type: relu}]\n",
                "defaults"),
        summary("defaults-non-string", "input: 8x8x3\ndefaults: {5: {a: 1}}\n"
                "layers: [{type: relu}]\n"),
        summary("permute-mixed", "input: 8x8x4\nlayers: [{type: permute, dims: [2, '1', 3]}]\n",
                "dims"),
        summary("permute-repeated", "input: 8x8x4\nlayers: [{type: permute, dims: [1, 1, 3]}]\n",
                "dims"),
        summary("flatten-then-conv", head + "  - {type: flatten}\n  - {type: conv, "
                "out_channels: 3, kernel_size: 3}\n"),
        summary("dense-on-nothing", "input: 0\nlayers: [{type: dense, units: 3}]\n"),
        summary("activation-unknown", head + "  - {type: activation, activation: sparkle}\n",
                "sparkle"),
        Case("name-with-newline", ("summary", "net.yaml"), {"net.yaml": (
            head + "  - {type: relu, name: \"a\\nb\"}\n").encode()}, expect="clean"),
        summary("name-very-long", head + "  - {type: relu, name: " + "n" * 100000 + "}\n"
                "  - {type: relu, inputs: [missing]}\n"),
    ]


# ------------------------------------------------------------------- one-line ---
def oneline_cases() -> list[Case]:
    lines = {
        "empty-pipe": "|", "only-shape": "32x32x1 |", "word-shape": "abc | relu",
        "bare-conv": "32x32x1 | conv", "conv-dash": "32x32x1 | conv3-",
        "conv-huge-kernel": "32x32x1 | conv999999999999999999999-3",
        "stride-zero": "32x32x1 | conv3-64 s=0", "repeat-zero": "32x32x1 | relu *0",
        "repeat-negative": "32x32x1 | relu *-1", "repeat-word": "32x32x1 | relu *x",
        "unknown-option": "32x32x1 | conv3-64 foo=bar", "pool-too-big": "32x32x1 | maxpool64",
        "unicode": "32x32x1 | cönv3-8", "dropout-two": "32x32x1 | dropout2",
        "dropout-nan": "32x32x1 | dropoutnan", "fc-groups": "32x32x1 | fc10 g=3",
        "double-pipe": "32x32x1 || relu", "shape-only-x": "x | relu",
        "shape-trailing-x": "32x32x | relu", "dense-zero": "32x32x1 | fc0",
        "embed-bad": "20 | embed-8", "lstm-on-image": "32x32x1 | lstm8",
        "option-no-value": "32x32x1 | conv3-8 s=", "option-key-only": "32x32x1 | conv3-8 =2",
        "name-duplicate": "32x32x1 | relu name=a | relu name=a",
        "padding-word": "32x32x1 | conv3-8 p=lots", "dilation-zero": "32x32x1 | conv3-8 d=0",
        "groups-word": "32x32x1 | conv3-8 g=some", "deconv-bad": "32x32x1 | deconv-",
        "negative-shape": "-32x32x1 | relu",
    }
    return [oneline(f"oneline-{key}", line) for key, line in lines.items()]


# ------------------------------------------------------------ command options ---
def option_cases() -> list[Case]:
    lenet = "32x32x1 | conv5-6 | maxpool2 | fc10"
    return [
        Case("opt-input-garbage", ("summary", "lenet5", "--input", "abc"), words=(("input",),)),
        Case("opt-input-zero", ("summary", "lenet5", "--input", "0x0x1")),
        Case("opt-input-huge", ("summary", "lenet5", "--input", f"{10**200}x3")),
        Case("opt-input-too-small", ("summary", "lenet5", "--input", "4x4x1"),
             words=(("kernel", "larger", "input"),)),
        Case("opt-batch-zero", ("summary", "lenet5", "--batch", "0"), expect="rejected"),
        Case("opt-batch-negative", ("summary", "lenet5", "--batch", "-1"), expect="rejected"),
        Case("opt-batch-word", ("summary", "lenet5", "--batch", "many"), expect="rejected"),
        Case("opt-batch-huge", ("summary", "lenet5", "--batch", str(10**40)), expect="clean"),
        Case("opt-dtype", ("summary", "lenet5", "--dtype", "float7"), expect="rejected"),
        Case("opt-format", ("summary", "lenet5", "--format", "pdf"), expect="rejected"),
        Case("opt-columns", ("summary", "lenet5", "--columns", "colour")),
        Case("out-directory", ("summary", "lenet5", "-o", "adir"), {"adir/keep": b"x"}),
        Case("out-under-file", ("summary", "lenet5", "-o", "afile/out.txt"), {"afile": b"x"}),
        Case("draw-bad-suffix", ("draw", "lenet5", "-o", "pic.gif"), words=(("svg", "png"),)),
        Case("serve-port-huge", ("serve", "--port", "99999"), expect="usage"),
        Case("serve-port-word", ("serve", "--port", "abc"), expect="usage"),
        Case("serve-port-negative", ("serve", "--port", "-5"), expect="usage"),
        Case("calc-input-garbage", ("calc", "conv", "--input", "abc", "-k", "3", "-n", "4")),
        Case("calc-kernel-zero", ("calc", "conv", "--input", "8x8x3", "-k", "0", "-n", "4")),
        Case("calc-unknown-layer", ("calc", "wibble", "--input", "8x8x3")),
        Case("calc-set-garbage", ("calc", "conv", "--input", "8x8x3", "-k", "3", "-n", "4",
                                  "--set", "novalue")),
        Case("convolve-ragged", ("convolve", "--input", "1 2; 3", "--kernel", "identity")),
        Case("convolve-huge", ("convolve", "--input", "1 2; 3 4", "--kernel", "1 2; 3 4",
                               "--stride", "0")),
        Case("explain-no-layer", ("explain", "lenet5", "--layer", "conv99"), words=(("conv99",),)),
        Case("compare-one", ("compare", "lenet5")),
        Case("compare-bad", ("compare", "lenet5", "nothing_here")),
        Case("help-unknown", ("help", "wibble")),
        Case("zoo-format", ("zoo", "-f", "pdf"), expect="rejected"),
        Case("summary-oneline-out-fifo-like", ("summary", lenet, "-o", "")),
    ]


# ------------------------------------------------------------- Keras and ONNX ---
def _keras_zip(config: object | bytes) -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        data = config if isinstance(config, bytes) else json.dumps(config).encode()
        archive.writestr("config.json", data)
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
    return buf.getvalue()


def _seq(layers: object, **extra: object) -> dict[str, object]:
    return {"class_name": "Sequential", "config": {"name": "s", "layers": layers, **extra}}


def interop_cases() -> list[Case]:
    dense = {"class_name": "Dense", "config": {"name": "d", "units": 3}}
    inp = {"class_name": "InputLayer", "config": {"name": "i", "batch_shape": [None, 8]}}
    bad_configs: dict[str, object | bytes] = {
        "not-json": b"{not json",
        "top-list": [1, 2],
        "layers-ints": _seq([5]),
        "layers-int": _seq(5),
        "batch-shape-word": _seq([{"class_name": "InputLayer",
                                   "config": {"name": "i", "batch_shape": "abc"}}, dense]),
        "no-class-name": _seq([inp, {"config": {"units": 3}}]),
        "units-word": _seq([inp, {"class_name": "Dense", "config": {"name": "d", "units": "x"}}]),
        "units-huge": _seq([inp, {"class_name": "Dense", "config": {"name": "d",
                                                                     "units": 10**30}}]),
        "config-null": _seq([inp, {"class_name": "Dense", "config": None}]),
        "unknown-class": _seq([inp, {"class_name": "Sparkle", "config": {"name": "x"}}]),
        "functional-dangling": {"class_name": "Functional", "config": {
            "name": "f", "layers": [inp], "input_layers": [["i", 0, 0]],
            "output_layers": [["nowhere", 0, 0]]}},
        "functional-inbound-garbage": {"class_name": "Functional", "config": {
            "name": "f", "layers": [inp, {"class_name": "Dense", "name": "d", "config":
                                          {"name": "d", "units": 3}, "inbound_nodes": 7}],
            "input_layers": [["i", 0, 0]], "output_layers": [["d", 0, 0]]}},
    }
    cases = [Case(f"keras-{key}", ("summary", "model.keras"), {"model.keras": _keras_zip(cfg)})
             for key, cfg in bad_configs.items()]
    cases += [
        Case("keras-not-zip", ("summary", "model.keras"), {"model.keras": b"PK\x03\x04 nope"}),
        Case("keras-empty-zip", ("summary", "model.keras"), {"model.keras": _empty_zip()}),
        Case("keras-json-list", ("summary", "model.json"), {"model.json": b"[1, 2]"}),
        Case("onnx-random", ("summary", "m.onnx"), {"m.onnx": bytes(range(256)) * 8}),
        Case("onnx-empty", ("summary", "m.onnx"), {"m.onnx": b""}),
        Case("onnx-text", ("summary", "m.onnx"), {"m.onnx": b"this is not a model"}),
    ]
    return cases


def _empty_zip() -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    return buf.getvalue()


# ------------------------------------------------------------- checkpoints ---
def checkpoint_cases() -> list[Case]:
    return [
        Case("ckpt-random", ("evaluate", "run/best.pt"), {"run/best.pt": bytes(range(256)) * 4},
             torch=True),
        Case("ckpt-empty", ("evaluate", "run/best.pt"), {"run/best.pt": b""}, torch=True),
        Case("ckpt-empty-run", ("evaluate", "run"), {"run/notes.txt": b"x"}, torch=True),
        Case("ckpt-missing", ("evaluate", "nothing.pt"), torch=True),
        Case("predict-missing", ("predict", "run/best.pt", "img.png"),
             {"run/best.pt": b"junk"}, torch=True),
    ]


# ----------------------------------------------------------- valid extremes ---
def valid_cases() -> list[Case]:
    chain = "input: 8x8x3\nlayers:\n" + "  - {type: relu}\n" * 20000
    return [
        Case("valid-20000-layer-chain", ("summary", "net.yaml", "-f", "json", "-o", "r.json"),
             {"net.yaml": chain.encode()}, expect="ok"),
        Case("valid-repeat-10000", ("summary", "32x32x3 | conv3-8 p=1 | relu *10000", "-f",
                                    "json", "-o", "r.json"), expect="ok"),
        Case("valid-big-input", ("summary", "lenet5", "--input", "4096x4096x1"), expect="ok"),
        Case("valid-nested-blocks", ("summary", "net.yaml"), {"net.yaml": (
            "input: 16x16x3\nblocks:\n" + "".join(
                f"  b{i}:\n    params: {{c: 4}}\n    layers: [{{type: b{i - 1}, c: $c}}, "
                f"{{type: relu}}]\n" for i in range(1, 6))
            + "  b0:\n    params: {c: 4}\n    layers: [{type: conv, out_channels: $c, "
              "kernel_size: 1}]\nlayers: [{type: b5, c: 8}]\n").encode()}, expect="ok"),
        Case("valid-unicode-name", ("summary", "32x32x1 | conv3-4 name=färbung | fc10"),
             expect="ok"),
        Case("valid-resnet152", ("summary", "resnet152", "-f", "json", "-o", "r.json"),
             expect="ok"),
        Case("valid-few-aliases", ("summary", "net.yaml"), {"net.yaml": (
            b"input: 8x8x3\nlayers:\n  - &r {type: relu}\n  - *r\n  - *r\n")},
             expect="ok"),
    ]


# ------------------------------------------- review of issue 12 (spec findings) ---
def review_cases() -> list[Case]:
    """The security review's findings in the description parser, each refused in bounded
    time: repeats of nothing, '%' formatting, control characters in names, aliases
    measured from libyaml's events, non-regular files, and clearer messages."""
    head = "input: 8x8x3\nlayers:\n"
    empty = "input: 8x8x3\nblocks:\n  e: {layers: []}\nlayers:\n"
    named = ("input: 8x8x3\nblocks:\n  b:\n    params: {n: 1}\n    layers:\n"
             "      - {type: relu, name: \"%s\"}\nlayers: [{type: b}]\n")
    repeat = ("'repeat' is", "repeat")
    return [
        # 1. a repeat of an item with no layers looped forever
        summary("repeat-empty-sequential", head + "  - {type: sequential, layers: [], "
                "repeat: 1000000000}\n", repeat, "budget"),
        summary("repeat-empty-block", empty + f"  - {{type: e, repeat: {10**40}}}\n", repeat),
        summary("repeat-empty-token", empty + '  - "e *1000000000"\n', repeat),
        summary("repeat-when-false", head + "  - {type: sequential, layers: [{type: relu, "
                "when: false}], repeat: 1000000000}\n", repeat),
        summary("repeat-param-in-block", "input: 8x8x3\nblocks:\n  e:\n    params: {n: 1}\n"
                "    layers: [{type: sequential, layers: [], repeat: $n}]\n"
                "layers: [{type: e, n: 1000000000}]\n", repeat, "block 'e'"),
        summary("repeat-empty-nested", head + "  - {type: sequential, repeat: 100000, layers: "
                "[{type: sequential, layers: [], repeat: 100000}]}\n", "budget"),
        oneline("oneline-repeat-empty-structure", "8x8x3 | sequential *1000000000", repeat),
        # 2. '%' formatting in block expressions (gigabytes of text)
        summary("expr-percent-precision", named % "${'%.999999999f' % 1.5}", "'%'"),
        summary("expr-percent-width", named % "${'%1999999999d' % 1}", "'%'"),
        summary("expr-percent-star", named % "${'%0*d' % 5}", "'%'"),
        # 3. terminal control characters in names
        summary("name-ansi-escape", head + '  - {type: relu, name: "a\\x1b[31mred"}\n',
                "U+001B", "\\x1b[31m"),
        summary("name-osc52-clipboard", head + '  - {type: relu, name: '
                '"\\x1b]52;c;aGVsbG8=\\x07"}\n', "U+001B"),
        summary("name-nul-model", 'name: "m\\0x"\ninput: 8x8x3\nlayers: [relu]\n', "U+0000"),
        summary("name-line-separator", head + '  - {type: relu, name: "a\\u2028b"}\n',
                "U+2028"),
        summary("name-bidi-override-input", 'inputs: {"im\\u202eg": 8x8x3}\nlayers: [relu]\n',
                "U+202E"),
        summary("name-c1-block", 'input: 8x8x3\nblocks:\n  "b\\x9b2J": {layers: [relu]}\n'
                "layers: [relu]\n", "U+009B"),
        summary("name-surrogate-json", '{"input": "8x8x3", "layers": [{"type": "relu", '
                '"name": "\\ud800"}]}', "U+D800", name="n.json"),
        summary("name-from-expression", named % "${'\\x1b[2J' + 'x'}", "U+001B"),
        oneline("oneline-name-escape", "8x8x3 | relu name=a\x1b[2J", "U+001B"),
        summary("name-30000-control", head + '  - {type: relu, name: "\\x01' + "a" * 29_999
                + '"}\n', "30,000 characters"),
        # 4. aliases measured (size, depth) from libyaml's events; the C loader otherwise
        summary("alias-depth-expanded", "input: 8x8x3\nnotes: &a " + "[" * 60 + "]" * 60
                + "\ndescription: " + "[" * 60 + "*a" + "]" * 60 + "\nlayers: [relu]\n",
                "once the alias *a is expanded", ":3:"),
        summary("alias-values-expanded", "input: 8x8x3\nnotes: &a [" + "1," * 100_001
                + "]\ndescription: *a\nlayers: [relu]\n", "100,000 values"),
        Case("valid-alias-large-file", ("summary", "net.yaml", "-f", "json", "-o", "r.json"),
             {"net.yaml": ("input: 8x8x3\nnotes: &a x\ndescription: *a\nlayers:\n"
                           + "  - relu\n" * 20_000).encode()}, expect="ok"),
        # 5. non-regular files (a FIFO is tested in tests/test_hostile_spec.py: the corpus
        # declares regular files only); /dev/stdin is /dev/null here, a character device
        Case("file-character-device", ("summary", "/dev/stdin"),
             words=(("character device",),)),
        Case("file-folder", ("summary", "net.yaml"), {"net.yaml/x.yaml": b"x"},
             words=(("a folder",),)),
        # 6. clearer messages
        summary("expr-flat-chain-400", named % ("${" + "+".join(["n"] * 400) + "}"),
                "399 operators"),
        summary("json-duplicate-position", '{"input": "8x8x3",\n "layers": ["relu"],\n '
                '"input": "4x4x3"}', ":3:2", "first on line 1", name="n.json"),
        Case("opt-max-layers-huge", ("--max-layers", "9" * 23, "summary", "8x8x3 | relu"),
             expect="usage"),
    ]


def all_cases() -> list[Case]:
    cases = [*file_cases(), *bomb_cases(), *argument_cases(), *semantic_cases(),
             *oneline_cases(), *option_cases(), *interop_cases(), *checkpoint_cases(),
             *valid_cases(), *review_cases()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases
