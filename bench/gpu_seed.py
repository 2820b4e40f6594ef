"""The seed workload on one GPU, leap against PyTorch and JAX in one run on one machine:
784-128-10 (Linear, ReLU, Linear), cross-entropy, Adam(lr=1e-3), batch 64, Fashion-MNIST,
shuffled each epoch, the last partial batch of 32 included (938 steps an epoch), 10 epochs.

Variants, one after another in this process:
  leap      the leap binary, --device cuda (its own JSONL metrics): the path leap picks (for this
            model the persistent cluster kernel, fp32 products); leapfused: the 3-kernel fused
            step replayed as a CUDA graph (LEAP_TRAINING_PATH=fused); leapgraph: the layer calls as
            a graph (LEAP_TRAINING_PATH=layers); leapseeds: leap again with seeds 1-4, so that
            the accuracy target reads the mean of 5 seeds (one 10-epoch run's final test
            accuracy moves by about a point from seed to seed); leap4096: batch 4096
  seed      PyTorch as the seed code writes it: DataLoader over CPU tensors, .to('cuda') per batch
  eager     PyTorch eager, data resident on the GPU, Adam(fused=True)
  graph     PyTorch with the whole step captured in a CUDA graph (one for 64, one for the last 32);
            graphseeds: again with seeds 1-4, PyTorch's mean of 5 seeds beside leap's
  jax       JAX, one jit per epoch: lax.scan over the full batches, a second jit for the last 32
Each Python variant runs one warm-up epoch first (compilation and capture stay out of the clock),
then resets to its initial weights and optimizer state and trains the N timed epochs; an epoch is
timed by the wall clock after a device synchronize. us/step is the median epoch over its steps.
Prints a table and writes bench/results/<date>-gpu-seed-<device>.json (and a copy to $OUT if set).

usage: python3 bench/gpu_seed.py --leap build/leap [--epochs 10] [--skip seed] [--only leap,jax]"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

# JAX must not grab most of the GPU at import: PyTorch shares the process.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np
import torch

import mlp_peers as peers  # noqa: E402
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BATCH = 64
WIDTHS = [784, 128, 10]
BIG_BATCH = 4096
LR = peers.LR
# Multiply-adds x2 per sample: forward 784*128 + 128*10; a training step is the forward, the
# weight gradients (same again) and the input gradient of the second layer (the first layer's
# input gradient is not needed).
FORWARD = 2 * (784 * 128 + 128 * 10)
SAMPLE_FLOPS = 2 * FORWARD + 2 * 128 * 10
STEP_FLOPS = BATCH * SAMPLE_FLOPS
VARIANTS = ("leap", "leapfused", "leapgraph", "leapseeds", "leap4096", "seed", "eager", "graph", "graphseeds", "jax")
# leap_fused_us_per_step: the fully fused issue's target for the persistent kernel.
TARGETS = {"leap_us_per_step": 15.0, "leap_fused_us_per_step": 5.0, "vs_jax": 1.9, "vs_eager": 70.0,
           "leap_test_accuracy": 0.877}


default_data_dir, load_data, timed_epochs = peers.default_data_dir, peers.load_data, peers.timed_epochs
torch_accuracy, torch_resetter = peers.torch_accuracy, peers.torch_resetter
package_version, nvidia_smi, device_slug = peers.package_version, peers.nvidia_smi, peers.device_slug


def train_step(model, criterion, optimizer, images, labels):
    """The seed code's step: zero_grad / forward / loss / backward / step."""
    optimizer.zero_grad()
    loss = criterion(model(images), labels)
    loss.backward()
    optimizer.step()


def summarize(seconds, steps, accuracy, batch=BATCH, **extra):
    return peers.summarize(seconds, steps, accuracy, batch, WIDTHS, **extra)


# ---------------------------------------------------------------- leap


def run_leap_seeds(binary, data_dir, epochs, batch, train_samples, seeds=(1, 2, 3, 4)):
    """leap with further seeds: their test accuracies, for the mean the accuracy target reads."""
    accuracies = {seed: run_leap_binary(binary, data_dir, epochs, batch, seed, train_samples)["test_accuracy"]
                  for seed in seeds}
    return {"test_accuracy_by_seed": accuracies}


