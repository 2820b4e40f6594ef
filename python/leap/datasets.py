"""keras.datasets' shape: load_data() gives ((x_train, y_train), (x_test, y_test)) as numpy,
images uint8 (n, 28, 28) and labels uint8 (n,), read from MNIST-style IDX files: Debian's
dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, or $LEAP_DATA_DIR), or `path`."""
import gzip
import os
from types import SimpleNamespace
from typing import Optional, Tuple

import numpy as np

Split = Tuple[np.ndarray, np.ndarray]


def _read_idx(directory: str, name: str) -> np.ndarray:
    path, opener = os.path.join(directory, name + ".gz"), gzip.open
    if not os.path.exists(path):
        path, opener = os.path.join(directory, name), open
    if not os.path.exists(path):
        raise FileNotFoundError(f"{os.path.join(directory, name)}[.gz] not found (install Debian's "
                                "dataset-fashion-mnist, set LEAP_DATA_DIR, or pass path=)")
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 8:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    if len(raw) - 4 - 4 * dims != int(np.prod(shape)):
        raise ValueError(f"{path}: the header says {shape} but the data has other length")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape).copy()


def _load(directory: str) -> Tuple[Split, Split]:
    return ((_read_idx(directory, "train-images-idx3-ubyte"), _read_idx(directory, "train-labels-idx1-ubyte")),
            (_read_idx(directory, "t10k-images-idx3-ubyte"), _read_idx(directory, "t10k-labels-idx1-ubyte")))


def default_data_dir() -> str:
    return os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist")


def _fashion_mnist(path: Optional[str] = None) -> Tuple[Split, Split]:
    """keras.datasets.fashion_mnist.load_data()."""
    return _load(path or default_data_dir())


def _mnist(path: Optional[str] = None) -> Tuple[Split, Split]:
    """MNIST from a directory of its four IDX files (path= or $LEAP_MNIST_DIR)."""
    directory = path or os.environ.get("LEAP_MNIST_DIR")
    if not directory:
        raise FileNotFoundError("mnist.load_data(path=DIR): leap has no default MNIST directory")
    return _load(directory)


fashion_mnist = SimpleNamespace(load_data=_fashion_mnist)
mnist = SimpleNamespace(load_data=_mnist)
