"""Datasets that work offline, loaded into memory as channels-first float tensors.

Names on the command line (``--data``):

* ``digits``: scikit-learn's bundled 8x8 digits (1,797 images, 10 classes);
* ``mnist1d``: MNIST-1D generated locally by the ``mnist1d`` package
  (``make_dataset(get_dataset_args())``: 4,000 train and 1,000 test signals of length 40);
* ``folder:PATH``: one sub-folder per class (or ``train/`` and ``val/`` (and ``test/``)
  sub-folders of such), images resized and centre-cropped to the model's input;
* ``mnist:PATH``: the four IDX files (gzipped or not) as published;
* ``cifar10:PATH``: the python pickle batches as published (read with a restricted
  unpickler that only builds arrays);
* ``synthetic``: random inputs of the model's shape whose class is a fixed random linear
  function of the input (learnable), for smoke tests and benchmarks.

``--download`` fetches MNIST or CIFAR-10 from their public mirrors when PATH is missing.
Splits: a fixed stratified test split where the dataset has none (digits: 20 %), and a
validation split taken from the training data (``val_fraction``, 10 % by default).
Normalisation statistics (per channel mean and deviation) come from the training split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConvscopeError, closest
from ..layers.base import Shape, shape_str
from .readers import (
    CIFAR_URL,
    MNIST_FILES,
    MNIST_MIRROR,
    download,
    find,
    read_cifar_batch,
    read_idx,
)

NAMES = ("digits", "mnist1d", "folder:PATH", "mnist:PATH", "cifar10:PATH", "synthetic")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}


@dataclass
class Split:
    x: torch.Tensor  # (N, C, *spatial) float32, normalised
    y: torch.Tensor  # (N,) int64


@dataclass
class Data:
    name: str
    train: Split
    val: Split
    test: Split
    classes: list[str]
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    @property
    def input_shape(self) -> Shape:
        """H x W x C of one sample, as convscope writes shapes."""
        s = tuple(self.train.x.shape[1:])
        return s if len(s) == 1 else (*s[1:], s[0])


# ----------------------------------------------------------------- datasets ---
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ConvscopeError("the digits dataset needs scikit-learn: pip install "
                             "'convscope[train]'") from None
    d = load_digits()
    x = d.images.astype(np.float32)[:, None] / 16.0
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    return x_tr, y_tr, x_te, y_te, [str(c) for c in range(10)]


def _mnist1d() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ConvscopeError("the mnist1d dataset needs the mnist1d package: pip install "
                             "'convscope[train]'") from None
    cache = Path.home() / ".cache" / "convscope" / "mnist1d-default.npz"
    if cache.exists():
        with np.load(cache) as f:
            arrays = {k: f[k] for k in ("x", "y", "x_test", "y_test")}
    else:
        made = make_dataset(get_dataset_args())  # generated locally, never downloaded
        arrays = {k: np.asarray(made[k]) for k in ("x", "y", "x_test", "y_test")}
        try:
            from ..files import save_atomic

            save_atomic(cache, lambda tmp: np.savez(tmp, **arrays))
        except ConvscopeError:
            pass  # a read-only home: generate again next time
    x = arrays["x"].astype(np.float32)[:, None]
    xt = arrays["x_test"].astype(np.float32)[:, None]
    return x, arrays["y"].astype(np.int64), xt, arrays["y_test"].astype(np.int64), \
        [str(c) for c in range(10)]


def _mnist(path: str, fetch: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                             list[str]]:
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True) if fetch else None
    mirror = MNIST_MIRROR if fetch else None
    arrays = {k: read_idx(find(folder, stem, mirror)) for k, stem in MNIST_FILES.items()}
    for part in ("train", "test"):
        n_x, n_y = len(arrays[f"{part}_x"]), len(arrays[f"{part}_y"])
        if n_x != n_y:
            raise ConvscopeError(f"{folder}: {n_x} {part} images but {n_y} labels")
    return (arrays["train_x"].astype(np.float32)[:, None] / 255.0,
            arrays["train_y"].astype(np.int64),
            arrays["test_x"].astype(np.float32)[:, None] / 255.0,
            arrays["test_y"].astype(np.int64), [str(c) for c in range(10)])


def _cifar10(path: str, fetch: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                               list[str]]:
    folder = Path(path)
    if not (folder / "data_batch_1").exists() and (folder / "cifar-10-batches-py").exists():
        folder = folder / "cifar-10-batches-py"
    if not (folder / "data_batch_1").exists():
        if not fetch:
            raise ConvscopeError(f"{folder}: no data_batch_1; put CIFAR-10's python batches "
                                 "there (cifar-10-batches-py), or add --download")
        import tarfile

        archive = Path(path) / "cifar-10-python.tar.gz"
        download(CIFAR_URL, archive)
        with tarfile.open(archive) as tar:
            tar.extractall(Path(path), filter="data")
        folder = Path(path) / "cifar-10-batches-py"
    trains = [read_cifar_batch(p) for p in sorted(folder.glob("data_batch_*"))]
    x_te, y_te = read_cifar_batch(folder / "test_batch")
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck"]
    return (np.concatenate([t[0] for t in trains]).astype(np.float32) / 255.0,
            np.concatenate([t[1] for t in trains]), x_te.astype(np.float32) / 255.0, y_te, names)


def _image(path: Path, shape: Shape) -> np.ndarray:
    """One image resized (shorter side) and centre-cropped to H x W, with C channels."""
    from PIL import Image, UnidentifiedImageError

    h, w, c = shape
    try:
        with Image.open(path) as opened:
            img: Any = opened.convert("L" if c == 1 else "RGB")
            scale = max(h / img.height, w / img.width)
            size = (max(w, round(img.width * scale)), max(h, round(img.height * scale)))
            img = img.resize(size, Image.Resampling.BILINEAR)
            left, top = (size[0] - w) // 2, (size[1] - h) // 2
            img = img.crop((left, top, left + w, top + h))
            arr = np.asarray(img, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as err:
        raise ConvscopeError(f"{path}: cannot read the image: {err}") from None
    return arr[None] if c == 1 else arr.transpose(2, 0, 1)


def _folder_split(folder: Path, shape: Shape, classes: list[str] | None
                  ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    classes = classes or found
    if not classes:
        raise ConvscopeError(f"{folder}: no class sub-folders (expected one folder per class, "
                             "e.g. cats/ and dogs/)")
    xs, ys = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (folder / name).glob("*") if p.suffix.lower() in
                       IMAGE_SUFFIXES) if (folder / name).is_dir() else []
        xs += [_image(p, shape) for p in files]
        ys += [label] * len(files)
    if not xs:
        raise ConvscopeError(f"{folder}: no images in the class folders {', '.join(classes)}")
    return np.stack(xs), np.asarray(ys, dtype=np.int64), classes


def _folder(path: str, shape: Shape | None) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                     np.ndarray, list[str]]:
    folder = Path(path)
    if not folder.is_dir():
        raise ConvscopeError(f"{path}: no such folder")
    if shape is None or len(shape) != 3 or shape[-1] not in (1, 3):
        raise ConvscopeError(f"folder datasets need a model whose input is an image "
                             f"(H x W x 1 or 3); the model takes "
                             f"{shape_str(shape) if shape else 'nothing'}")
    if (folder / "train").is_dir():
        x, y, classes = _folder_split(folder / "train", shape, None)
        test = folder / "test" if (folder / "test").is_dir() else folder / "val"
        if not test.is_dir():
            raise ConvscopeError(f"{folder}: has train/ but no val/ or test/")
        xt, yt, _ = _folder_split(test, shape, classes)
        return x, y, xt, yt, classes
    x, y, classes = _folder_split(folder, shape, None)
    x_tr, y_tr, x_te, y_te = stratified(x, y, 0.2, seed=0)
    return x_tr, y_tr, x_te, y_te, classes


def _synthetic(shape: Shape, classes: int, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    first = shape if len(shape) == 1 else (shape[-1], *shape[:-1])
    x = rng.standard_normal((640, *first)).astype(np.float32)
    w = rng.standard_normal((int(np.prod(first)), classes)).astype(np.float32)
    y = (x.reshape(len(x), -1) @ w).argmax(1).astype(np.int64)
    return x[:512], y[:512], x[512:], y[512:], [str(c) for c in range(classes)]


def stratified(x: np.ndarray, y: np.ndarray, fraction: float, seed: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_keep, y_keep, x_split, y_split), ``fraction`` of every class in the split."""
    rng = np.random.default_rng(seed)
    split = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        split += list(idx[:max(1, round(fraction * len(idx)))] if len(idx) > 1 else [])
    mask = np.zeros(len(y), dtype=bool)
    mask[split] = True
    return x[~mask], y[~mask], x[mask], y[mask]


