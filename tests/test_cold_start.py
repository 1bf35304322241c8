"""What makes a command start fast (issue 16, cold start) stays equal to what it replaces:
the lazy layer registry to the classes, the zoo's parsed JSON to its YAML files; and a zoo
command imports no YAML reader and only the layer kinds it uses."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from convscope import zoo
from convscope.cli import COMMANDS
from convscope.cli_parsers import build_parser
from convscope.description.kinds import lookup
from convscope.description.reader import yaml_load
from convscope.layers import KINDS, LAYER_KINDS, REGISTRY, STEMS, build_registry, stem

ROOT = Path(__file__).resolve().parents[1]


def same(a: object, b: object) -> bool:
    """Equal with the same types all the way down (True is not 1, 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))  # type: ignore[arg-type]
    return a == b


def test_the_lazy_registry_equals_the_classes():
    full = build_registry(LAYER_KINDS)  # refuses a name registered twice
    assert dict(REGISTRY) == full
    assert list(REGISTRY) == list(full)  # the same order (suggestions, squashed lookups)
    assert [f"{k.__module__.rsplit('.', 1)[1]}.{k.__name__}" for k in LAYER_KINDS] == list(KINDS)


def test_every_name_stems_to_its_own_kind():
    wrong = {name: STEMS.get(stem(name)) for name, (kind, _) in build_registry(LAYER_KINDS).items()
             if STEMS.get(stem(name)) != f"{kind.__module__.rsplit('.', 1)[1]}.{kind.__name__}"}
    assert not wrong, f"layers.KINDS misses or misplaces the stems of {wrong}"
    listed = [s for stems in KINDS.values() for s in stems.split()]
    assert len(listed) == len(set(listed)), "a stem listed twice in layers.KINDS"
    used = {(STEMS[stem(name)], stem(name)) for name in build_registry(LAYER_KINDS)}
    stale = [s for path, stems in KINDS.items() for s in stems.split() if (path, s) not in used]
    assert not stale, f"stems in layers.KINDS that no name of their kind has: {stale}"


@pytest.mark.parametrize("name", ["conv2d", "Max_Pool_2D", "BatchNorm2d", "relu", "bottleneck",
                                  "conv4d", "basic_block", "fc", "layer_scale", "LayerScale"])
def test_lookup_answers_as_the_full_registry(name):
    full = build_registry(LAYER_KINDS)
    key = name.lower()
    expected = full.get(key) or next((e for c, e in full.items()
                                      if c.replace("_", "") == key.replace("_", "")), None)
    assert lookup(name) == expected


@pytest.mark.parametrize("name", zoo.names())
def test_the_parsed_zoo_equals_its_yaml(name):
    assert same(zoo.description(name), yaml_load(zoo.text(name), f"zoo:{name}")), \
        "run python scripts/zoo_json.py"


def test_the_parsed_zoo_is_up_to_date():
    spec = importlib.util.spec_from_file_location("zoo_json", ROOT / "scripts" / "zoo_json.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert not script.stale(), f"run python scripts/zoo_json.py; stale: {script.stale()}"


def test_a_zoo_summary_imports_neither_yaml_nor_unused_kinds():
    code = ("import json, sys; from convscope.cli import main; "
            "main(['summary', 'resnet152', '--format', 'json']); print(json.dumps(sorted(m for m "
            "in sys.modules if m.startswith(('yaml', 'convscope.layers.')))), file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    loaded = json.loads(run.stderr.strip().splitlines()[-1])
    assert not [m for m in loaded if m.startswith("yaml")]
    kinds = {m.rsplit(".", 1)[1] for m in loaded} & {p.split(".")[0] for p in KINDS}
    assert kinds == {"input", "conv", "norm", "activation", "pool", "merge", "global_pool",
                     "dense"}


def _fields(action):
    return {k: v for k, v in vars(action).items() if k != "container"}


def _command_parser(parser, command):
    return next(a for a in parser._actions if a.dest == "command").choices[command]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_parser_of_one_command_is_the_full_ones(command):
    alone, full = _command_parser(build_parser([command]), command), \
        _command_parser(build_parser(), command)
    assert alone.format_help() == full.format_help()
    assert [_fields(a) for a in alone._actions] == [_fields(a) for a in full._actions]
    assert alone._defaults == full._defaults


@pytest.mark.parametrize("argv", [[], ["-h"], ["--max-layers", "9", "summary"], ["summry"]])
def test_arguments_not_starting_with_a_command_get_the_whole_parser(argv):
    assert build_parser(argv).format_help() == build_parser().format_help()
    assert len(_command_parser(build_parser(argv), "zoo").prog) > 0
