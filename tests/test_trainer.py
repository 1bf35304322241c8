"""The trainer: learning, bit-for-bit resume (even after a kill during a checkpoint write),
torchrun equivalence, run files, evaluate / predict, dataset readers and errors."""

from __future__ import annotations

import csv
import gzip
import json
import os
import pickle
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.trainer.checkpoint import CRASH_HOOK
from convscope.trainer.data import load_data
from convscope.trainer.readers import read_cifar_batch, read_idx

SMALL = "8x8x1 | conv3-8 p=1 relu | maxpool2 | conv3-16 p=1 relu | maxpool2 | fc32 relu | fc10"


def run_cli(*args, env=None, check=True):
    proc = subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})})
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "last.pt", weights_only=True)["model"]


def test_digits_learns_and_writes_every_file(tmp_path):
    result = convscope.train("digits_cnn", "digits", epochs=6, batch_size=32, lr=0.003,
                             schedule="onecycle", seed=0, out=str(tmp_path), quiet=True)
    assert result.test_accuracy >= 0.95  # a floor for learning, with a fixed seed
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "result.json", "metrics.csv", "best.pt", "last.pt", "curves.png",
            "weights.txt", "model.safetensors"} <= names
    res = json.loads((tmp_path / "result.json").read_text())
    assert {"test_accuracy", "best_val_accuracy", "epochs", "train_seconds", "params"} <= set(res)
    assert res["params"] == convscope.analyze(convscope.load("digits_cnn")).totals.trainable_params
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"} <= \
        set(rows[0])
    text = (tmp_path / "weights.txt").read_text().splitlines()
    assert text[0] == "layers.stage1_conv1.weight" and text[1] == "(32, 1, 3, 3)"
    from safetensors.torch import load_file

    tensors = load_file(tmp_path / "model.safetensors")
    best = torch.load(tmp_path / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(tensors[k], best[k]) for k in best)
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("crash", ["kill", "during-write"])
def test_resume_gives_bitwise_equal_weights(tmp_path, crash):
    args = ["train", SMALL, "--data", "digits", "--epochs", "4", "--batch-size", "64",
            "--schedule", "cosine", "--augment", "-q"]
    run_cli(*args, "--out", str(tmp_path / "a"))
    b = tmp_path / "b"
    if crash == "kill":  # stop after two epochs, as a kill between epochs would
        run_cli(*args[:5], "2", *args[6:], "--out", str(b))
        config = json.loads((b / "config.json").read_text())
        assert config["config"]["epochs"] == 2
        proc = run_cli(*args, "--out", str(b), "--resume", check=False)
        assert proc.returncode == 2  # epochs differ: refused, the run is not silently redone
        assert "was written by a different run" in proc.stderr
        # the honest kill: a process killed mid-epoch, resumed with the same command
        b = tmp_path / "c"
        proc = subprocess.Popen([sys.executable, "-m", "convscope", *args, "--out", str(b)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import time

        while not (b / "metrics.csv").exists() or \
                len((b / "metrics.csv").read_text().splitlines()) < 3:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
    else:  # killed half-way through writing last.pt at epoch 3
        proc = run_cli(*args, "--out", str(b), env={CRASH_HOOK: "last.pt:3"}, check=False)
        assert proc.returncode == 17
        assert any(p.name.startswith(".last.pt.") for p in b.iterdir())  # a torn temp file
        assert torch.load(b / "last.pt", weights_only=True)["epoch"] == 2  # intact
    run_cli(*args, "--out", str(b), "--resume")
    a, c = weights(tmp_path / "a"), weights(b)
    assert a.keys() == c.keys() and all(torch.equal(a[k], c[k]) for k in a)
    assert not any(p.name.startswith(".last.pt.") for p in b.iterdir())


def test_torchrun_two_processes_equal_one_process(tmp_path):
    args = ["train", SMALL, "--data", "digits", "--epochs", "2", "--batch-size", "32", "-q"]
    run_cli(*args, "--out", str(tmp_path / "one"))
    torchrun = Path(sys.executable).parent / "torchrun"
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m",
                           "convscope", *args, "--out", str(tmp_path / "two")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    one, two = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert one.keys() == two.keys() and not any(k.startswith("module.") for k in two)
    assert max((one[k] - two[k]).abs().max().item() for k in one) < 1e-5
    assert json.loads((tmp_path / "two" / "config.json").read_text())["world_size"] == 2


def test_evaluate_and_predict(tmp_path):
    convscope.train(SMALL, "digits", epochs=2, out=str(tmp_path), quiet=True)
    proc = run_cli("evaluate", str(tmp_path))
    assert "accuracy on the test split" in proc.stdout
    assert "confusion matrix (rows: true class, columns: predicted):" in proc.stdout
    assert (tmp_path / "confusion_test.png").exists()
    from sklearn.datasets import load_digits

    digit = load_digits()
    np.save(tmp_path / "d.npy", (digit.images[0] / 16.0)[:, :, None])
    proc = run_cli("predict", str(tmp_path / "best.pt"), str(tmp_path / "d.npy"), "--top", "2")
    assert proc.stdout.startswith(f"{tmp_path / 'd.npy'}: ")
    assert len(proc.stdout.split(",")) == 2


# ------------------------------------------------------------ dataset readers ---
def write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def test_idx_reader_and_mnist_dataset(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28))
    labels = np.arange(30) % 10
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:10])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:10])
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte.gz"), images)
    data = load_data(f"mnist:{tmp_path}", val_fraction=0.1)
    assert data.input_shape == (28, 28, 1)
    assert len(data.train.y) + len(data.val.y) == 30 and len(data.test.y) == 10
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    with pytest.raises(convscope.ConvscopeError, match="t10k-labels-idx1-ubyte.gz: not a "
                       "readable IDX file"):
        load_data(f"mnist:{tmp_path}")


