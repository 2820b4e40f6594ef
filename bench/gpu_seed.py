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
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import idx_files  # noqa: E402
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BATCH = 64
BIG_BATCH = 4096
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8
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


def default_data_dir():
    if os.environ.get("LEAP_DATA_DIR"):
        return os.environ["LEAP_DATA_DIR"]
    if os.path.isdir(os.path.join(HERE, "data")):
        return os.path.join(HERE, "data")
    return "/usr/share/datasets/fashion-mnist"


def load_data(directory):
    return {"train_images": idx_files.images(directory, "train-images-idx3-ubyte"),
            "train_labels": idx_files.labels(directory, "train-labels-idx1-ubyte"),
            "test_images": idx_files.images(directory, "t10k-images-idx3-ubyte"),
            "test_labels": idx_files.labels(directory, "t10k-labels-idx1-ubyte")}


def train_step(model, criterion, optimizer, images, labels):
    """The seed code's step: zero_grad / forward / loss / backward / step."""
    optimizer.zero_grad()
    loss = criterion(model(images), labels)
    loss.backward()
    optimizer.step()


def summarize(seconds, steps, accuracy, batch=BATCH, **extra):
    epoch = statistics.median(seconds)
    us = epoch / steps * 1e6
    return {"us_per_step": us, "seconds_per_epoch_median": epoch, "seconds_total": sum(seconds),
            "seconds_per_epoch": seconds, "steps_per_epoch": steps, "batch": batch,
            "test_accuracy": accuracy, "step_flops": batch * SAMPLE_FLOPS,
            "tflops": batch * SAMPLE_FLOPS / (us * 1e-6) / 1e12, **extra}


def timed_epochs(name, epochs, run_epoch, sync, evaluate, reset):
    """One warm-up epoch, a reset to the initial state, then `epochs` timed epochs."""
    start = time.perf_counter()
    run_epoch()
    sync()
    print(f"  {name} warm-up epoch: {time.perf_counter() - start:.2f}s (not counted)", flush=True)
    reset()
    sync()
    seconds, steps, accuracy = [], 0, float("nan")
    for epoch in range(epochs):
        sync()
        start = time.perf_counter()
        steps = run_epoch()
        sync()
        seconds.append(time.perf_counter() - start)
        accuracy = evaluate()
        print(f"  {name} epoch {epoch + 1}/{epochs}: {seconds[-1]:.3f}s, {seconds[-1] / steps * 1e6:.1f} us/step, "
              f"test accuracy {accuracy:.4f}", flush=True)
    return seconds, steps, accuracy


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
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).to("cuda")


def torch_data(data):
    return [torch.from_numpy(data[k]).to("cuda") for k in ("train_images", "train_labels", "test_images", "test_labels")]


def torch_accuracy(model, images, labels):
    with torch.no_grad():
        return (model(images).argmax(1) == labels).float().mean().item()


def torch_resetter(model, optimizer):
    """Puts the weights back to their initial values and the optimizer state to zero, in place
    (so that a captured CUDA graph still points at the same memory)."""
    initial = [p.detach().clone() for p in model.parameters()]

    def reset():
        with torch.no_grad():
            for p, p0 in zip(model.parameters(), initial):
                p.copy_(p0)
                if p.grad is not None:
                    p.grad.zero_()
            for state in optimizer.state.values():
                for value in state.values():
                    if torch.is_tensor(value):
                        value.zero_()
    return reset


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


def capture_step(model, criterion, optimizer, images, labels):
    """Captures zero_grad/forward/loss/backward/step on the static tensors into one graph."""
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        optimizer.zero_grad(set_to_none=False)
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    return graph, loss


def build_graphs(model, criterion, optimizer, sizes):
    """Warms up on a side stream (gradients and optimizer state are allocated there, outside the
    graphs' pools, so every graph shares them), then captures one graph per batch size. A size
    whose capture fails gets None and is run eagerly."""
    static = {size: (torch.zeros(size, 784, device="cuda"), torch.zeros(size, dtype=torch.int64, device="cuda"))
              for size in sizes}
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            for images, labels in static.values():
                optimizer.zero_grad(set_to_none=False)
                criterion(model(images), labels).backward()
                optimizer.step()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graphs = {sizes[0]: capture_step(model, criterion, optimizer, *static[sizes[0]])}
    for size in sizes[1:]:
        try:
            graphs[size] = capture_step(model, criterion, optimizer, *static[size])
        except Exception as error:  # noqa: BLE001 - the eager fallback is reported
            print(f"  graph: capture for batch {size} failed ({error}); that batch runs eagerly", flush=True)
            torch.cuda.synchronize()
            graphs[size] = None
    return static, graphs


