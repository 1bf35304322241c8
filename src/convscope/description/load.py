"""Where descriptions come from: a zoo id, a YAML / JSON file, or a one-line form.

Syntax errors name the file, line and column. Files are data: nothing in a
description is ever executed.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import TYPE_CHECKING, Any

from .. import limits
from ..errors import ConvscopeError, LayerRuleError, SpecError, closest
from ..gc_pause import paused
from ..ir import Graph
from ..layers.base import Shape
from ..limits import echo
from .args import parse_shape
from .kinds import one_line
from .oneline import parse_line
from .parse import parse

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path


def is_path(value: Any) -> bool:
    """``isinstance(value, pathlib.Path)``, without importing pathlib (issue 16): until it is
    imported, no Path exists."""
    pathlib = sys.modules.get("pathlib")
    return pathlib is not None and isinstance(value, pathlib.Path)


def read_text(text: str, source: str, suffix: str = ".yaml") -> Any:
    """Parse YAML or JSON text, with file:line:column on syntax errors; refuses text beyond
    limits.MAX_TEXT_BYTES, alias bombs, deep nesting and duplicate keys (spec.reader).
    The readers are imported here, when text is read (a zoo id needs neither)."""
    if suffix == ".json":
        from .json_reader import json_load

        return json_load(text, source)
    from .reader import yaml_load

    return yaml_load(text, source)


def _kind(mode: int) -> str:
    """What a non-regular file is, for a message."""
    for test, what in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def read_bytes(path: Path) -> bytes:
    """At most MAX_TEXT_BYTES + 1 bytes of a *regular* file. Opened without blocking (a FIFO
    would wait for a writer forever) and checked on the open descriptor (no race between a
    check and the open): folders, FIFOs, devices and sockets are refused."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SpecError(f"{_kind(mode)}, not a regular file; a description is a YAML or "
                            "JSON file", echo(str(path)))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limits.MAX_TEXT_BYTES + 1)
    finally:
        os.close(fd)


def read_file(path: str | Path) -> Any:
    from pathlib import Path

    path = Path(path)
    try:
        data = read_bytes(path)
    except (OSError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise SpecError(f"cannot read the file: {reason}", echo(str(path))) from None
    if len(data) > limits.MAX_TEXT_BYTES:
        raise SpecError(f"the file is larger than {limits.MAX_TEXT_BYTES:,} bytes, the most a "
                        "description may be", echo(str(path)))
    if b"\0" in data:
        raise SpecError("a binary file, not a YAML / JSON description", echo(str(path)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"not UTF-8 text (byte {err.start:,}); a description is a UTF-8 YAML "
                        "or JSON file", echo(str(path))) from None
    if not text.strip():
        raise SpecError("the file is empty; a description needs 'input' and 'layers'",
                        echo(str(path)))
    return read_text(text.removeprefix("\ufeff"), str(path), path.suffix.lower())


def load_description(source: str) -> tuple[Any, str]:
    """The description mapping for a zoo id, a file path or a one-line form,
    and the name to attribute errors to."""
    from .. import zoo

    if len(source) > limits.MAX_TEXT_BYTES:
        raise SpecError(f"the description is {len(source):,} characters; at most "
                        f"{limits.MAX_TEXT_BYTES:,}")
    if "|" in source:
        try:
            return parse_line(source), "one-line"
        except ConvscopeError as err:
            raise one_line(err).with_source("one-line") from None
    if source in zoo.names():
        return zoo.description(source), f"zoo:{source}"
    from pathlib import Path

    path = Path(source)
    try:
        exists = "\0" not in source and path.exists()
    except (OSError, ValueError):
        exists = False
    if path.suffix.lower() in (".yaml", ".yml", ".json") or exists:
        if not exists:
            raise SpecError("no such file", echo(source))
        return read_file(path), source
    hint = closest(source, zoo.names()) if len(source) < 100 else ""
    raise SpecError(f"'{echo(source)}' is not a zoo model, a .yaml/.json file or a one-line "
                    f"description (layers separated by '|').{hint} "
                    "Run 'convscope zoo' for the models")


def parse_override(input_shape: Any) -> Shape | None:
    """The ``--input`` override ('224x224x3', a list or tuple, or None) as a shape, or a
    SpecError saying what is wrong with it."""
    if input_shape is None:
        return None
    if isinstance(input_shape, str) and not input_shape.strip():
        raise SpecError("--input is empty; give a shape like 224x224x3 (H x W x C)")
    try:
        return parse_shape(input_shape, "--input")
    except LayerRuleError as err:
        raise SpecError(err.message, **err.details()) from None


@paused()  # see gc_pause.py: linear time on large graphs
def load(source: Any, input_shape: str | Shape | None = None) -> Graph:
    """A description (zoo id, .yaml / .json path, one-line text or mapping) -> validated
    Graph. Models from PyTorch, Keras or ONNX go through :func:`convscope.sources.load`.

    Args:
        source: a zoo id ('vgg16'), a path to .yaml/.json, a one-line form
            ('32x32x1 | conv5-6 | ...') or a description mapping.
        input_shape: overrides the input shape ('224x224x3' or a tuple).

    Raises:
        ConvscopeError: with the source (file name, 'zoo:vgg16', 'one-line') attached.
    """
    override = parse_override(input_shape)
    if isinstance(source, dict):
        description, origin = source, "<description>"
    elif isinstance(source, str) or is_path(source):
        description, origin = load_description(str(source))
    else:
        raise SpecError(f"a description is a zoo id, a file path, a one-line text or a mapping; "
                        f"received a {type(source).__name__}")
    try:
        return parse(description, override)
    except ConvscopeError as err:
        raise one_line(err).with_source(origin) from None