def run_leap_binary(binary, data_dir, epochs, batch, seed, train_samples, settings=None):
    if not os.path.isfile(binary):
        raise FileNotFoundError(f"leap binary not found: {binary} (build it, or pass --leap)")
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "run.jsonl")
        command = [binary, "train", "--no-run-dir", "--model", "784-128-10", "--data", data_dir, "--epochs", str(epochs),
                   "--batch-size", str(batch), "--lr", "0.001", "--optimizer", "adam", "--device", "cuda",
                   "--seed", str(seed), "--metrics", metrics]
        print("  $ " + " ".join(command), flush=True)
        path = None
        env = dict(os.environ)
        for key, value in (settings or {}).items():
            env[key] = value
            print(f"  ({key}={value})", flush=True)
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in process.stdout:
            print("  | " + line.rstrip(), flush=True)
            if line.startswith("Training path:"):
                path = line.split(":", 1)[1].strip()
        if process.wait() != 0:
            raise RuntimeError(f"leap exited with status {process.returncode}")
        rows = [r for r in (json.loads(line) for line in open(metrics) if line.strip()) if "epoch" in r]
    if len(rows) != epochs:
        raise RuntimeError(f"leap wrote {len(rows)} metric rows, expected {epochs}")
    seconds = [r["seconds"] for r in rows]
    result = summarize(seconds, rows[-1]["steps"], rows[-1]["val_accuracy"], batch=batch, training_path=path,
                       us_per_step_reported=[r["us_per_step"] for r in rows], metrics=rows,
                       note="leap runs no warm-up epoch; the median over all epochs is used")
    if epochs > 1:
        result["us_per_step_median_excluding_first"] = statistics.median(seconds[1:]) / rows[-1]["steps"] * 1e6
    result["samples_per_s"] = train_samples / result["seconds_per_epoch_median"]
    return result


# ---------------------------------------------------------------- PyTorch


def make_model(seed):
    return peers.torch_mlp(WIDTHS, seed, "cuda")


def torch_data(data):
    return [torch.from_numpy(data[k]).to("cuda") for k in ("train_images", "train_labels", "test_images", "test_labels")]


def run_seed(data, epochs, seed):
    """The seed code: DataLoader over CPU tensors, each batch moved with .to('cuda')."""
    model = make_model(seed)
    x = torch.from_numpy(data["train_images"])
    y = torch.from_numpy(data["train_labels"])
    _, _, tx, ty = torch_data(data)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)

    def run_epoch():
        steps = 0
        for images, labels in loader:
            train_step(model, criterion, optimizer, images.to("cuda"), labels.to("cuda"))
            steps += 1
        return steps

    seconds, steps, accuracy = timed_epochs("seed", epochs, run_epoch, torch.cuda.synchronize,
                                            lambda: torch_accuracy(model, tx, ty), torch_resetter(model, optimizer))
    return summarize(seconds, steps, accuracy, optimizer="Adam() default (foreach)")


def run_eager(data, epochs, seed):
    """PyTorch eager with the data on the GPU: randperm and index_select there, fused Adam."""
    model = make_model(seed)
    x, y, tx, ty = torch_data(data)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, fused=True)
    n = x.shape[0]

    def run_epoch():
        order = torch.randperm(n, device="cuda")
        steps = 0
        for begin in range(0, n, BATCH):
            index = order[begin:begin + BATCH]
            train_step(model, criterion, optimizer, x.index_select(0, index), y.index_select(0, index))
            steps += 1
        return steps

    seconds, steps, accuracy = timed_epochs("eager", epochs, run_epoch, torch.cuda.synchronize,
                                            lambda: torch_accuracy(model, tx, ty), torch_resetter(model, optimizer))
    return summarize(seconds, steps, accuracy, optimizer="Adam(fused=True)")


def run_graph(data, epochs, seed):
    """The whole training step in a CUDA graph, replayed per batch after index_select into the
    static input tensors; a second graph for the last partial batch (mlp_peers.run_torch_graph)."""
    return peers.run_torch_graph(data, WIDTHS, BATCH, epochs, seed, tf32=False)


# ---------------------------------------------------------------- JAX


def run_jax(data, epochs, seed, precision):
    """JAX, one jit per epoch: lax.scan over the full batches, a second jit for the last batch."""
    return peers.run_jax(data, WIDTHS, BATCH, epochs, seed, precision)


# ---------------------------------------------------------------- report


def machine_info():
    name = torch.cuda.get_device_name()
    major, minor = torch.cuda.get_device_capability()
    return {"device": name, "device_slug": device_slug(name), "compute_capability": f"{major}.{minor}",
            "driver": nvidia_smi("driver_version"), "cuda_runtime_torch": torch.version.cuda,
            "torch": torch.__version__, "jax": package_version("jax"), "jaxlib": package_version("jaxlib"),
            "optax": package_version("optax"), "numpy": np.__version__, "python": platform.python_version(),
            "host": platform.node(), "cpu_count": os.cpu_count(),
            "torch_matmul_allow_tf32": getattr(torch.backends.cuda.matmul, "allow_tf32", None)}


