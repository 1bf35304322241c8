"""A convscope graph -> an ONNX file, through the PyTorch bridge (``convscope build MODEL
--to onnx -o net.onnx``).

The graph is built as a torch module in training mode and exported with
``torch.onnx.export`` (the TorchScript exporter, ``training=TrainingMode.TRAINING``, no
constant folding): in evaluation mode the exporter folds batch norms into the
convolutions before them, which would change the parameter counts a reader of the file
sees. Inputs are named after the description's inputs, outputs after its outputs;
the batch axis is dynamic.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

from ..errors import ConvscopeError
from ..ir import Graph


def to_onnx(graph: Graph, path: str, opset: int = 17) -> None:
    try:
        import onnx  # noqa: F401 - the exporter needs it
        import torch
    except ImportError as err:
        raise ConvscopeError(f"ONNX export needs torch and onnx (pip install torch onnx): "
                             f"{err}") from None
    from ..pytorch.build import GraphModule, example_inputs

    module = GraphModule(graph).train()
    xs = example_inputs(graph, 2)
    names_in = [n.name for n in graph.inputs]
    names_out = list(graph.outputs)
    axes: dict[str, Any] = {n: {0: "batch"} for n in names_in + names_out}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, tuple(xs), path, dynamo=False, opset_version=opset,
                              training=torch.onnx.TrainingMode.TRAINING,
                              do_constant_folding=True, input_names=names_in,
                              output_names=names_out, dynamic_axes=axes)
        except Exception as err:  # the exporter raises many kinds
            raise ConvscopeError(f"torch.onnx.export failed for '{graph.name}': "
                                 f"{type(err).__name__}: {str(err).splitlines()[0]}") from None


def save_onnx(graph: Graph, path: str) -> str:
    """Write ``graph`` as ONNX to ``path``, atomically."""
    from ..files import save_atomic

    if not str(path).endswith(".onnx"):
        raise ConvscopeError(f"ONNX files end in .onnx; received '{path}'")
    return str(save_atomic(path, lambda tmp: to_onnx(graph, tmp)))
