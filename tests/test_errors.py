"""Every kind of bad description gets one clear message: the layer (position and name), the
rule, what was expected and what was received. Asserted by their text (Keras's
test_bad_init_args style), and through the CLI: exit status 2, no traceback.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import convscope
from convscope.errors import ConvscopeError, ShapeError, SpecError


def error_of(source, input_shape=None) -> str:
    with pytest.raises(ConvscopeError) as info:
        convscope.load(source, input_shape)
    return str(info.value)


def desc(*layers, input="8x8x3", **extra):
    return {"input": input, "layers": list(layers), **extra}


CASES = [
    # (description, exact message or the substrings it must contain)
    pytest.param(
        desc({"type": "conv", "name": "conv1", "out_channels": 4, "kernel_size": 3},
             {"type": "conv", "name": "conv2", "out_channels": 4, "kernel_size": 5}, input="6x6x1"),
        "<description>: layers[1] 'conv2' (conv): kernel 5 on axis H is larger than the padded "
        "input 4 (input 4, padding 0+0)", id="kernel-larger-than-input"),
    pytest.param(
        desc({"type": "conv", "out_channels": 8, "kernel_size": 3, "dilation": 3}, input="6x6x1"),
        "<description>: layers[0] 'conv1' (conv): kernel 3, dilation 3 makes it 7 on axis H is "
        "larger than the padded input 6 (input 6, padding 0+0)", id="dilated-kernel-too-large"),
    pytest.param(
        desc({"type": "conv", "name": "a", "out_channels": 64, "kernel_size": 1},
             {"type": "conv", "name": "b", "out_channels": 32, "kernel_size": 1, "inputs": "input"},
             {"type": "add", "name": "sum", "inputs": ["a", "b"]}),
        "<description>: layers[2] 'sum' (merge): inputs disagree on axis C (channels): 8x8x64 "
        "(input 1), 8x8x32 (input 2). Expected equal shapes (or size 1 to broadcast) for add. Did "
        "you mean to project the shortcut with a 1x1 conv? Inputs: 'a' -> 8x8x64, 'b' -> 8x8x32.",
        id="channel-mismatch-at-add"),
    pytest.param(
        desc({"type": "batchnorm2"}),
        "<description>: layers[0]: unknown layer type 'batchnorm2'. Did you mean 'batchnorm2d'? "
        "Run 'convscope help layers' for the list", id="unknown-layer-type"),
    pytest.param(
        desc({"type": "conv", "out_channels": 4, "kernel_size": 3, "strdie": 2}),
        ["layers[0] 'conv1' (conv): unknown argument 'strdie' for conv. Did you mean 'stride'?"],
        id="unknown-argument"),
    pytest.param(
        desc({"type": "conv", "kernel_size": 3}),
        "<description>: layers[0] 'conv1' (conv): missing required argument 'out_channels' "
        "(or 'filters')", id="missing-argument"),
    pytest.param(
        desc({"type": "conv", "out_channels": 8, "kernel_size": 3, "groups": 2}),
        "<description>: layers[0] 'conv1' (conv): in_channels 3 is not divisible by groups 2",
        id="groups-do-not-divide"),
    pytest.param(
        desc({"type": "conv", "out_channels": 0, "kernel_size": 3}),
        "<description>: layers[0] 'conv1' (conv): argument 'out_channels' must be an integer >= 1;"
        " received 0", id="zero-filters"),
    pytest.param(
        desc({"type": "conv", "out_channels": 4, "kernel_size": [3, 3, 3]}),
        "<description>: layers[0] 'conv1' (conv): argument 'kernel_size' has 3 values but the "
        "input has 2 spatial axes (H, W); received [3, 3, 3]", id="kernel-rank"),
    pytest.param(
        desc({"type": "conv", "out_channels": 4, "kernel_size": 3, "padding": "half"}),
        "<description>: layers[0] 'conv1' (conv): argument 'padding' must be 'valid', 'same', an "
        "integer >= 0, one per axis, or one [before, after] pair per axis; received 'half'",
        id="bad-padding"),
    pytest.param(
        desc({"type": "conv", "out_channels": 4, "kernel_size": 3}, input="8x8x-3"),
        "<description>: input shape must be sizes >= 1 written like 224x224x3 (H x W x C) or "
        "[224, 224, 3]; received '8x8x-3'", id="negative-size"),
    pytest.param(
        desc({"type": "conv", "out_channels": 4, "kernel_size": 3, "inputs": ["conv9"]}),
        "<description>: layers[0]: unknown input 'conv9': no earlier layer has that name.",
        id="unknown-input"),
    pytest.param(
        desc({"type": "relu", "name": "act"}, {"type": "relu", "name": "act"}),
        "<description>: layers[1] 'act' (activation): the name 'act' is already used; layer names"
        " must be unique", id="duplicate-name"),
    pytest.param(
        desc({"type": "maxpool", "kernel_size": 2, "name": "p"},
             {"type": "concat", "inputs": ["input", "p"]}),
        "<description>: layers[1] 'concat1' (concat): inputs disagree on axis H: 8x8x3 (input 1),"
        " 4x4x3 (input 2). Expected equal sizes on every axis but the concatenation axis C "
        "(channels) Inputs: 'input' -> 8x8x3, 'p' -> 4x4x3.", id="concat-mismatch"),
    pytest.param(
        desc({"type": "reshape", "target_shape": [10, 10]}),
        "<description>: layers[0] 'reshape1' (reshape): cannot reshape 8x8x3 (192 values) to "
        "10x10 (100 values)", id="reshape-count"),
    pytest.param(
        {"input": "8x8x3", "layer": []},
        "<description>: unknown top-level key 'layer'. Did you mean 'layers'? Known: name, "
        "description, input, inputs, layers, blocks, outputs, defaults, source, notes, train",
        id="unknown-top-level-key"),
    pytest.param(
        {"layers": ["relu"]},
        "<description>: the description has no 'input' shape (e.g. input: 32x32x1); give one, or "
        "pass --input", id="missing-input"),
    pytest.param(
        desc({"type": "fc", "units": 10}, {"type": "conv", "out_channels": 4, "kernel_size": 3}),
        "<description>: layers[1] 'conv1' (conv): conv needs an input with spatial axes and "
        "channels (e.g. H x W x C); received 10. Use dense for vectors", id="conv-on-vector"),
    pytest.param(
        desc({"type": "conv1d", "out_channels": 4, "kernel_size": 3}),
        "<description>: layers[0] 'conv1' (conv): conv1d expects an input with 1 spatial axes and "
        "channels (L x C); received 8x8x3", id="conv1d-on-image"),
    pytest.param(
        desc({"type": "dropout", "rate": 1.5}),
        "<description>: layers[0] 'dropout1' (dropout): argument 'rate' must be a number in "
        "[0.0, 1.0]; received 1.5", id="dropout-rate"),
    pytest.param(  # YAML 1.1 reads 1e-6 (no dot) as text: the error says how to write it
        desc({"type": "layernorm", "eps": "1e-6"}),
        "<description>: layers[0] 'layernorm1' (layernorm): argument 'eps' must be a number; "
        "received '1e-6' (YAML reads 1e-6 as text: write 1.0e-6)", id="yaml-exponent"),
    pytest.param(
        desc({"type": "block_a"}, blocks={"block_a": {"layers": [{"type": "block_a"}]}}),
        ["block 'block_a' uses itself (block_a > block_a)"], id="recursive-block"),
    pytest.param(
        desc({"type": "unit"}, blocks={"unit": {"params": ["width"], "layers": ["relu"]}}),
        "<description>: layers[0]: block 'unit' needs parameter 'width'", id="block-missing-param"),
    pytest.param(
        desc({"type": "unit", "widht": 3},
             blocks={"unit": {"params": {"width": 4}, "layers": ["relu"]}}),
        "<description>: layers[0]: block 'unit' has no parameter 'widht'. Did you mean 'width'? "
        "Parameters: width", id="block-unknown-param"),
    pytest.param(
        desc({"type": "unit"}, blocks={"unit": {"params": {"width": 4}, "layers": [
            {"type": "conv", "out_channels": "${widht * 2}", "kernel_size": 1}]}}),
        "<description>: layers[0] (block 'unit'): unknown parameter 'widht' in '${widht * 2}'. "
        "Did you mean 'width'?", id="expression-unknown-name"),
    pytest.param(
        desc({"type": "residual", "shortcut": "identity",
              "body": [{"type": "conv", "out_channels": 8, "kernel_size": 1}]}),
        "<description>: layers[0]: the identity shortcut cannot add the input 8x8x3 to the body's "
        "output 8x8x8; use shortcut: auto (a 1x1 projection when shapes differ)",
        id="identity-shortcut-mismatch"),
    pytest.param(
        desc({"type": "deconv", "out_channels": 4, "kernel_size": 3, "stride": 2,
              "output_padding": 2}),
        "<description>: layers[0] 'deconv1' (conv_transpose): output_padding 2 must be smaller "
        "than the stride 2 or the dilation 1 (PyTorch's rule)", id="output-padding"),
    pytest.param(
        desc({"type": "conv", "in_channels": 1, "out_channels": 4, "kernel_size": 3}),
        "<description>: layers[0] 'conv1' (conv): in_channels is 1 but the input 8x8x3 has 3 "
        "channels", id="declared-in-channels"),
    pytest.param(
        "8x8x3 | conv3-4 stride:2",
        "one-line: segment 2 'conv3-4 stride:2': cannot read option 'stride:2' of 'conv3-4 "
        "stride:2'; options are key=value (s=2, p=1, d=2, g=32, act=relu), same, valid, nobias, "
        "ceil, an activation name, or *N to repeat", id="one-line-option"),
    pytest.param(
        "resnet51",
        "'resnet51' is not a zoo model, a .yaml/.json file or a one-line description (layers "
        "separated by '|'). Did you mean 'resnet50'? Run 'convscope zoo' for the models",
        id="unknown-model"),
    pytest.param(
        desc({"type": "avgpool", "kernel_size": 2, "dilation": 2}),
        "<description>: layers[0] 'avgpool1' (pool): dilation 2 is only supported by max pooling"
        " (as in PyTorch)", id="avgpool-dilation"),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_error_message_text(source, expected):
    message = error_of(source)
    if isinstance(expected, list):
        for part in expected:
            assert part in message
    else:
        assert message == expected


def test_every_case_gives_its_own_one_line_message():
    """The cases are different mistakes, and each is told apart by its own message."""
    messages = [error_of(case.values[0]) for case in CASES]
    assert all("\n" not in m for m in messages)
    assert len(set(messages)) == len(CASES)


def test_error_types():
    with pytest.raises(ShapeError):
        convscope.load("4x4x1 | conv5-1")
    with pytest.raises(SpecError):
        convscope.load("4x4x1 | nosuchlayer")


def test_yaml_syntax_error_names_file_line_column(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: 8x8x3\nlayers:\n  - {type: conv, out_channels: 4\n  - relu\n")
    assert error_of(str(path)) == (f"{path}:5:1: YAML syntax error: did not find expected ',' "
                                   "or '}'")
    path.write_text("input: [8, 8\nlayers: []\n")
    assert error_of(str(path)) == f"{path}:2:7: YAML syntax error: did not find expected ',' " \
        "or ']'"


def test_json_syntax_error_names_file_line_column(tmp_path):
    path = tmp_path / "net.json"
    path.write_text('{"input": "8x8x3",\n "layers": [\n  {"type": "relu",}\n ]\n}\n')
    assert error_of(str(path)) == (f"{path}:3:19: JSON syntax error: Expecting property name "
                                   "enclosed in double quotes")


def test_missing_file():
    assert error_of("no/such/net.yaml") == "no/such/net.yaml: no such file"


def test_shape_errors_name_the_file(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: 4x4x1\nlayers:\n  - conv5-6\n")
    assert error_of(str(path)) == (f"{path}: layers[0] 'conv1' (conv): kernel 5 on axis H is "
                                   "larger than the padded input 4 (input 4, padding 0+0)")


def test_errors_inside_blocks_name_the_path():
    description = desc(
        {"type": "stage", "name": "stage1", "repeat": 4},
        blocks={"stage": {"layers": [{"type": "residual", "body": ["conv3-3 p=1"]},
                                     "maxpool2"]}})
    assert error_of(description) == (
        "<description>: layers[0] (repeat 4/4) (block 'stage' as 'stage1.3') > layers[1] "
        "'stage1.3.maxpool1' (pool): pool window 2 on axis H is larger than the padded input 1 "
        "(input 1, padding 0+0)")


@pytest.mark.parametrize(("args", "message"), [
    (["summary", "4x4x1 | conv5-6"], "convscope: one-line: layers[0] 'conv1' (conv): kernel 5 on "
     "axis H is larger than the padded input 4 (input 4, padding 0+0)"),
    (["summary", "lenet5", "--dtype", "float8"], "convscope: unknown dtype 'float8'; choose one "
     "of float64, float32, float16, bfloat16, int8. Did you mean 'float64'?"),
    (["summary", "lenet5", "--batch", "0"], "convscope: batch must be an integer >= 1; received 0"),
    (["summary", "lenet5", "--columns", "macz"], "convscope: unknown column 'macz'. Did you mean "
     "'macs'? Columns: layer, output, params, input, formula, trainable, non_trainable, "
     "buffers, param_bytes, macs, flops, other_ops, memory, rf, rf_stride, rf_start, filter, "
     "stride, padding, connected, or all"),
    (["summary", "lenet5", "--input", "32x32x0"], "convscope: --input shape must be "
     "sizes >= 1 written like 224x224x3 (H x W x C) or [224, 224, 3]; received '32x32x0'"),
    (["summary", "lenet5", "--input", "2x2x1"], "convscope: zoo:lenet5: layers[0] 'Conv1' (conv): "
     "kernel 5 on axis H is larger than the padded input 2 (input 2, padding 0+0)"),
    (["calc", "conv", "--input", "5x5x3", "--kernel", "7", "--filters", "2"],
     "convscope: calc: 'conv1' (conv): kernel 7 on axis H is larger than the padded input 5 "
     "(input 5, padding 0+0)"),
])
def test_cli_bad_input_exits_2_without_traceback(args, message):
    proc = subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == message
    assert proc.stdout == ""


# --- structured errors: fields, immutability, the line found from the path -----------------
def raised(source, input_shape=None) -> ConvscopeError:
    with pytest.raises(ConvscopeError) as info:
        convscope.load(source, input_shape)
    return info.value


def test_errors_carry_where_and_what_as_fields():
    err = raised(CASES[0].values[0])  # kernel larger than its input, at layers[1] 'conv2'
    assert (err.source, err.path, err.layer, err.kind) == ("<description>", ("layers", 1),
                                                           "conv2", "conv")
    assert err.message == "kernel 5 on axis H is larger than the padded input 4 (input 4, " \
        "padding 0+0)"
    assert isinstance(err, ShapeError) and err.where() == "layers[1] 'conv2' (conv)"
    unknown = raised(desc({"type": "batchnorm2"}))
    assert (unknown.path, unknown.layer, unknown.kind) == (("layers", 0), None, None)
    zero = raised(desc({"type": "conv", "out_channels": 0, "kernel_size": 3}))
    assert (zero.rule, zero.expected, zero.received) == ("out_channels", "an integer >= 1", "0")
    merge = raised(desc({"type": "add"}))
    assert (merge.layer, merge.kind, merge.rule, merge.received) == ("add1", "merge", "inputs",
                                                                     "1")


def test_block_paths_are_steps():
    from convscope.errors import InBlock, Repeat, path_str

    err = raised(desc({"type": "stage", "name": "stage1", "repeat": 4}, blocks={
        "stage": {"layers": [{"type": "residual", "body": ["conv3-3 p=1"]}, "maxpool2"]}}))
    assert err.path == ("layers", 0, Repeat(4, 4), InBlock("stage", "stage1.3"), "layers", 1)
    assert path_str(err.path) == "layers[0] (repeat 4/4) (block 'stage' as 'stage1.3') > " \
        "layers[1]"
    assert path_str(("layers", 2, "branches", 0, 1)) == "layers[2].branches[0][1]"
    unknown = next(c for c in CASES if c.id == "expression-unknown-name")
    template = raised(unknown.values[0])  # an unknown name in a block's expression
    assert template.path == ("layers", 0, InBlock("unit"))


def test_syntax_errors_carry_line_and_column(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: [8, 8\nlayers: []\n")
    err = raised(str(path))
    assert (err.source, err.line, err.column) == (str(path), 2, 7)
    assert err.message == "YAML syntax error: did not find expected ',' or ']'"


def test_errors_are_immutable():
    err = raised(CASES[0].values[0])
    for name in ("message", "source", "path", "layer"):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(err, name, "x")
    with pytest.raises(AttributeError):
        del err.layer
    plain = SpecError("bad", path=("layers", 3), layer="c", kind="conv")
    named = plain.with_source("net.yaml")
    assert named is not plain and type(named) is SpecError
    assert (plain.source, str(plain)) == (None, "layers[3] 'c' (conv): bad")
    assert str(named) == "net.yaml: layers[3] 'c' (conv): bad"
    assert named.with_source("other.yaml").source == "net.yaml"  # the first source stays
    moved = named.replace(path=None)
    assert str(moved) == "net.yaml: 'c' (conv): bad" and named.path == ("layers", 3)


def test_errors_survive_pickling():
    import pickle

    err = raised(CASES[0].values[0])
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ShapeError and copy.fields() == err.fields() and str(copy) == str(err)


def test_calc_reads_the_fields():
    from convscope.calc import calc

    with pytest.raises(ConvscopeError) as info:
        calc("conv", "5x5x3", {"kernel": 7, "filters": 2})
    err = info.value
    assert (err.source, err.path, err.layer, err.kind) == ("calc", None, "conv1", "conv")
    with pytest.raises(ConvscopeError) as info:
        calc("nosuch", "5x5x3", {})
    assert str(info.value).startswith("calc: unknown layer type 'nosuch'.")


NESTED = """\
input: 16x16x3
blocks:
  stage:
    params: {width: 4}
    layers:
      - {type: conv, out_channels: $width, kernel_size: 3, padding: 1}
      - maxpool2
