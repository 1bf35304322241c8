"""convscope's in-process PyTorch import + analysis against ``torchinfo.summary``.

For each model of the sample (timm architectures and torchvision models, built without
weights), it times ``convscope.analyze(import_module(model, ...))`` (the model on the meta
device) and ``torchinfo.summary(model, input_size=...)`` (a CPU copy: torchinfo runs a
real forward), interleaved, best of 3 each, batch 1, one thread, and prints each ratio
and the median ratio over the sample (the issue's target: at most 0.25x).

Run: ``OMP_NUM_THREADS=1 python benchmarks/import_speed.py [--profile] [SOURCE:NAME ...]``
(``--profile``: cProfile of convscope's side over the sample, top 25 by cumulative time).
Each ratio is printed beside the one recorded in ``results_import_speed.txt`` (the last
run kept there: ``python benchmarks/import_speed.py > benchmarks/results_import_speed.txt``),
so a regression shows.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import torch

import convscope
from convscope.pytorch.importer import import_module
from convscope.pytorch.sources import _timm, _torchvision, torchvision_inputs

RESULTS = Path(__file__).with_name("results_import_speed.txt")

SAMPLE = ["timm:resnet18", "timm:resnet50d", "timm:efficientnet_b0", "timm:mobilenetv3_large_100",
          "timm:convnext_atto", "timm:regnety_002", "timm:vit_tiny_patch16_224",
          "timm:deit_tiny_patch16_224", "timm:swin_tiny_patch4_window7_224",
          "timm:mobilevit_xxs", "timm:efficientformer_l1", "timm:poolformer_s12",
          "timm:dla34", "timm:densenet121", "timm:ghostnet_100", "timm:cspdarknet53",
          "timm:edgenext_xx_small", "timm:maxvit_nano_rw_256", "timm:repvgg_a0",
          "timm:hrnet_w18_small",
          "torchvision:resnet18", "torchvision:resnet50", "torchvision:mobilenet_v3_large",
          "torchvision:efficientnet_b0", "torchvision:convnext_tiny", "torchvision:vit_b_16",
          "torchvision:swin_t", "torchvision:densenet121", "torchvision:regnet_y_400mf",
          "torchvision:googlenet", "torchvision:inception_v3", "torchvision:shufflenet_v2_x1_0",
          "torchvision:squeezenet1_1", "torchvision:mnasnet1_0", "torchvision:maxvit_t",
          "torchvision:vgg16", "torchvision:alexnet", "torchvision:r3d_18",
          "torchvision:fcn_resnet50", "torchvision:lraspp_mobilenet_v3_large"]


def recorded() -> dict[str, str]:
    """The ratios recorded in RESULTS: per model (``timm:resnet18``) and per median line
    (``timm``, ``torchvision``, ``all``)."""
    if not RESULTS.exists():
        return {}
    found: dict[str, str] = {}
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        model = re.match(r"(\S+:\S+)\s.*?\s([\d.]+x)", line)  # the first ratio
        median = re.match(r"(\w+): median ([\d.]+x)", line)
        if line.startswith("#"):
            continue
        if median:
            found[median.group(1)] = median.group(2)
        elif model:
            found[model.group(1)] = model.group(2)
    return found


def build(source: str) -> tuple[Any, list[tuple[int, ...]]]:
    kind, name = source.split(":", 1)
    if kind == "timm":
        model, shape = _timm(name)
        return model, [shape]
    return _torchvision(name), torchvision_inputs(name)


def cpu_copy(source: str) -> Any:
    kind, name = source.split(":", 1)
    if kind == "timm":
        import timm

        return timm.create_model(name, pretrained=False).eval()
    import torchvision

    kwargs: dict[str, Any] = {"weights": None}
    if name.startswith(("fcn_", "deeplab", "lraspp")):
        kwargs["weights_backbone"] = None
    return torchvision.models.get_model(name, **kwargs).eval()


def once(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ratio(source: str) -> tuple[float, float]:
    import torchinfo

    model, shapes = build(source)
    real = cpu_copy(source)
    sizes = [(1, s[-1], *s[:-1]) for s in shapes]
    ours = theirs = float("inf")
    for _ in range(3):  # interleaved, best of 3 each
        ours = min(ours, once(lambda: convscope.analyze(import_module(model, shapes,
                                                                       source))))
        theirs = min(theirs, once(lambda: torchinfo.summary(real, input_size=sizes,
                                                            verbose=0)))
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("sources", nargs="*", help="timm:NAME / torchvision:NAME")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    sources = args.sources or SAMPLE
    if args.profile:
        built = [(s, *build(s)) for s in sources]
        profile = cProfile.Profile()
        profile.enable()
        for source, model, shapes in built:
            convscope.analyze(import_module(model, shapes, source))
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return
    before = recorded()
    print("# OMP_NUM_THREADS=1 python benchmarks/import_speed.py (recorded: the ratio in "
          "results_import_speed.txt before this run)")
    ratios: dict[str, list[float]] = {"timm": [], "torchvision": []}
    for source in sources:
        ours, theirs = ratio(source)
        ratios[source.split(":")[0]].append(ours / theirs)
        print(f"{source:45s} convscope {ours * 1000:8.1f} ms  torchinfo {theirs * 1000:8.1f} ms"
              f"  {ours / theirs:5.2f}x   (recorded {before.get(source, '-')})", flush=True)
    every = [r for rs in ratios.values() for r in rs]
    for kind, rs in ratios.items():
        if rs:
            print(f"{kind}: median {statistics.median(rs):.2f}x over {len(rs)} models   "
                  f"(recorded {before.get(kind, '-')})")
    print(f"all: median {statistics.median(every):.2f}x over {len(every)} models "
          "(convscope import + analysis / torchinfo.summary, best of 3, interleaved; issue "
          f"11's target: 0.25x)   (recorded {before.get('all', '-')})")


if __name__ == "__main__":
    main()
