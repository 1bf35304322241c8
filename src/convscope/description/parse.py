"""Description (a mapping from YAML / JSON / the Python API) -> validated :class:`Graph`.

All validation of user input happens here or in the kinds' ``from_args``
(through :class:`~convscope.description.args.Args`). The format is documented in the README
("Describing a network") and by ``convscope help syntax``; in short::

    name: resnet18
    input: 224x224x3                 # or inputs: {image: 224x224x3, ...}
    defaults: {conv: {bias: false}}  # default arguments per layer kind
    blocks:                          # named reusable blocks with parameters
      basic:
        params: {channels: null, stride: 1}        # null = required
        layers:
          - type: residual
            shortcut: auto                         # identity | projection | auto | zero_pad | [...]
            body:
              - {type: conv, out_channels: $channels, kernel_size: 3, stride: $stride, padding: 1}
              - bn
              - relu
              - {type: conv, out_channels: $channels, kernel_size: 3, padding: 1}
              - bn
          - relu
    layers:
      - conv7-64 s=2 p=3 nobias                    # one-line tokens work as items
      - {type: basic, channels: 64, repeat: 2, name: layer1}
      - {type: basic, channels: 128, repeat: 2, first: {stride: 2}, name: layer2}
      - {type: parallel, merge: concat, branches: [[conv1-64], [conv3-64 p=1]]}
      - {type: add, inputs: [a, b]}                # any DAG, by naming inputs

Structural types: ``sequential`` (layers), ``parallel`` (branches, merge),
``residual`` (body, shortcut, merge), ``repeat`` on any item (with ``first``
overrides for the first copy). In block bodies ``$p`` is a parameter and
``${expr}`` a small arithmetic expression over parameters (+ - * // % and
comparisons; never ``eval``).
"""

from __future__ import annotations

from typing import Any

from .. import errors, limits
from ..errors import ConvscopeError, SpecError, closest
from ..ir import Graph
from ..layers import REGISTRY
from ..layers.base import Shape
from ..limits import echo, shown
from .blocks import read_blocks
from .budget import check_data, check_layers
from .kinds import base_name, lookup, one_line, read_inputs
from .names import check_name
from .recipe import read_recipe
from .walker import Walker

__all__ = ["Walker", "base_name", "lookup", "parse"]

TOP_KEYS = ("name", "description", "input", "inputs", "layers", "blocks", "outputs", "defaults",
            "source", "notes", "train")
ITEM_KEYS = ("type", "name", "inputs", "repeat", "first", "trainable", "when", "shares",
             "shared_params", "repeated_params")



# --------------------------------------------------------------- entry point ---
def parse(description: Any, input_override: Shape | None = None) -> Graph:
    """Build the validated graph of a description mapping.

    Raises:
        SpecError: the description is malformed (unknown keys, kinds, arguments), nested
            too deeply or would expand beyond the layer budget (``limits``).
        ShapeError: a layer's shape rule fails (e.g. kernel larger than its input).
    """
    if not isinstance(description, dict):
        kind = {"NoneType": "nothing (an empty description)", "list": "a list",
                "str": "a single text", "int": "a number", "float": "a number"}
        received = kind.get(type(description).__name__, type(description).__name__)
        raise SpecError("a description must be a mapping with 'input' and 'layers'; "
                        f"received {received}")
    try:
        return _parse(description, input_override)
    except RecursionError:  # a last resort: the budgets above stop real cases first
        raise SpecError(f"the description is nested too deeply (more than {limits.MAX_DEPTH} "
                        "levels of structures, blocks, lists or mappings)") from None
    except ConvscopeError as err:
        raise one_line(err) from None
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as err:
        raise SpecError(f"cannot read the description: {echo(str(err), 200)}") from None


def _parse(description: dict[str, Any], input_override: Shape | None) -> Graph:
    check_data(description)
    read_recipe(description)  # checked here; used by convscope train (description/recipe.py)
    for key in description:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown top-level key '{echo(key)}'.{closest(key, TOP_KEYS)} "
                            f"Known: {', '.join(TOP_KEYS)}")
    name = description.get("name", "model")
    if not isinstance(name, (str, int, float)) or isinstance(name, bool):
        raise SpecError(f"must be text; received {shown(name)}", path=("name",))
    check_name(name, "model name", ("name",))
    defaults = _defaults(description)
    walker = Walker(read_blocks(description.get("blocks"), lambda n: lookup(n) is not None),
                    defaults)
    if "layers" not in description:
        raise SpecError("the description has no 'layers' list")
    check_layers(walker.counter.items(description["layers"]), 1)
    current = ""
    for input_name, shape in read_inputs(description, input_override).items():
        current = walker.add_layer("input", {"shape": list(shape)}, [], "",
                                   (errors.Named("input", input_name),), input_name, True)
    last = walker.sequence(description["layers"], current, "", ("layers",), True)
    outputs = description.get("outputs")
    if outputs is None:
        out_names: tuple[str, ...] = (last,)
    else:
        refs = outputs if isinstance(outputs, list) else [outputs]
        out_names = tuple(walker.names.resolve(r, "", ("outputs",)) for r in refs)
    return walker.graph.build(out_names, str(name))


def _defaults(description: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The 'defaults' mapping, keyed by layer kind."""
    defaults = description.get("defaults") or {}
    if not isinstance(defaults, dict) or not all(isinstance(v, dict) for v in defaults.values()):
        raise SpecError("must map layer kinds to default arguments, e.g. "
                        f"{{conv: {{bias: false}}}}; received {shown(defaults)}",
                        path=("defaults",))
    for kind in defaults:
        if lookup(kind) is None:
            raise SpecError(f"unknown layer type '{echo(kind)}'."
                            f"{closest(kind, list(REGISTRY))}", path=("defaults",))
    return {lookup(k)[0].kind: v for k, v in defaults.items()}  # type: ignore[index]
