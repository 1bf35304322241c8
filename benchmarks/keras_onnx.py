"""Reading Keras and ONNX models: convscope against the frameworks' own way, one run.

1. A saved ``.keras`` file: convscope reads its config.json (no Keras needed) and
   analyses it, against Keras loading the file (``keras.saving.load_model``, which
   builds the model) and counting its parameters with ``model.summary()``.
2. An ``.onnx`` file: convscope's import (shape inference included) against
   ``onnx.load`` + ``onnx.shape_inference.infer_shapes`` alone, the floor any ONNX
   reader pays.
The counts of both ways are compared, and the ratio of the times printed.

Run: ``python benchmarks/keras_onnx.py [--repeat N]`` (needs keras, onnx, torch).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import warnings
from pathlib import Path

from startup_and_speed import median_seconds  # the timer of `make bench` (same folder)

os.environ.setdefault("KERAS_BACKEND", "torch")


def keras_part(folder: Path, repeat: int) -> None:
    import keras

    import convscope

    for name in ("ResNet50", "MobileNetV2", "DenseNet121"):
        path = folder / f"{name}.keras"
        getattr(keras.applications, name)(weights=None).save(path)

        def ours(path: Path = path) -> int:
            return convscope.analyze(convscope.load(str(path))).totals.params

        def theirs(path: Path = path) -> int:
            model = keras.saving.load_model(path)
            model.summary(print_fn=lambda *a, **k: None)
            return model.count_params()

        a, b = ours(), theirs()
        t_ours, t_theirs = median_seconds(ours, repeat), median_seconds(theirs, repeat)
        print(f"  {name:12s} .keras: convscope {t_ours * 1e3:8.1f} ms, Keras load_model + "
              f"summary {t_theirs * 1e3:8.1f} ms, ratio {t_theirs / t_ours:6.1f}x; params "
              f"{a:,} vs {b:,} ({'equal' if a == b else 'DIFFERENT'})")


def onnx_part(folder: Path, repeat: int) -> None:
    import onnx
    import torch
    import torchvision

    import convscope
    from convscope.onnx import import_onnx

    for name in ("resnet50", "mobilenet_v2", "googlenet"):
        model = torchvision.models.get_model(name, weights=None)
        if name == "googlenet":
            model.aux_logits, model.aux1, model.aux2 = False, None, None
        path = folder / f"{name}.onnx"
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(model.train(), (torch.randn(2, 3, 224, 224),), str(path),
                              dynamo=False, training=torch.onnx.TrainingMode.TRAINING)

        def ours(path: Path = path) -> int:
            return convscope.analyze(import_onnx(str(path))).totals.params

        def floor(path: Path = path) -> None:
            onnx.shape_inference.infer_shapes(onnx.load(str(path)), data_prop=True)

        t_ours, t_floor = median_seconds(ours, repeat), median_seconds(floor, repeat)
        print(f"  {name:12s} .onnx: convscope {t_ours * 1e3:8.1f} ms, onnx.load + shape "
              f"inference alone {t_floor * 1e3:8.1f} ms (convscope adds "
              f"{(t_ours - t_floor) * 1e3:.1f} ms); params {ours():,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("Keras files (Keras 3, torch backend)")
        keras_part(Path(tmp), args.repeat)
        print("ONNX files (torch.onnx export in training mode)")
        onnx_part(Path(tmp), args.repeat)


if __name__ == "__main__":
    main()
