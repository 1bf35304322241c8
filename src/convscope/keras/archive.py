"""Reading a Keras model config from a file: a ``.keras`` archive (a zip; only its
config.json is read, its declared size checked before a bounded read, the weights never
touched) or a ``.json`` file holding ``model.to_json()``."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

from ..errors import ConvscopeError, SpecError
from ..limits import MAX_TEXT_BYTES, echo
from .history import is_keras_config, not_a_model

TOO_BIG = f"larger than convscope reads ({MAX_TEXT_BYTES:,} bytes)"


def read_archive(path: Path) -> bytes:
    """config.json of a .keras zip, its declared size checked before a bounded read."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "config.json" not in names:
                raise SpecError(f"not a Keras 3 .keras archive (no config.json inside; "
                                f"found {echo(', '.join(names[:5]) or 'nothing')})")
            info = archive.getinfo("config.json")
            if info.file_size > MAX_TEXT_BYTES:
                raise SpecError(f"config.json inside the .keras archive declares "
                                f"{info.file_size:,} bytes uncompressed, {TOO_BIG}")
            with archive.open(info) as member:
                data = member.read(MAX_TEXT_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            EOFError, ValueError, zlib.error) as err:
        raise SpecError(f"cannot read the Keras model: not a readable .keras archive (a "
                        f"zip file): {echo(str(err))}") from None
    if len(data) > MAX_TEXT_BYTES:
        raise SpecError(f"config.json inside the .keras archive is {TOO_BIG}")
    return data


def read_config(path: str | Path) -> dict[str, Any]:
    """The model config of a .keras archive or a .json file (model.to_json())."""
    path = Path(path)
    try:
        if not path.is_file():
            raise SpecError("no such file" if not path.exists() else "not a regular file",
                            str(path))
        if path.suffix.lower() == ".keras" or zipfile.is_zipfile(path):
            data = read_archive(path)
        else:
            with path.open("rb") as stream:
                data = stream.read(MAX_TEXT_BYTES + 1)
            if len(data) > MAX_TEXT_BYTES:
                raise SpecError(f"the file is {TOO_BIG}")
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SpecError(f"the Keras config is not UTF-8 text (byte {data[err.start]:#04x} at "
                        f"offset {err.start})", str(path)) from None
    except OSError as err:
        raise SpecError(f"cannot read the Keras model: {err.strerror or err}", str(path)) \
            from None
    except ConvscopeError as err:
        raise err.with_source(str(path)) from None
    config = parse_json(text, str(path))
    if not is_keras_config(config):
        raise SpecError(not_a_model(config), str(path))
    return config


def parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"JSON syntax error: {err.msg}",
                        f"{source}:{err.lineno}:{err.colno}") from None
    except RecursionError:
        raise SpecError("the JSON is nested too deeply to read", source) from None
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise SpecError(f"unreadable JSON value: {echo(str(err))}", source) from None
