"""Capturing what a PyTorch module computes, one ATen operation at a time, on meta tensors.

The user's own ``forward`` runs once, on meta tensors (no memory, no arithmetic), with
meta copies of its parameters and buffers in its modules' tables (as
``torch.func.functional_call`` puts them, the originals back afterwards): the module
itself is never changed (its tensors, devices, hooks and training flags stay as they
were; a batch norm in training mode updates the meta copy of its statistics). While it
runs, a ``TorchDispatchMode`` records every ATen operation below autograd, and global
forward pre/post hooks keep the stack of module calls, so each operation knows the module
path that issued it.

Why a dispatch mode, and not ``make_fx`` or non-strict ``torch.export``: all three run the
Python forward as written (so code that looks at sizes just works) and see the same ATen
operations. The mode is the smallest of the three: no graph is built and re-traced, no
FakeTensorMode or symbolic shapes are involved (meta tensors already give exact static
shapes), nothing is functionalised (in-place updates stay visible as what they are), and
it is exactly how ``torch.utils.flop_counter.FlopCounterMode`` observes a model, which
makes its flop formulas apply operation by operation; export would also refuse models
that ``torch.export`` cannot handle for reasons unrelated to their shapes. The module
stack comes from hooks rather than ``nn_module_stack`` because only export-style tracing
produces the latter.

A tensor is *data* when it was computed from the model's inputs. Operations on parameters
and buffers alone (``weight.t()``, weight standardisation, relative-position tables) are
*constants*: they are not layers, but they remember which parameters and buffers they
read and their flops, which go to the first data operation that uses them. Operations
whose result depends only on sizes (``empty_like``, ``new_zeros``) also make constants.
An operation that needs the data's values (``nonzero``, ``item()``, ``bool(tensor)``)
fails on meta tensors: the model is refused with that operation and its module path.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ..errors import ConvscopeError
from .captured import Call, Capture, Const, Leaf, Op, Source, tensors_in
from .composite import Composites
from .meta_cache import MetaCache
from .meta_state import meta_state
from .view_writes import base_after

aten = torch.ops.aten

# metadata queries (FlopCounterMode skips them too): never recorded
SKIP = {aten.sym_is_contiguous.default, aten.is_contiguous.default,
        aten.is_contiguous.memory_format, aten.is_strides_like_format.default,
        aten.is_non_overlapping_and_dense.default, aten.size.default, aten.sym_size.default,
        aten.stride.default, aten.sym_stride.default, aten.storage_offset.default,
        aten.sym_storage_offset.default, aten.numel.default, aten.sym_numel.default,
        aten.dim.default, torch.ops.prim.layout.default, torch.ops.prim.device.default}
# results that depend on sizes only: constants even when their argument is data
SIZE_ONLY = {aten.empty_like, aten.zeros_like, aten.ones_like, aten.full_like,
             aten.rand_like, aten.randn_like, aten.randint_like, aten.new_empty,
             aten.new_zeros, aten.new_ones, aten.new_full, aten.new_empty_strided,
             aten.sym_size, aten.scalar_tensor}
# operations whose results depend on the data's values: impossible on meta tensors
DATA_DEPENDENT = {aten._local_scalar_dense: "Tensor.item(), bool(tensor) or int(tensor)",
                  aten.nonzero: "nonzero / boolean-mask indexing",
                  aten.masked_select: "masked_select",
                  aten._unique2: "unique", aten.unique_consecutive: "unique_consecutive",
                  aten.unique_dim: "unique", aten.bincount: "bincount",
                  aten.repeat_interleave: "repeat_interleave with tensor repeats"}


class Recorder(TorchDispatchMode):
    """Records every ATen operation (see the module docstring)."""

    def __init__(self, leaves: dict[int, str], keep: frozenset[Any]) -> None:
        super().__init__()
        self.keep = keep
        self.ops: list[Op] = []
        self.calls: list[Call] = []
        self.stack: list[int] = []
        self.data: dict[int, Source] = {}
        self.const: dict[int, Const] = {id_: Const(frozenset({n}), frozenset())
                                        for id_, n in leaves.items()}
        self.alive: list[Any] = []  # keeps every tensor alive: ids are never reused
        self.const_flops: dict[int, tuple[int, int]] = {}  # seq -> (call, flops)
        self.claimed: set[int] = set()
        self.seq = 0
        self.meta = MetaCache()
        self.flop_memo: dict[Any, int] = {}

    @property
    def call(self) -> int:
        return self.stack[-1] if self.stack else -1

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None
                           ) -> Any:
        kwargs = kwargs or {}
        if func in SKIP:
            return func(*args, **kwargs)
        packet = func._overloadpacket
        if packet not in flop_registry and packet not in self.keep:
            # as FlopCounterMode: composite ops decompose (unless a kind describes them)
            with self:
                result = func.decompose(*args, **kwargs)
            if result is not NotImplemented:
                return result
        try:
            out = self.meta.run(func, args, kwargs)
        except ConvscopeError:
            raise
        except Exception as err:  # noqa: BLE001 - the user's model failed on meta tensors
            raise self.refusal(packet, err) from None
        self.record(func, packet, args, kwargs, out)
        return out

    def where(self) -> str:
        if self.call < 0:
            return "the model's forward"
        call = self.calls[self.call]
        return f"'{call.path}' ({call.type})" if call.path else f"the forward of {call.type}"

    def refusal(self, packet: Any, err: Exception) -> ConvscopeError:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        what = DATA_DEPENDENT.get(packet)
        if what is None and "nonzero" in text:  # index / index_put with a boolean mask
            what = "boolean-mask indexing, through nonzero"
        if what is not None or "data-dependent" in text or "item()" in text:
            return ConvscopeError(
                f"aten.{packet.__name__} ({what or 'a data-dependent operation'}) in "
                f"{self.where()} needs the values of the data, which convscope does not "
                "compute (it runs the model on meta tensors): models whose shapes or control "
                "flow depend on tensor values cannot be analysed")
        return ConvscopeError(f"aten.{packet.__name__} in {self.where()} fails on meta "
                              f"tensors: {type(err).__name__}: {text}")

    def record(self, func: Any, packet: Any, args: Any, kwargs: Any, out: Any) -> None:
        sources: dict[int, Source] = {}
        consts: dict[int, Const] = {}
        data: list[torch.Tensor] = []
        for t in tensors_in((args, kwargs)):
            if id(t) in self.data:
                sources[id(t)] = self.data[id(t)]
                data.append(t)
            elif id(t) in self.const:
                consts[id(t)] = self.const[id(t)]
        flops = self.flops(func, packet, args, kwargs, out) if packet in flop_registry else 0
        outputs = tensors_in(out)
        self.alive.append(outputs)
        reads = frozenset().union(*(c.reads for c in consts.values()))
        pending = frozenset().union(*(c.pending for c in consts.values()))
        if sources and packet not in SIZE_ONLY:
            fresh = pending - self.claimed
            self.claimed |= fresh
            flops += sum(self.const_flops[s][1] for s in fresh)
            op = Op(len(self.ops), func, args, kwargs, outputs, self.call, sources, consts,
                    reads, flops, data=data)
            self.ops.append(op)
            for pos, t in enumerate(outputs):
                self.data[id(t)] = (op.index, pos)
                self.const.pop(id(t), None)
            base_after(self, op)  # a write into a view changes its base (view_writes.py)
            return
        self.seq += 1
        if flops:
            self.const_flops[self.seq] = (self.call, flops)
            pending = pending | {self.seq}
        noise = None
        if packet is aten.bernoulli_ or packet is aten.bernoulli:
            p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
            noise = float(p) if isinstance(p, (int, float)) else None
        elif packet is aten.div_ and outputs and id(outputs[0]) in self.const:
            noise = self.const[id(outputs[0])].noise  # the mask rescaled in place
        for t in outputs:
            self.const[id(t)] = Const(reads, pending, noise)
            self.data.pop(id(t), None)

    def flops(self, func: Any, packet: Any, args: Any, kwargs: Any, out: Any) -> int:
        """torch.utils.flop_counter's count (its formulas depend on sizes only: kept per
        operation and arguments' metadata; a convolution's is computed here, the same
        formula, ``2 x batch x numel(weight) x prod(output or, transposed, input sizes)``)."""
        if packet is aten.convolution and len(args) == 9 and not kwargs:
            x, w, transposed = args[0], args[1], args[6]
            sizes = (x if transposed else out).shape[2:]
            total = 2 * x.shape[0] * w.numel()
            for n in sizes:
                total *= n
            return int(total)
        key = self.meta.key(func, args, kwargs)
        if key is not None and key in self.flop_memo:
            return self.flop_memo[key]
        flops = int(flop_registry[packet](*args, **kwargs, out_val=out))
        if key is not None:
            self.flop_memo[key] = flops
        return flops

    # ---- the module stack ---------------------------------------------------------------
    def push(self, path: str | None, module: nn.Module) -> None:
        if path is None:  # a module created inside forward: part of its caller
            self.stack.append(self.call)
            return
        self.calls.append(Call(path, type(module).__name__, self.call))
        self.stack.append(len(self.calls) - 1)

    def push_composite(self, suffix: str, label: str, found: Any, layout: str) -> None:
        """A function read whole (composite.py): a call of its own inside the current one,
        at the current path (and ``suffix``)."""
        parent = self.calls[self.call].path if self.call >= 0 else ""
        path = ".".join(p for p in (parent, suffix) if p)
        self.calls.append(Call(path, label, self.call, found, layout))
        self.stack.append(len(self.calls) - 1)

    def pop(self) -> None:
        if self.stack:
            self.stack.pop()


def input_names(module: nn.Module, count: int) -> list[str]:
    """The names of forward's first ``count`` positional parameters (``x``), else input_N."""
    try:
        params = [p.name for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = params[:count]
    names += [f"input_{i}" for i in range(len(names), count)]
    return ["input" if n == "self" else n for n in names]


def capture(module: nn.Module, torch_shapes: list[tuple[int, ...]],
            keep: frozenset[Any] = frozenset()) -> Capture:
    """Run ``module`` on meta inputs of ``torch_shapes`` (batch included) and record it.

    ``keep``: overload packets recorded as they are rather than decomposed (the ones a
    kind describes; none of them has a flop formula, nor do their decompositions)."""
    state = meta_state(module)
    floats = [t.dtype for t in state.copies.values() if t.is_floating_point()]
    dtype = floats[0] if floats else torch.float32
    xs = [torch.empty(s, dtype=dtype, device="meta") for s in torch_shapes]
    recorder = Recorder(state.names, keep)
    recorder.data.update({id(x): (-1, i) for i, x in enumerate(xs)})
    hooks = torch.nn.modules.module
    pre = hooks.register_module_forward_pre_hook(
        lambda m, args: recorder.push(state.paths.get(id(m)), m))
    post = hooks.register_module_forward_hook(lambda m, args, out: recorder.pop(),
                                              always_call=True)
    model = type(module).__name__
    try:
        with torch.no_grad(), recorder, Composites(recorder), state.swapped():
            result = module(*xs)
    except ConvscopeError as err:
        raise ConvscopeError(f"cannot analyse {model}: {err}") from None
    except Exception as err:  # noqa: BLE001 - the user's forward failed
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ConvscopeError(f"cannot analyse {model}: its forward fails on meta tensors of "
                             f"shape {', '.join(str(tuple(s)) for s in torch_shapes)} in "
                             f"{recorder.where()}: {type(err).__name__}: {text}") from None
    finally:
        pre.remove()
        post.remove()
    outs = tensors_in(result)
    sources = [recorder.data[id(t)] for t in outs if id(t) in recorder.data]
    if not sources:
        raise ConvscopeError(f"{model}.forward returns no tensor computed from its input")
    used = set().union(*(op.reads for op in recorder.ops))
    stray = [v for s, v in recorder.const_flops.items() if s not in recorder.claimed]
    return Capture(model, torch_shapes[0][0], input_names(module, len(xs)), xs, recorder.ops,
                   recorder.calls, sources, [t for t in outs if id(t) in recorder.data],
                   state.leaves, used, stray)


__all__ = ["Call", "Capture", "Leaf", "Op", "capture"]
