"""Reading the published dataset files (MNIST's IDX files, CIFAR-10's pickled batches
through an unpickler that only builds arrays) and fetching them from their public mirrors
when the user asks (``--download``)."""

from __future__ import annotations

import gzip
import pickle
import struct
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConvscopeError

MNIST_FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
               "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format: magic, dims, big-endian sizes, then the data)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:
        raise ConvscopeError(f"{path}: not a readable IDX file: {err}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0":
        raise ConvscopeError(f"{path}: not an IDX file (bad magic number)")
    dtype: Any = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4",
                  0x0E: ">f8"}.get(raw[2])
    if dtype is None:
        raise ConvscopeError(f"{path}: unknown IDX data type 0x{raw[2]:02x}")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ConvscopeError(f"{path}: holds {data.size} values, its header says {dims}")
    return data.reshape(dims)


class _ArraysOnly(pickle.Unpickler):
    """CIFAR's pickles hold dicts, lists, bytes and NumPy arrays; nothing else is built."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray",
                                                           "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise ConvscopeError(f"refusing to load '{module}.{name}' from a CIFAR pickle "
                                 "(only arrays are allowed)")
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as handle:
            batch = _ArraysOnly(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError) as err:
        raise ConvscopeError(f"{path}: not a CIFAR-10 batch: {err}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ConvscopeError(f"{path}: not a CIFAR-10 batch (no b'data' and b'labels')")
    x = np.asarray(batch[b"data"], dtype=np.uint8)
    if x.ndim != 2 or x.shape[1] != 3072:
        raise ConvscopeError(f"{path}: data has shape {x.shape}; CIFAR-10 rows are 3072 bytes")
    return x.reshape(-1, 3, 32, 32), np.asarray(batch[b"labels"], dtype=np.int64)


# ---------------------------------------------------------------- downloads ---
def download(url: str, target: Path) -> None:
    from ..files import save_atomic

    print(f"downloading {url}", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - fixed URLs
            data = response.read()
    except OSError as err:
        raise ConvscopeError(f"cannot download {url}: {err}. Download it yourself into "
                             f"{target.parent}") from None
    save_atomic(target, lambda tmp: Path(tmp).write_bytes(data))


def find(folder: Path, stem: str, download_from: str | None) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    if download_from:
        target = folder / f"{stem}.gz"
        download(download_from + f"{stem}.gz", target)
        return target
    raise ConvscopeError(f"{folder}: no {stem} (or {stem}.gz); put MNIST's four IDX files "
                         "there, or add --download")