def load_data(name: str, shape: Shape | None = None, classes: int | None = None,
              val_fraction: float = 0.1, fetch: bool = False) -> Data:
    """The dataset ``name`` (see the module docstring), split and normalised."""
    if not 0 < val_fraction < 1:  # never the test split as the validation split
        raise ConvscopeError(f"the validation fraction must be > 0 and < 1; received "
                             f"{val_fraction}")
    kind, _, path = name.partition(":")
    if kind in ("folder", "mnist", "cifar10") and not path:
        raise ConvscopeError(f"--data {kind} needs a path: {kind}:PATH")
    if kind == "digits":
        arrays = _digits()
    elif kind == "mnist1d":
        arrays = _mnist1d()
    elif kind == "mnist":
        arrays = _mnist(path, fetch)
    elif kind == "cifar10":
        arrays = _cifar10(path, fetch)
    elif kind == "folder":
        arrays = _folder(path, shape)
    elif kind == "synthetic":
        if shape is None or classes is None:
            raise ConvscopeError("the synthetic dataset takes its shape from the model")
        arrays = _synthetic(shape, classes)
    else:
        kinds = [n.split(":")[0] for n in NAMES]
        raise ConvscopeError(f"unknown dataset '{name}'.{closest(kind, kinds)} Datasets: "
                             f"{', '.join(NAMES)}")
    x_tr, y_tr, x_te, y_te, names = arrays
    x_tr, y_tr, x_va, y_va = stratified(x_tr, y_tr, val_fraction, seed=1)
    axes = (0, *range(2, x_tr.ndim))
    mean = x_tr.mean(axis=axes, dtype=np.float64)
    std = x_tr.std(axis=axes, dtype=np.float64) + 1e-8
    data = Data(name, to_split(x_tr, y_tr, mean, std), to_split(x_va, y_va, mean, std),
                to_split(x_te, y_te, mean, std), names, mean.tolist(), std.tolist())
    return data


def normalise(x: np.ndarray, mean: Any, std: Any) -> torch.Tensor:
    shape = (1, -1, *([1] * (x.ndim - 2)))
    m = np.asarray(mean, dtype=np.float32).reshape(shape)
    s = np.asarray(std, dtype=np.float32).reshape(shape)
    return torch.from_numpy(((x - m) / s).astype(np.float32))


def to_split(x: np.ndarray, y: np.ndarray, mean: Any, std: Any) -> Split:
    return Split(normalise(x, mean, std), torch.from_numpy(y.astype(np.int64)))