layers:
  - {type: stage, repeat: 3}
  - type: parallel
    branches:
      - [relu]
      - - relu
        - {type: conv, out_channels: 4, kernel_size: 9}
  - residual:
      body:
        - {type: conv, out_channels: 4, kernel_size: 1}
        - {type: conv, out_channels: 4, kernel_size: 1, groups: 1}
"""


FIXED = NESTED.replace("kernel_size: 9", "kernel_size: 1")  # analyses without error


@pytest.mark.parametrize(("text", "line", "shown"), [
    (NESTED, 14, "- {type: conv, out_channels: 4, kernel_size: 9}"),  # a parallel's branch
    (FIXED.replace("repeat: 3", "repeat: 9"), 7, "- maxpool2"),  # in the block's definition
    (FIXED.replace("groups: 1", "groups: 3"), 18, "groups: 3"),  # {residual: {body: ...}}
    (FIXED.replace("$width", "$widht"), 4, "params: {width: 4}"),  # the block's template
], ids=["branch", "block", "short-form", "template"])
def test_locate_walks_the_path(text, line, shown):
    import yaml

    from convscope.description.locate import locate

    err = raised(yaml.safe_load(text))
    found = locate(text, err)
    assert found == line, (str(err), found)
    assert shown in text.splitlines()[found - 1]


def test_locate_reads_no_message_text():
    from convscope.description.locate import locate

    text = "input: 8x8x3\nlayers:\n  - relu\n  - relu\n"
    assert locate(text, SpecError("layers[1] looks like a path", path=("layers", 1))) == 4
    assert locate(text, SpecError("layers[1] is only text")) is None
    assert locate(text, SpecError("x", "editor", line=2, column=3)) == 2
