"""The layer registry: every kind convscope knows, listed explicitly.

Adding a kind = one class in this package + one entry in ``KINDS``: its module and class,
and the names it registers (its ``kind`` and ``aliases``) written as ``stem`` writes them
(underscores and a 1d / 2d / 3d ending dropped). The registry-driven tests
(tests/test_layers_vs_torch.py) then sweep it against PyTorch, and
tests/test_cold_start.py checks ``KINDS`` against the classes.

``REGISTRY`` maps every name a description may use (kinds and their aliases, e.g.
``conv2d``, ``maxpool``, ``fc``) to ``(kind class, fixed args)`` and refuses duplicates.
It imports a kind's module when one of the kind's names is first looked up (issue 16: a
command reading resnet152 imports the modules of its eight kinds, not all of them);
``LAYER_KINDS`` (every kind, in ``KINDS``'s order) imports them all when first asked for.
The stems only choose the module to import (what a name means always comes from its
class); a name whose stem is not listed is registered by no kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import Any

from .base import GLOBAL, IDENTITY, Layer, ParamCount, RFStep, Shape, shape_str

Entry = tuple[type[Layer], dict[str, Any]]

# "module.Class" -> the stems of the names the kind registers (see stem())
KINDS: dict[str, str] = {
    "input.Input": "input",
    "conv.Conv": "conv convolution depthwiseconv",
    "separable.SeparableConv": "separableconv sepconv",
    "conv_transpose.ConvTranspose": "convtranspose deconv transposedconv conv1dtranspose "
                                    "conv2dtranspose conv3dtranspose",
    "pool.Pool": "pool maxpool maxpooling avgpool averagepooling avgpooling lppool powerpool",
    "global_pool.GlobalPool": "globalpool gap globalavgpool globalaveragepooling gmp "
                              "globalmaxpool globalmaxpooling",
    "global_pool.AdaptivePool": "adaptivepool adaptiveavgpool adaptivemaxpool",
    "dense.Dense": "dense linear fc fullyconnected",
    "reshape.Flatten": "flatten",
    "reshape.Reshape": "reshape",
    "padding.ZeroPad": "zeropadding pad zeropad",
    "upsample.Upsample": "upsample upsampling",
    "norm.BatchNorm": "batchnorm bn batchnormalization",
    "layer_norm.LayerNorm": "layernorm layernormalization ln",
    "group_norm.GroupNorm": "groupnorm gn groupnormalization",
    "lrn.LRN": "lrn localresponsenorm",
    "dropout.Dropout": "dropout spatialdropout",
    "activation.Activation": "activation celu elu gelu geluapproximate gelupytorchtanh "
                             "gelutanh hardshrink hardsigmoid hardsilu hardswish hardtanh "
                             "identity leakyrelu logsoftmax mish relu relu6 selu sigmoid silu "
                             "softshrink softmax softplus swish tanh",
    "concat.Concat": "concat concatenate cat",
    "merge.Merge": "merge add subtract multiply average maximum minimum",
    "rescaling.Rescaling": "rescaling scale",
    "rescaling.Normalization": "normalization",
    "structure.Slice": "slice narrow",
    "structure.Permute": "permute transpose",
    "embedding.Embedding": "embedding",
    "recurrent.Recurrent": "recurrent rnn simplernn lstm gru",
    "opaque.Opaque": "opaque unmapped",
    "layer_scale.LayerScale": "layerscale",
    "rms_norm.RMSNorm": "rmsnorm rmsnormalization",
    "position_embedding.PositionEmbedding": "positionembedding posembed positionalembedding "
                                            "learnedpositionembedding",
    "class_token.ClassToken": "classtoken clstoken learnedtokens",
    "matmul.MatMul": "matmul bmm",
    "attention.Attention": "attention scaleddotproductattention sdpa",
}

STEMS = {stem: path for path, stems in KINDS.items() for stem in stems.split()}


def stem(name: str) -> str:
    """'max_pooling2d' -> 'maxpooling': underscores and a 1d / 2d / 3d ending dropped."""
    name = name.replace("_", "")
    return name[:-2] if name[-2:] in ("1d", "2d", "3d") else name


def kind_class(path: str) -> type[Layer]:
    """The class of a ``KINDS`` key ('conv.Conv'), its module imported."""
    module, name = path.split(".")
    return getattr(import_module(f".{module}", __name__), name)  # type: ignore[no-any-return]


def build_registry(kinds: tuple[type[Layer], ...]) -> dict[str, Entry]:
    """Name -> (kind, fixed arguments); raises on a name registered twice."""
    registry: dict[str, Entry] = {}
    for kind in kinds:
        for name, fixed in ((kind.kind, {}), *kind.aliases.items()):
            if name in registry:
                raise RuntimeError(f"duplicate registrations for layer name '{name}': "
                                   f"{registry[name][0].__name__} and {kind.__name__}")
            registry[name] = (kind, dict(fixed))
    return registry


class LazyRegistry(Mapping[str, Entry]):
    """``build_registry(LAYER_KINDS)``, whose kinds are imported as their names are asked for
    (the stems say which module); iterating it imports every kind."""

    def __init__(self) -> None:
        self._found: dict[str, Entry] = {}
        self._complete = False

    def _load(self, path: str) -> None:
        for name, entry in build_registry((kind_class(path),)).items():
            self._found.setdefault(name, entry)  # one step: threads lose no entry

    def _load_all(self) -> dict[str, Entry]:
        if not self._complete:
            everything = build_registry(all_kinds())  # refuses duplicates
            self._found = {**everything, **self._found}
            self._complete = True
        return self._found

    def __getitem__(self, name: str) -> Entry:
        found = self._found.get(name)
        if found is None and not self._complete and isinstance(name, str):
            path = STEMS.get(stem(name))  # none: no kind registers the name (test_cold_start)
            if path is not None:
                self._load(path)
                found = self._found.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._load_all())

    def __len__(self) -> int:
        return len(self._load_all())


def all_kinds() -> tuple[type[Layer], ...]:
    """Every kind, in ``KINDS``'s order (their modules imported)."""
    return tuple(kind_class(path) for path in KINDS)


REGISTRY = LazyRegistry()


def __getattr__(name: str) -> Any:
    """``LAYER_KINDS`` and the kinds' classes (``from convscope.layers import Conv``),
    imported when first asked for."""
    if name == "LAYER_KINDS":
        globals()[name] = value = all_kinds()
        return value
    path = next((p for p in KINDS if p.split(".")[1] == name), None)
    if path is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return kind_class(path)


__all__ = ["GLOBAL", "IDENTITY", "LAYER_KINDS", "REGISTRY", "Layer", "ParamCount", "RFStep",
           "Shape", "build_registry", "shape_str"]
