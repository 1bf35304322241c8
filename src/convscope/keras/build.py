"""convscope graph -> a Keras 3 functional model (``convscope build MODEL --to keras``).

A thin walker: each kind writes its own Keras layers (``to_keras``, layers/bridge.py;
shared pieces in layers/keras_write.py), usually one; explicit padding becomes a
ZeroPadding layer before a ``valid`` layer, PyTorch's integer padding of a transposed
convolution a Cropping layer after it. Kinds Keras cannot carry (``refused['keras']``:
LRN, slices, opaque layers) and settings it has no layer for (L_p, dilated or some
ceil-mode pooling, grouped transposed convolutions, PyTorch's BatchNorm without running
statistics, ...) are refused with a message that names the layer. Counts agree with
convscope's by construction of the rules (Keras's conventions are convscope's); the tests
check ``count_params()`` for the whole zoo, and tests/test_round_trip_keras.py reads every
kind back. Graph inputs become ``keras.Input`` here. Layer names lose '.' and '/' (Keras
forbids them): 'layer1.0.conv1' becomes 'layer1_0_conv1'.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConvscopeError
from ..ir import Graph, Node
from ..layers.base import Shape
from ..layers.bridge import CannotExpress
from .sources import import_keras

__all__ = ["CannotExpress", "keras_layers", "save_keras", "to_keras"]


def keras_name(name: str) -> str:
    """Keras layer names cannot hold '.' or '/' (they name weights): 'layer1.0.conv1' ->
    'layer1_0_conv1'."""
    return name.replace(".", "_").replace("/", "_")


def keras_layers(layers: Any, node: Node, inputs: tuple[Shape, ...]) -> list[Any]:
    """The kind's ``to_keras``; a refusal names the layer."""
    try:
        return node.layer.to_keras(layers, inputs, keras_name(node.name))
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