def test_cifar_pickle_reader(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [("data_batch_1", 20), ("data_batch_2", 20), ("test_batch", 10)]:
        batch = {b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
                 b"labels": list(range(n)) * 1 if n <= 10 else [i % 10 for i in range(n)],
                 b"batch_label": b"x"}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    x, y = read_cifar_batch(folder / "data_batch_1")
    assert x.shape == (20, 3, 32, 32) and list(y) == [i % 10 for i in range(20)]
    data = load_data(f"cifar10:{tmp_path}")
    assert data.input_shape == (32, 32, 3) and data.classes[0] == "airplane"

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(folder / "data_batch_3", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(convscope.ConvscopeError, match="refusing to load 'posix.system'"):
        read_cifar_batch(folder / "data_batch_3")


def test_folder_dataset_resizes_to_the_model(tmp_path):
    for label, colour in (("cats", 30), ("dogs", 220)):
        (tmp_path / label).mkdir()
        for i in range(6):
            Image.new("RGB", (40 + i, 30), (colour, colour, colour)).save(
                tmp_path / label / f"{i}.png")
    data = load_data(f"folder:{tmp_path}", (16, 16, 3), 2, val_fraction=0.2)
    assert data.classes == ["cats", "dogs"] and data.input_shape == (16, 16, 3)
    result = convscope.train("16x16x3 | conv3-4 | gap | fc2", f"folder:{tmp_path}", epochs=2,
                             out=str(tmp_path / "run"), quiet=True, val_fraction=0.2)
    assert result.epochs == 2


# --------------------------------------------------------------------- errors ---
@pytest.mark.parametrize(("args", "message"), [
    (["train", "lenet5", "--data", "digits"],
     "convscope: dataset digits gives 8x8x1 inputs but the model 'lenet5' expects 32x32x1; "
     "use a model made for 8x8x1 (or --input 8x8x1 when the description allows it)"),
    (["train", "8x8x1 | fc5", "--data", "digits"],
     "convscope: dataset digits has 10 classes but the model '8x8x1 | fc5' outputs 5 "
     "value(s); its last layer must have 10 units"),
    (["train", SMALL, "--data", "mnist:/no/such/folder"],
     "convscope: /no/such/folder: no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz); "
     "put MNIST's four IDX files there, or add --download"),
    (["train", SMALL, "--data", "folder:/no/such/folder"],
     "convscope: /no/such/folder: no such folder"),
    (["train", SMALL, "--data", "imagenet"],
     "convscope: unknown dataset 'imagenet'. Datasets: digits, mnist1d, folder:PATH, "
     "mnist:PATH, cifar10:PATH, synthetic"),
    (["train", SMALL, "--data", "digits", "--optimizer", "adan"],
     "convscope: unknown optimizer 'adan'; choose sgd, adam, adamw. Did you mean 'adam'?"),
])
def test_training_errors(args, message, tmp_path):
    proc = run_cli(*args, "--out", str(tmp_path / "r"), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == message.replace("'8x8x1 | fc5'",
                                                                   "'one-line'")


def test_corrupt_and_foreign_checkpoints(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"not a checkpoint at all")
    proc = run_cli("train", SMALL, "--data", "digits", "--out", str(tmp_path), "--resume",
                   check=False)
    assert proc.returncode == 2
    assert f"{tmp_path}/last.pt: not a readable checkpoint (corrupt, truncated or not " \
           "written by torch.save)" in proc.stderr
    torch.save({"weight": torch.zeros(3)}, tmp_path / "last.pt")
    proc = run_cli("train", SMALL, "--data", "digits", "--out", str(tmp_path), "--resume",
                   check=False)
    assert proc.returncode == 2
    assert "not a convscope checkpoint" in proc.stderr
    proc = run_cli("evaluate", str(tmp_path / "nothing.pt"), check=False)
    assert proc.returncode == 2 and "no such checkpoint" in proc.stderr
    proc = run_cli("train", SMALL, "--data", "digits", "--out", str(tmp_path), check=False)
    assert proc.returncode == 2 and "already holds a run (last.pt)" in proc.stderr


def test_settings_come_from_defaults_then_the_recipe_then_the_user():
    from convscope.trainer.recipe import SMALL_STEP_MACS, configure, threads_for

    config, note = configure("mnist1d_cnn", "mnist1d", {"epochs": 5, "seed": 3})
    assert (config.epochs, config.batch_size, config.lr, config.label_smoothing,
            config.seed, config.optimizer) == (5, 100, 0.01, 0.1, 3, "adam")
    assert "recipe for mnist1d" in note and "batch_size=100" in note and "epochs" not in note
    other, note = configure("mnist1d_cnn", "synthetic", {})
    assert (other.epochs, other.batch_size, other.lr) == (10, 64, None)  # not its dataset
    assert "no recipe for synthetic" in note
    plain, _ = configure("lenet5", "digits", {"lr": 0.5})
    assert plain.lr == 0.5 and plain.epochs == 10
    # threads: what the user says; else one for small steps; else the cores shared out
    assert threads_for(replace(config, threads=3), 1, 10**12) == 3
    assert threads_for(config, 1, SMALL_STEP_MACS - 1) == 1
    assert threads_for(config, 2, SMALL_STEP_MACS) == max(1, (os.cpu_count() or 1) // 2)


def test_a_large_step_keeps_the_faster_thread_count_and_changes_nothing():
    """The probe (trainer/threads.py) times each count, keeps the fastest, and leaves the
    model as it found it: no gradients, batch-norm statistics untouched, training mode."""
    import torch

    from convscope.trainer.threads import fastest_threads, probe_text

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
                                torch.nn.Flatten(), torch.nn.Linear(8 * 14 * 14, 10)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    previous = torch.get_num_threads()
    try:
        best, times = fastest_threads(model, torch.randn(4, 3, 16, 16), (1, 2))
        assert set(times) == {1, 2} and all(t > 0 for t in times.values())
        assert times[best] == min(times.values()) and torch.get_num_threads() == best
    finally:
        torch.set_num_threads(previous)
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert probe_text({1: 0.25, 2: 0.5}).startswith("threads: 1,")
    assert "1 thread 0.250 s, 2 threads 0.500 s" in probe_text({1: 0.25, 2: 0.5})
