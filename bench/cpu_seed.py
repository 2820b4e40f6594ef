"""The seed workload on the CPU, leap against PyTorch in one run on one machine:
784-128-10, Adam(lr=1e-3), batch 64, Fashion-MNIST, 10 epochs (PyTorch exactly as the seed
code writes it: DataLoader over tensors, zero_grad/forward/loss/backward/step).
Prints seconds per epoch (median over epochs), us/step and final test accuracy for both, and
writes bench/results/<date>-cpu-seed.json.

usage: /usr/bin/python3 bench/cpu_seed.py --leap build/leap [--epochs 10]"""
import argparse
import datetime
import gzip
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch
from torch import nn

DATA = os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist")
BATCH = 64
# Multiply-adds x2 per sample: forward 784*128 + 128*10; a training step is the forward, the
# weight gradients (same again) and the input gradient of the second layer (leap skips the
# first layer's, which the data does not need).
FORWARD = 2 * (784 * 128 + 128 * 10)
STEP_FLOPS = BATCH * (2 * FORWARD + 2 * 128 * 10)


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def run_pytorch(epochs, seed):
    torch.manual_seed(seed)
    x = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    tx = torch.from_numpy(read_idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255)
    ty = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for images, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
        with torch.no_grad():
            accuracy = (model(tx).argmax(1) == ty).float().mean().item()
        print(f"  pytorch epoch {len(seconds)}: {seconds[-1]:.2f}s, test accuracy {accuracy:.4f}", flush=True)
    return seconds, len(loader), accuracy


def run_leap(binary, epochs, seed):
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "run.jsonl")
        subprocess.run([binary, "train", "--model", "784-128-10", "--data", DATA, "--epochs", str(epochs),
                        "--batch-size", str(BATCH), "--lr", "0.001", "--optimizer", "adam", "--device", "cpu",
                        "--seed", str(seed), "--metrics", metrics], check=True)
        rows = [json.loads(line) for line in open(metrics)]
    return [r["seconds"] for r in rows], rows[-1]["steps"], rows[-1]["val_accuracy"]


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    results = {}
    for name, run in (("leap", lambda: run_leap(args.leap, args.epochs, args.seed)),
                      ("pytorch", lambda: run_pytorch(args.epochs, args.seed))):
        print(f"== {name}", flush=True)
        seconds, steps, accuracy = run()
        epoch = statistics.median(seconds)
        results[name] = {"seconds_per_epoch_median": epoch, "seconds_per_epoch": seconds,
                         "us_per_step": epoch / steps * 1e6, "steps_per_epoch": steps,
                         "test_accuracy": accuracy}
    leap, peer = results["leap"], results["pytorch"]
    leap["step_flops"] = STEP_FLOPS
    leap["gflops"] = STEP_FLOPS / (leap["us_per_step"] * 1e-6) / 1e9
    speedup = peer["seconds_per_epoch_median"] / leap["seconds_per_epoch_median"]

    device = f"{cpu_name()}, {os.cpu_count()} cores"
    print(f"\nseed workload, {args.epochs} epochs, batch {BATCH}, on {device}")
    print(f"{'':10} {'s/epoch':>8} {'us/step':>8} {'test acc':>9}")
    for name, r in results.items():
        print(f"{name:10} {r['seconds_per_epoch_median']:8.3f} {r['us_per_step']:8.1f} {r['test_accuracy']:9.4f}")
    print(f"leap: {speedup:.1f}x PyTorch per epoch; {STEP_FLOPS / 1e6:.1f} MFLOP/step, {leap['gflops']:.1f} GFLOP/s")
    print(f"targets: >= 5x PyTorch ({'met' if speedup >= 5 else 'MISSED'}), "
          f"test accuracy >= 0.875 ({'met' if leap['test_accuracy'] >= 0.875 else 'MISSED'})")

    date = datetime.date.today().isoformat()
    record = {"benchmark": "cpu_seed", "date": date, "device": device, "epochs": args.epochs, "batch": BATCH,
              "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "speedup": speedup, "results": results}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"{date}-cpu-seed.json")
    with open(out, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
