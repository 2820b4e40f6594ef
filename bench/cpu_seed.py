"""The seed workload on the CPU, leap against PyTorch in one run on one machine:
784-128-10, Adam(lr=1e-3), batch 64, Fashion-MNIST, 10 epochs, zero_grad/forward/loss/
backward/step. PyTorch runs twice: as the seed code writes it (torchvision's FashionMNIST
with ToTensor, so each sample goes through PIL), and with the data already in tensors
(TensorDataset), the strongest plain-PyTorch loop. PyTorch gets every core
(torch.set_num_threads), and the tensor loop runs once more on one thread, Debian's torch
default, which is faster on a 2-core machine. Prints seconds per epoch (median over epochs), us/step and final
test accuracy, and writes bench/results/<date>-cpu-seed.json.

usage: /usr/bin/python3 bench/cpu_seed.py --leap build/leap [--epochs 10]"""
import argparse
import datetime
import gzip
import shutil
import json
import os
import statistics
import sys
import subprocess
import tempfile
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import idx_files  # noqa: E402
import mlp_peers  # noqa: E402

DATA = os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist")
BATCH = 64
# Multiply-adds x2 per sample: forward 784*128 + 128*10; a training step is the forward, the
# weight gradients (same again) and the input gradient of the second layer (leap skips the
# first layer's, which the data does not need).
FORWARD = 2 * (784 * 128 + 128 * 10)
STEP_FLOPS = BATCH * (2 * FORWARD + 2 * 128 * 10)


def torchvision_loader(tmp):
    """The seed code's data: torchvision's FashionMNIST (reads the unpacked IDX files)."""
    from torchvision import datasets, transforms
    raw = os.path.join(tmp, "FashionMNIST", "raw")
    os.makedirs(raw)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(os.path.join(DATA, name + ".gz"), "rb") as f, open(os.path.join(raw, name), "wb") as out:
            shutil.copyfileobj(f, out)
    train = datasets.FashionMNIST(tmp, train=True, download=False, transform=transforms.ToTensor())
    return torch.utils.data.DataLoader(train, batch_size=BATCH, shuffle=True)


def run_pytorch(epochs, seed, seed_code, threads):
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    tx = torch.from_numpy(idx_files.images(DATA, "t10k-images-idx3-ubyte"))
    ty = torch.from_numpy(idx_files.labels(DATA, "t10k-labels-idx1-ubyte"))
    tmp = tempfile.TemporaryDirectory()
    if seed_code:
        loader = torchvision_loader(tmp.name)
    else:
        x = torch.from_numpy(idx_files.images(DATA, "train-images-idx3-ubyte"))
        y = torch.from_numpy(idx_files.labels(DATA, "train-labels-idx1-ubyte"))
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
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
        print(f"  epoch {len(seconds)}: {seconds[-1]:.2f}s, test accuracy {accuracy:.4f}", flush=True)
    tmp.cleanup()
    return seconds, len(loader), accuracy


def run_leap(binary, epochs, seed):
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "run.jsonl")
        subprocess.run([binary, "train", "--no-run-dir", "--model", "784-128-10", "--data", DATA, "--epochs", str(epochs),
                        "--batch-size", str(BATCH), "--lr", "0.001", "--optimizer", "adam", "--device", "cpu",
                        "--seed", str(seed), "--metrics", metrics], check=True)
        rows = [r for r in map(json.loads, open(metrics)) if "epoch" in r]  # the last line is the compute report
    return [r["seconds"] for r in rows], rows[-1]["steps"], rows[-1]["val_accuracy"]


cpu_name = mlp_peers.cpu_name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    # PyTorch gets every core, like leap, and once more its own default here (one thread).
    cores = os.cpu_count()
    results = {}
    for name, run in (("leap", lambda: run_leap(args.leap, args.epochs, args.seed)),
                      ("pytorch-seed-code", lambda: run_pytorch(args.epochs, args.seed, True, cores)),
                      ("pytorch-tensors", lambda: run_pytorch(args.epochs, args.seed, False, cores)),
                      ("pytorch-tensors-1t", lambda: run_pytorch(args.epochs, args.seed, False, 1))):
        print(f"== {name}", flush=True)
        seconds, steps, accuracy = run()
        epoch = statistics.median(seconds)
        results[name] = {"seconds_per_epoch_median": epoch, "seconds_per_epoch": seconds,
                         "us_per_step": epoch / steps * 1e6, "steps_per_epoch": steps,
                         "test_accuracy": accuracy}
    leap = results["leap"]
    leap["step_flops"] = STEP_FLOPS
    leap["gflops"] = STEP_FLOPS / (leap["us_per_step"] * 1e-6) / 1e9
    speedups = {name: r["seconds_per_epoch_median"] / leap["seconds_per_epoch_median"]
                for name, r in results.items() if name != "leap"}

    device = f"{cpu_name()}, {os.cpu_count()} cores"
    print(f"\nseed workload, {args.epochs} epochs, batch {BATCH}, on {device}")
    print(f"{'':18} {'s/epoch':>8} {'us/step':>8} {'test acc':>9} {'leap is':>8}")
    for name, r in results.items():
        ratio = f"{speedups[name]:.1f}x" if name in speedups else ""
        print(f"{name:18} {r['seconds_per_epoch_median']:8.3f} {r['us_per_step']:8.1f} {r['test_accuracy']:9.4f} {ratio:>8}")
    print(f"leap: {STEP_FLOPS / 1e6:.1f} MFLOP/step, {leap['gflops']:.1f} GFLOP/s")
    for name, speedup in speedups.items():
        print(f"target: >= 5x {name} per epoch: {speedup:.1f}x ({'met' if speedup >= 5 else 'MISSED'})")
    print(f"target: test accuracy >= 0.875: {leap['test_accuracy']:.4f} "
          f"({'met' if leap['test_accuracy'] >= 0.875 else 'MISSED'})")

    date = datetime.date.today().isoformat()
    record = {"benchmark": "cpu_seed", "date": date, "device": device, "epochs": args.epochs, "batch": BATCH,
              "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "speedups": speedups, "results": results}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", f"{date}-cpu-seed.json")
    with open(out, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
