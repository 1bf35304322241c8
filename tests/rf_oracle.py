"""The receptive-field oracle shared by tests/test_rf_locality.py and
benchmarks/rf_locality.py: convscope's field of a module's output against the region of the
input its gradient reaches, on the real model.

The model is built on the CPU with random weights (every parameter redrawn, so no
zero-initialised branch hides a dependency: timm zero-initialises residual branches' last
norms and ConvNeXt-V2's GRN). A forward pass records the output of the modules of depth 1
and 2 (at most 16, spread over the model) that return one map and run once. For each,
convscope's field is the one of the module's last layer (its output); the *measured*
field is the bounding box of the input positions whose gradient is non-zero, for the sum
over channels of one output position near the centre (of a copy of the output taken when
the module returns: MobileOne's blocks add their other branches into it in place). Two
conventions of convscope's fields (README, Conventions, "Receptive field") are applied to
the model's side:

* a normalisation's statistics are not part of the field (SPEC's recurrence: only windows
  and operations that mix positions of the data count): group and instance norms run with
  their mean and variance detached from the gradient (batch norm is in eval mode, and a
  layer norm normalises each position over its channels);
* after nearest upsampling by f, convscope gives output o the field of input o / f, exact
  where o is a multiple of f (PyTorch reads floor(o / f)): the position measured is the
  largest multiple of 8 up to the centre (0 on maps smaller than 16). A window that
  spans several upsampled positions can still lie up to (f - 1) / f of the stride late:
  that shows as UNSOUND (ghostnetv2's DFC attention, a stride-2 window after its gate);
* a cyclic shift (torch.roll) is a shift: what it carries round the edge is what Swin's
  shifted-window mask keeps apart. That mask adds -100 to those attention scores, which
  leaves them weights of e^-100 (about 3.7e-44, a float32 denormal), not zero: a gradient
  below 1e-30 of the largest one (``MASKED``) is such a masked connection and does not
  count (torchvision's swin_t reaches the whole image from a corner only through them).

Verdicts:

* sound: convscope gives a local window and the measured box lies inside it;
* global ok: convscope says global, and the measured box holds the whole region any
  output of the network reads (the gradient of the sum of all its outputs: a global pool
  ignores the rows a stride drops, so this, not the image, is "everything");
* UNSOUND: the measured box reaches outside convscope's window (a wrong field);
* IMPRECISE: convscope says global, the model reads a smaller box (a local field convscope
  could not see, usually after an opaque layer).

Maps only: a module whose output is tokens (N, L, C) has no spatial position convscope
and PyTorch both name, and is not measured.
"""

from __future__ import annotations

import math
from typing import Any

import torch

import convscope
from convscope.pytorch.importer import import_module

Box = tuple[int, int, int, int]  # first row, last row, first column, last column


def randomised(model: torch.nn.Module) -> torch.nn.Module:
    """Every parameter redrawn: matrices ~ N(0, 1/fan-in), vectors 1 + N(0, 0.1) (never
    zero: gains, biases and layer scales all read their input)."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            p.copy_(noise / max(1, p[0].numel()) ** 0.5 if p.dim() > 1 else 1 + 0.1 * noise)
    return model


def detached_norm(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module``'s group or instance norm of x (N, C, ...), its statistics detached."""
    groups = module.num_groups if isinstance(module, torch.nn.GroupNorm) else x.shape[1]
    g = x.reshape(x.shape[0], groups, -1)
    mean = g.mean(2, keepdim=True).detach()
    var = g.var(2, keepdim=True, unbiased=False).detach()
    y = ((g - mean) / (var + module.eps).sqrt()).reshape(x.shape)
    if getattr(module, "weight", None) is None:
        return y
    view = (1, -1) + (1,) * (x.dim() - 2)
    return y * module.weight.view(view) + module.bias.view(view)


def statistics_detached(model: torch.nn.Module) -> None:
    """Every group and instance norm of ``model`` (this benchmark's own copy) runs with
    detached statistics (the instance's forward is replaced; a layer norm's statistics are
    over the channels of one position already)."""
    norms = (torch.nn.GroupNorm, torch.nn.modules.instancenorm._InstanceNorm)
    for module in model.modules():
        if isinstance(module, norms):
            module.forward = lambda x, m=module: detached_norm(m, x)


MASKED = 1e-30  # relative gradient below which a connection is a masked one (docstring)


def box_of(grad: torch.Tensor) -> Box | None:
    """The bounding box of the positions the gradient reaches (an overflow, inf or NaN, on
    a model with random weights still reaches them)."""
    reach = grad[0].abs().sum(0)
    finite = reach[torch.isfinite(reach)]
    largest = finite.max() if finite.numel() else 0.0
    hit = ((reach > largest * MASKED) | ~torch.isfinite(reach)).nonzero()
    if len(hit) == 0:
        return None
    (r0, c0), (r1, c1) = hit.min(0).values.tolist(), hit.max(0).values.tolist()
    return r0, r1, c0, c1


