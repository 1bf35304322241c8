"""The text formats, pinned twice.

1. Golden files: ``convscope summary MODEL -f FORMAT`` for a few zoo models across the
   families (a plain chain, torchvision's AlexNet, residual, Inception, depthwise), compared
   byte for byte with ``tests/golden/text/<model>.<format>.txt``. After an intended change:

       pytest tests/test_golden_text.py --update-golden

   rewrites them (and nothing else); read ``git diff tests/golden/text`` before committing.

2. Checks that do not trust those files (torchinfo's golden ``.out`` files go with its
   ``assert_sum_column_totals_match``): every format is parsed back and its rows must be the
   report's layers, in order, and its columns must add up, exactly, to the totals the same
   output prints; the formats must agree with one another (CSV and JSON sums = the table's
   totals lines). This runs for every zoo model, and for a batch / dtype other than the
   defaults. The sizes are re-derived here (KB = 1024 B), not with convscope's formatters.

3. Published totals, read from the rendered text: torchvision's weight metadata and the
   seeds' tables (citations beside the numbers).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import convscope
from convscope import zoo
from convscope.cli import main

GOLDEN_TEXT = Path(__file__).parent / "golden" / "text"
GOLDEN_MODELS = ("lenet5", "alexnet_tv", "resnet18", "googlenet", "mobilenet_v2")
GOLDEN_FORMATS = ("table", "seed", "keras", "markdown", "csv")
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}


# --- golden files --------------------------------------------------------------------------


def cli_output(capsys, *argv: str) -> str:
    """What ``python -m convscope ARGV`` prints, run in this process."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    # stderr holds at most the count of design findings (convscope lint), never the report
    note = re.fullmatch(r"(lint: \d+ finding\(s\); see --lint or convscope lint\n)?", err)
    assert code == 0 and note, f"convscope {' '.join(argv)} -> exit {code}: {err}"
    return out


def difference(expected: str, actual: str, name: str) -> str:
    """A unified diff (cut after 60 lines), and the first differing line's repr when the
    difference is invisible in a diff (trailing spaces, line ends)."""
    old, new = expected.splitlines(keepends=True), actual.splitlines(keepends=True)
    diff = list(difflib.unified_diff(old, new, f"{name} (golden)", f"{name} (rendered now)",
                                     n=2))
    text = "".join(line if line.endswith("\n") else line + "\n" for line in diff[:60])
    if len(diff) > 60:
        text += f"... and {len(diff) - 60} more diff lines\n"
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                 min(len(old), len(new)))
    got = repr(new[first]) if first < len(new) else "end of output"
    want = repr(old[first]) if first < len(old) else "end of file"
    return f"{text}first difference, line {first + 1}: golden {want}, now {got}\n"


def check_golden(path: Path, actual: str, update: bool) -> None:
    tests = Path(__file__).parent
    name = path.relative_to(tests.parent).as_posix() if path.is_relative_to(tests) else str(path)
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    hint = "if the change is intended: pytest tests/test_golden_text.py --update-golden"
    if not path.exists():
        pytest.fail(f"{name} is missing; {hint}", pytrace=False)
    expected = path.read_bytes().decode("utf-8")
    if expected != actual:
        pytest.fail(f"{name} differs from the rendered output:\n"
                    f"{difference(expected, actual, name)}{hint}", pytrace=False)


@pytest.mark.parametrize("fmt", GOLDEN_FORMATS)
@pytest.mark.parametrize("model", GOLDEN_MODELS)
def test_text_format_golden(model, fmt, capsys, update_golden):
    text = cli_output(capsys, "summary", model, "--format", fmt)
    check_golden(GOLDEN_TEXT / f"{model}.{fmt}.txt", text, update_golden)


def test_no_stale_golden_text(update_golden):
    wanted = {f"{m}.{f}.txt" for m in GOLDEN_MODELS for f in GOLDEN_FORMATS}
    stale = sorted(p.name for p in GOLDEN_TEXT.glob("*") if p.name not in wanted)
    if update_golden:
        for name in stale:
            (GOLDEN_TEXT / name).unlink()
        return
    assert not stale, f"golden files no test compares: {stale} (--update-golden removes them)"


def test_golden_check_reports_a_diff(tmp_path):
    golden = tmp_path / "m.table.txt"
    golden.write_text("a\nb  \nc\n")
    with pytest.raises(pytest.fail.Exception) as failure:
        check_golden(golden, "a\nb\nc\n", update=False)
    message = str(failure.value)
    assert "-b  \n+b\n" in message and "line 2: golden 'b  \\n', now 'b\\n'" in message
    assert "--update-golden" in message