def run_graph(data, epochs, seed):
    """The whole training step in a CUDA graph, replayed per batch after index_select into the
    static input tensors; a second graph for the last partial batch."""
    x, y, tx, ty = torch_data(data)
    n = x.shape[0]
    full, rest = divmod(n, BATCH)
    sizes = (BATCH, rest) if rest else (BATCH,)
    criterion = nn.CrossEntropyLoss()
    attempts = (("Adam(fused=True, capturable=True)", dict(fused=True, capturable=True)),
                ("Adam(foreach=True, capturable=True)", dict(foreach=True, capturable=True)))
    for label, options in attempts:
        try:
            model = make_model(seed)
            optimizer = torch.optim.Adam(model.parameters(), lr=LR, **options)
            reset_to_seed = torch_resetter(model, optimizer)  # holds the initial weights
            static, graphs = build_graphs(model, criterion, optimizer, sizes)
            break
        except Exception as error:  # noqa: BLE001 - fall back to the next optimizer
            print(f"  graph: {label} failed to capture: {error!r}", flush=True)
            try:
                torch.cuda.synchronize()
            except Exception:  # noqa: BLE001
                pass
    else:
        raise RuntimeError("no optimizer configuration could be captured")
    print(f"  graph: captured with {label}; last batch of {rest}: "
          f"{'graph' if rest and graphs[rest] else 'eager' if rest else 'none'}", flush=True)

    def step(size, index):
        images, labels = static[size]
        torch.index_select(x, 0, index, out=images)
        torch.index_select(y, 0, index, out=labels)
        if graphs[size] is not None:
            graphs[size][0].replay()
        else:
            optimizer.zero_grad(set_to_none=False)
            criterion(model(images), labels).backward()
            optimizer.step()

    def run_epoch():
        order = torch.randperm(n, device="cuda")
        for b in range(full):
            step(BATCH, order[b * BATCH:(b + 1) * BATCH])
        if rest:
            step(rest, order[full * BATCH:])
        return full + (1 if rest else 0)

    reset_to_seed()  # the capture warm-up took steps
    seconds, steps, accuracy = timed_epochs("graph", epochs, run_epoch, torch.cuda.synchronize,
                                            lambda: torch_accuracy(model, tx, ty), reset_to_seed)
    last = ("second CUDA graph" if graphs.get(rest) else "eager") if rest else "none"
    return summarize(seconds, steps, accuracy, optimizer=label, last_partial_batch=last)


# ---------------------------------------------------------------- JAX


