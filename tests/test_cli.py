"""The command line: every command, every format, the JSON contract, atomic -o."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

import convscope
from convscope.cli import main

LENET = "32x32x1 | conv5-6 | maxpool2 | conv5-16 | maxpool2 | fc120 | fc84 | fc10"


def run(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_one_line_form_of_the_issue():
    out = run("summary", LENET)
    assert "Total params: 61,706 (241.04 KB)" in out
    assert "fc3 (Dense)" in out


def test_table_totals_and_conventions():
    out = run("summary", "keras_baseline")
    assert "Total params: 198,506 (775.41 KB)" in out
    assert "Trainable params: 198,494 (775.37 KB)" in out
    assert "Non-trainable params: 12 (48.00 B)" in out
    assert "PyTorch view: 198,494 parameters + 13 buffer values" in out
    assert "FLOPs = 2 x MACs" in out and "per sample" in out
    assert "KB = 1024 B" in out


def test_columns_option():
    out = run("summary", "lenet5", "--columns", "formula,macs,rf")
    header = out.splitlines()[2]
    assert header.split() == ["Layer", "(type)", "Output", "Shape", "Param", "#", "Formula",
                              "MACs", "RF"]
    assert "5x5x6x16+16" in out and "240,000" in out
    assert len(run("summary", "lenet5", "-c", "all").splitlines()[2]) > 150


def test_batch_scales_compute_and_activations_not_params():
    one = json.loads(run("summary", "lenet5", "-f", "json"))
    eight = json.loads(run("summary", "lenet5", "-f", "json", "--batch", "8"))
    assert eight["totals"]["params"] == one["totals"]["params"]
    for key in ("macs", "flops", "other_ops", "activation_bytes", "activation_elements"):
        assert eight["totals"][key] == 8 * one["totals"][key]
    assert "per batch of 8" in run("summary", "lenet5", "--batch", "8")


@pytest.mark.parametrize(("dtype", "size"), [("float32", 4), ("float16", 2), ("bfloat16", 2),
                                             ("int8", 1), ("float64", 8)])
def test_dtype_sets_bytes(dtype, size):
    data = json.loads(run("summary", "vgg16", "-f", "json", "--dtype", dtype))
    assert data["totals"]["param_bytes"] == 138357544 * size


def test_json_contract():
    data = json.loads(run("summary", "resnet18", "-f", "json"))
    assert {"model", "input", "layers", "totals"} <= set(data)
    assert data["input"] == [224, 224, 3]
    layer_keys = {"name", "type", "input_shape", "output_shape", "params", "trainable_params",
                  "non_trainable_params", "formula", "macs", "flops", "activation_elements",
                  "receptive_field"}
    for layer in data["layers"]:
        assert layer_keys <= set(layer)
        assert {"size", "stride", "padding", "start"} <= set(layer["receptive_field"])
        assert layer["flops"] == 2 * layer["macs"]
    totals_keys = {"params", "trainable_params", "non_trainable_params", "param_bytes", "macs",
                   "flops", "activation_bytes", "receptive_field"}
    assert totals_keys <= set(data["totals"])
    conv1 = data["layers"][1]
    assert conv1["output_shape"] == [112, 112, 64] and conv1["formula"] == "7x7x3x64"
    assert conv1["receptive_field"]["size"] == [7, 7]
    assert conv1["receptive_field"]["stride"] == [2, 2]
    assert conv1["receptive_field"]["padding"] == [3, 3]
    assert data["totals"]["receptive_field"]["global"] is True
    assert data["totals"]["trainable_params"] == 11689512  # torchvision resnet18


def test_csv_has_raw_integers():
    rows = list(csv.DictReader(io.StringIO(run("summary", "alexnet", "-f", "csv"))))
    assert [int(r["params"]) for r in rows if int(r["params"])][0] == 34944
    assert rows[1]["output_shape"] == "55x55x96"
    assert rows[1]["rf_size"] == "11x11"


def test_markdown():
    out = run("summary", "lenet5", "-f", "markdown")
    assert out.startswith("# lenet5\n")
    assert "| Conv1 (Conv2D) | 28x28x6 | 156 |" in out
    assert "- Total params: 61,706 (241.04 KB)" in out


def test_seed_format():
    out = run("summary", "lenet5", "-f", "seed")
    assert out.splitlines()[0].split() == ["Network", "Layer", "(operations)", "input", "Filter",
                                           "Stride", "padding", "Output", "Calculation",
                                           "Formula", "Number", "of", "parameters"]


def test_output_file_is_written_atomically(tmp_path):
    target = tmp_path / "out" / "lenet.json"
    run("summary", "lenet5", "-f", "json", "-o", str(target))
    assert json.loads(target.read_text())["totals"]["params"] == 61706
    assert [p.name for p in target.parent.iterdir()] == ["lenet.json"]  # no temp file left


def test_output_failure_keeps_the_old_file(tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("old")
    assert main(["summary", "4x4x1 | conv5-1", "-o", str(target)]) == 2
    assert target.read_text() == "old"


def test_input_override_and_file(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: 32x32x3\nlayers:\n  - conv3-8 p=1 relu\n  - maxpool2\n  - gap\n"
                    "  - fc10\n")
    data = json.loads(run("summary", str(path), "-f", "json", "--input", "64x64x3"))
    assert data["layers"][2]["output_shape"] == [32, 32, 8]
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"input": [8, 8, 1], "layers": ["conv3-2"]}))
    assert json.loads(run("summary", str(path), "-f", "json"))["totals"]["params"] == 20


def test_calc_conv_shows_the_arithmetic():
    out = run("calc", "conv", "--input", "227x227x3", "--kernel", "11", "--stride", "4",
              "--filters", "96")
    assert "H, W: out = floor((227 + 2*0 - 11) / 4) + 1 = 55" in out
    assert "params = k*C_in*C_out + C_out = 11*11*3*96 + 96 = 34,944" in out


def test_calc_pool_dense_and_same():
    out = run("calc", "pool", "--input", "55x55x96", "--kernel", "3", "--stride", "2",
              "--set", "mode=max")
    assert "H, W: out = floor((55 + 2*0 - 3) / 2) + 1 = 27" in out
    assert "params = 0" in out
    out = run("calc", "maxpool", "--input", "112x112x64", "--kernel", "3", "--stride", "2",
              "--ceil")
    assert "ceil((112 + 2*0 - 3) / 2) + 1 = 56" in out
    out = run("calc", "dense", "--input", "6x6x256", "--units", "4096")
    assert "params = n_in*n_out + n_out = 9216*4096 + 4096 = 37,752,832" in out
    out = run("calc", "conv", "--input", "224x224x3", "-k", "3", "-s", "2", "-p", "same",
              "-n", "32")
    assert "H, W: out = floor((224 + 0+1 - 3) / 2) + 1 = 112" in out


def test_zoo_lists_every_model():
    out = run("zoo")
    for name in ("lenet5", "resnet152", "cifar_resnet1202", "dcgan_generator", "rf_example"):
        assert name in out
    data = json.loads(run("zoo", "-f", "json"))
    assert {r["id"]: r["params"] for r in data}["vgg16"] == 138357544


def test_help_topics_and_version():
    assert "conv<k>-<c>" in run("help", "syntax")
    assert "batchnorm" in run("help", "layers")
    assert "receptive_field" in run("help", "json")
    assert run("--version").strip() == f"convscope {convscope.__version__}"
    for command in ("summary", "calc", "zoo", "help"):
        assert "usage: convscope" in run(command, "--help")


def test_no_arguments_prints_help():
    assert "usage: convscope" in run()


def test_summary_does_not_import_torch(tmp_path):
    out = str(tmp_path / "summary.json")  # never a path under /dev: CI runs as root
    code = ("import sys; from convscope.cli import main; main(['summary', 'resnet50', '-f', "
            f"'json', '-o', {out!r}]); print('torch' in sys.modules, 'numpy' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.split() == ["False", "False"]
