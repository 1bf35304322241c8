"""PyTorch models as sources for every command (the exact forms, also in the README):

* ``torchvision:NAME``: ``torchvision.models.get_model(NAME, weights=None)``, built on
  the meta device (no weights allocated) and put in eval mode; input 224x224x3
  (299x299x3 for inception_v3) unless ``--input`` says otherwise.
* ``timm:NAME``: ``timm.create_model(NAME, pretrained=False)`` (no weights are read or
  downloaded), built on the meta device where it can be and put in eval mode; input from
  its ``pretrained_cfg['input_size']`` (C, H, W) unless ``--input`` says otherwise.
* ``path/to/file.py:NAME``: the nn.Module class (called without arguments) or the
  function returning a module named NAME in that file; ``--input`` is required.
* ``python:package.module:NAME``: the same, from an importable module.

``--input`` is always H x W x C, as everywhere in convscope (a PyTorch input of shape
(N, 3, 224, 224) is ``--input 224x224x3``). Loading a .py file runs that file: it is
the user's own code, which is the point of this entry point.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from ..errors import ConvscopeError, closest
from ..ir import Graph
from ..layers.base import Shape

FILE_FORM = re.compile(r"(?P<path>.+\.py):(?P<name>[A-Za-z_]\w*)")
DEFAULT_INPUTS = {"inception_v3": (299, 299, 3)}


def _torchvision(name: str) -> Any:
    try:
        import torch
        import torchvision
    except ImportError:
        raise ConvscopeError("torchvision models need torch and torchvision: pip install "
                             "'convscope[torch]' torchvision") from None
    known = torchvision.models.list_models(module=torchvision.models)
    if name not in known:
        raise ConvscopeError(f"torchvision has no classification model '{name}'."
                             f"{closest(name, known)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):  # no weights allocated
                return torchvision.models.get_model(name, weights=None).eval()
        except NotImplementedError:  # a builder that computes with tensors (RegNet)
            return torchvision.models.get_model(name, weights=None).eval()


def _timm(name: str) -> tuple[Any, Shape]:
    try:
        import timm
        import torch
    except ImportError:
        raise ConvscopeError("timm models need torch and timm: pip install 'convscope[torch]' "
                             "timm") from None
    known = timm.list_models()
    if name not in known:
        raise ConvscopeError(f"timm has no model '{name}'.{closest(name, known)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):  # no weights allocated
                model = timm.create_model(name, pretrained=False)
        except Exception:  # noqa: BLE001 - a builder that computes with tensors
            model = timm.create_model(name, pretrained=False)
    channels, height, width = model.pretrained_cfg.get("input_size", (3, 224, 224))
    return model.eval(), (int(height), int(width), int(channels))


def _from_module(module: Any, name: str, where: str) -> Any:
    import torch

    if not hasattr(module, name):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise ConvscopeError(f"{where} has no '{name}'.{closest(name, public)}")
    obj = getattr(module, name)
    model = obj() if callable(obj) and not isinstance(obj, torch.nn.Module) else obj
    if not isinstance(model, torch.nn.Module):
        raise ConvscopeError(f"{where}:{name} gives a {type(model).__name__}, not a "
                             "torch.nn.Module")
    return model


def _from_file(path: str, name: str) -> Any:
    file = Path(path)
    if not file.exists():
        raise ConvscopeError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"convscope_user_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise ConvscopeError(f"{path}: cannot load it as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - the user's file failed
        raise ConvscopeError(f"{path}: running the file failed: {type(err).__name__}: "
                             f"{err}") from None
    return _from_module(module, name, path)


def load_torch_source(source: str, input_shape: Shape | None) -> Graph:
    """The graph of a PyTorch model named by ``source`` (see the module docstring)."""
    from .importer import import_module

    if source.startswith("torchvision:"):
        name = source.split(":", 1)[1]
        model = _torchvision(name)
        shape = input_shape or DEFAULT_INPUTS.get(name, (224, 224, 3))
        return import_module(model, [shape], name)
    if source.startswith("timm:"):
        name = source.split(":", 1)[1]
        model, shape = _timm(name)
        return import_module(model, [input_shape or shape], name)
    if source.startswith("python:"):
        module_name, _, name = source[len("python:"):].rpartition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ConvscopeError(f"cannot import '{module_name}': {err}") from None
        model = _from_module(module, name, module_name)
    else:
        match = FILE_FORM.fullmatch(source)
        assert match is not None
        model = _from_file(match["path"], match["name"])
        name = match["name"]
    if input_shape is None:
        raise ConvscopeError(f"{source}: give the input shape with --input (H x W x C, e.g. "
                             "--input 224x224x3)")
    return import_module(model, [input_shape], name)
