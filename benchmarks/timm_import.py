"""convscope's PyTorch import over a broad sample of timm architectures.

The sample takes, from every module of ``timm.list_modules()``, its smallest-looking
architectures (names with atto / nano / tiny / small / b0 / 18 ... first; large input
sizes and large variants skipped), one per module and then a second one from the biggest
modules, until ``--count`` (default 130) architectures are picked. Each is built with
``timm.create_model(name, pretrained=False)`` on the meta device (no weights) and imported
through the ``timm:NAME`` source; then measured with PyTorch itself: ``numel()`` of
parameters and buffers, the output shape of a meta forward and ``FlopCounterMode`` / 2
with scaled dot-product attention on its math backend.

It prints one line per architecture and the counts: imported, exact parameters, exact
buffers, exact output shape, exact MACs, refused (with the reason) and tracebacks (the
traceback is printed). With ``--torchinfo`` it also times ``torchinfo.summary`` (a real CPU
forward of a CPU copy of the model) against convscope's import + analysis, interleaved,
best of 3 each, and prints the median ratio.

Run: ``OMP_NUM_THREADS=1 python benchmarks/timm_import.py [--count 130] [--torchinfo]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import traceback
import warnings
from typing import Any

import timm
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import convscope
from convscope.errors import ConvscopeError
from convscope.pytorch.importer import import_module
from convscope.pytorch.sources import _timm

SMALL = ("atto", "femto", "pico", "nano", "tiny", "xxs", "xs", "mini", "small", "_s", "b0",
         "18", "_t", "26", "lite", "050", "075", "100", "light")
SKIP = ("large", "huge", "giant", "gigantic", "xl", "448", "384", "512", "_l", "_h", "_g",
        "clip", "siglip", "dinov2", "sam", "_e", "_b", "base", "medium", "so400m", "264",
        "269", "154")
# the families the issue names first (tests/test_timm_import.py's and the ones fx refused)
NAMED = ("resnet18", "resnet50d", "seresnext26d_32x4d", "resnetblur18", "tresnet_m",
         "efficientnet_b0", "tf_efficientnet_b0", "tf_efficientnetv2_b0", "mixnet_s",
         "tf_mixnet_s", "mobilenetv2_100", "mobilenetv3_small_100", "tf_mobilenetv3_small_100",
         "mobilenetv4_conv_small", "regnetx_002", "regnety_002", "convnext_atto",
         "ghostnet_100", "ghostnetv2_100", "dla34", "hrnet_w18_small", "nf_resnet26",
         "nfnet_l0", "repvgg_a0", "densenet121", "inception_v3", "xception41", "cspresnet50",
         "cspdarknet53", "ese_vovnet19b_dw", "vgg11_bn", "vit_tiny_patch16_224",
         "deit_tiny_patch16_224", "swin_tiny_patch4_window7_224", "maxvit_nano_rw_256",
         "coatnet_nano_rw_224", "mobilevit_xxs", "efficientformer_l1", "fastvit_t8",
         "poolformer_s12", "edgenext_xx_small", "halonet26t", "botnet26t_256", "davit_tiny",
         "pit_ti_224", "twins_pcpvt_small", "tiny_vit_5m_224", "sequencer2d_s", "nasnetalarge")


def score(name: str) -> tuple[int, int]:
    found = [i for i, word in enumerate(SMALL) if word in name]
    return (min(found) if found else len(SMALL), len(name))


def sample(count: int) -> list[str]:
    per_module = {}
    for module in timm.list_modules():
        names = [n for n in timm.list_models(module=module) if not any(s in n for s in SKIP)]
        per_module[module] = sorted(names, key=score)
    picked: list[str] = [n for n in NAMED if n in timm.list_models()][:count]
    rank = 0
    while len(picked) < count and rank < 6:
        modules = sorted(per_module, key=lambda m: -len(per_module[m])) if rank else per_module
        for module in modules:
            if len(per_module[module]) > rank and len(picked) < count and \
                    per_module[module][rank] not in picked:
                picked.append(per_module[module][rank])
        rank += 1
    return picked


def reference(model: Any, shape: tuple[int, ...]) -> tuple[int, int, tuple[int, ...], int]:
    x = torch.empty(2, shape[2], shape[0], shape[1], device="meta")
    model = model.to("meta")
    params = sum(p.numel() for p in model.parameters())  # before: some forwards add buffers
    buffers = sum(b.numel() for b in model.buffers())
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        out = model(x)
    out = out if isinstance(out, torch.Tensor) else next(iter(out))
    return params, buffers, tuple(out.shape[1:]), counter.get_total_flops() // 4


def best(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def torchinfo_ratio(name: str, shape: tuple[int, ...], model: Any) -> float:
    import torchinfo

    real = timm.create_model(name, pretrained=False).eval()
    size = (1, shape[2], shape[0], shape[1])
    ours = theirs = float("inf")
    for _ in range(3):  # interleaved
        ours = min(ours, best(lambda: convscope.analyze(import_module(model, [shape], name)), 1))
        theirs = min(theirs, best(lambda: torchinfo.summary(real, input_size=size, verbose=0),
                                  1))
    return ours / theirs


def one(name: str, args: Any, tally: dict[str, list[str]], ratios: list[float]) -> None:
    try:
        model, shape = _timm(name)
    except Exception as err:  # noqa: BLE001 - timm itself cannot build it here
        print(f"{name:40s} skipped: timm cannot build it ({type(err).__name__})")
        return
    start = time.perf_counter()
    try:
        report = convscope.analyze(import_module(model, [shape], name))
    except ConvscopeError as err:
        tally["refused"].append(f"{name}: {err}")
        print(f"{name:40s} REFUSED {err}")
        return
    except Exception:  # noqa: BLE001 - a traceback is a bug: show it
        tally["tracebacks"].append(name)
        print(f"{name:40s} TRACEBACK")
        traceback.print_exc()
        return
    seconds = time.perf_counter() - start
    params, buffers, out_shape, macs = reference(model, shape)
    tally["imported"].append(name)
    (_, ours), = report.outputs[:1]
    got = {"params": report.totals.trainable_params == params,
           "buffers": report.totals.buffers == buffers,
           "shape": ours == (out_shape if len(out_shape) <= 1 else
                             (*out_shape[1:], out_shape[0])),
           "macs": report.totals.macs == macs}
    for key, ok in got.items():
        if ok:
            tally[key].append(name)
    opaque = sum(1 for s in report.layers if s.kind == "opaque")
    tally["opaque layers"].append(str(opaque))
    if opaque == 0:
        tally["no opaque layer"].append(name)
    bad = [k for k, ok in got.items() if not ok]
    extra = ""
    if args.torchinfo:
        ratios.append(torchinfo_ratio(name, shape, model))
        extra = f"  {ratios[-1]:.2f}x torchinfo"
    print(f"{name:40s} {'exact' if not bad else 'WRONG ' + ','.join(bad):14s} "
          f"{len(report.layers):5d} layers {opaque:4d} opaque {seconds:6.2f}s{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=130)
    parser.add_argument("--torchinfo", action="store_true")
    parser.add_argument("names", nargs="*", help="architectures (default: the sample)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    names = args.names or sample(args.count)
    tally: dict[str, list[str]] = {k: [] for k in ("imported", "params", "buffers", "shape",
                                                   "macs", "refused", "tracebacks",
                                                   "opaque layers", "no opaque layer")}
    ratios: list[float] = []
    for name in names:
        one(name, args, tally, ratios)
    total = len(tally["imported"]) + len(tally["refused"]) + len(tally["tracebacks"])
    print(f"\n{total} architectures: {len(tally['imported'])} imported; of those exact "
          f"params {len(tally['params'])}, buffers {len(tally['buffers'])}, output shape "
          f"{len(tally['shape'])}, MACs {len(tally['macs'])}; refused "
          f"{len(tally['refused'])}; tracebacks {len(tally['tracebacks'])}")
    print(f"opaque layers: {sum(int(n) for n in tally['opaque layers']):,} in all; "
          f"{len(tally['no opaque layer'])} models have none")
    for line in tally["refused"]:
        print(f"  refused {line}")
    if ratios:
        print(f"convscope import + analysis / torchinfo.summary: median "
              f"{statistics.median(ratios):.2f}x over {len(ratios)} models (best of 3, "
              "interleaved)")


if __name__ == "__main__":
    main()
