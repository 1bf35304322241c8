"""ONNX exports of real models read back against the PyTorch import of the same module.

For each model (torchvision builders with ``weights=None``, timm with
``pretrained=False``; no download), in one process: ``convscope.pytorch.importer.
import_module`` (ATen capture), then ``torch.onnx.export`` (the TorchScript exporter, in
training mode so that batch norms stay separate nodes, as ``tests/test_onnx.py`` does) and
``convscope.onnx.import_onnx`` of the file; prints params (total, trainable,
non-trainable), MACs and output shapes of both and whether they are equal, and the import
times. Run: ``python benchmarks/onnx_vs_pytorch.py [--models a,b,...]``; the table of one
run is kept in ``benchmarks/results_onnx_vs_pytorch.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

import convscope  # noqa: E402
from convscope.onnx import import_onnx  # noqa: E402
from convscope.pytorch.importer import import_module  # noqa: E402

TORCHVISION = ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "vgg11_bn",
               "alexnet", "googlenet", "mobilenet_v2", "mobilenet_v3_small",
               "mobilenet_v3_large", "efficientnet_b0", "densenet121", "squeezenet1_0",
               "squeezenet1_1", "shufflenet_v2_x1_0", "mnasnet0_5", "regnet_x_400mf",
               "regnet_y_400mf"]
TIMM = ["resnet26d", "efficientnet_b0", "mixnet_s", "ghostnet_100", "dla34",
        "cspresnet50", "ese_vovnet19b_dw", "rexnet_100", "dpn68", "res2net50_14w_8s",
        "selecsls42b", "densenet121"]


def build(source: str, name: str) -> torch.nn.Module:
    if source == "torchvision":
        import torchvision

        kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
        model = torchvision.models.get_model(name, weights=None, **kwargs)
    else:
        import timm

        model = timm.create_model(name, pretrained=False)
    return model.train()  # training mode: the exporter keeps batch norms (eval folds them)


def numbers(graph: convscope.Graph) -> tuple[int, int, int, int, list]:
    t = convscope.analyze(graph).totals
    return (t.params, t.trainable_params, t.non_trainable_params, t.macs,
            [shape for _, shape in convscope.analyze(graph).outputs])


def compare(source: str, name: str, folder: str) -> dict[str, object]:
    model = build(source, name)
    size = 224
    start = time.perf_counter()
    expected = numbers(import_module(model, [(size, size, 3)]))
    torch_s = time.perf_counter() - start
    path = os.path.join(folder, f"{source}_{name}.onnx")
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(2, 3, size, size),), path, dynamo=False,
                          training=torch.onnx.TrainingMode.TRAINING)
    start = time.perf_counter()
    graph = import_onnx(path)
    onnx_s = time.perf_counter() - start
    got = numbers(graph)
    os.remove(path)
    return {"model": f"{source}:{name}", "pytorch": expected, "onnx": got,
            "equal": got == expected, "notes": len(graph.notes), "torch_s": torch_s,
            "onnx_s": onnx_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", help="comma-separated source:name list")
    args = parser.parse_args()
    torch.set_num_threads(1)
    chosen = ([tuple(m.split(":", 1)) for m in args.models.split(",")] if args.models else
              [("torchvision", n) for n in TORCHVISION] + [("timm", n) for n in TIMM])
    rows = []
    print(f"{'model':36} {'params':>12} {'MACs':>15} {'equal':>6} {'notes':>5} "
          f"{'pytorch s':>9} {'onnx s':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for source, name in chosen:
            try:
                row = compare(source, name, folder)
            except Exception as err:  # noqa: BLE001 - a benchmark reports and goes on
                print(f"{source}:{name:28} failed: {type(err).__name__}: {str(err)[:120]}")
                rows.append({"equal": False})
                continue
            rows.append(row)
            params, _, _, macs, _ = row["pytorch"]  # type: ignore[misc]
            print(f"{row['model']:36} {params:>12,} {macs:>15,} {str(row['equal']):>6} "
                  f"{row['notes']:>5} {row['torch_s']:>9.2f} {row['onnx_s']:>7.2f}")
            if not row["equal"]:
                print(f"    pytorch {row['pytorch']}\n    onnx    {row['onnx']}")
            sys.stdout.flush()
    equal = sum(1 for r in rows if r["equal"])
    print(f"\n{equal} of {len(rows)} ONNX exports read back equal to the PyTorch import "
          "(params, trainable, non-trainable, MACs, output shapes)")
    return 0 if equal == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
