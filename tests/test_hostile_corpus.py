"""Hostile input through the command line (issue 12): every case of tests/hostile_corpus.py
runs as its own ``convscope`` process in a fresh temporary folder, under resource limits:

* CPU time: 2 s for a bad input to a core command (RLIMIT_CPU; the kernel stops the process
  past it), 20 s for the few that import PyTorch (its import alone takes about 2.5 s of CPU)
  and for the valid extremes (a 20,000-layer chain is real work);
* address space: 1 GiB for the core commands (RLIMIT_AS), 8 GiB with PyTorch (whose import
  maps about 3.3 GiB of address space while touching 0.7 GiB);
* a wall-clock guard of 60 s only to turn a hang into a failure rather than a stuck CI.

A bad input must end with exit status 2 and one line on stderr ``convscope: ...`` (argparse's
own errors: its usage line and ``error:`` line), never a traceback, never a kill by a limit.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hostile_corpus import Case, all_cases

CASES = all_cases()
GiB = 1024**3


def _limits(case: Case):
    cpu = 20 if case.torch or case.expect == "ok" else 2
    memory = 8 * GiB if case.torch else GiB

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply


def run_case(case: Case, folder: Path) -> subprocess.CompletedProcess[str]:
    for name, data in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch",
           "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "convscope", *case.argv], cwd=folder,
                          capture_output=True, text=True, errors="replace", env=env,
                          stdin=subprocess.DEVNULL, timeout=60, preexec_fn=_limits(case))


def test_the_corpus_is_large_and_varied():
    assert len(CASES) >= 200
    kinds = {c.id.split("-")[0] for c in CASES}
    assert {"alias", "expr", "arg", "oneline", "opt", "keras", "onnx", "ckpt", "valid"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path):
    proc = run_case(case, tmp_path)
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        pytest.fail(f"killed by {name} (a resource limit): {case.argv[:3]}")
    err = proc.stderr
    assert "Traceback" not in err, err[-3000:]
    assert len(err) < 4000, f"an error message of {len(err)} characters"
    if case.expect == "ok":
        assert proc.returncode == 0, err
        return
    if case.expect == "clean" and proc.returncode == 0:
        return
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    lines = [line for line in err.splitlines() if line.strip()]
    if case.expect == "usage" or case.expect == "rejected" and len(lines) > 1:
        assert lines and "error:" in lines[-1], err
        return
    assert len(lines) == 1, err
    assert lines[0].startswith("convscope: "), err
    for choices in case.words:
        assert any(word.lower() in lines[0].lower() for word in choices), (choices, lines[0])


def test_nothing_was_executed(tmp_path: Path):
    """The YAML Python tags and expression 'calls' of the corpus never ran anything."""
    for case in CASES:
        if case.id in ("yaml-python-tag", "yaml-python-name", "expr-call"):
            run_case(case, tmp_path)
    assert not (tmp_path / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.yaml"]