def ratio(results, name):
    peer, leap = results.get(name), results.get("leap")
    if not peer or not leap or "us_per_step" not in peer or "us_per_step" not in leap:
        return None
    return peer["us_per_step"] / leap["us_per_step"]


def targets(results):
    leap = results.get("leap", {})
    checks = []
    us = leap.get("us_per_step")
    checks.append((f"leap <= {TARGETS['leap_us_per_step']:g} us/step", us, us is not None and us <= TARGETS["leap_us_per_step"]))
    fused = TARGETS["leap_fused_us_per_step"]
    checks.append((f"leap <= {fused:g} us/step (fully fused)", us, us is not None and us <= fused))
    for name, key in (("jax", "vs_jax"), ("eager", "vs_eager")):
        value = ratio(results, name)
        checks.append((f"leap >= {TARGETS[key]:g}x faster than {name}", value, value is not None and value >= TARGETS[key]))
    acc = leap.get("test_accuracy")
    others = list(results.get("leapseeds", {}).get("test_accuracy_by_seed", {}).values())
    label = "leap test accuracy"
    if acc is not None and others:
        acc = statistics.mean([acc] + others)
        label = f"leap test accuracy, mean of {len(others) + 1} seeds"
    checks.append((f"{label} >= {TARGETS['leap_test_accuracy']}", acc,
                   acc is not None and acc >= TARGETS["leap_test_accuracy"]))
    return [{"target": text, "value": value, "met": bool(ok) if value is not None else None} for text, value, ok in checks]


def print_report(results, info, epochs):
    print(f"\nseed workload 784-128-10, Adam 1e-3, batch {BATCH}, {epochs} epochs, on {info['device']} "
          f"(driver {info['driver']}, CUDA {info['cuda_runtime_torch']}; torch {info['torch']}, jax {info['jax']})",
          flush=True)
    header = f"{'name':10} | {'us/step':>9} | {f's total ({epochs} ep)':>14} | {'test acc':>8} | {'vs leap':>8}"
    print(header)
    print("-" * len(header))
    for name in ("leap", "leapfused", "leapgraph", "seed", "eager", "graph", "jax"):
        r = results.get(name)
        if r is None:
            continue
        if "error" in r:
            print(f"{name:10} | failed: {r['error']}")
            continue
        speed = ratio(results, name)
        print(f"{name:10} | {r['us_per_step']:9.1f} | {r['seconds_total']:14.3f} | {r['test_accuracy']:8.4f} | "
              f"{(f'{speed:.2f}x' if speed else 'n/a'):>8}")
    print("(vs leap: the variant's us/step over leap's, i.e. how many times faster leap is)")
    for name, label in (("leap", "leap"), ("graph", "PyTorch CUDA graph")):
        by_seed = results.get(name + "seeds", {}).get("test_accuracy_by_seed")
        if by_seed and "test_accuracy" in results.get(name, {}):
            values = [results[name]["test_accuracy"]] + list(by_seed.values())
            print(f"{label} test accuracy by seed: 0: {values[0]:.4f}, " +
                  ", ".join(f"{seed}: {value:.4f}" for seed, value in by_seed.items()) +
                  f"; mean {statistics.mean(values):.4f}")
    leap = results.get("leap")
    if leap and "us_per_step" in leap:
        print(f"leap training path: {leap.get('training_path')}")
        print(f"leap: {STEP_FLOPS / 1e6:.2f} MFLOP/step, {leap['tflops']:.3f} TFLOP/s achieved")
    big = results.get("leap4096")
    if big and "us_per_step" in big:
        print(f"leap batch {BIG_BATCH}: {big['samples_per_s']:,.0f} samples/s, {big['us_per_step']:.1f} us/step, "
              f"{big['samples_per_s'] * SAMPLE_FLOPS / 1e12:.3f} TFLOP/s, test accuracy {big['test_accuracy']:.4f}, "
              f"path: {big.get('training_path')}")
    elif big:
        print(f"leap batch {BIG_BATCH}: failed: {big.get('error')}")
    print("targets:")
    for t in targets(results):
        value = "n/a" if t["value"] is None else f"{t['value']:.4g}"
        print(f"  {t['target']:40} {value:>10}  {'met' if t['met'] else 'MISSED'}")


