"""Hostile files (issue 12): ``-o`` onto symlinks, FIFOs, sockets, folders and read-only
files; ``--out`` onto a folder of the user's files; tampered, bit-flipped and malicious
checkpoints; names that try to break the generated Python, Markdown, HTML and SVG.

Everything happens inside pytest's tmp_path: no test writes anywhere else (never under
/dev: CI runs as root) and no test waits for a process it did not start."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

from convscope.cli import main
from convscope.files import remove_stale_temporaries

SMALL = "8x8x1 | conv3-4 p=1 relu | maxpool2 | fc16 relu | fc10"
TRAIN = ["train", SMALL, "--data", "digits", "--epochs", "1", "--batch-size", "64",
         "--threads", "1", "-q"]
ROOT = os.geteuid() == 0


@pytest.fixture(autouse=True)
def _temporaries_in_tmp_path(tmp_path, monkeypatch):
    """In-place writes (FIFOs, devices) prepare their content in the system's temporary
    folder: here that is tmp_path, so that no test writes outside it."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("convscope: ")]
    assert len(lines) == 1, err
    return lines[0]


def no_temporaries(*folders: Path) -> bool:
    return not any(".convscope-tmp-" in p.name for f in folders for p in f.iterdir())


# ------------------------------------------------------------------ -o FILE ---
def test_output_onto_a_hard_linked_file_keeps_the_link(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("old")
    os.link(first, second)
    assert main(["summary", SMALL, "-o", str(first)]) == 0
    assert "Total params:" in second.read_text()  # one file, two names, still
    assert os.stat(first).st_ino == os.stat(second).st_ino and no_temporaries(tmp_path)


def test_output_keeps_the_owner_of_another_users_file(tmp_path):
    target = tmp_path / "theirs.txt"
    target.write_text("old")
    if ROOT:
        os.chown(target, 65534, 65534)
    before = os.stat(target)
    assert main(["summary", SMALL, "-o", str(target)]) == 0
    after = os.stat(target)
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert "Total params:" in target.read_text()


def test_output_onto_the_models_own_file_is_refused(tmp_path, capsys):
    model = tmp_path / "net.yaml"
    model.write_text("input: 8x8x3\nlayers: [{type: relu}]\n")
    assert main(["summary", str(model), "-o", str(model)]) == 2
    assert "-o names the model's own file" in one_error_line(capsys)
    assert model.read_text() == "input: 8x8x3\nlayers: [{type: relu}]\n"


def test_output_path_ending_in_a_slash_and_long_names(tmp_path, capsys):
    assert main(["summary", SMALL, "-o", f"{tmp_path}/newdir/"]) == 2
    assert "ends with '/'" in one_error_line(capsys)
    assert not (tmp_path / "newdir").exists()
    long_name = tmp_path / ("n" * 240 + ".txt")  # legal (under 255 bytes); the temporary
    assert main(["summary", SMALL, "-o", str(long_name)]) == 0  # file's name is shortened
    assert long_name.read_text().startswith("Model:") and no_temporaries(tmp_path)


def test_output_through_a_symlink_writes_its_target(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real = tmp_path / "b" / "real.json"
    real.write_text("old")
    link = tmp_path / "a" / "link.json"
    link.symlink_to(Path("..") / "b" / "real.json")
    assert main(["summary", "lenet5", "-f", "json", "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "b" / "real.json")
    assert json.loads(real.read_text())["totals"]["params"] == 61706
    assert no_temporaries(tmp_path / "a", tmp_path / "b")
    dangling = tmp_path / "a" / "dangling.txt"
    dangling.symlink_to(tmp_path / "b" / "new.txt")
    assert main(["summary", "lenet5", "-o", str(dangling)]) == 0
    assert dangling.is_symlink() and "Total params: 61,706" in \
        (tmp_path / "b" / "new.txt").read_text()


def test_output_keeps_an_existing_files_mode(tmp_path):
    target = tmp_path / "private.txt"
    target.write_text("old")
    target.chmod(0o600)
    assert main(["summary", "lenet5", "-o", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and "61,706" in target.read_text()


def test_output_onto_a_fifo_without_reader_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "convscope", "summary", SMALL, "-o",
                           str(fifo)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is a FIFO that no process is reading" in proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO
    assert no_temporaries(tmp_path)


def test_output_onto_a_fifo_with_a_reader_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "to-pipe"
    link.symlink_to(fifo)
    for target in (fifo, link):
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there first
        try:
            assert main(["summary", SMALL, "-o", str(target)]) == 0  # < 64 KB: no wait
            data = os.read(reader, 1 << 20).decode()
        finally:
            os.close(reader)
        assert "Total params:" in data
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()
    assert no_temporaries(tmp_path)


def test_output_onto_a_socket_is_refused(tmp_path, capsys):
    path = tmp_path / "s.sock"
    if len(str(path)) > 100:
        pytest.skip("tmp path too long for a UNIX socket")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        assert main(["summary", SMALL, "-o", str(path)]) == 2
        assert "it is a socket" in one_error_line(capsys)
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        server.close()


def test_output_onto_device_nodes(tmp_path, capsys):
    """A character device is written in place (here a private node of the null device,
    made in tmp_path: nothing under /dev is touched); a block device is refused unopened."""
    null, disk = tmp_path / "null", tmp_path / "disk"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    except (PermissionError, OSError):
        pytest.skip("cannot make device nodes here")
    assert main(["summary", SMALL, "-o", str(null)]) == 0
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    capsys.readouterr()
    assert main(["summary", SMALL, "-o", str(disk)]) == 2
    assert "it is a block device" in one_error_line(capsys)
    assert stat.S_ISBLK(os.lstat(disk).st_mode) and no_temporaries(tmp_path)


def test_output_onto_a_read_only_file_is_refused(tmp_path, capsys):
    target = tmp_path / "keep.txt"
    target.write_text("mine")
    target.chmod(0o444)
    assert main(["summary", SMALL, "-o", str(target)]) == 2
    line = one_error_line(capsys)
    assert str(target) in line and "read-only" in line
    assert target.read_text() == "mine" and stat.S_IMODE(target.stat().st_mode) == 0o444


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: p.mkdir(), "it is a folder"),
    (lambda p: None, "Not a directory"),  # a path through a regular file
])
def test_output_onto_a_folder_or_through_a_file_is_refused(tmp_path, capsys, make, words):
    (tmp_path / "file").write_text("x")
    target = tmp_path / "dir" if words == "it is a folder" else tmp_path / "file" / "out.txt"
    make(target)
    assert main(["summary", SMALL, "-o", str(target)]) == 2
    assert words in one_error_line(capsys)
    assert (tmp_path / "file").read_text() == "x"


def as_unprivileged_user(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``convscope ARGV`` in a subprocess that cannot write where root could: as root (CI),
    util-linux's ``setpriv`` starts it without the capabilities that let root ignore file
    permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER)."""
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner",
              "--inh-caps=-all"] if ROOT else []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*prefix, sys.executable, "-m", "convscope", *argv], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def unwritable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_output_into_an_unwritable_folder_is_refused(tmp_path):
    folder = unwritable_folder(tmp_path)
    try:
        proc = as_unprivileged_user("summary", SMALL, "-o", str(folder / "out.txt"),
                                    cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Permission denied" in lines[0], proc.stderr
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_only_convscope_temporaries_are_removed(tmp_path):
    keep = [".notes.txt.swp", ".config.json.abc", ".last.pt.12345678", "notes.txt",
            ".x.convscope-tmp-short"]
    stale = [".last.pt.convscope-tmp-ab_d1234.pt", ".config.json.convscope-tmp-zzzzzzzz.json",
             ".metrics.csv.convscope-tmp-00000000.csv"]
    for name in keep + stale:
        (tmp_path / name).write_text("x")
    (tmp_path / ".link.convscope-tmp-abcdefgh").symlink_to(tmp_path / "notes.txt")
    remove_stale_temporaries(tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {*keep, ".link.convscope-tmp-abcdefgh"}


# ------------------------------------------------------------------ trainer ---
@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One tiny run (1 epoch), copied by each test that changes it."""
    out = tmp_path_factory.mktemp("run") / "run"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return out


def copy_run(trained: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    return run


def rewrite(path: Path, change) -> None:
    import torch

    payload = torch.load(path, weights_only=True)
    change(payload)
    torch.save(payload, path)


def test_a_checkpoint_never_makes_evaluate_run_code(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    marker = tmp_path / "MARKER"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('ran')\n"
                    "import torch\nclass Net(torch.nn.Module):\n    pass\n")
    np_input = tmp_path / "x.npy"
    import numpy as np

    np.save(np_input, np.zeros((8, 8, 1), np.float32))
    for source in (f"{evil}:Net", f"python:{evil.stem}:Net"):
        def plant(payload, source=source):
            payload["config"]["model"] = source
            payload["description"] = None

        for name in ("best.pt", "last.pt"):
            rewrite(run / name, plant)
        assert main(["evaluate", str(run)]) == 2
        line = one_error_line(capsys)
        assert "came from Python source" in line and "--model" in line
        assert main(["predict", str(run / "best.pt"), str(np_input)]) == 2
        assert "--model" in one_error_line(capsys)
        assert not marker.exists()
    # the user names the model again (here the real one): the weights are used
    assert main(["predict", str(run / "best.pt"), str(np_input), "--model", SMALL]) == 0
    assert capsys.readouterr().out.startswith(f"{np_input}: ")
    assert not marker.exists()


def flip_a_bit_inside(path: Path, tensor) -> None:
    data = bytearray(path.read_bytes())
    raw = tensor.contiguous().numpy().tobytes()
    at = data.find(raw)
    assert at >= 0 and data.find(raw, at + 1) < 0
    data[at + len(raw) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def test_a_flipped_bit_in_the_weights_is_detected(trained, tmp_path, capsys):
    import torch

    from convscope.errors import ConvscopeError
    from convscope.trainer.checkpoint import load_safetensors

    run = copy_run(trained, tmp_path)
    best = torch.load(run / "best.pt", weights_only=True)["model"]
    assert load_safetensors(run / "model.safetensors").keys() == best.keys()
    name = max(best, key=lambda k: best[k].numel())
    flip_a_bit_inside(run / "best.pt", best[name])
    assert torch.load(run / "best.pt", weights_only=True)["model"][name].ne(best[name]).any()
    assert main(["evaluate", str(run / "best.pt")]) == 2
    line = one_error_line(capsys)
    assert f"{run / 'best.pt'}: the weights do not match the SHA-256" in line
    flip_a_bit_inside(run / "model.safetensors", best[name])
    with pytest.raises(ConvscopeError, match="model.safetensors: the weights do not match"):
        load_safetensors(run / "model.safetensors")


@pytest.mark.parametrize(("change", "words"), [
    (lambda p: p.pop("model"), "has no 'model' entry"),
    (lambda p: p.pop("epoch"), "has no 'epoch' entry"),
    (lambda p: p.pop("input_shape"), "has no 'input_shape' entry"),
    (lambda p: p.update(epoch="3"), "'epoch' must be an integer >= 0; received '3'"),
    (lambda p: p.update(input_shape="8x8x1"), "'input_shape' must be a list of positive"),
    (lambda p: p.update(model=[1, 2]), "'model' must be a mapping of parameter names"),
    (lambda p: p.update(config=None), "'config' must be a mapping"),
    (lambda p: p.update(classes=5), "'classes' must be a non-empty list"),
    (lambda p: p.pop("model_sha256"), "has no 'model_sha256' entry"),
    # a view promising 4*10**10 values over a storage of one: refused before any hashing
    (lambda p: p["model"].update({next(iter(p["model"])): torch.zeros(1).expand(
        200000, 200000)}), "'model' must be a mapping of parameter names to dense tensors"),
    (lambda p: p["model"].update({next(iter(p["model"])): torch.zeros(3, 3).to_sparse()}),
     "'model' must be a mapping of parameter names to dense tensors"),
])
def test_tampered_checkpoints_give_clear_errors(trained, tmp_path, capsys, change, words):
    run = copy_run(trained, tmp_path)
    for name in ("best.pt", "last.pt"):
        rewrite(run / name, change)
    assert main(["evaluate", str(run)]) == 2
    assert words in one_error_line(capsys)
    assert main([*TRAIN, "--out", str(run), "--resume"]) == 2
    assert words in one_error_line(capsys)


@pytest.mark.parametrize("change", [
    lambda p: p.update(optimizer=5), lambda p: p.update(rng=None),
    lambda p: p.update(history=3), lambda p: p.update(best="x"),
    lambda p: p["rng"].update(python="x"),
])
def test_tampered_training_state_refuses_to_resume(trained, tmp_path, capsys, change):
    run = copy_run(trained, tmp_path)
    rewrite(run / "last.pt", change)
    config = (run / "config.json").read_bytes()
    assert main([*TRAIN, "--out", str(run), "--resume"]) == 2
    assert f"{run / 'last.pt'}: cannot resume from it" in one_error_line(capsys)
    assert (run / "config.json").read_bytes() == config


def test_out_onto_a_folder_of_user_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.json").write_text('{"my": "settings"}')
    (folder / ".config.json.swp").write_text("editor swap file")
    assert main([*TRAIN, "--out", str(folder)]) == 2
    line = one_error_line(capsys)
    assert "is not a convscope run" in line and "--force" in line
    assert sorted(p.name for p in folder.iterdir()) == [".config.json.swp", "config.json"]
    assert (folder / "config.json").read_text() == '{"my": "settings"}'
    assert main([*TRAIN, "--out", str(folder), "--force"]) == 0
    assert (folder / ".config.json.swp").read_text() == "editor swap file"  # never deleted
    assert (folder / "best.pt").exists() and no_temporaries(folder)


def test_out_onto_a_file_or_through_one(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main([*TRAIN, "--out", str(tmp_path / "f")]) == 2
    assert "is a file; expected a run folder" in one_error_line(capsys)
    assert main([*TRAIN, "--out", str(tmp_path / "f" / "run")]) == 2
    assert "cannot create the run folder" in one_error_line(capsys)
    assert (tmp_path / "f").read_text() == "x"


def test_fifos_in_place_of_run_files_never_block(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / "best.pt")
    assert main(["evaluate", str(run / "best.pt")]) == 2
    assert "not a regular file" in one_error_line(capsys)
    os.mkfifo(run / "config.json")
    assert main([*TRAIN, "--out", str(run)]) == 2
    assert "is not a convscope run" in one_error_line(capsys)


def test_out_into_an_unwritable_place(tmp_path):
    folder = unwritable_folder(tmp_path)
    try:
        proc = as_unprivileged_user(*TRAIN, "--out", str(folder), cwd=tmp_path)
        assert proc.returncode == 2 and "not writable" in proc.stderr, proc.stderr
        proc = as_unprivileged_user(*TRAIN, "--out", str(folder / "run"), cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "cannot create the run folder" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_refused_resume_changes_nothing(trained, tmp_path, capsys):
    run = copy_run(trained, tmp_path)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert main([*TRAIN, "--out", str(run), "--resume", "--lr", "0.5"]) == 2
    assert "was written by a different run" in one_error_line(capsys)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_resume_from_best_and_extend_a_finished_run(trained, tmp_path, capsys):
    import torch

    run = copy_run(trained, tmp_path)
    (run / "last.pt").unlink()  # killed after best.pt, before the first last.pt
    epochs2 = [*TRAIN[:5], "2", *TRAIN[6:]]
    assert main([*epochs2, "--out", str(run), "--resume"]) == 0
    assert "resuming from best.pt" in capsys.readouterr().err
    extended = torch.load(run / "last.pt", weights_only=True)
    assert extended["epoch"] == 2 and len(extended["history"]) == 2
    assert json.loads((run / "result.json").read_text())["epochs"] == 2
    assert main([*epochs2, "--out", str(tmp_path / "straight")]) == 0  # 2 epochs at once
    straight = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(straight[k], extended["model"][k]) for k in straight)
    assert main([*TRAIN, "--out", str(run), "--resume"]) == 2  # fewer epochs than done
    assert "2 already trained, --epochs 1 now (fewer)" in one_error_line(capsys)


def test_val_fraction_zero_is_refused(tmp_path, capsys):
    assert main([*TRAIN, "--out", str(tmp_path / "r"), "--val-fraction", "0"]) == 2
    assert "--val-fraction must be > 0 and < 1" in one_error_line(capsys)
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------- escaping ---
# (control characters such as a newline are refused when the description is parsed:
# tests/test_hostile_spec.py; everything visible must survive every generated file)
HOSTILE = ['q"""uote', "it's", 'back\\slash\\', "two words", "<img src=x onerror=alert(1)>",
           "a&b|c`d", "__dunder", "class", "\u00b2"]


def hostile_graph(names=HOSTILE):
    import convscope

    layers = [{"type": "conv", "name": n, "out_channels": 2, "kernel_size": 1} for n in names]
    layers.append({"type": "fc", "name": "out", "units": 3})
    return convscope.load({"name": 'net"""\\ <b>&', "input": "4x4x1", "layers": layers})


def test_generated_pytorch_source_survives_any_name():
    import torch

    import convscope
    from convscope.pytorch.source import graph_source

    graph = hostile_graph()
    source = graph_source(graph)
    namespace: dict = {"__name__": "generated"}
    exec(compile(source, "generated.py", "exec"), namespace)  # noqa: S102 - our own output
    cls = next(v for v in namespace.values() if isinstance(v, type) and
               issubclass(v, torch.nn.Module) and v.__module__ == "generated")
    model = cls().eval()
    assert tuple(model(torch.randn(2, 1, 4, 4)).shape) == (2, 3)
    assert sum(p.numel() for p in model.parameters()) == \
        convscope.analyze(graph).totals.params


def test_markdown_table_keeps_one_row_per_layer():
    import re

    import convscope
    from convscope.render import render

    text = render(convscope.analyze(hostile_graph()), "markdown")
    lines = text.splitlines()
    assert lines[0].startswith("# net") and "<b>" not in text and "<img" not in text
    rows = [line for line in lines if line.startswith("| ")]
    assert len(rows) == 2 + len(HOSTILE) + 2  # header, rule, input, layers, out
    cells = {len(re.split(r"(?<!\\)\|", row)) for row in rows}
    assert len(cells) == 1  # no name adds or ends a cell


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("style", ["blocks", "graph"])
def test_svg_parses_and_shows_names_as_text(style):
    import convscope
    from convscope.render.diagram import draw

    names = list(HOSTILE)
    svg = draw(convscope.analyze(hostile_graph(names)), style)
    root = ET.fromstring(svg)
    texts = "\n".join(t for e in root.iter() for t in (e.text or "",))
    for name in names:
        assert name in texts, name
    assert not any(e.tag.endswith("img") for e in root.iter())


def test_the_markup_escape_keeps_xml_valid():
    """Names with control characters are refused when parsed; should one reach a picture
    anyway (a renderer called directly), the escape still writes well-formed XML."""
    from convscope.render.svg import escape

    text = escape("a\x01<b>&\"c\"")
    assert text == "a\ufffd&lt;b&gt;&amp;&quot;c&quot;"
    ET.fromstring(f"<t a='{text}'>{text}</t>")


def test_html_report_escapes_every_name():
    import convscope
    from convscope.render.html import render_html

    graph = hostile_graph()
    html = render_html(convscope.analyze(graph), graph)
    parser = _Text()
    parser.feed(html)
    assert "img" not in parser.tags and "b" not in parser.tags
    assert "<img src=x onerror=alert(1)> (Conv2D)" in "".join(parser.text)
    script = html[html.index("<script>const REPORT"):]
    assert "<img" not in script and script.count("</script>") == 1