def predicted(field: Any, row: int, col: int, height: int, width: int) -> Box | None:
    """convscope's window of output position (row, col), clipped to the image; None when
    global."""
    if field.is_global:
        return None
    (a, b) = field.axes[:2]
    top, left = a.start + row * a.stride, b.start + col * b.stride
    return (max(0, math.floor(top)), min(height - 1, math.ceil(top + a.size - 1)),
            max(0, math.floor(left)), min(width - 1, math.ceil(left + b.size - 1)))


def modules_to_measure(model: torch.nn.Module, most: int) -> dict[str, torch.nn.Module]:
    """The modules of depth 1 and 2, at most ``most`` of them spread evenly in order."""
    found = [(path, m) for path, m in model.named_modules() if path and path.count(".") <= 1]
    step = max(1, -(-len(found) // most))
    return dict(found[::step])


def output_layers(report: Any) -> dict[str, Any]:
    """Module path -> the last layer of that module (its output), for every prefix."""
    last: dict[str, Any] = {}
    for stats in report.layers:
        parts = stats.name.split(".")
        for k in range(1, len(parts) + 1):
            last[".".join(parts[:k])] = stats
    return last


def built(name: str) -> tuple[torch.nn.Module, tuple[int, int, int]]:
    """timm's ``name`` (its pretrained config's input size), or ``torchvision:NAME`` (the
    input ``convscope summary torchvision:NAME`` uses), on the CPU: (model, (C, H, W))."""
    if name.startswith("torchvision:"):
        import torchvision

        from convscope.pytorch.sources import torchvision_inputs

        name = name.split(":", 1)[1]
        height, width, channels = torchvision_inputs(name)[0]
        return torchvision.models.get_model(name, weights=None).eval(), (channels, height, width)
    import timm

    model = timm.create_model(name, pretrained=False).eval()
    return model, tuple(model.pretrained_cfg.get("input_size", (3, 224, 224)))


def measure(name: str, most: int = 16) -> list[tuple[str, str, str]]:
    """(module path, verdict, what was compared) for the modules measured of timm's
    ``name``, or of ``torchvision:NAME`` (module docstring; at most ``most`` of them,
    spread over the model)."""
    model, (channels, height, width) = built(name)
    model = randomised(model)
    report = convscope.analyze(import_module(model, [(height, width, channels)], name))
    layers = output_layers(report)
    statistics_detached(model)
    outputs: dict[str, list[Any]] = {}
    hooks = []
    for path, module in modules_to_measure(model, most).items():
        hooks.append(module.register_forward_hook(  # a copy: the caller may add into it
            lambda m, a, out, p=path: outputs.setdefault(p, []).append(
                out.clone() if isinstance(out, torch.Tensor) else out)))
    x = torch.randn(1, channels, height, width, requires_grad=True)
    try:
        out = model(x)
    finally:
        for h in hooks:
            h.remove()
    out = out if isinstance(out, torch.Tensor) else next(iter(out))
    support = box_of(torch.autograd.grad(out.sum(), x, retain_graph=True)[0])
    verdicts = []
    for path, seen in outputs.items():
        stats = layers.get(path)
        y = seen[0]
        if len(seen) != 1 or stats is None or not isinstance(y, torch.Tensor) or \
                y.dim() != 4 or len(stats.output_shape) != 3:
            continue
        h, w, c = stats.output_shape
        row, col = h // 2 - h // 2 % 8, w // 2 - w // 2 % 8
        if tuple(y.shape[1:]) == (c, h, w):
            center = y[0, :, row, col]
        elif tuple(y.shape[1:]) == (h, w, c):
            center = y[0, row, col, :]
        else:
            continue
        grad = torch.autograd.grad(center.sum(), x, retain_graph=True, allow_unused=True)[0]
        box = None if grad is None else box_of(grad)
        if box is None:
            continue
        window = predicted(stats.receptive_field, row, col, height, width)
        if window is None:
            verdict = "global ok" if support is not None and box[0] <= support[0] and \
                support[1] <= box[1] and box[2] <= support[2] and support[3] <= box[3] \
                else "IMPRECISE"
        else:
            inside = window[0] <= box[0] and box[1] <= window[1] and \
                window[2] <= box[2] and box[3] <= window[3]
            verdict = "sound" if inside else "UNSOUND"
        verdicts.append((path, verdict, f"{stats.name} ({stats.kind}): measured {box}, "
                                        f"convscope {window or 'global'}"))
    return verdicts
