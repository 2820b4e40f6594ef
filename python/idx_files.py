"""MNIST-style IDX files for the Python side of tests and benchmarks (numpy only)."""
import gzip
import os

import numpy as np


def read_idx(directory, name):
    """The array in DIRECTORY/NAME.gz, or DIRECTORY/NAME when it is not compressed."""
    path, opener = os.path.join(directory, name + ".gz"), gzip.open
    if not os.path.exists(path):
        path, opener = os.path.join(directory, name), open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def images(directory, name):
    """Images as float32 rows of pixels scaled to [0, 1], as leap reads them."""
    return read_idx(directory, name).reshape(-1, 28 * 28).astype(np.float32) / 255


def labels(directory, name):
    return read_idx(directory, name).astype(np.int64)
