"""Tracing a user's nn.Module with torch.fx and measuring every value on the meta device.

Nothing is allocated and the module is not changed: ``torch.fx.Tracer`` records the
forward symbolically (it registers nothing on the module), and the values are then
recomputed with meta tensors; a leaf module runs through ``torch.func.functional_call``
with meta copies of its parameters and buffers, so its own tensors (weights, batch-norm
statistics) are never read or written and it never moves between devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
from torch import nn
from torch.func import functional_call

from ..errors import ConvscopeError

# leaf modules whose output has their input's shape and dtype
SHAPE_PRESERVING = {nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.ReLU, nn.ReLU6,
                    nn.SiLU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid,
                    nn.LeakyReLU, nn.ELU, nn.Dropout, nn.Dropout2d, nn.Identity, nn.GroupNorm}


@dataclass
class Traced:
    """The fx graph, the meta value of every node, and which nodes depend on the input."""

    module: nn.Module
    graph: fx.Graph
    values: dict[fx.Node, Any]
    activation: set[fx.Node]  # nodes computed from the model's inputs
    params: dict[fx.Node, set[str]]  # parameter-path nodes -> qualified names they read


def meta_like(t: torch.Tensor) -> torch.Tensor:
    return torch.empty(t.shape, dtype=t.dtype, device="meta")


def _fetch(module: nn.Module, target: str) -> Any:
    value: Any = module
    for part in target.split("."):
        value = getattr(value, part)
    return value


def trace(module: nn.Module, torch_shapes: list[tuple[int, ...]]) -> Traced:
    """fx-trace ``module`` and propagate meta tensors of ``torch_shapes`` (batch 1)."""
    try:
        graph = fx.Tracer().trace(module)
    except Exception as err:  # noqa: BLE001 - any tracing failure is the user's model
        raise ConvscopeError(
            f"cannot trace {type(module).__name__} with torch.fx: {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}. convscope imports modules whose "
            "forward does not branch on tensor values") from None
    values: dict[fx.Node, Any] = {}
    activation: set[fx.Node] = set()
    params: dict[fx.Node, set[str]] = {}
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(torch_shapes) > len(placeholders):
        raise ConvscopeError(f"{type(module).__name__}.forward takes {len(placeholders)} "
                             f"input(s); {len(torch_shapes)} input shapes were given")
    shapes = iter(torch_shapes)

    def load(arg: Any) -> Any:
        return fx.node.map_arg(arg, lambda n: values[n])

    for node in graph.nodes:
        try:
            values[node] = _run(module, node, shapes, load, placeholders)
        except ConvscopeError:
            raise
        except Exception as err:  # noqa: BLE001
            raise ConvscopeError(f"cannot compute '{node.name}' ({_label(node)}) on the meta "
                                 f"device: {type(err).__name__}: {err}") from None
        inputs = node.all_input_nodes
        if node.op == "placeholder":
            activation.add(node)
        elif any(n in activation for n in inputs):
            activation.add(node)
        elif node.op == "get_attr":
            params[node] = {node.target} if isinstance(node.target, str) else set()
        else:
            params[node] = set().union(*(params.get(n, set()) for n in inputs))
    return Traced(module, graph, values, activation, params)


def _run(module: nn.Module, node: fx.Node, shapes: Any, load: Any,
         placeholders: list[fx.Node]) -> Any:
    if node.op == "placeholder":
        shape = next(shapes, None)
        if shape is None:  # an optional argument: its default
            return node.args[0] if node.args else None
        return torch.empty(shape, device="meta")
    if node.op == "get_attr":
        value = _fetch(module, str(node.target))
        return meta_like(value) if isinstance(value, torch.Tensor) else value
    args, kwargs = load(node.args), load(node.kwargs)
    if node.op == "call_module":
        sub = module.get_submodule(str(node.target))
        if type(sub) in SHAPE_PRESERVING and len(args) == 1 and not kwargs and \
                isinstance(args[0], torch.Tensor):
            return torch.empty_like(args[0])  # as fast as it is exact (meta BN is slow)
        state = {n: meta_like(t) for n, t in sub.named_parameters()}
        state.update({n: meta_like(t) for n, t in sub.named_buffers() if t is not None})
        return functional_call(sub, state, tuple(args), kwargs)
    if node.op == "call_function":
        return node.target(*args, **kwargs)  # type: ignore[operator]
    if node.op == "call_method":
        obj, *rest = args
        return getattr(obj, str(node.target))(*rest, **kwargs)
    return args[0] if node.op == "output" else None


def _label(node: fx.Node) -> str:
    if node.op == "call_module":
        return f"module {node.target}"
    target = node.target
    return f"{node.op} {getattr(target, '__name__', target)}"