def parse_names(text, parser):
    names = [n.strip() for n in text.split(",") if n.strip()] if text else []
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="variants: " + ", ".join(VARIANTS))
    parser.add_argument("--leap", default=os.path.join(ROOT, "build", "leap"), help="the leap binary")
    parser.add_argument("--data", default=None,
                        help="directory of the Fashion-MNIST IDX .gz files (default: $LEAP_DATA_DIR, "
                             "bench/data if present, else /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--epochs", type=int, default=10, help="timed epochs for every variant")
    parser.add_argument("--big-epochs", type=int, default=3, help=f"epochs of leap at batch {BIG_BATCH}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", default="", help="comma-separated variants to skip (e.g. seed: ~2.5 ms/step)")
    parser.add_argument("--only", default="", help="comma-separated variants to run, nothing else")
    parser.add_argument("--jax-precision", choices=("highest", "default"), default="highest",
                        help="matmul precision for JAX: highest is fp32 like leap and PyTorch's default; "
                             "default lets XLA use TF32")
    args = parser.parse_args()
    skip, only = parse_names(args.skip, parser), parse_names(args.only, parser)
    chosen = [v for v in VARIANTS if (not only or v in only) and v not in skip]
    data_dir = args.data or default_data_dir()

    if not torch.cuda.is_available():
        sys.exit("gpu_seed: no CUDA device visible to PyTorch")
    info = machine_info()
    print(f"device: {info['device']} (sm {info['compute_capability']}), driver {info['driver']}, "
          f"CUDA {info['cuda_runtime_torch']}, torch {info['torch']}, jax {info['jax']}, optax {info['optax']}",
          flush=True)
    print(f"data: {data_dir}; variants: {', '.join(chosen)}; {args.epochs} epochs", flush=True)
    data = load_data(data_dir)

    runners = {
        "leap": lambda: run_leap_binary(args.leap, data_dir, args.epochs, BATCH, args.seed, len(data["train_labels"])),
        "leapgraph": lambda: run_leap_binary(args.leap, data_dir, args.epochs, BATCH, args.seed,
                                             len(data["train_labels"]), settings={"LEAP_TRAINING_PATH": "layers"}),
        "leapfused": lambda: run_leap_binary(args.leap, data_dir, args.epochs, BATCH, args.seed,
                                             len(data["train_labels"]), settings={"LEAP_TRAINING_PATH": "fused"}),
        "leapseeds": lambda: run_leap_seeds(args.leap, data_dir, args.epochs, BATCH, len(data["train_labels"])),
        "leap4096": lambda: run_leap_binary(args.leap, data_dir, args.big_epochs, BIG_BATCH, args.seed,
                                            len(data["train_labels"])),
        "seed": lambda: run_seed(data, args.epochs, args.seed),
        "eager": lambda: run_eager(data, args.epochs, args.seed),
        "graph": lambda: run_graph(data, args.epochs, args.seed),
        "graphseeds": lambda: {"test_accuracy_by_seed": {seed: run_graph(data, args.epochs, seed)["test_accuracy"]
                                                         for seed in (1, 2, 3, 4)}},
        "jax": lambda: run_jax(data, args.epochs, args.seed, args.jax_precision),
    }
    results = {}
    for name in chosen:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            results[name] = runners[name]()
        except Exception as error:  # noqa: BLE001 - one broken variant must not lose the others
            traceback.print_exc()
            results[name] = {"error": f"{type(error).__name__}: {error}"}
            print(f"  {name} FAILED: {results[name]['error']}", flush=True)
        results[name]["wall_seconds"] = time.perf_counter() - start
        if not name.startswith("leap"):
            torch.cuda.empty_cache()

    print_report(results, info, args.epochs)

    date = datetime.date.today().isoformat()
    record = {"benchmark": "gpu_seed", "date": date, **info, "epochs": args.epochs, "batch": BATCH,
              "data": data_dir, "leap_binary": args.leap, "seed": args.seed,
              "step_flops": STEP_FLOPS, "sample_flops": SAMPLE_FLOPS,
              "timing": "wall clock per epoch after a device synchronize; us/step = median epoch seconds / steps; "
                        "Python variants: one uncounted warm-up epoch, then reset to initial weights",
              "speed_vs_leap": {name: ratio(results, name) for name in ("seed", "eager", "graph", "jax")},
              "targets": targets(results), "results": results}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", f"{date}-gpu-seed-{info['device_slug']}.json")
    with open(out, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {out}", flush=True)
    if os.environ.get("OUT"):
        os.makedirs(os.environ["OUT"], exist_ok=True)
        shutil.copy(out, os.path.join(os.environ["OUT"], os.path.basename(out)))
        print(f"copied to {os.environ['OUT']}", flush=True)


if __name__ == "__main__":
    main()
