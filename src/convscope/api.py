"""The Python API, in the Keras style. Everything here only writes a description
mapping and hands it to the same parser as files, so validation is identical.

Sequential::

    from convscope import Sequential, layers as L
    model = Sequential([L.Conv2D(6, 5, padding="same"), L.BatchNormalization(), L.ReLU(),
                        L.MaxPooling2D(2, 2, padding="same"), L.Dropout(0.2), L.Flatten(),
                        L.Dense(128, activation="relu"), L.Dropout(0.2),
                        L.Dense(10, activation="softmax")], input_shape="32x32x3")
    model.summary()

Functional (any DAG)::

    from convscope import Input, Model, layers as L
    x = Input("28x28x256")
    a = L.Conv2D(64, 1)(x)
    b = L.Conv2D(128, 3, padding="same")(x)
    model = Model(x, L.Concatenate()([a, b]))

Calling a layer object twice creates two layers (weights are not shared).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .analysis.report import Report, analyze
from .errors import SpecError
from .ir import Graph

if TYPE_CHECKING:  # pragma: no cover
    from .display import Diagram, Summary


class LayerCall:
    """One layer of the Python API: a description item, callable on symbolic tensors."""

    def __init__(self, type_name: str, **args: Any) -> None:
        self.item: dict[str, Any] = {"type": type_name,
                                     **{k: v for k, v in args.items() if v is not None}}

    def __call__(self, inputs: SymbolicTensor | list[SymbolicTensor]) -> SymbolicTensor:
        parents = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        for p in parents:
            if not isinstance(p, SymbolicTensor):
                raise SpecError(f"layer '{self.item['type']}' must be called on Input(...) or "
                                f"the output of another layer; received {p!r}")
        return SymbolicTensor(dict(self.item), tuple(parents))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.item.items() if k != "type")
        return f"{self.item['type']}({args})"


class SymbolicTensor:
    """The output of a layer in a functional model (no values, only the wiring)."""

    def __init__(self, item: dict[str, Any], parents: tuple[SymbolicTensor, ...] = ()):
        self.item = item
        self.parents = parents

    def __repr__(self) -> str:
        return f"<SymbolicTensor of {self.item['type']}>"


def Input(shape: Any, name: str | None = None) -> SymbolicTensor:  # noqa: N802 - Keras name
    """A model input; ``shape`` as in the seeds, e.g. '32x32x3' or (32, 32, 3)."""
    item: dict[str, Any] = {"type": "input", "shape": shape}
    if name:
        item["name"] = name
    return SymbolicTensor(item)


class _Described:
    """Shared by Sequential and Model: analysis and summaries of the description."""

    description: dict[str, Any]

    def graph(self, input_shape: Any = None) -> Graph:
        from .sources import load

        return load(self.description, input_shape)

    def analyze(self, batch: int = 1, dtype: str = "float32") -> Report:
        return analyze(self.graph(), batch=batch, dtype=dtype)

    def summary(self, fmt: str = "table", columns: str | None = None, batch: int = 1,
                dtype: str = "float32", print_fn: Callable[[str], Any] | None = print
                ) -> Summary:
        """Print the summary (like Keras's model.summary()) and return the report (a
        Summary, which displays itself in notebooks)."""
        from .display import Summary
        from .render import render

        report = self.analyze(batch, dtype)
        if print_fn is not None:
            print_fn(render(report, fmt, columns).rstrip("\n"))
        return Summary.of(report)

    def count_params(self) -> int:
        return self.analyze().totals.params

    def _repr_html_(self) -> str:
        """In a notebook, a model shows its summary table."""
        from .render.notebook import report_html

        return report_html(self.analyze())


class Sequential(_Described):
    """A plain stack of layers."""

    def __init__(self, layers: Iterable[LayerCall] = (), input_shape: Any = None,
                 name: str = "sequential") -> None:
        self.name = name
        self.input_shape = input_shape
        self._layers: list[LayerCall] = []
        for layer in layers:
            self.add(layer)

    def add(self, layer: LayerCall) -> None:
        if not isinstance(layer, LayerCall):
            raise SpecError(f"Sequential takes layers from convscope.layers; received {layer!r}")
        self._layers.append(layer)

    @property
    def description(self) -> dict[str, Any]:  # type: ignore[override]
        out: dict[str, Any] = {"name": self.name,
                               "layers": [dict(layer.item) for layer in self._layers]}
        if self.input_shape is not None:
            out["input"] = self.input_shape
        return out


class Model(_Described):
    """A functional model: inputs and outputs are symbolic tensors; any DAG."""

    def __init__(self, inputs: Any, outputs: Any, name: str = "model") -> None:
        self.name = name
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        self.description = self._describe()

    def _describe(self) -> dict[str, Any]:
        from .description.parse import base_name, lookup

        order: list[SymbolicTensor] = []
        seen: set[int] = set()
        stack: list[tuple[SymbolicTensor, bool]] = [(t, False) for t in reversed(self.outputs)]
        while stack:  # iterative post-order: no recursion limit on deep models
            tensor, expanded = stack.pop()
            if id(tensor) in seen:
                continue
            if expanded:
                seen.add(id(tensor))
                order.append(tensor)
                continue
            stack.append((tensor, True))
            stack.extend((p, False) for p in reversed(tensor.parents) if id(p) not in seen)
        taken = {t.item["name"] for t in order if "name" in t.item}
        names: dict[int, str] = {}
        counters: dict[str, int] = {}
        for t in order:
            if "name" in t.item:
                names[id(t)] = t.item["name"]
                continue
            entry = lookup(str(t.item["type"]))
            base = base_name(entry[0], t.item["type"]) if entry else str(t.item["type"])
            while True:
                counters[base] = counters.get(base, 0) + 1
                candidate = f"{base}{counters[base]}"
                if candidate not in taken:
                    break
            taken.add(candidate)
            names[id(t)] = candidate
        missing = [t for t in self.inputs if id(t) not in names]
        inputs = {names[id(t)]: t.item["shape"] for t in order if t.item["type"] == "input"}
        if missing or len(inputs) != len(self.inputs):
            raise SpecError("Model(inputs, outputs): every input must be an Input(...) that "
                            "the outputs depend on")
        layers = [{**{k: v for k, v in t.item.items() if k != "name"}, "name": names[id(t)],
                   "inputs": [names[id(p)] for p in t.parents]}
                  for t in order if t.item["type"] != "input"]
        return {"name": self.name, "inputs": inputs, "layers": layers,
                "outputs": [names[id(t)] for t in self.outputs]}


def _graph_of(model: Any, input_shape: Any, input_size: Any) -> tuple[Graph, int | None]:
    """The graph of what ``summary`` and ``draw`` take, and the batch torchinfo's
    ``input_size`` gives (None otherwise)."""
    from .display import is_torch_module, module_graph
    from .sources import load

    if is_torch_module(model):
        return module_graph(model, input_size)
    if isinstance(model, _Described):
        return model.graph(input_shape), None
    return load(model, input_shape), None


def summary(model: Any, input_shape: Any = None, fmt: str = "table", columns: str | None = None,
            batch: int = 1, dtype: str = "float32",
            print_fn: Callable[[str], Any] | None = print, depth: int | None = None,
            input_size: Any = None) -> Summary:
    """Analyse a model, print it in ``fmt`` and return the report (a Summary: a Report
    that displays itself in notebooks).

    Args:
        model: a zoo id, file, one-line text, mapping, Sequential / Model, any source name
            (``timm:...``), or a ``torch.nn.Module``.
        input_shape: overrides the input shape, H x W x C ('224x224x3' or a tuple).
        input_size: for a torch.nn.Module, torchinfo's size of each input, batch first
            and channels first: ``(1, 3, 224, 224)``; its batch sets ``batch``.
        depth: one row per module that many levels deep, counts summed (torchinfo's).
        print_fn: None prints nothing (in a notebook the returned value shows itself).
    """
    from .display import Summary
    from .render import render

    graph, size_batch = _graph_of(model, input_shape, input_size)
    report = analyze(graph, batch=size_batch or batch, dtype=dtype)
    if depth is not None:
        from .analysis.rollup import rollup

        report = rollup(report, depth)
    if print_fn is not None:
        print_fn(render(report, fmt, columns).rstrip("\n"))
    return Summary.of(report)


def draw(model: Any, style: str = "blocks", labels: tuple[str, ...] = ("name", "shape", "params"),
         input_shape: Any = None, input_size: Any = None, width: int = 1600,
         depth: int | None = None) -> Diagram:
    """A drawing of a model (any source ``summary`` takes) that displays itself in notebooks
    and saves as .svg or .png: ``convscope.draw("googlenet").save("g.png")``; ``depth``
    (graph style) draws each module that many levels deep as one box."""
    from .display import Diagram
    from .render.diagram import draw as draw_svg

    graph, _ = _graph_of(model, input_shape, input_size)
    return Diagram(draw_svg(analyze(graph), style, tuple(labels), width, depth))


# ------------------------------------------------------------ layer factories ---
def _factory(type_name: str, positional: tuple[str, ...] = ()) -> Callable[..., LayerCall]:
    def make(*args: Any, **kwargs: Any) -> LayerCall:
        if len(args) > len(positional):
            raise SpecError(f"{type_name} takes at most {len(positional)} positional "
                            f"arguments ({', '.join(positional)}); received {len(args)}")
        return LayerCall(type_name, **dict(zip(positional, args, strict=False)), **kwargs)

    make.__name__ = type_name
    make.__doc__ = f"A '{type_name}' layer; positional arguments: {', '.join(positional)}."
    return make


_CONV = ("filters", "kernel_size", "strides", "padding")
_POOL = ("pool_size", "strides", "padding")
layers = SimpleNamespace(
    Conv1D=_factory("conv1d", _CONV), Conv2D=_factory("conv2d", _CONV),
    Conv3D=_factory("conv3d", _CONV),
    Conv1DTranspose=_factory("conv1d_transpose", _CONV),
    Conv2DTranspose=_factory("conv2d_transpose", _CONV),
    Conv3DTranspose=_factory("conv3d_transpose", _CONV),
    DepthwiseConv2D=_factory("depthwise_conv2d", ("kernel_size", "strides", "padding")),
    MaxPooling1D=_factory("maxpool1d", _POOL), MaxPooling2D=_factory("maxpool2d", _POOL),
    MaxPooling3D=_factory("maxpool3d", _POOL), MaxPool2D=_factory("maxpool2d", _POOL),
    AveragePooling1D=_factory("avgpool1d", _POOL), AveragePooling2D=_factory("avgpool2d", _POOL),
    AveragePooling3D=_factory("avgpool3d", _POOL), AvgPool2D=_factory("avgpool2d", _POOL),
    GlobalAveragePooling1D=_factory("gap1d"), GlobalAveragePooling2D=_factory("gap2d"),
    GlobalAveragePooling3D=_factory("gap3d"), GlobalMaxPooling2D=_factory("gmp2d"),
    Dense=_factory("dense", ("units", "activation")), FC=_factory("fc", ("units",)),
    Flatten=_factory("flatten"), Reshape=_factory("reshape", ("target_shape",)),
    Dropout=_factory("dropout", ("rate",)),
    BatchNormalization=_factory("batchnorm"), LayerNormalization=_factory("layernorm"),
    Activation=_factory("activation", ("activation",)), ReLU=_factory("relu"),
    Softmax=_factory("softmax"), Add=_factory("add"), Multiply=_factory("multiply"),
    Concatenate=_factory("concat", ("axis",)),
    ZeroPadding2D=_factory("zeropadding2d", ("padding",)),
    UpSampling2D=_factory("upsampling2d", ("size",)),
    Conv=_factory("conv", ("out_channels", "kernel_size", "stride", "padding")),
    Linear=_factory("linear", ("units",)),
    layer=lambda type_name, **kwargs: LayerCall(type_name, **kwargs),
)
