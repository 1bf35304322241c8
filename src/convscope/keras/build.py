"""convscope graph -> a Keras 3 functional model (``convscope build MODEL --to keras``).

One function per layer kind returns the Keras layers for a node (usually one; explicit
padding becomes a ZeroPadding layer before a ``valid`` layer, PyTorch's integer padding
of a transposed convolution a Cropping layer after it). Kinds or settings Keras has no
layer for (LRN, ceil-mode or dilated pooling, grouped transposed convolutions, PyTorch's
BatchNorm without running statistics, opaque layers, ...) are refused with a message that
names the layer. Counts agree with convscope's by construction of the rules (Keras's
conventions are convscope's); the tests check ``count_params()`` for the whole zoo.

Values, not counts: max pooling after explicit padding (or in ceil mode, whose last
partial window becomes padding on the far side) pads with zeros in Keras where PyTorch
pads with -inf; the two agree after a ReLU, which is where networks use it. Layer names
lose '.' and '/' (Keras forbids them): 'layer1.0.conv1' becomes 'layer1_0_conv1'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConvscopeError
from ..ir import Graph, Node
from ..layers.base import Shape
from .sources import import_keras

Builder = Callable[[Any, Any, tuple[Shape, ...], str], list[Any]]


class CannotExpress(ConvscopeError):
    """A layer Keras has no equivalent for."""


def refuse(why: str) -> None:
    raise CannotExpress(why)


def keras_name(name: str) -> str:
    """Keras layer names cannot hold '.' or '/' (they name weights): 'layer1.0.conv1' ->
    'layer1_0_conv1'."""
    return name.replace(".", "_").replace("/", "_")


def explicit(padding: Any, pads: Any, layers: Any, ndim: int, name: str) -> tuple[str, list[Any]]:
    """Keras's padding word, plus a ZeroPadding layer when the padding is explicit."""
    if padding in ("valid", "same"):
        return padding, []
    if all(b == 0 and a == 0 for b, a in pads):
        return "valid", []
    pad = getattr(layers, f"ZeroPadding{ndim}D")(
        padding=tuple(tuple(p) for p in pads) if ndim > 1 else tuple(pads[0]),
        name=f"{name}_pad")
    return "valid", [pad]


def act(function: str | None) -> str | None:
    return {"silu": "swish", "hardswish": "hard_silu"}.get(function or "", function)


