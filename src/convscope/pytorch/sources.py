"""PyTorch models as sources for every command (the exact forms, also in the README):

* ``torchvision:NAME``: ``torchvision.models.get_model(NAME, weights=None)`` (and
  ``weights_backbone=None``) for every builder of ``torchvision.models.list_models()``
  (classification, quantization, segmentation, detection, video, optical flow), built on
  the meta device (no weights allocated) and put in eval mode. Input, unless ``--input``
  says otherwise (H x W x C; T x H x W x C for video), the size the weights-free builder
  is defined for:
  classification and quantization 224x224x3 (299x299x3 for the inception_v3 ones, the crop
  of their weights' transforms); segmentation 520x520x3 (the resize of their weights'
  transforms); video 16 frames of the crop of their weights' transforms (16x112x112x3 for
  r3d_18, mc3_18 and r2plus1d_18, 16x224x224x3 for mvit, s3d and swin3d); optical flow two
  frames of 128x128x3 (RAFT's minimum); detection 320x320x3 (the models resize their input
  themselves). Detection models in eval mode choose boxes from the data's values (score
  thresholds, NMS): they are refused with the operation that needs real data.
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
DEFAULT_INPUTS = {"inception_v3": (299, 299, 3), "quantized_inception_v3": (299, 299, 3)}
TASK_INPUTS = {"segmentation": [(520, 520, 3)], "detection": [(320, 320, 3)],
               "optical_flow": [(128, 128, 3), (128, 128, 3)]}
VIDEO_FRAMES = 16


def torchvision_inputs(name: str) -> list[Shape]:
    """The input(s) of ``torchvision:NAME`` (see the module docstring)."""
    import torchvision

    if name in DEFAULT_INPUTS:
        return [DEFAULT_INPUTS[name]]
    task = torchvision_task(name)
    if task in TASK_INPUTS:
        return TASK_INPUTS[task]
    if task == "video":
        crop = (112, 112)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:  # the enum is local: nothing is downloaded
                transforms = torchvision.models.get_model_weights(name).DEFAULT.transforms
                crop = tuple(transforms.keywords["crop_size"])  # type: ignore[union-attr]
            except (AttributeError, KeyError, TypeError, ValueError):
                pass
        return [(VIDEO_FRAMES, int(crop[0]), int(crop[-1]), 3)]
    return [(224, 224, 3)]


def torchvision_task(name: str) -> str:
    """'classification', 'quantization', 'segmentation', 'detection', 'video' or
    'optical_flow': the sub-package of torchvision.models that has the builder."""
    import torchvision.models as models

    for task in ("segmentation", "detection", "video", "optical_flow", "quantization"):
        sub = getattr(models, task, None)
        if sub is not None and name in models.list_models(module=sub):
            return task
    return "classification"


def _torchvision(name: str) -> Any:
    try:
        import torch  # noqa: F401 - required, used by meta_build
        import torchvision
    except ImportError:
        raise ConvscopeError("torchvision models need torch and torchvision: pip install "
                             "'convscope[torch]' torchvision") from None
    known = torchvision.models.list_models()
    if name not in known:
        raise ConvscopeError(f"torchvision has no model '{name}'.{closest(name, known)}")
    # no weights anywhere: segmentation and detection builders would fetch their backbone's
    kwargs: dict[str, Any] = {"weights": None}
    if torchvision_task(name) in ("segmentation", "detection"):
        kwargs["weights_backbone"] = None
    return meta_build(lambda: torchvision.models.get_model(name, **kwargs)).eval()


def meta_build(build: Any) -> Any:
    """``build()`` with no weights allocated: on the meta device; a builder that computes
    with tensors (RegNet's widths, ``.tolist()``) fails there, so then only the tensors
    created by ``empty`` / ``zeros`` / ``rand`` ... (parameters and buffers) go to meta,
    else (a builder that still fails) it is built on the CPU."""
    import torch
    from torch.overrides import TorchFunctionMode

    factories = {torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn,
                 torch.empty_strided}

    class MetaFactories(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            kwargs = dict(kwargs or {})
            if func in factories:
                kwargs["device"] = "meta"
            return func(*args, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for context in (lambda: torch.device("meta"), MetaFactories):
            try:
                with context(), init_skipped():
                    return build()
            except Exception:  # noqa: BLE001, S112 - the next way to build it
                continue
        return build()


def init_skipped() -> Any:
    """A dispatch mode under which initialising a meta tensor in place (``normal_``,
    ``uniform_``, ``fill_``, ``zero_``, ``copy_`` and in-place pointwise arithmetic:
    ``torch.nn.init``) returns it at once. A meta tensor has no values to set, but PyTorch
    still runs those operations' meta kernels, in Python: three quarters of building
    torchvision's resnet50 on the meta device went there."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    setters = {aten.normal_, aten.uniform_, aten.random_, aten.exponential_, aten.bernoulli_,
               aten.log_normal_, aten.cauchy_, aten.geometric_, aten.fill_, aten.zero_,
               aten.copy_}

    class InitSkipped(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            x = args[0] if args else None
            if isinstance(x, torch.Tensor) and x.is_meta and (
                    func._overloadpacket in setters or torch.Tag.inplace in func.tags and
                    torch.Tag.pointwise in func.tags):
                return x
            return func(*args, **(kwargs or {}))

    return InitSkipped()


def _timm(name: str) -> tuple[Any, Shape]:
    try:
        import timm
        import torch  # noqa: F401 - required, used by meta_build
    except ImportError:
        raise ConvscopeError("timm models need torch and timm: pip install 'convscope[torch]' "
                             "timm") from None
    known = timm.list_models()
    if name not in known:
        raise ConvscopeError(f"timm has no model '{name}'.{closest(name, known)}")
    model = meta_build(lambda: timm.create_model(name, pretrained=False))
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
        shapes = torchvision_inputs(name)
        if input_shape is not None:
            shapes = [input_shape] * len(shapes)
        return import_module(model, shapes, name)
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
