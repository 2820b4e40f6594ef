"""leap and its peers training an MLP of any widths on Fashion-MNIST, shared by the benchmark
scripts (gpu_seed.py, cpu_seed.py, mlp_grid.py): the data, the timing of epochs, the leap binary,
PyTorch's CPU tensor loop, PyTorch with the whole step in a CUDA graph, and JAX (jit + lax.scan).

Every peer trains Linear/ReLU stacks with softmax cross-entropy and Adam (lr 1e-3, PyTorch's
defaults), shuffled each epoch, the last partial batch included. A peer runs one warm-up epoch
(compilation and capture stay out of the clock), resets to its initial weights and optimizer
state, then trains the timed epochs; us/step is the median epoch over its steps."""
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
import idx_files  # noqa: E402

LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


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


def widths_of(spec):
    """'784-128-10' -> [784, 128, 10]"""
    return [int(w) for w in spec.split("-")]


def sample_flops(widths):
    """Multiply-adds x2 of one sample's training step: the forward product, the weight gradients
    (as many again) and the input gradients of every layer but the first (the data needs none)."""
    products = [a * b for a, b in zip(widths[:-1], widths[1:])]
    return 2 * (2 * sum(products) + sum(products[1:]))


def summarize(seconds, steps, accuracy, batch, widths, **extra):
    epoch = statistics.median(seconds)
    us = epoch / steps * 1e6
    flops = batch * sample_flops(widths)
    return {"us_per_step": us, "seconds_per_epoch_median": epoch, "seconds_total": sum(seconds),
            "seconds_per_epoch": seconds, "steps_per_epoch": steps, "batch": batch,
            "test_accuracy": accuracy, "step_flops": flops, "tflops": flops / (us * 1e-6) / 1e12, **extra}


def timed_epochs(name, epochs, run_epoch, sync, evaluate, reset, quiet=False):
    """One warm-up epoch, a reset to the initial state, then `epochs` timed epochs."""
    start = time.perf_counter()
    run_epoch()
    sync()
    if not quiet:
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
        if not quiet:
            print(f"  {name} epoch {epoch + 1}/{epochs}: {seconds[-1]:.3f}s, {seconds[-1] / steps * 1e6:.1f} us/step, "
                  f"test accuracy {accuracy:.4f}", flush=True)
    return seconds, steps, accuracy


# ---------------------------------------------------------------- leap


def run_leap(binary, data_dir, spec, batch, epochs, seed, device, settings=None, warm_up=False, options=()):
    """The leap binary's own training (its JSONL metrics); `options` are more `leap train`
    options, `settings` environment variables. With warm_up, one more epoch runs first and is
    left out of the median, as the peers' warm-up epochs are."""
    if not os.path.isfile(binary):
        raise FileNotFoundError(f"leap binary not found: {binary} (build it, or pass --leap)")
    total = epochs + (1 if warm_up else 0)
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "run.jsonl")
        command = [binary, "train", "--no-run-dir", "--model", spec, "--data", data_dir, "--epochs", str(total),
                   "--batch-size", str(batch), "--lr", str(LR), "--optimizer", "adam", "--device", device,
                   "--seed", str(seed), "--metrics", metrics, *options]
        print("  $ " + " ".join(command), flush=True)
        env = dict(os.environ, **(settings or {}))
        for key, value in (settings or {}).items():
            print(f"  ({key}={value})", flush=True)
        path = None
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in process.stdout:
            if line.startswith("Training path:"):
                path = line.split(":", 1)[1].strip()
            if not re.match(r"^ *\d+/\d+ \[", line):
                print("  | " + line.rstrip(), flush=True)
        if process.wait() != 0:
            raise RuntimeError(f"leap exited with status {process.returncode}")
        rows = [r for r in (json.loads(line) for line in open(metrics) if line.strip()) if "epoch" in r]
    if len(rows) != total:
        raise RuntimeError(f"leap wrote {len(rows)} metric rows, expected {total}")
    timed = rows[1:] if warm_up else rows
    return summarize([r["seconds"] for r in timed], rows[-1]["steps"], rows[-1]["val_accuracy"], batch,
                     widths_of(spec), training_path=path, metrics=rows,
                     note="leap's own epoch times" + (", its first epoch left out" if warm_up else ""))