def conv(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    n = len(layer.kernel_size)
    padding, pre = explicit(layer.padding, layer.pads(inputs[0][:-1]), layers, n, name)
    common = {"kernel_size": layer.kernel_size, "strides": layer.stride, "padding": padding,
              "dilation_rate": layer.dilation, "use_bias": layer.bias,
              "activation": act(layer.activation), "name": name}
    if layer.groups == layer.in_channels and layer.groups > 1 and n < 3:
        return [*pre, getattr(layers, f"DepthwiseConv{n}D")(
            depth_multiplier=layer.out_channels // layer.in_channels, **common)]
    return [*pre, getattr(layers, f"Conv{n}D")(layer.out_channels, groups=layer.groups,
                                                **common)]


def separable(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    n = len(layer.kernel_size)
    padding, pre = explicit(layer.padding, layer.depthwise().pads(inputs[0][:-1]), layers, n,
                            name)
    return [*pre, getattr(layers, f"SeparableConv{n}D")(
        layer.out_channels, layer.kernel_size, strides=layer.stride, padding=padding,
        dilation_rate=layer.dilation, depth_multiplier=layer.depth_multiplier,
        use_bias=layer.bias, activation=act(layer.activation), name=name)]


def conv_transpose(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    n = len(layer.kernel_size)
    if layer.groups != 1:
        refuse("Keras's transposed convolutions have no groups")
    padding = layer.padding if layer.padding in ("valid", "same") else "valid"
    out = [getattr(layers, f"Conv{n}DTranspose")(
        layer.out_channels, layer.kernel_size, strides=layer.stride, padding=padding,
        output_padding=layer.output_padding, dilation_rate=layer.dilation,
        use_bias=layer.bias, name=name)]
    if layer.padding not in ("valid", "same"):  # PyTorch's padding crops the output
        crop = tuple((b, a) for b, a in layer.padding)
        if any(b or a for b, a in crop):
            out.append(getattr(layers, f"Cropping{n}D")(
                cropping=crop if n > 1 else crop[0], name=f"{name}_crop"))
    return out


def pool(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    n = len(layer.kernel_size)
    if layer.mode == "lp":
        refuse("Keras has no power-average (L2) pooling layer")
    if any(d != 1 for d in layer.dilation):
        refuse("Keras's pooling has no dilation")
    pads = layer.pads(inputs[0][:-1])
    if layer.ceil_mode:  # the last, partial window: pad the far side for it
        out = layer.output_shape(inputs)[:-1]
        extra = [max((o - 1) * s + k - (size + b + a), 0) for o, s, k, size, (b, a)
                 in zip(out, layer.stride, layer.kernel_size, inputs[0][:-1], pads, strict=True)]
        if any(extra) and layer.mode != "max":
            refuse("Keras's average pooling has no ceil mode (here it changes the output size)")
        pads = tuple((b, a + e) for (b, a), e in zip(pads, extra, strict=True))
        padding = "explicit" if any(extra) else layer.padding
    else:
        padding = layer.padding
    padding, pre = explicit(padding, pads, layers, n, name)
    cls = "MaxPooling" if layer.mode == "max" else "AveragePooling"
    return [*pre, getattr(layers, f"{cls}{n}D")(pool_size=layer.kernel_size,
                                                 strides=layer.stride, padding=padding,
                                                 name=name)]


def global_pool(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    cls = "GlobalAveragePooling" if layer.mode == "avg" else "GlobalMaxPooling"
    return [getattr(layers, f"{cls}{layer.ndim}D")(keepdims=layer.keepdims, name=name)]


def adaptive_pool(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    spatial = inputs[0][:-1]
    n = len(spatial)
    if all(o == 1 for o in layer.output_size):
        cls = "GlobalAveragePooling" if layer.mode == "avg" else "GlobalMaxPooling"
        return [getattr(layers, f"{cls}{n}D")(keepdims=True, name=name)]
    if any(s % o for s, o in zip(spatial, layer.output_size, strict=True)):
        refuse("Keras has no adaptive pooling; the input does not divide into the output "
               "size")
    size = tuple(s // o for s, o in zip(spatial, layer.output_size, strict=True))
    cls = "MaxPooling" if layer.mode == "max" else "AveragePooling"
    return [getattr(layers, f"{cls}{n}D")(pool_size=size, name=name)]


def dense(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    pre = [layers.Flatten(name=f"{name}_flatten")] if layer._flattens(inputs[0]) else []
    return [*pre, layers.Dense(layer.units, use_bias=layer.bias,
                               activation=act(layer.activation), name=name)]


def reshape(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    if layer.layout != "channels_last":
        refuse("a channels_first reshape has no Keras layer")
    return [layers.Reshape(layer.output_shape(inputs), name=name)]


def zero_padding(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    n = len(inputs[0]) - 1
    if any(layer.channels) or any(b < 0 or a < 0 for b, a in layer.padding):
        refuse("Keras's ZeroPadding pads spatial axes only, by non-negative amounts")
    pads = tuple(tuple(p) for p in layer.padding)
    return [getattr(layers, f"ZeroPadding{n}D")(padding=pads if n > 1 else pads[0], name=name)]


def upsample(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    n = len(inputs[0]) - 1
    if n == 2:
        mode = "bilinear" if layer.mode != "nearest" else "nearest"
        return [layers.UpSampling2D(size=layer.scale_factor, interpolation=mode, name=name)]
    if layer.mode != "nearest":
        refuse(f"Keras's UpSampling{n}D is nearest-neighbour only")
    size = layer.scale_factor if n > 1 else layer.scale_factor[0]
    return [getattr(layers, f"UpSampling{n}D")(size=size, name=name)]


def batchnorm(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    if not layer.track_running_stats:
        refuse("Keras's BatchNormalization always keeps moving statistics")
    return [layers.BatchNormalization(epsilon=layer.eps, momentum=1.0 - layer.momentum,
                                      center=layer.center, scale=layer.scale, name=name)]


def layernorm(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    rank = len(inputs[0])
    axis = -1 if len(layer.normalized) == 1 else list(range(rank - len(layer.normalized) + 1,
                                                             rank + 1))
    return [layers.LayerNormalization(axis=axis, epsilon=layer.eps, scale=layer.affine,
                                      center=layer.affine and layer.bias, name=name)]


def activation(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    f = layer.function
    if f == "relu6":
        return [layers.ReLU(max_value=6.0, name=name)]
    if f == "leaky_relu":
        return [layers.LeakyReLU(negative_slope=layer.negative_slope, name=name)]
    if f == "softmax":
        return [layers.Softmax(axis=-1, name=name)]
    return [layers.Activation(act(f), name=name)]


def concat(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    return [layers.Concatenate(axis=layer.axis + 1 if layer.axis >= 0 else layer.axis,
                               name=name)]


def merge(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    classes = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply",
               "average": "Average", "maximum": "Maximum", "minimum": "Minimum"}
    return [getattr(layers, classes[layer.op])(name=name)]


def normalization(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    if layer.adapted:
        return [layers.Normalization(axis=-1, name=name)]
    return [layers.Normalization(axis=-1, mean=list(layer.mean),
                                 variance=list(layer.variance), name=name)]


def recurrent(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    cls = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}[layer.cell]
    kwargs: dict[str, Any] = {"return_sequences": layer.return_sequences,
                              "use_bias": layer.bias}
    if layer.cell == "gru":
        kwargs["reset_after"] = layer.reset_after
    if layer.cell == "simple":
        kwargs["activation"] = layer.activation
    if not layer.bidirectional:
        return [getattr(layers, cls)(layer.units, name=name, **kwargs)]
    return [layers.Bidirectional(getattr(layers, cls)(layer.units, **kwargs),
                                 merge_mode=layer.merge_mode, name=name)]


def layer_scale(layers: Any, layer: Any, inputs: tuple[Shape, ...], name: str) -> list[Any]:
    """ConvNeXt's LayerScale (not a public Keras layer: keras.applications' own class)."""
    from keras.src.applications.convnext import LayerScale

    return [LayerScale(layer.init_values, layer.channels, name=name)]


BUILDERS: dict[str, Builder] = {
    "conv": conv, "separable_conv": separable, "conv_transpose": conv_transpose,
    "pool": pool, "global_pool": global_pool, "adaptive_pool": adaptive_pool, "dense": dense,
    "flatten": lambda layers, layer, i, name: [layers.Flatten(name=name)],
    "reshape": reshape,
    "permute": lambda layers, layer, i, name: [layers.Permute(layer.dims, name=name)],
    "zero_padding": zero_padding, "upsample": upsample, "batchnorm": batchnorm,
    "layernorm": layernorm,
    "groupnorm": lambda layers, layer, i, name: [layers.GroupNormalization(
        layer.groups, epsilon=layer.eps, center=layer.affine, scale=layer.affine, name=name)],
    "dropout": lambda layers, layer, i, name: [
        getattr(layers, f"SpatialDropout{len(i[0]) - 1}D")(layer.rate, name=name)
        if layer.spatial and len(i[0]) > 1 else layers.Dropout(layer.rate, name=name)],
    "activation": activation, "concat": concat, "merge": merge,
    "rescaling": lambda layers, layer, i, name: [
        layers.Rescaling(layer.scale, layer.offset, name=name)],
    "normalization": normalization,
    "embedding": lambda layers, layer, i, name: [
        layers.Embedding(layer.input_dim, layer.output_dim, name=name)],
    "recurrent": recurrent, "layer_scale": layer_scale,
}


def keras_layers(layers: Any, node: Node, inputs: tuple[Shape, ...]) -> list[Any]:
    build = BUILDERS.get(node.layer.kind)
    if build is None:
        raise CannotExpress(f"layer '{node.name}' ({node.layer.kind}): Keras has no "
                            f"{node.layer.type_label()} layer")
    try:
        return build(layers, node.layer, inputs, keras_name(node.name))
    except CannotExpress as why:
        raise CannotExpress(f"layer '{node.name}' ({node.layer.kind}): {why}") from None


def to_keras(graph: Graph) -> Any:
    """The Keras 3 functional model of ``graph`` (weights freshly initialised)."""
    keras = import_keras()
    layers = keras.layers
    tensors: dict[str, Any] = {}
    made: dict[str, Any] = {}  # layer name -> its Keras layers (for shared weights)
    inputs = []
    indices = graph.index_inputs
    for node in graph.nodes:
        shapes = graph.input_shapes(node)
        if node.layer.kind == "input":
            t = keras.Input(shape=graph.shapes[node.name], name=keras_name(node.name),
                            dtype="int32" if node.name in indices else "float32")
            tensors[node.name] = t
            inputs.append(t)
            continue
        chain = made[node.shares] if node.shares else keras_layers(layers, node, shapes)
        made[node.name] = chain
        x = [tensors[r] for r in node.inputs]
        value = x[0] if len(x) == 1 else x
        for keras_layer in chain:
            value = keras_layer(value)
        if not node.trainable:
            for keras_layer in chain:
                keras_layer.trainable = False
        tensors[node.name] = value
    outputs = [tensors[name] for name in graph.outputs]
    return keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs,
                       name=keras_name(graph.name))


def save_keras(graph: Graph, path: str) -> str:
    """Write the Keras model of ``graph`` to ``path`` (.keras), atomically."""
    from ..files import save_atomic

    if not str(path).endswith(".keras"):
        raise ConvscopeError(f"Keras saves to a .keras file; received '{path}'")
    model = to_keras(graph)
    return str(save_atomic(path, lambda tmp: model.save(tmp)))
