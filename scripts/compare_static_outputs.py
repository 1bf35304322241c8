"""Byte-for-byte comparison of the static path's outputs between two source trees (issue 16:
speed without a changed byte).

Run: ``python scripts/compare_static_outputs.py OLD_SRC NEW_SRC`` (e.g. the ``src`` of a
clean worktree of main, and this tree's ``src``). Each tree runs, in its own process, the
same commands through ``convscope.cli.main``: ``convscope zoo``; ``convscope summary`` of
every zoo model in every format (plus batch / dtype / lint variants); every ``summary``
case of the hostile corpus (tests/hostile_corpus.py, files written to a fresh folder); and
generated descriptions that the fast YAML reader reads or gives up on. Exit code, stdout
and stderr of each are compared; the first differences are printed. Exit status 1 on any.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
FORMATS = ("table", "json", "csv", "markdown", "seed", "keras")


def generated() -> dict[str, str]:
    """Descriptions in (and near) the subset yaml_plain.py reads."""
    conv = "  - {type: conv, out_channels: 8, kernel_size: 3, padding: 1}\n"
    chain = "name: chain\ninput: 32x32x8\nlayers:\n" + (conv + "  - relu\n") * 300
    return {
        "chain.yaml": chain,
        "chain_crlf.yaml": chain.replace("\n", "\r\n"),
        "named.yaml": "input: 16x16x3\nlayers:\n" + "".join(
            f"  - {{type: conv, name: c{i}, out_channels: {4 + i % 5}, kernel_size: 3, "
            f"padding: same}}\n  - bn\n  - relu\n" for i in range(200)),
        "compact.yaml": "input: 28x28x1\nlayers:\n- type: conv\n  out_channels: 6\n  "
                        "kernel_size: 5\n- maxpool2\n- conv5-16 *2\n- fc120\n- "
                        "{type: dense, units: 10, activation: softmax}\n",
        "defaults.yaml": "input: 32x32x3\ndefaults:\n  conv: {bias: false}\nlayers:\n"
                         + "  - conv3-16 p=1\n  - {type: bn, trainable: false}\n" * 50,
        "floats.yaml": "input: 8x8x4\nlayers:\n  - {type: dropout, rate: 0.5}\n  - "
                       "{type: dropout, rate: 0.25}\n  - {type: upsample, scale_factor: 2}\n"
                       "  - {type: conv, out_channels: 4, kernel_size: 2, stride: 2}\n",
        "alias.yaml": "input: 8x8x4\nx: &r {type: relu}\nlayers:\n  - *r\n  - *r\n",
        "dup.yaml": "input: 8x8x4\nlayers:\n  - relu\ninput: 4x4x4\n",
        "yes.yaml": "input: 8x8x4\nlayers:\n  - {type: conv, out_channels: 4, kernel_size: 1, "
                    "bias: no}\n",
        "octal.yaml": "input: 8x8x4\nlayers:\n  - {type: conv, out_channels: 010, "
                      "kernel_size: 1}\n",
        "tab.yaml": "input: 8x8x4\nlayers:\n\t- relu\n",
        "deep.yaml": "input: 8x8x4\nlayers:\n  - relu\nnotes: " + "[" * 120 + "]" * 120 + "\n",
        "blocks.yaml": (TESTS.parent / "src/convscope/zoo/resnet18.yaml").read_text(),
    }


def cases(folder: Path) -> list[tuple[str, Path, list[str]]]:
    """(name, folder to run in, arguments) of every command compared."""
    from convscope import zoo
    from hostile_corpus import all_cases

    out: list[tuple[str, Path, list[str]]] = [("zoo", folder, ["zoo"])]
    for name in zoo.names():
        out += [(f"{name}/{fmt}", folder, ["summary", name, "--format", fmt])
                for fmt in FORMATS]
        out += [(f"{name}/batch", folder, ["summary", name, "--format", "json", "--batch",
                                           "3", "--dtype", "float16"]),
                (f"{name}/lint", folder, ["summary", name, "--lint"])]
    for name, text in generated().items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
        out += [(f"gen/{name}/{fmt}", folder, ["summary", name, "--format", fmt])
                for fmt in ("table", "json")]
    for case in all_cases():
        if case.argv[0] == "summary" and not case.torch:
            where = folder / "hostile" / case.id
            where.mkdir(parents=True)
            for file_name, data in case.files.items():
                (where / file_name).parent.mkdir(parents=True, exist_ok=True)
                (where / file_name).write_bytes(data)
            out.append((f"hostile/{case.id}", where, list(case.argv)))
    return out


def run_one(argv: list[str], where: Path) -> tuple[int | str, str, str]:
    from convscope.cli import main

    environ = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(where)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code: int | str = main(argv)
    except SystemExit as stop:
        code = f"exit {stop.code}"
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        code = f"raised {type(exc).__name__}: {exc}"
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
    return code, out.getvalue(), err.getvalue()


def collect() -> None:
    sys.path.insert(0, str(TESTS))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        results = {key: run_one(argv, where) for key, where, argv in cases(folder)}
    json.dump(results, sys.stdout)


def main() -> int:
    if sys.argv[1:] == ["--collect"]:
        collect()
        return 0
    old, new = sys.argv[1:3]
    runs = []
    for src in (old, new):
        env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
        done = subprocess.run([sys.executable, __file__, "--collect"], env=env, check=True,
                              capture_output=True, text=True)
        runs.append(json.loads(done.stdout))
    before, after = runs
    differ = [key for key in before if before[key] != after.get(key)]
    for key in differ[:10]:
        print(f"DIFFERENT {key}:\n  old: {str(before[key])[:300]}\n  new: "
              f"{str(after.get(key))[:300]}")
    print(f"{len(before)} outputs compared, {len(differ)} different")
    return 1 if differ or set(before) != set(after) else 0


if __name__ == "__main__":
    sys.exit(main())