def leap_info(binary):
    """`leap info`'s text (devices, measured peak rates)."""
    return subprocess.run([binary, "info"], capture_output=True, text=True, check=True).stdout


# ---------------------------------------------------------------- PyTorch


def torch_mlp(widths, seed, device):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i + 2 < len(widths):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).to(device)


def torch_accuracy(model, images, labels):
    import torch
    with torch.no_grad():
        return (model(images).argmax(1) == labels).float().mean().item()


def torch_resetter(model, optimizer):
    """Puts the weights back to their initial values and the optimizer state to zero, in place
    (so that a captured CUDA graph still points at the same memory)."""
    import torch
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


def run_torch_cpu(data, widths, batch, epochs, seed, threads):
    """PyTorch's fastest plain CPU loop: the data in tensors, randperm and index_select per
    batch (no DataLoader), zero_grad / forward / loss / backward / Adam step."""
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    model = torch_mlp(widths, seed, "cpu")
    x, y = torch.from_numpy(data["train_images"]), torch.from_numpy(data["train_labels"]).long()
    tx, ty = torch.from_numpy(data["test_images"]), torch.from_numpy(data["test_labels"]).long()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)

    def run_epoch():
        return torch_cpu_epoch(model, criterion, optimizer, x, y, batch, torch.randperm(x.shape[0]))

    seconds, steps, accuracy = timed_epochs(f"pytorch {threads}t", epochs, run_epoch, lambda: None,
                                            lambda: torch_accuracy(model, tx, ty), torch_resetter(model, optimizer))
    return summarize(seconds, steps, accuracy, batch, widths, threads=threads, torch=torch.__version__)


def torch_cpu_epoch(model, criterion, optimizer, x, y, batch, order):
    """One epoch of the plain CPU loop over the samples in `order`; returns its steps."""
    steps = 0
    for begin in range(0, x.shape[0], batch):
        index = order[begin:begin + batch]
        optimizer.zero_grad()
        criterion(model(x.index_select(0, index)), y.index_select(0, index)).backward()
        optimizer.step()
        steps += 1
    return steps


def torch_cpu_accuracy(data, widths, batch, epochs, seed, order=None):
    """The plain CPU loop untimed: `epochs` epochs from the seed's initial weights, then the
    test accuracy. order(epoch, n): that epoch's sample order as an int64 tensor (default
    torch.randperm)."""
    import torch
    from torch import nn
    model = torch_mlp(widths, seed, "cpu")
    x, y = torch.from_numpy(data["train_images"]), torch.from_numpy(data["train_labels"]).long()
    criterion, optimizer = nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=LR)
    for epoch in range(epochs):
        torch_cpu_epoch(model, criterion, optimizer, x, y, batch,
                        order(epoch, x.shape[0]) if order else torch.randperm(x.shape[0]))
    return torch_accuracy(model, torch.from_numpy(data["test_images"]), torch.from_numpy(data["test_labels"]).long())


def capture_step(model, criterion, optimizer, images, labels):
    """Captures zero_grad/forward/loss/backward/step on the static tensors into one graph."""
    import torch
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        optimizer.zero_grad(set_to_none=False)
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    return graph, loss