def run_jax(data, epochs, seed, precision):
    import jax
    import jax.numpy as jnp
    optax = importlib.import_module("optax") if importlib.util.find_spec("optax") else None
    dot_precision = jax.lax.Precision.HIGHEST if precision == "highest" else None

    x = jax.device_put(data["train_images"])
    y = jax.device_put(data["train_labels"].astype(np.int32))
    tx = jax.device_put(data["test_images"])
    ty = jax.device_put(data["test_labels"].astype(np.int32))
    n = x.shape[0]
    full, rest = divmod(n, BATCH)

    def init(key):
        # PyTorch's nn.Linear: weight and bias uniform in +-1/sqrt(fan_in). Weights stored [in, out].
        keys = jax.random.split(key, 4)
        params = []
        for i, (fan_in, fan_out) in enumerate(((784, 128), (128, 10))):
            bound = 1.0 / math.sqrt(fan_in)
            params.append(jax.random.uniform(keys[2 * i], (fan_in, fan_out), jnp.float32, -bound, bound))
            params.append(jax.random.uniform(keys[2 * i + 1], (fan_out,), jnp.float32, -bound, bound))
        return tuple(params)

    def forward(params, images):
        w1, b1, w2, b2 = params
        hidden = jax.nn.relu(jnp.dot(images, w1, precision=dot_precision) + b1)
        return jnp.dot(hidden, w2, precision=dot_precision) + b2

    def loss_fn(params, images, labels):
        log_probs = jax.nn.log_softmax(forward(params, images))
        return -jnp.mean(jnp.take_along_axis(log_probs, labels[:, None], axis=1))

    if optax is not None:
        optimizer = optax.adam(LR, b1=BETA1, b2=BETA2, eps=EPS)
        opt_init = optimizer.init

        def opt_update(params, grads, state):
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state
        adam_kind = f"optax {importlib.metadata.version('optax')} adam"
    else:
        def opt_init(params):
            # Separate buffers for m and v: both are donated to the jitted steps.
            return (tuple(jnp.zeros_like(p) for p in params), tuple(jnp.zeros_like(p) for p in params),
                    jnp.zeros((), jnp.int32))

        def opt_update(params, grads, state):
            # PyTorch's Adam: p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
            m, v, t = state
            t = t + 1
            m = tuple(BETA1 * a + (1 - BETA1) * g for a, g in zip(m, grads))
            v = tuple(BETA2 * a + (1 - BETA2) * g * g for a, g in zip(v, grads))
            tf = t.astype(jnp.float32)
            correction1, correction2 = 1 - BETA1 ** tf, 1 - BETA2 ** tf
            params = tuple(p - (LR / correction1) * a / (jnp.sqrt(s) / jnp.sqrt(correction2) + EPS)
                           for p, a, s in zip(params, m, v))
            return params, (m, v, t)
        adam_kind = "hand-written Adam (optax not installed)"

    def train_step(params, state, images, labels):
        loss, grads = jax.value_and_grad(loss_fn)(params, images, labels)
        params, state = opt_update(params, grads, state)
        return params, state, loss

    def train_epoch(params, state, images, labels, key):
        order = jax.random.permutation(key, n)
        batches = order[:full * BATCH].reshape(full, BATCH)

        def body(carry, index):
            params, state = carry
            params, state, loss = train_step(params, state, images[index], labels[index])
            return (params, state), loss
        (params, state), losses = jax.lax.scan(body, (params, state), batches)
        return params, state, jnp.mean(losses), order[full * BATCH:]

    def last_step(params, state, images, labels, index):
        return train_step(params, state, images[index], labels[index])

    epoch_jit = jax.jit(train_epoch, donate_argnums=(0, 1))
    last_jit = jax.jit(last_step, donate_argnums=(0, 1))
    accuracy_jit = jax.jit(lambda params, images, labels: jnp.mean(jnp.argmax(forward(params, images), 1) == labels))

    make_key = getattr(jax.random, "key", None) or jax.random.PRNGKey
    init_key, data_key = jax.random.split(make_key(seed))
    model = {}

    def reset():
        model["params"] = init(init_key)
        model["state"] = opt_init(model["params"])
        model["key"] = data_key

    def run_epoch():
        model["key"], epoch_key = jax.random.split(model["key"])
        params, state, _, tail = epoch_jit(model["params"], model["state"], x, y, epoch_key)
        if rest:
            params, state, _ = last_jit(params, state, x, y, tail)
        model["params"], model["state"] = params, state
        return full + (1 if rest else 0)

    def sync():
        jax.block_until_ready((model["params"], model["state"]))

    reset()
    seconds, steps, accuracy = timed_epochs("jax", epochs, run_epoch, sync,
                                            lambda: float(accuracy_jit(model["params"], tx, ty)), reset)
    return summarize(seconds, steps, accuracy, optimizer=adam_kind, matmul_precision=precision,
                     jax_device=str(jax.devices()[0]), jax_backend=jax.default_backend())


# ---------------------------------------------------------------- report


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def nvidia_smi(field):
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def device_slug(name):
    words = [w for w in re.split(r"[\s_-]+", name) if w and w.upper() not in ("NVIDIA", "GEFORCE", "TESLA")]
    for word in words:
        if re.search(r"[A-Za-z]", word) and re.search(r"\d", word):
            return re.sub(r"[^a-z0-9]", "", word.lower())
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "gpu"


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