# --- reading the formats back ---------------------------------------------------------------


def count(text: str) -> int:
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), f"not a count with thousands commas: {text!r}"
    return int(text.replace(",", ""))


def size_text(n: int) -> str:
    """Bytes as Keras 3 prints them (readable_memory_size in keras/src/utils/summary_utils.py,
    here up to GB): 2 decimals, KB = 1024 B; 61,706 x 4 B -> '241.04 KB'."""
    value, unit = float(n), "B"
    for bigger in ("KB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.2f} {unit}"


def seed_size(n: int) -> str:
    """Seed 002's 'parameter memory consumption': KB with 3 decimals below 1 MB, else MB
    (GB) with 4."""
    if n < 2**20:
        return f"{n / 2**10:.3f}KB"
    return f"{n / 2**20:.4f}MB" if n < 2**30 else f"{n / 2**30:.4f}GB"


def grid(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """Cells of an aligned plain-text table (header + rows): a column border is a run of two
    or more positions that are blank in every line."""
    width = max(map(len, lines))
    padded = [line.ljust(width) for line in lines]
    blank = [all(line[i] == " " for line in padded) for i in range(width)] + [True, True]
    spans, start = [], None
    for i in range(width + 1):
        if not blank[i]:
            start = i if start is None else start
        elif start is not None and blank[i + 1]:
            spans.append((start, i))
            start = None
    cells = [[line[a:b].strip() for a, b in spans] for line in padded]
    return cells[0], cells[1:]


def rule(line: str, char: str) -> bool:
    return len(line) > 10 and set(line) == {char}


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    totals: list[str]
    warnings: list[str]
    notes: list[str]

    def column(self, header: str) -> list[str]:
        i = self.headers.index(header)
        return [row[i] for row in self.rows]


def parse_table(text: str) -> Table:
    assert text.endswith("\n") and not text.endswith("\n\n")
    lines = text[:-1].split("\n")
    thick = [i for i, line in enumerate(lines) if rule(line, "=")]
    thin = [i for i, line in enumerate(lines) if rule(line, "_")]
    assert thick[0] == 3 and thin == [1, thin[1]] and len(thick) == 2, lines[:4]
    assert len({len(lines[i]) for i in thick + thin}) == 1, "the rules differ in width"
    headers, rows = grid([lines[2], *lines[4:thick[1]]])
    after = lines[thick[1] + 1:thin[1]]
    notes = lines[thin[1] + 1:]
    assert all(n.startswith("Note: ") for n in notes)
    return Table(lines[0], headers, rows, [x for x in after if not x.startswith("Warning: ")],
                 [x for x in after if x.startswith("Warning: ")], [n[6:] for n in notes])


SCOPE = r"(per sample|per batch of \d+)"
SIZE = r"(\d+\.\d\d [KMG]?B)"
TOTALS = {
    "params": rf"Total params: ([\d,]+) \({SIZE}\)",
    "trainable": rf"Trainable params: ([\d,]+) \({SIZE}\)",
    "non_trainable": rf"Non-trainable params: ([\d,]+) \({SIZE}\)",
    "torch": r"PyTorch view: ([\d,]+) parameters \+ ([\d,]+) buffer values",
    "macs": rf"MACs: ([\d,]+) \(([^)]+)\); FLOPs = 2 x MACs = ([\d,]+) \(([^)]+)\); "
            rf"other element-wise ops: ([\d,]+) \[{SCOPE}\]",
    "activations": rf"Activations: ([\d,]+) values = {SIZE}; input ([\d,]+) values = {SIZE} "
                   rf"\[(\w+), {SCOPE}\]",
    "rf": r"Receptive field of '[^']+': .+",
}


def parse_totals(lines: list[str]) -> dict[str, tuple[str, ...]]:
    """The totals lines, in their order, each read with its regular expression."""
    assert len(lines) == len(TOTALS), lines
    found = {}
    for (key, pattern), line in zip(TOTALS.items(), lines, strict=True):
        match = re.fullmatch(pattern, line)
        assert match, f"totals line {key!r} unreadable: {line!r}"
        found[key] = match.groups()
    return found


def si(n: int) -> str:
    for div, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return str(n)


# --- the column sums --------------------------------------------------------------------------

CSV_COUNTS = ("params", "trainable_params", "non_trainable_params", "buffers", "param_bytes",
              "macs", "flops", "other_ops", "activation_elements", "activation_bytes")


def csv_rows(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    for r in rows:
        for key in CSV_COUNTS:
            assert re.fullmatch(r"\d+", r[key]), (r["name"], key, r[key])
    return rows


def elements(shape: str) -> int:
    return math.prod(int(d) for d in shape.split("x"))


def check_csv(rows: list[dict[str, str]], size: int, batch: int) -> dict[str, int]:
    """Per-row identities; returns the column sums (activations without the input rows)."""
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    for r in rows:
        n = {key: int(r[key]) for key in CSV_COUNTS}
        assert n["params"] == n["trainable_params"] + n["non_trainable_params"], r["name"]
        assert n["param_bytes"] == n["params"] * size, r["name"]
        assert n["flops"] == 2 * n["macs"], r["name"]
        assert n["activation_elements"] == elements(r["output_shape"]) * batch, r["name"]
        assert n["activation_bytes"] == n["activation_elements"] * size, r["name"]
        assert (r["formula"] == "0") == (n["params"] == 0), r["name"]
    sums = {key: sum(int(r[key]) for r in rows) for key in CSV_COUNTS}
    body = [r for r in rows if r["kind"] != "input"]
    sums["activation_elements"] = sum(int(r["activation_elements"]) for r in body)
    sums["activation_bytes"] = sum(int(r["activation_bytes"]) for r in body)
    sums["input_elements"] = sum(int(r["activation_elements"]) for r in rows
                                 if r["kind"] == "input")
    return sums


def check_totals(totals: dict[str, tuple[str, ...]], sums: dict[str, int], size: int,
                 batch: int) -> None:
    """The table's totals lines = the CSV's column sums, sizes included."""
    scope = "per sample" if batch == 1 else f"per batch of {batch}"
    assert totals["params"] == (f"{sums['params']:,}", size_text(sums["param_bytes"]))
    assert totals["trainable"] == (f"{sums['trainable_params']:,}",
                                   size_text(sums["trainable_params"] * size))
    assert totals["non_trainable"] == (f"{sums['non_trainable_params']:,}",
                                       size_text(sums["non_trainable_params"] * size))
    assert count(totals["torch"][1]) == sums["buffers"]
    macs, flops = sums["macs"], sums["flops"]
    assert totals["macs"] == (f"{macs:,}", si(macs), f"{flops:,}", si(flops),
                              f"{sums['other_ops']:,}", scope)
    act = totals["activations"]
    assert act[:4] == (f"{sums['activation_elements']:,}", size_text(sums["activation_bytes"]),
                       f"{sums['input_elements']:,}", size_text(sums["input_elements"] * size))
    assert DTYPE_BYTES[act[4]] == size and act[5] == scope


def check_table(table: Table, rows: list[dict[str, str]]) -> None:
    """The default table: one row per layer, in order, and its Param # column adds up."""
    assert table.headers == ["Layer (type)", "Output Shape", "Param #"]
    assert table.column("Layer (type)") == [f"{r['name']} ({r['type']})" for r in rows]
    assert table.column("Output Shape") == [r["output_shape"] for r in rows]
    params = [count(c) for c in table.column("Param #")]
    assert params == [int(r["params"]) for r in rows]
    assert f"Total params: {sum(params):,} (" in table.totals[0]


def check_table_all(table: Table, default: Table, rows: list[dict[str, str]]) -> None:
    """``--columns all``: every count column adds up to its totals line; the byte columns
    are the CSV's bytes."""
    assert table.title == default.title and table.totals == default.totals
    assert [row[:3] for row in table.rows] == default.rows
    totals = parse_totals(table.totals)
    sums = {h: sum(count(c) for c in table.column(h))
            for h in ("Param #", "Trainable", "Non-trainable", "Buffers", "MACs", "FLOPs",
                      "Other ops")}
    assert f"{sums['Param #']:,}" == totals["params"][0]
    assert f"{sums['Trainable']:,}" == totals["trainable"][0]
    assert f"{sums['Non-trainable']:,}" == totals["non_trainable"][0]
    assert f"{sums['Buffers']:,}" == totals["torch"][1]
    macs, _, flops, _, other_ops, _ = totals["macs"]
    assert (f"{sums['MACs']:,}", f"{sums['FLOPs']:,}", f"{sums['Other ops']:,}") == (
        macs, flops, other_ops)
    assert table.column("Param memory") == [size_text(int(r["param_bytes"])) for r in rows]
    assert table.column("Activations") == [size_text(int(r["activation_bytes"])) for r in rows]
    assert table.column("Formula") == [r["formula"] if int(r["params"]) else "" for r in rows]
    assert table.column("Connected to") == [", ".join(r["inputs"].split()) for r in rows]


SEED_HEADERS = ["Network Layer (operations)", "input", "Filter", "Stride", "padding", "Output",
                "Calculation Formula", "Number of parameters"]


def check_seed(text: str, rows: list[dict[str, str]], size: int) -> None:
    table, tail = text.split("\n\n")
    headers, cells = grid(table.split("\n"))
    assert headers == SEED_HEADERS
    assert [c[0] for c in cells] == [r["name"] for r in rows]
    assert [c[5] for c in cells] == [r["output_shape"] for r in rows]
    params = [int(c[7]) for c in cells]
    assert params == [int(r["params"]) for r in rows]
    total = sum(params)
    assert tail == (f"Total Parameters: {total}\n"
                    f"parameter memory consumption: {seed_size(total * size)}\n")


def check_keras(text: str, rows: list[dict[str, str]], table: Table) -> None:
    lines = text[:-1].split("\n")
    assert lines[0] == table.title.split("  (input:")[0]
    header = [c.strip() for c in lines[2].strip("┃").split("┃")]
    chain = "Connected to" not in header
    shown = [r for r in rows if not (chain and r["kind"] == "input")]
    body = [[c.strip() for c in line.strip("│").split("│")]
            for line in lines if line.startswith("│")]
    assert len(body) == len(shown), "a row is missing or extra"
    assert [b[0] for b in body] == [f"{r['name']} ({r['type']})" for r in shown]
    assert [b[1] for b in body] == [f"(None, {r['output_shape'].replace('x', ', ')})"
                                    for r in shown]
    params = [count(b[2]) for b in body]
    assert params == [int(r["params"]) for r in shown]
    if not chain:
        assert [b[3] for b in body] == [", ".join(f"{x}[0][0]" for x in r["inputs"].split())
                                        or "-" for r in shown]
    end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    assert lines[end + 1:end + 4] == [" " + x for x in table.totals[:3]]
    assert f" Total params: {sum(params):,} (" in lines[end + 1]


def md_cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |"), line
    return [c.strip() for c in re.split(r"(?<!\\)\|", line[1:-1])]


def check_markdown(text: str, table: Table) -> None:
    lines = text[:-1].split("\n")
    start = lines.index("| " + " | ".join(table.headers) + " |")
    assert lines[start + 1] == "| --- | --- | ---: |"
    end = lines.index("", start)
    body = [md_cells(line) for line in lines[start + 2:end]]
    assert body == table.rows, "the Markdown rows are not the table's rows"
    assert sum(count(b[2]) for b in body) == count(parse_totals(table.totals)["params"][0])
    bullets = lines[end + 1:lines.index("", end + 1)]
    assert [b for b in bullets if not b.startswith("- **Warning:**")] == [
        f"- {x}" for x in table.totals]
    assert lines[lines.index("Conventions:") + 2:] == [f"- {n}" for n in table.notes]


def check_json(text: str, sums: dict[str, int], totals: dict[str, tuple[str, ...]]) -> None:
    data = json.loads(text)
    layers, t = data["layers"], data["totals"]
    for key in ("params", "trainable_params", "non_trainable_params", "buffers",
                "torch_params", "param_bytes", "macs", "flops", "other_ops"):
        assert sum(layer[key] for layer in layers) == t[key], key
    body = [layer for layer in layers if layer["kind"] != "input"]
    assert sum(layer["activation_elements"] for layer in body) == t["activation_elements"]
    assert sum(layer["activation_bytes"] for layer in body) == t["activation_bytes"]
    assert t["input_elements"] == sums["input_elements"]
    assert {k: t[k] for k in CSV_COUNTS if k in t} == {
        k: sums[k] for k in CSV_COUNTS if k in t}
    assert f"{t['torch_params']:,}" == totals["torch"][0]


def check_all_formats(report) -> None:
    """Every text format of one report, read back and added up."""
    render = convscope.render
    table = parse_table(render(report, "table"))
    totals = parse_totals(table.totals)
    size = DTYPE_BYTES[totals["activations"][4]]
    scope = totals["macs"][5]
    batch = 1 if scope == "per sample" else int(scope.rsplit(" ", 1)[1])
    rows = csv_rows(render(report, "csv"))
    assert len(rows) == len(report.layers), "the CSV lost or added a layer"
    sums = check_csv(rows, size, batch)
    check_totals(totals, sums, size, batch)
    check_table(table, rows)
    check_table_all(parse_table(render(report, "table", "all")), table, rows)
    check_seed(render(report, "seed"), rows, size)
    check_keras(render(report, "keras"), rows, table)
    check_markdown(render(report, "markdown"), table)
    check_json(render(report, "json"), sums, totals)


@pytest.mark.parametrize("model", zoo.names())
def test_columns_add_up_to_the_totals(model):
    check_all_formats(convscope.analyze(convscope.load(model)))


@pytest.mark.parametrize(("model", "batch", "dtype"), [
    ("resnet18", 4, "float16"), ("cnn_lstm", 3, "int8"), ("googlenet", 2, "float64")])
def test_columns_add_up_with_batch_and_dtype(model, batch, dtype):
    check_all_formats(convscope.analyze(convscope.load(model), batch=batch, dtype=dtype))


# --- published numbers, as the formats print them ------------------------------------------

# torchvision 0.29, torchvision/models/{alexnet,resnet,vgg,googlenet,mobilenetv2}.py:
# <Model>_Weights.IMAGENET1K_V1.meta "num_params" (= sum of parameters().numel(), our
# trainable count) and "_ops" (GMACs per 224x224 image, 3 decimals; torchvision labels them
# GFLOPS). GoogLeNet's are for the network without its auxiliary heads.
TORCHVISION = {
    "alexnet_tv": (61_100_840, 0.714), "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664), "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801), "resnet152": (60_192_808, 11.514),
    "vgg11": (132_863_336, 7.609), "vgg11_bn": (132_868_840, 7.609),
    "vgg13": (133_047_848, 11.308), "vgg13_bn": (133_053_736, 11.308),
    "vgg16": (138_357_544, 15.47), "vgg16_bn": (138_365_992, 15.47),
    "vgg19": (143_667_240, 19.632), "vgg19_bn": (143_678_248, 19.632),
    "googlenet": (6_624_904, 1.498), "mobilenet_v2": (3_504_872, 0.301),
}


@pytest.mark.parametrize("model", TORCHVISION)
def test_torchvision_published_totals(model):
    params, gmacs = TORCHVISION[model]
    text = convscope.render(convscope.analyze(convscope.load(model)), "table")
    totals = parse_totals(parse_table(text).totals)
    assert count(totals["trainable"][0]) == params
    assert count(totals["torch"][0]) == params  # PyTorch's parameters(), buffers apart
    assert totals["macs"][5] == "per sample"  # published per image, never per batch
    assert round(count(totals["macs"][0]) / 1e9, 3) == gmacs


# seed 002's tables ("Total Parameters" and "parameter memory consumption" lines)
@pytest.mark.parametrize(("model", "total", "memory"), [
    ("lenet5", 61706, "241.039KB"), ("alexnet", 62378344, "237.9545MB"),
    ("vgg16", 138357544, "527.7921MB")])
def test_seed_002_published_totals(model, total, memory):
    text = convscope.render(convscope.analyze(convscope.load(model)), "seed")
    assert text.endswith(f"\n\nTotal Parameters: {total}\n"
                         f"parameter memory consumption: {memory}\n")
    assert seed_size(total * 4) == memory  # this file's formatter, against the seed


def test_seed_004_keras_summary_numbers():
    """Seed 004's model.summary() of the Baseline: 456, 24, 0, 0, 0, 0, 196736, 0, 1290;
    Total params: 198,506; Trainable params: 198,494; Non-trainable params: 12."""
    text = convscope.render(convscope.analyze(convscope.load("keras_baseline")), "keras")
    params = [count(line.split("│")[3].strip()) for line in text.split("\n")
              if line.startswith("│")]
    assert params == [456, 24, 0, 0, 0, 0, 196736, 0, 1290]
    assert text.endswith(" Total params: 198,506 (775.41 KB)\n"
                         " Trainable params: 198,494 (775.37 KB)\n"
                         " Non-trainable params: 12 (48.00 B)\n")