def build_graphs(model, criterion, optimizer, sizes, features):
    """Warms up on a side stream (gradients and optimizer state are allocated there, outside the
    graphs' pools, so every graph shares them), then captures one graph per batch size. A size
    whose capture fails gets None and is run eagerly."""
    import torch
    static = {size: (torch.zeros(size, features, device="cuda"), torch.zeros(size, dtype=torch.int64, device="cuda"))
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


def run_torch_graph(data, widths, batch, epochs, seed, tf32=False, name="graph"):
    """The whole training step in a CUDA graph, replayed per batch after index_select into the
    static input tensors; a second graph for the last partial batch. tf32: PyTorch's TF32
    matrix products (float32_matmul_precision "high", else "highest"), restored afterwards."""
    import torch
    from torch import nn
    x, y, tx, ty = [torch.from_numpy(data[k]).to("cuda")
                    for k in ("train_images", "train_labels", "test_images", "test_labels")]
    y, ty = y.long(), ty.long()
    n = x.shape[0]
    full, rest = divmod(n, batch)
    sizes = (batch, rest) if rest else (batch,)
    criterion = nn.CrossEntropyLoss()
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    try:
        attempts = (("Adam(fused=True, capturable=True)", dict(fused=True, capturable=True)),
                    ("Adam(foreach=True, capturable=True)", dict(foreach=True, capturable=True)))
        for label, options in attempts:
            try:
                model = torch_mlp(widths, seed, "cuda")
                optimizer = torch.optim.Adam(model.parameters(), lr=LR, **options)
                reset_to_seed = torch_resetter(model, optimizer)  # holds the initial weights
                static, graphs = build_graphs(model, criterion, optimizer, sizes, widths[0])
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
                step(batch, order[b * batch:(b + 1) * batch])
            if rest:
                step(rest, order[full * batch:])
            return full + (1 if rest else 0)

        reset_to_seed()  # the capture warm-up took steps
        seconds, steps, accuracy = timed_epochs(name, epochs, run_epoch, torch.cuda.synchronize,
                                                lambda: torch_accuracy(model, tx, ty), reset_to_seed)
    finally:
        torch.set_float32_matmul_precision(before)
    last = ("second CUDA graph" if graphs.get(rest) else "eager") if rest else "none"
    return summarize(seconds, steps, accuracy, batch, widths, optimizer=label, last_partial_batch=last, tf32=tf32)


# ---------------------------------------------------------------- JAX


def run_jax(data, widths, batch, epochs, seed, precision, name="jax"):
    """JAX: one jit per epoch, lax.scan over the full batches, a second jit for the last partial
    batch. precision 'highest' is fp32 products; 'default' lets XLA use TF32 on the GPU."""
    import jax
    import jax.numpy as jnp
    optax = importlib.import_module("optax") if importlib.util.find_spec("optax") else None
    dot_precision = jax.lax.Precision.HIGHEST if precision == "highest" else None

    x = jax.device_put(data["train_images"])
    y = jax.device_put(data["train_labels"].astype(np.int32))
    tx = jax.device_put(data["test_images"])
    ty = jax.device_put(data["test_labels"].astype(np.int32))
    n = x.shape[0]
    full, rest = divmod(n, batch)
    shapes = list(zip(widths[:-1], widths[1:]))

    def init(key):
        # PyTorch's nn.Linear: weight and bias uniform in +-1/sqrt(fan_in). Weights stored [in, out].
        keys = jax.random.split(key, 2 * len(shapes))
        params = []
        for i, (fan_in, fan_out) in enumerate(shapes):
            bound = 1.0 / math.sqrt(fan_in)
            params.append(jax.random.uniform(keys[2 * i], (fan_in, fan_out), jnp.float32, -bound, bound))
            params.append(jax.random.uniform(keys[2 * i + 1], (fan_out,), jnp.float32, -bound, bound))
        return tuple(params)

    def forward(params, images):
        h = images
        for i in range(len(shapes)):
            h = jnp.dot(h, params[2 * i], precision=dot_precision) + params[2 * i + 1]
            if i + 1 < len(shapes):
                h = jax.nn.relu(h)
        return h

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
        batches = order[:full * batch].reshape(full, batch)

        def body(carry, index):
            params, state = carry
            params, state, loss = train_step(params, state, images[index], labels[index])
            return (params, state), loss
        (params, state), losses = jax.lax.scan(body, (params, state), batches)
        return params, state, jnp.mean(losses), order[full * batch:]

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
    seconds, steps, accuracy = timed_epochs(name, epochs, run_epoch, sync,
                                            lambda: float(accuracy_jit(model["params"], tx, ty)), reset)
    return summarize(seconds, steps, accuracy, batch, widths, optimizer=adam_kind, matmul_precision=precision,
                     jax_device=str(jax.devices()[0]), jax_backend=jax.default_backend())


# ---------------------------------------------------------------- the machine


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


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()
