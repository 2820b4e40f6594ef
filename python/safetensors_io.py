"""Reads and writes the safetensors format with numpy alone.

Debian's python3 has numpy and torch but not the `safetensors` package; this module stands
in for it in leap's tests and benchmarks. Files are byte-compatible with the official
library: an 8-byte little-endian header length N, N bytes of JSON (padded with spaces so the
data starts 8-byte aligned), then the raw little-endian tensor data.
"""

import json
import os
import struct

import numpy as np

# safetensors dtype name <-> numpy dtype (little-endian).
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_MAX_HEADER_BYTES = 100_000_000


def _dtype_name(array):
    for name, dtype in _DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            return name
    raise TypeError(f"safetensors_io: unsupported numpy dtype {array.dtype}")


def save_file(tensors, path, metadata=None):
    """Writes a dict of numpy arrays (and optional str->str metadata) to `path` atomically."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    if "__metadata__" in tensors:
        raise ValueError("safetensors_io: a tensor may not be named __metadata__")
    arrays = {name: np.asarray(array) for name, array in tensors.items()}
    # Widest items first, as the official writer orders them, keeps every tensor aligned.
    order = sorted(arrays, key=lambda name: (-arrays[name].dtype.itemsize, name))
    blobs, offset = [], 0
    for name in order:
        array = arrays[name]
        dtype_name = _dtype_name(array)
        blob = np.ascontiguousarray(array, dtype=_DTYPES[dtype_name]).tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    temp = path + ".tmp"
    try:
        with open(temp, "wb") as out:
            out.write(struct.pack("<Q", len(text)))
            out.write(text)
            for blob in blobs:
                out.write(blob)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def load_file(path, with_metadata=False):
    """Reads `path` into a dict of numpy arrays (and the metadata dict when asked)."""
    with open(path, "rb") as source:
        data = source.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, shorter than the 8-byte header length")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > _MAX_HEADER_BYTES or 8 + header_size > len(data):
        raise ValueError(f"{path}: header length {header_size} does not fit the file "
                         f"({len(data)} bytes)")
    header = json.loads(data[8:8 + header_size].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + header_size:]
    tensors = {}
    for name, info in header.items():
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {info['dtype']}")
        shape = tuple(int(extent) for extent in info["shape"])
        begin, end = (int(x) for x in info["data_offsets"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not 0 <= begin <= end <= len(body) or end - begin != count * dtype.itemsize:
            raise ValueError(f"{path}: tensor {name!r} has data_offsets [{begin}, {end}] that "
                             f"do not fit shape {list(shape)} in {len(body)} data bytes")
        tensors[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape).copy()
    return (tensors, metadata) if with_metadata else tensors


def save_torch(state_dict, path, metadata=None):
    """Writes a torch state_dict (tensors moved to the CPU) in the safetensors format."""
    import torch  # only callers who use torch pay for importing it

    arrays = {}
    for name, tensor in state_dict.items():
        tensor = tensor.detach().cpu().contiguous()
        if tensor.dtype == torch.bfloat16:
            raise TypeError(f"safetensors_io: {name} is bfloat16, which numpy cannot hold")
        arrays[name] = tensor.numpy()
    save_file(arrays, path, metadata)


def load_torch(path):
    """Reads a safetensors file into a dict of CPU torch tensors."""
    import torch

    return {name: torch.from_numpy(array) for name, array in load_file(path).items()}
