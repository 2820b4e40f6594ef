"""Test accuracy over many seeds, leap against PyTorch on the same recipe (Fashion-MNIST,
Adam 1e-3, PyTorch's default initialisation, a fresh shuffle each epoch), so that "the same
accuracy" is judged by means, spreads and standard errors rather than by single runs, which
move by about half a point from seed to seed. Each side draws its own initial weights and
orders from its seed; seeds are not paired. leap trains all the seeds of an entry in one
`leap sweep` call (one process, one copy of the data; on the CPU a model a core); each seed's
accuracy is its model's last validation accuracy (the t10k split) in the sweep's run directory.
PyTorch: on cuda the whole step in a CUDA graph (mlp_peers.run_torch_graph); on cpu the plain
tensor loop, a seed a process on one thread each.

Target (issue 19): leap's mean within the seed spread of PyTorch's, taken as at least PyTorch's
mean less one standard deviation of its seeds (higher is never a fault).

usage: python3 bench/accuracy_seeds.py --leap build/leap [--device cuda] [--seeds 20] [--epochs 10]
       /usr/bin/python3 bench/accuracy_seeds.py --leap build/leap --device cpu --seeds 5 --epochs 3 \\
           --entries 784-128-10-b64,784-1024-10-b64 [--json FILE]"""
import argparse
import csv
import glob
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import tempfile

import mlp_peers as peers

def parse_entry(entry):
    """'784-512-256-10-b64' -> ('784-512-256-10', 64)"""
    spec, _, batch = entry.rpartition("-b")
    if not spec or not batch.isdigit():
        raise SystemExit(f"--entries: '{entry}' is not SPEC-bBATCH, e.g. 784-128-10-b64")
    return spec, int(batch)


def run_leap_sweep(binary, data_dir, spec, batch, epochs, seeds, device):
    """Each seed's final validation accuracy from one `leap sweep --seeds 0-(seeds-1)`."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [binary, "sweep", "--run-dir", tmp, "--model", spec, "--data", data_dir,
                   "--epochs", str(epochs), "--batch-size", str(batch), "--lr", str(peers.LR),
                   "--optimizer", "adam", "--device", device, "--seeds", f"0-{seeds - 1}"]
        if device == "cpu":
            command += ["--workers", str(os.cpu_count() or 1)]
        print("  $ " + " ".join(command), flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        accuracies = []
        for seed in range(seeds):
            [path] = glob.glob(os.path.join(tmp, "*", f"seed-{seed}", "metrics.csv"))
            with open(path) as f:
                rows = list(csv.DictReader(f))
            if len(rows) != epochs:
                raise RuntimeError(f"{path}: {len(rows)} rows, expected {epochs}")
            accuracies.append(float(rows[-1]["val_accuracy"]))
    return accuracies


_data = None  # each pool process's copy, loaded once


def torch_cpu_accuracy(job):
    """One seed of PyTorch's plain CPU loop on one thread: its test accuracy after `epochs`."""
    import torch
    global _data
    data_dir, widths, batch, epochs, seed = job
    if _data is None:
        _data = peers.load_data(data_dir)
    torch.set_num_threads(1)
    return peers.torch_cpu_accuracy(_data, widths, batch, epochs, seed)


def run_torch(data_dir, spec, batch, epochs, seeds, device):
    widths = peers.widths_of(spec)
    if device == "cpu":
        with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
            return pool.map(torch_cpu_accuracy, [(data_dir, widths, batch, epochs, s) for s in range(seeds)])
    data = peers.load_data(data_dir)
    return [peers.run_torch_graph(data, widths, batch, epochs, seed)["test_accuracy"] for seed in range(seeds)]


def summary(values):
    mean = statistics.mean(values)
    spread = statistics.stdev(values) if len(values) > 1 else float("nan")
    return mean, spread, spread / math.sqrt(len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leap", required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--entries", default="784-128-10-b64", help="comma-separated SPEC-bBATCH entries")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.seeds < 2 or args.epochs < 1:
        raise SystemExit("--seeds must be at least 2 (a spread needs two) and --epochs at least 1")
    data_dir = args.data or peers.default_data_dir()
    peer = "PyTorch CUDA graph" if args.device == "cuda" else "PyTorch CPU loop"
    results, met = [], 0
    for entry in args.entries.split(","):
        spec, batch = parse_entry(entry)
        print(f"== {spec} batch {batch}", flush=True)
        leap = run_leap_sweep(args.leap, data_dir, spec, batch, args.epochs, args.seeds, args.device)
        torch = run_torch(data_dir, spec, batch, args.epochs, args.seeds, args.device)
        (leap_mean, leap_spread, leap_error), (torch_mean, torch_spread, torch_error) = summary(leap), summary(torch)
        difference = leap_mean - torch_mean
        joint_error = math.sqrt(leap_error ** 2 + torch_error ** 2)
        passed = leap_mean >= torch_mean - torch_spread
        met += passed
        print(f"  leap {leap_mean:.4f} +- {leap_spread:.4f} (seed spread; standard error {leap_error:.4f}), "
              f"min {min(leap):.4f}, max {max(leap):.4f}")
        print(f"  {peer} {torch_mean:.4f} +- {torch_spread:.4f} (standard error {torch_error:.4f}), "
              f"min {min(torch):.4f}, max {max(torch):.4f}")
        print(f"  {'PASS' if passed else 'FAIL'}  leap - PyTorch: {difference:+.4f} = "
              f"{difference / joint_error:+.2f} joint standard errors", flush=True)
        results.append({"entry": entry, "leap": leap, "pytorch": torch, "leap_mean": leap_mean,
                        "pytorch_mean": torch_mean, "pytorch_seed_spread": torch_spread,
                        "difference": difference, "joint_standard_error": joint_error, "passed": passed})
    print(f"test accuracy after {args.epochs} epochs, {args.seeds} seeds a side, {args.device}: "
          f"{met} of {len(results)} entries within PyTorch's seed spread")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": args.device, "epochs": args.epochs, "seeds": args.seeds, "peer": peer,
                       "entries": results}, f, indent=2)


if __name__ == "__main__":
    main()
