"""Hostile descriptions (issue 12): each gives one clear line on stderr and exit status 2,
within 2 s, never a traceback; a few extreme but valid descriptions still analyse.

Every case goes through the CLI (``convscope summary FILE``) in-process; files are written
under pytest's tmp_path only.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from convscope import limits
from convscope.cli import main
from convscope.errors import ConvscopeError

BOMB = textwrap.dedent("""\
    a: &a ["x","x","x","x","x","x","x","x","x"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    """)


def bomb(where: str) -> str:
    """A 0.4 KB 'billion laughs' under 'notes', used at ``where``."""
    uses = {
        "layers": "input: 8x8x3\nlayers: *i\n",
        "argument": "input: 8x8x3\nlayers:\n  - {type: relu, foo: *i}\n",
        "name": "name: *i\ninput: 8x8x3\nlayers: [relu]\n",
        "input": "input: *i\nlayers: [relu]\n",
        "block": "input: 8x8x3\nblocks:\n  bb: {layers: *i}\nlayers: [bb]\n",
    }
    return "notes:\n" + textwrap.indent(BOMB, "  ") + uses[where]


def block_expr(expr: str) -> str:
    return ("input: 8x8x3\nblocks:\n  bb:\n    params: {c: 2}\n    layers:\n"
            f"      - type: conv\n        out_channels: \"{expr}\"\n        kernel_size: 1\n"
            "layers: [bb]\n")


def nested_sequential(levels: int) -> str:
    item = "relu"
    for _ in range(levels):
        item = f"{{type: sequential, layers: [{item}]}}"
    return f"input: 8x8x3\nlayers: [{item}]\n"


def doubling_blocks(times: int) -> str:
    lines = ["input: 8x8x3", "blocks:", "  b0: {layers: [relu]}"]
    lines += [f"  b{i + 1}: {{layers: [b{i}, b{i}]}}" for i in range(times)]
    return "\n".join([*lines, f"layers: [b{times}]", ""])


def layer(text: str) -> str:
    return f"input: 8x8x3\nlayers:\n  - {text}\n"


def block_name(expr: str) -> str:
    """A block whose layer is named by the expression ``expr``."""
    return ("input: 8x8x3\nblocks:\n  bb:\n    params: {n: 1}\n    layers:\n"
            f"      - {{type: relu, name: \"{expr}\"}}\nlayers: [bb]\n")


def alias_deep(levels: int, used_at: int) -> str:
    """An anchor ``levels`` lists deep, its alias used ``used_at`` lists deep."""
    return ("input: 8x8x3\nnotes: &a " + "[" * levels + "]" * levels + "\ndescription: "
            + "[" * used_at + "*a" + "]" * used_at + "\nlayers: [relu]\n")


EMPTY_BLOCK = "input: 8x8x3\nblocks:\n  e: {layers: []}\nlayers:\n"


# (id, kind, content, extra CLI args, words the message must hold)
# kind: yaml / json / bytes = a file of that content; line = the argument itself
CASES: list[tuple[str, str, object, list[str], list[str]]] = [
    # --- YAML alias bombs, wherever they land
    *[(f"alias-bomb-{w}", "yaml", bomb(w), [], ["alias", f"{limits.MAX_YAML_ALIASES:,}"])
      for w in ("layers", "argument", "name", "input", "block")],
    ("alias-cycle", "yaml", "input: 8x8x3\nlayers: &a [relu, *a]\n", [], ["alias", "cycle"]),
    ("duplicate-key", "yaml", "input: 8x8x3\nlayers: [relu]\ninput: 4x4x3\n", [],
     ["duplicate key 'input'", "line 1", ":3:1"]),
    ("duplicate-key-layer", "yaml", layer("{type: relu, name: a, name: b}"), [],
     ["duplicate key 'name'"]),
    ("duplicate-key-json", "json", '{"input": "8x8x3", "layers": ["relu"], "input": "1"}', [],
     ["duplicate key 'input'", ":1:40", "first on line 1"]),
    # review of issue 12, finding 6: JSON duplicate keys carry line:column
    ("duplicate-key-json-position", "json",
     '{\n  "input": "8x8x3",\n  "layers": [{"type": "relu", "name": "a",\n'
     '              "name": "b"}]\n}', [],
     ["duplicate key 'name'", ":4:15", "first on line 3"]),
    # review of issue 12, finding 4: aliases are measured (size, depth) from libyaml's events
    ("alias-depth-expanded", "yaml", alias_deep(60, 60), [],
     ["nesting deeper than 100 levels once the alias *a is expanded", ":3:"]),
    ("alias-values-expanded", "yaml",
     "input: 8x8x3\nnotes: &a [" + "1," * 100_001 + "]\ndescription: *a\nlayers: [relu]\n",
     [], ["aliases would add more than 100,000 values", ":3:14"]),
    # --- type confusion
    ("int-key-layer", "yaml", layer("{type: relu, 5: 1}"), [],
     ["layers[0]", "keys must be names", "5"]),
    ("null-key-layer", "yaml", layer("{type: relu, ~: 1}"), [], ["layers[0]", "None"]),
    ("int-key-first", "yaml", layer("{type: relu, repeat: 2, first: {5: 1}}"), [],
     ["layers[0].first", "keys must be names"]),
    ("int-key-structure", "yaml", layer("{type: sequential, layers: [relu], 3: 4}"), [],
     ["layers[0]", "keys must be names"]),
    ("int-key-block", "yaml", "input: 8x8x3\nblocks: {5: {layers: [relu]}}\nlayers: [relu]\n",
     [], ["blocks", "keys must be names"]),
    ("int-key-block-params", "yaml",
     "input: 8x8x3\nblocks: {bb: {params: {5: 1}, layers: [relu]}}\nlayers: [bb]\n", [],
     ["blocks.bb.params", "keys must be names"]),
    ("list-for-mapping-blocks", "yaml", "input: 8x8x3\nblocks: [relu]\nlayers: [relu]\n", [],
     ["blocks: must map"]),
    ("mapping-for-list-layers", "yaml", "input: 8x8x3\nlayers: {a: relu}\n", [],
     ["layers", "expected a list of layers"]),
    ("list-for-mapping-first", "yaml", layer("{type: relu, repeat: 2, first: [1]}"), [],
     ["'first' must be a mapping"]),
    ("list-for-mapping-defaults", "yaml", "input: 8x8x3\ndefaults: [conv]\nlayers: [relu]\n",
     [], ["defaults: must map"]),
    ("permute-mixed-types", "yaml", layer("{type: permute, dims: [1, a, 3]}"), [],
     ["layers[0] 'permute1' (permute)", "'dims'", "integers", "[1, 'a', 3]"]),
    ("trainable-text", "yaml",
     layer("{type: conv, out_channels: 3, kernel_size: 3, trainable: 'no'}"), [],
     ["layers[0]", "'trainable' must be true or false", "'no'"]),
    ("dropout-nan", "yaml", layer("{type: dropout, rate: .nan}"), [],
     ["'dropout1' (dropout)", "'rate'", "finite", "nan"]),
    ("dropout-inf", "yaml", layer("{type: dropout, rate: .inf}"), [], ["'rate'", "inf"]),
    ("batchnorm-nan-momentum", "yaml", layer("{type: bn, momentum: .nan}"), [],
     ["'bn1' (batchnorm)", "'momentum'", "finite"]),
    ("batchnorm-nan-eps", "yaml", layer("{type: bn, eps: .nan}"), [], ["'eps'", "finite"]),
    ("add-single-input", "yaml", layer("{type: add}"), [],
     ["'add1' (merge)", "at least 2", "received 1"]),
    ("parallel-single-branch-add", "yaml",
     layer("{type: parallel, merge: add, branches: [[relu]]}"), [], ["at least 2"]),
    ("misspelt-argument", "yaml", layer("{type: conv, out_chanels: 3, kernel_size: 3}"), [],
     ["unknown argument 'out_chanels'", "Did you mean 'out_channels'"]),
    ("kernel-5000-digits", "yaml",
     layer("{type: conv, out_channels: 3, kernel_size: %s}" % ("7" * 5000)), [],
     ["5,000 digits"]),
    ("kernel-999-digits", "yaml",
     layer("{type: conv, out_channels: 3, kernel_size: %s}" % ("7" * 999)), [],
     ["'kernel_size'", "999 digits", f"{limits.MAX_DIM:,}"]),
    ("kernel-5000-digits-oneline", "line", "8x8x3 | conv%s-4" % ("7" * 5000), [],
     ["'kernel_size'", "5,000"]),
    ("timestamp-value", "yaml", layer("{type: relu, x: 2001-12-14}"), [], ["layers[0].x", "date"]),
    ("python-tag", "yaml", "input: !!python/object/apply:os.system ['true']\nlayers: [relu]\n",
     [], ["could not determine a constructor"]),
    # --- block expressions
    ("expr-power-tower", "yaml", block_expr("${10**10**10}"), [],
     ["block 'bb'", "10 ** 10000000000", "beyond"]),
    ("expr-string-repeat", "yaml", block_expr("${'a' * 2000000000}"), [],
     ["2,000,000,000", f"{limits.MAX_EXPR_STR:,}"]),
    ("expr-long-chain", "yaml", block_expr("${" + "+".join(["c"] * 3000) + "}"), [],
     ["characters", f"{limits.MAX_EXPR_CHARS:,}"]),
    # review of issue 12, finding 6: a long flat chain is a count of operators, not depth
    ("expr-flat-chain-300", "yaml", block_expr("${" + "+".join(["c"] * 300) + "}"), [],
     ["299 operators", f"at most {limits.MAX_EXPR_OPERATORS}"]),
    ("expr-flat-chain-400", "yaml", block_expr("${" + "+".join(["c"] * 400) + "}"), [],
     ["399 operators", f"at most {limits.MAX_EXPR_OPERATORS}"]),
    ("expr-deep-parentheses", "yaml", block_expr("${" + "(c+" * 60 + "c" + ")" * 60 + "}"),
     [], ["nested deeper than", str(limits.MAX_EXPR_DEPTH)]),
    # review of issue 12, finding 2: '%' only on numbers (no text formatting)
    ("expr-percent-precision", "yaml", block_name("${'%.999999999f' % 1.5}"), [],
     ["block 'bb'", "'%' is the remainder of two numbers", "str % float"]),
    ("expr-percent-width", "yaml", block_name("${'%1999999999d' % 1}"), [],
     ["'%' is the remainder of two numbers", "str % int"]),
    ("expr-percent-star", "yaml", block_expr("${'%0*d' % c}"), [], ["str % int"]),
    ("expr-3000-minus", "yaml", block_expr("${" + "-" * 3000 + "c}"), [], ["3,001 characters"]),
    ("expr-900-minus", "yaml", block_expr("${" + "-" * 900 + "c}"), [], ["nested deeper"]),
    ("expr-int-overflow", "yaml", block_expr("${2 ** 62 * 4}"), [], ["beyond"]),
    # --- layer budget, checked before expanding
    ("repeat-billion", "yaml", layer("{type: relu, repeat: 1000000000}"), [],
     ["1,000,000,001 layers", "200,000", "--max-layers"]),
    ("oneline-repeat-billion", "line", "8x8x3 | relu *1000000000", [],
     ["1,000,000,001 layers", "--max-layers"]),
    ("blocks-doubling-40", "yaml", doubling_blocks(40), [], ["1,099,511,627,777 layers"]),
    ("max-layers-flag", "line", "8x8x3 | relu *50", ["--max-layers", "10"],
     ["51 layers", "budget is 10 layers"]),
    # review of issue 12, finding 1: a repeat of nothing above the budget (it would loop)
    ("repeat-empty-sequential", "yaml", layer("{type: sequential, layers: [], "
                                              "repeat: 1000000000}"), [],
     ["layers[0] (repeat 1000000000)", "'repeat' is 1,000,000,000", "200,000 layers",
      "--max-layers"]),
    ("repeat-empty-block", "yaml", EMPTY_BLOCK + f"  - {{type: e, repeat: {10**40}}}\n", [],
     ["layers[0]", "'repeat' is 10000000...(41 digits)", "200,000 layers"]),
    ("repeat-empty-token", "yaml", EMPTY_BLOCK + '  - "e *1000000000"\n', [],
     ["layers[0]", "'repeat' is 1,000,000,000"]),
    ("repeat-when-false", "yaml", layer("{type: sequential, layers: [{type: relu, when: false}],"
                                        " repeat: 1000000000}"), [],
     ["'repeat' is 1,000,000,000"]),
    ("repeat-param-in-block", "yaml",
     "input: 8x8x3\nblocks:\n  e:\n    params: {n: 1}\n    layers: [{type: sequential, "
     "layers: [], repeat: $n}]\nlayers:\n  - {type: e, n: 1000000000}\n", [],
     ["(block 'e'", "'repeat' is 1,000,000,000"]),
    ("repeat-empty-nested", "yaml",
     layer("{type: sequential, repeat: 1000, layers: [{type: sequential, layers: [], "
           "repeat: 1000}]}"), [], ["1,000,001 layers", "200,000"]),
    ("repeat-empty-flag", "line", "8x8x3 | sequential *50", ["--max-layers", "10"],
     ["'repeat' is 50", "budget of 10 layers"]),
    # review of issue 12, finding 3: names are visible text (no terminal control sequences)
    ("name-ansi-colour", "yaml", layer('{type: relu, name: "a\\x1b[31mred"}'), [],
     ["layers[0]", "layer name 'a\\x1b[31mred'", "control character (U+001B)", "position 2"]),
    ("name-osc52", "yaml", layer('{type: relu, name: "\\x1b]52;c;aGVsbG8=\\x07"}'), [],
     ["'\\x1b]52;c;aGVsbG8=\\x07'", "U+001B"]),
    ("name-nul-model", "yaml", 'name: "m\\0x"\ninput: 8x8x3\nlayers: [relu]\n', [],
     ["name: the model name 'm\\x00x'", "U+0000"]),
    ("name-line-separator", "yaml", layer('{type: relu, name: "a\\u2028b"}'), [],
     ["'a\\u2028b'", "line separator (U+2028)"]),
    ("name-paragraph-separator", "json",
     '{"input": "8x8x3", "layers": [{"type": "relu", "name": "a\\u2029b"}]}', [],
     ["paragraph separator (U+2029)"]),
    ("name-bidi-input", "yaml", 'inputs: {"im\\u202eg": 8x8x3}\nlayers: [relu]\n', [],
     ["inputs: the input name 'im\\u202eg'", "RIGHT-TO-LEFT OVERRIDE (U+202E)"]),
    ("name-c1-block", "yaml",
     'input: 8x8x3\nblocks:\n  "b\\x9b2J": {layers: [relu]}\nlayers: [relu]\n', [],
     ["block name 'b\\x9b2J'", "U+009B"]),
    ("name-surrogate-json", "json",
     '{"input": "8x8x3", "layers": [{"type": "relu", "name": "\\ud800x"}]}', [],
     ["lone surrogate (U+D800)"]),
    ("name-from-block-parameter", "yaml",
     "input: 8x8x3\nblocks:\n  bb: {params: {n: x}, layers: [{type: relu, name: $n}]}\n"
     'layers: [{type: bb, n: "\\x1b[2J"}]\n', [],
     ["(block 'bb' as 'bb1') > layers[0]", "'\\x1b[2J'", "U+001B"]),
    ("name-oneline", "line", "8x8x3 | relu name=a\x1b[2J", [], ["'a\\x1b[2J'", "U+001B"]),
    ("name-30000-characters", "yaml",
     layer('{type: relu, name: "\\x01' + "a" * 29_999 + '"}'), [],
     ["(30,000 characters)", "U+0001", "position 1"]),
    # --- nesting
    ("nested-sequential-300", "yaml", nested_sequential(300), [],
     ["nesting deeper than", str(limits.MAX_DEPTH)]),
    ("json-100000-nested-lists", "json", "[" * 100_000 + "]" * 100_000, [],
     ["nesting deeper than"]),
    ("yaml-100000-nested-lists", "yaml", "a: " + "[" * 100_000 + "]" * 100_000, [],
     ["nesting", ":1:"]),
    ("yaml-block-nesting", "yaml", "a:\n" + "- " * 5000 + "x\n", [], ["nesting deeper than"]),
    ("blocks-chain-300", "yaml",
     "input: 8x8x3\nblocks:\n  b0: {layers: [relu]}\n"
     + "".join(f"  b{i + 1}: {{layers: [b{i}]}}\n" for i in range(300)) + "layers: [b300]\n",
     [], ["nest deeper than"]),
    # --- shapes
    ("shape-10e200", "yaml", f"input: {10**200}\nlayers: [relu]\n", [],
     ["input shape", "201 digits", f"{limits.MAX_DIM:,}"]),
    ("shape-10e300x3", "yaml", f"input: {10**300}x3\nlayers: [relu]\n", [],
     ["input shape", "301 digits"]),
    ("shape-10e12-squared", "yaml", f"input: {10**12}x{10**12}x3\nlayers: [relu]\n", [],
     ["1000000000000", "largest supported size"]),
    ("shape-elements", "yaml", "input: 2000000000x2000000000x3\nlayers: [relu]\n", [],
     ["values", f"{limits.MAX_ELEMENTS:,}"]),
    ("shape-zero", "yaml", "input: 0x8x3\nlayers: [relu]\n", [], ["sizes >= 1", "'0x8x3'"]),
    ("shape-negative", "yaml", "input: [-8, 8, 3]\nlayers: [relu]\n", [], ["sizes >= 1"]),
    ("output-too-large", "yaml", layer("{type: upsample, scale_factor: 2000000000}"), [],
     ["'upsample1' (upsample)", "largest supported size"]),
    # --- text and files
    ("empty-file", "yaml", "", [], ["empty"]),
    ("yaml-scalar", "yaml", "hello\n", [], ["must be a mapping", "single text"]),
    ("yaml-list", "yaml", "- relu\n", [], ["must be a mapping", "a list"]),
    ("binary-file", "bytes", b"\x00\x01\x02\xff", [], ["binary"]),
    ("not-utf8", "bytes", "input: 8x8x3\nname: caf\xe9\nlayers: [relu]\n".encode("latin-1"),
     [], ["not UTF-8"]),
    ("text-too-large", "yaml", "#" * (limits.MAX_TEXT_BYTES + 10), [],
     ["larger than", f"{limits.MAX_TEXT_BYTES:,}"]),
    # --- --input override
    ("input-override-text", "line", "8x8x3 | relu", ["--input", "axb"], ["--input", "'axb'"]),
    ("input-override-huge", "line", "8x8x3 | relu", ["--input", "9" * 5000],
     ["--input", "5,000 characters"]),
    ("input-override-empty", "line", "8x8x3 | relu", ["--input", ""], ["--input", "empty"]),
    ("input-override-zero", "line", "8x8x3 | relu", ["--input", "8x0x3"], ["--input"]),
]


@pytest.fixture(autouse=True)
def _restore_budget(monkeypatch):
    """--max-layers sets CONVSCOPE_MAX_LAYERS in os.environ: setting it here to the default
    makes monkeypatch restore the environment (unset) after each test."""
    monkeypatch.setenv(limits.MAX_LAYERS_ENV, str(limits.MAX_LAYERS))


def _argument(tmp_path, case_id: str, kind: str, content: object) -> str:
    if kind == "line":
        return str(content)
    path = tmp_path / f"{case_id}.{'json' if kind == 'json' else 'yaml'}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(str(content), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("case_id", "kind", "content", "extra", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_hostile_description_is_one_clear_line(tmp_path, capsys, case_id, kind, content,
                                               extra, words):
    argument = _argument(tmp_path, case_id, kind, content)
    globals_ = extra[:2] if extra[:1] == ["--max-layers"] else []
    rest = extra[2:] if globals_ else extra
    start = time.perf_counter()
    status = main([*globals_, "summary", argument, *rest])
    elapsed = time.perf_counter() - start
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert status == 2, message
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert len(message.splitlines()) == 1, message
    assert message.startswith("convscope: ")
    assert len(message) < 600, message[:600]
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert elapsed < 2.0, f"{case_id} took {elapsed:.2f} s"


VALID = [
    ("chain-20000", "input: 8x8x3\nlayers:\n" + "  - relu\n" * 20_000, 20_001),
    ("repeat-10000", "input: 8x8x3\nlayers: [{type: conv, out_channels: 3, kernel_size: 3, "
     "padding: 1, repeat: 10000}]\n", 10_001),
    ("nested-blocks-5", "input: 8x8x3\nblocks:\n  b0: {params: {c: 4}, layers: [{type: conv, "
     "out_channels: '${c * 2}', kernel_size: 1}]}\n"
     + "".join(f"  b{i + 1}: {{params: {{c: 4}}, layers: [{{type: b{i}, c: $c}}, {{type: "
               f"residual, body: [{{type: b{i}, c: $c}}]}}]}}\n" for i in range(5))
     + "layers: [b5]\n", None),
    ("input-4096", "input: 4096x4096x3\nlayers: [{type: conv, out_channels: 16, kernel_size: 3},"
     " relu, maxpool2]\n", 4),
    ("aliases-within-budget", "notes: &conv {type: conv, out_channels: 8, kernel_size: 3, "
     "padding: 1}\ninput: 8x8x3\nlayers: [*conv, relu, *conv, relu, *conv]\n", 6),
    ("alias-depth-at-budget", alias_deep(50, 49), 2),
    ("repeat-empty-within-budget", "input: 8x8x3\nlayers:\n  - {type: sequential, layers: [], "
     "repeat: 1000}\n  - relu\n", 2),
    ("expr-flat-chain-150", "input: 8x8x3\nblocks:\n  bb:\n    params: {c: 2}\n    layers:\n"
     "      - {type: conv, out_channels: \"${" + "+".join(["c"] * 150) + " + c % 3}\", "
     "kernel_size: 1}\nlayers: [bb]\n", 2),
    ("name-joiners-allowed", 'input: 8x8x3\nlayers: [{type: relu, name: "caf\\u00e9\\u200d'
     'x"}, {type: relu, name: "f\u00e4rbung"}]\n', 3),
]


@pytest.mark.parametrize(("case_id", "text", "nodes"), VALID, ids=[v[0] for v in VALID])
def test_extreme_valid_description_analyses(tmp_path, capsys, case_id, text, nodes):
    from convscope.description import load

    path = tmp_path / f"{case_id}.yaml"
    path.write_text(text, encoding="utf-8")
    graph = load(str(path))
    if nodes is not None:
        assert len(graph.nodes) == nodes
    assert main(["summary", str(path), "-f", "json"]) == 0
    assert capsys.readouterr().out


def test_max_layers_env_raises_the_budget(monkeypatch):
    from convscope.description import load

    monkeypatch.setenv(limits.MAX_LAYERS_ENV, "100")
    with pytest.raises(ConvscopeError, match="151 layers; the budget is 100"):
        load("8x8x3 | relu *150")
    monkeypatch.setenv(limits.MAX_LAYERS_ENV, "200")
    assert len(load("8x8x3 | relu *150").nodes) == 151


def test_bombs_stay_under_a_memory_limit(tmp_path):
    """The worst cases in a child process limited to 1 GB of address space and 10 s."""
    files = []
    for i, text in enumerate([bomb("layers"), bomb("block"), doubling_blocks(40),
                              block_expr("${10**10**10}")]):
        path = tmp_path / f"case{i}.yaml"
        path.write_text(text)
        files.append(str(path))
    script = "\n".join([
        "import resource, sys",
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))",
        "from convscope.cli import main",
        f"codes = [main(['summary', f]) for f in {files!r}]",
        "codes.append(main(['summary', '8x8x3 | relu *1000000000']))",
        "sys.exit(0 if codes == [2] * len(codes) else 1)",
    ])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 5


# ------------------------------------------------- review of issue 12 (findings 4-6) ---
def _one_clear_line(capsys, status: int, *words: str) -> str:
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert status == 2, message
    assert "Traceback" not in captured.err
    assert len(message.splitlines()) == 1, message
    assert message.startswith("convscope: ")
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


def test_a_fifo_is_refused_not_waited_on(tmp_path, capsys):
    """Finding 5: a FIFO as the model file blocked forever (open waits for a writer)."""
    import os
    import threading

    fifo = tmp_path / "m.yaml"
    os.mkfifo(fifo)
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(main(["summary", str(fifo)])),
                              daemon=True)
    start = time.perf_counter()
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader so that the test run itself goes on
        with open(fifo, "wb"):
            pass
        worker.join(10)
        pytest.fail("convscope waited on a FIFO")
    assert time.perf_counter() - start < 2.0
    _one_clear_line(capsys, result[0], "a FIFO (named pipe), not a regular file")


def test_a_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "net.yaml"
    folder.mkdir()
    _one_clear_line(capsys, main(["summary", str(folder)]), "a folder, not a regular file")


def test_max_layers_beyond_the_maximum_says_the_maximum(capsys):
    """Finding 6: argparse's own error (usage line + 'convscope: error:' line), exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--max-layers", "9" * 23, "summary", "8x8x3 | relu"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("convscope: error: argument --max-layers:"), last
    assert "23 digits" in last and "maximum, 999,999,999,999,999,999" in last, last
    for bad in ("0", "-3", "\u00b2", "ten"):
        with pytest.raises(SystemExit):
            main(["--max-layers", bad, "summary", "8x8x3 | relu"])
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert "from 1 to 999,999,999,999,999,999" in last, last


def test_echo_reports_the_original_length():
    """Finding 6: the count is of the user's text, not of its escaped, shortened form."""
    shown = limits.echo("\x01" + "a" * 29_999)
    assert shown.startswith("\\x01aaa") and shown.endswith("...(30,000 characters)")
    assert limits.echo("\x1b" * 20).endswith("...(20 characters)")
    assert limits.echo("plain") == "plain"


def test_aliases_within_budget_use_the_c_loader(monkeypatch):
    """Finding 4: one alias no longer sends the whole text to the pure-Python loader."""
    from convscope.description import reader

    if reader._FAST is None:
        pytest.skip("PyYAML without libyaml")

    class Refuse:
        def __init__(self, *args, **kwargs):
            raise AssertionError("the pure-Python loader was used")

    monkeypatch.setattr(reader, "SafeDescriptionLoader", Refuse)
    text = ("input: 8x8x3\nnotes: &a {type: relu}\ndescription: *a\nlayers:\n"
            + "  - relu\n" * 2000 + "  - *a\n")
    data = reader.yaml_load(text, "net.yaml")
    assert data["layers"][-1] == {"type": "relu"} and len(data["layers"]) == 2001
    # and the budgets are checked from the events, with the alias's line
    with pytest.raises(ConvscopeError, match=r"net.yaml:2:\d+: .*alias"):
        reader.yaml_load("a: &a [1, 2]\nb: [" + "*a, " * 1001 + "]\n", "net.yaml")


def test_json_duplicate_is_found_by_a_scan():
    from convscope.description.json_reader import json_duplicate

    assert json_duplicate('{"a": "x\\"a", "b": [{"a": 1}], "a": 2}') == ("a", 31, 1)
    assert json_duplicate('{"a": {"b": 1, "c": 2}, "b": ["b", "b"]}') is None
    assert json_duplicate('{"\\u0061": 1, "a": 2}') == ("a", 14, 1)


def test_percent_on_numbers_still_works():
    from convscope.description.blocks import evaluate

    assert evaluate("c % 3", {"c": 7}) == 1
    assert evaluate("7.5 % 2", {}) == 1.5
    with pytest.raises(ConvscopeError, match="remainder of two numbers"):
        evaluate("'%s' % c", {"c": 1})
