"""convscope: exact shapes, parameters, memory, multiply-adds and receptive fields
of convolutional neural networks, computed from a description, without a forward pass.

    >>> import convscope
    >>> report = convscope.summary("lenet5", print_fn=None)
    >>> report.totals.params
    61706
"""

from __future__ import annotations

from .analysis import Report, analyze
from .api import Input, Model, Sequential, draw, layers, summary
from .errors import ConvscopeError, ShapeError, SpecError
from .ir import Graph, Node
from .render import render
from .sources import load
from .version import __version__


def train(model: object, data: str, resume: bool = False, **options: object) -> object:
    """Train any description on a dataset with PyTorch (see ``convscope train --help``;
    the options are TrainConfig's fields: epochs, batch_size, optimizer, lr, ...; those not
    given come from the description's ``train:`` recipe for ``data``, else the defaults).

    Returns a TrainResult (test_accuracy, best_val_accuracy, history, out, ...)."""
    from .trainer import train as run
    from .trainer.recipe import configure

    config, note = configure(str(model), data, options)
    return run(config, resume=resume, note=note)


__all__ = ["ConvscopeError", "Graph", "Input", "Model", "Node", "Report", "Sequential",
           "ShapeError", "SpecError", "__version__", "analyze", "draw", "layers", "load", "render",
           "summary", "train"]
