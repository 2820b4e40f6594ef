#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target (small valid files) into fuzz/corpus/."""
import gzip
import json
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    folder = os.path.join(here, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def idx_images(count, rows, cols):
    return struct.pack(">IIII", 0x803, count, rows, cols) + bytes(range(count * rows * cols))


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def npy(descr, shape, raw, version=1):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    preamble = 10 if version == 1 else 12
    header += " " * (-(preamble + len(header) + 1) % 64) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + raw


def floats(values):
    return struct.pack("<%df" % len(values), *values)


put("idx", "images", idx_images(2, 3, 3))
put("idx", "labels", idx_labels([1, 0, 9]))
put("idx", "images.gz", gzip.compress(idx_images(1, 2, 2), mtime=0))
put("idx", "labels.gz", gzip.compress(idx_labels([3, 4]), mtime=0))

put("safetensors", "f32", safetensors({"0.weight": ("F32", [2, 3], floats(range(6))),
                                       "0.bias": ("F32", [2], floats([0, 1]))}, {"format": "pt"}))
put("safetensors", "mixed", safetensors({"a": ("F16", [2], b"\x00\x3c\x00\xc0"),
                                         "b": ("I64", [1], struct.pack("<q", 7)),
                                         "c": ("BF16", [1], b"\x80\x3f"),
                                         "d": ("F64", [1], struct.pack("<d", 0.5))}))

put("csv", "simple", b"a,b,label\n0.5,1e-3,2\n-1,7,0\n")
put("csv", "quoted", b'"label","x"\r\n1,2\r\n\r\n0, 3 \r\n')

put("npy", "f4", npy("<f4", "(2, 2)", floats([1, 2, 3, 4])))
put("npy", "f8", npy("<f8", "(1, 2, 1)", struct.pack("<2d", 1, 2), version=2))
put("npy", "u1", npy("|u1", "(3,)", b"\x01\x00\x02"))
put("npy", "i8", npy("<i8", "(2,)", struct.pack("<2q", 1, 0), version=3))

# A training checkpoint of the model the fuzz target loads into: "3-2", Adam.
checkpoint_metadata = {"leap.checkpoint": "1", "optimizer": "Adam", "optimizer_steps": "4",
                       "epoch": "1", "batch": "2", "step": "9", "loss_sum": "1.25", "correct": "3",
                       "seen": "5", "batch_size": "64", "seed": "0", "shuffle": "1", "drop_last": "0"}
state = {}
for name, shape in (("0.weight", [2, 3]), ("0.bias", [2])):
    count = shape[0] * (shape[1] if len(shape) > 1 else 1)
    for prefix in ("", "optimizer."):
        for suffix in ([""] if not prefix else [".exp_avg", ".exp_avg_sq"]):
            state[prefix + name + suffix] = ("F32", shape, floats([0.25] * count))
put("checkpoint", "adam", safetensors(state, checkpoint_metadata))
