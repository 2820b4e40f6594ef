"""The seed workload's test accuracy over many seeds: leap (the path it picks) against PyTorch
with the whole step in a CUDA graph (the same recipe: 784-128-10, Adam 1e-3, batch 64, 10
epochs, PyTorch's default initialisation, a fresh shuffle each epoch), so that "the same
accuracy" is judged by two means and their standard errors rather than by single runs, which
move by about half a point from seed to seed. Each side draws its own initial weights and
orders from its seed; seeds are not paired. leap trains all its seeds in one `leap sweep`
call (one process, one copy of the data); each seed's accuracy is its model's last
validation accuracy (the t10k split) in the sweep's run directory.

usage: python3 bench/accuracy_seeds.py --leap build/leap --data DIR [--seeds 20] [--json FILE]"""
import argparse
import csv
import glob
import json
import math
import os
import statistics
import subprocess
import tempfile

import gpu_seed


def summary(values):
    mean = statistics.mean(values)
    error = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return mean, error


def run_leap_sweep(binary, data_dir, epochs, seeds, device="cuda"):
    """Each seed's final validation accuracy from one `leap sweep --seeds 0-(seeds-1)`."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [binary, "sweep", "--run-dir", tmp, "--model", "784-128-10", "--data", data_dir,
                   "--epochs", str(epochs), "--batch-size", str(gpu_seed.BATCH), "--lr", "0.001",
                   "--optimizer", "adam", "--device", device, "--seeds", f"0-{seeds - 1}"]
        print("  $ " + " ".join(command), flush=True)
        subprocess.run(command, check=True)
        accuracies = []
        for seed in range(seeds):
            [path] = glob.glob(os.path.join(tmp, "*", f"seed-{seed}", "metrics.csv"))
            with open(path) as f:
                rows = list(csv.DictReader(f))
            if len(rows) != epochs:
                raise RuntimeError(f"{path}: {len(rows)} rows, expected {epochs}")
            accuracies.append(float(rows[-1]["val_accuracy"]))
    return accuracies


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leap", required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    data_dir = args.data or gpu_seed.default_data_dir()
    data = gpu_seed.load_data(data_dir)
    leap = run_leap_sweep(args.leap, data_dir, args.epochs, args.seeds)
    torch_graph = [gpu_seed.run_graph(data, args.epochs, seed)["test_accuracy"] for seed in range(args.seeds)]
    (leap_mean, leap_error), (torch_mean, torch_error) = summary(leap), summary(torch_graph)
    difference = leap_mean - torch_mean
    joint_error = math.sqrt(leap_error ** 2 + torch_error ** 2)
    print(f"test accuracy after {args.epochs} epochs, {args.seeds} seeds each")
    print(f"  leap               mean {leap_mean:.4f} +- {leap_error:.4f} (standard error), "
          f"min {min(leap):.4f}, max {max(leap):.4f}")
    print(f"  PyTorch CUDA graph mean {torch_mean:.4f} +- {torch_error:.4f} (standard error), "
          f"min {min(torch_graph):.4f}, max {max(torch_graph):.4f}")
    print(f"  leap - PyTorch: {difference:+.4f} = {difference / joint_error:+.2f} joint standard errors")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"epochs": args.epochs, "seeds": args.seeds, "leap": leap, "pytorch_graph": torch_graph,
                       "leap_mean": leap_mean, "pytorch_mean": torch_mean, "difference": difference,
                       "joint_standard_error": joint_error}, f, indent=2)


if __name__ == "__main__":
    main()
