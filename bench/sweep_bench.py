"""Many models of the seed workload at once (784-128-10, Adam 1e-3, batch 64, Fashion-MNIST,
each model its own seed, initial weights, Adam state and shuffled order), leap against its
peers in one run on one machine.

  leap        `leap sweep --seeds 0-(N-1)`, timed from start to exit (data loading included)
  leap-serial (CPU) `leap sweep --workers 1`: the same N models one after another, each on
              every core, the way N `leap train` runs go
  torch-loop  PyTorch: the N models one after another, data already in tensors
  torch-vmap  PyTorch: the N models stacked and trained as one with vmap over the model axis
              (torch 1.13: functorch.combine_state_for_ensemble + vmap(grad); torch 2:
              torch.func.stack_module_state + functional_call + vmap(grad)); on a GPU the
              whole step (gather, forward, backward, Adam) is one CUDA graph replayed a step
  jax-vmap    (GPU) JAX: jax.vmap of the step over the stacked parameters inside lax.scan over
              an epoch's steps, jitted
The peers train the epoch's full batches (937 of 938; leap trains the partial last one too)
with PyTorch's Adam written out on the stacked tensors (each model's moments its own). Their
compilation and capture run in a warm-up epoch outside the clock; leap's whole command is
timed. Models per second = N / wall seconds of N models' training.

Targets (PASS/FAIL), from issue 21:
  GPU: 8 models in at most 1.3x the wall time of 1; at 8 and 32 models at least 5x the models/s
       of the faster of JAX and PyTorch's vmap; 20 seeds of 10 epochs under 1 s of wall time
       for the whole leap sweep command.
  CPU (the issue sets none; these are this script's): at 2 and 8 models, at least 2x the models/s
       of PyTorch's faster way (leap's one-thread step is about 2.2x PyTorch 1.13's on this kind
       of machine: bench/results/2026-11-24-cpu-threads.txt and cpu_seed.py), and side by side
       (one a core) faster than one after another.
Prints a table and writes bench/results/<date>-<cpu|h100...>-sweep.txt (and to $OUT if set).

usage: /usr/bin/python3 bench/sweep_bench.py --leap build/leap --device cpu [--models 2,8] [--epochs 10]
       python3 bench/sweep_bench.py --leap build/leap --device cuda   # models 1,2,4,8,16,32"""
import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import idx_files  # noqa: E402

DATA = os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist")
BATCH, LR, BETA1, BETA2, EPS = 64, 1e-3, 0.9, 0.999, 1e-8


def load():
    x = idx_files.images(DATA, "train-images-idx3-ubyte")
    y = idx_files.labels(DATA, "train-labels-idx1-ubyte")
    return x, y


def run_leap(binary, device, models, epochs, workers=None):
    command = [binary, "sweep", "--no-run-dir", "--model", "784-128-10", "--seeds", f"0-{models - 1}",
               "--lr", "1e-3", "--batch-size", str(BATCH), "--epochs", str(epochs), "--device", device,
               "--data", DATA]
    if workers is not None:
        command += ["--workers", str(workers)]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    accuracy = re.findall(r"final val accuracy.*\n\S+\s+\d+\s+([0-9.]+)", done.stdout)
    training = re.findall(r"training ([0-9.]+) s\)", done.stdout)
    if training:
        print(f"  (leap x{models}: {float(training[0]):.2f} s of it training, the rest loading data and starting)")
    return wall, float(accuracy[0]) if accuracy else float("nan"), done.stdout


def adam_step(params, grads, m, v, t):
    """PyTorch's Adam on stacked tensors (each model's moments its own), in place."""
    with torch.no_grad():
        c1, c2 = 1 - BETA1 ** t, (1 - BETA2 ** t) ** 0.5
        for p, g, a, s in zip(params, grads, m, v):
            a.mul_(BETA1).add_(g, alpha=1 - BETA1)
            s.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
            p.addcdiv_(a, s.sqrt().div_(c2).add_(EPS), value=-LR / c1)


def adam_step_graphed(params, grads, m, v, t):
    """As adam_step with the step count t a device tensor, for a CUDA graph."""
    with torch.no_grad():
        t.add_(1)
        c1 = 1 - torch.pow(BETA1, t)
        c2 = torch.sqrt(1 - torch.pow(BETA2, t))
        for p, g, a, s in zip(params, grads, m, v):
            a.mul_(BETA1).add_(g, alpha=1 - BETA1)
            s.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
            p.sub_(LR * a / c1 / (s.sqrt() / c2 + EPS))


def make_models(models, device):
    from torch import nn
    out = []
    for seed in range(models):
        torch.manual_seed(seed)
        out.append(nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)).to(device))
    return out


def orders(models, n, epoch, device):
    """Each model's own shuffled full batches of an epoch: [steps, models, batch]."""
    steps = n // BATCH
    g = torch.Generator().manual_seed(1000 + epoch)
    idx = torch.stack([torch.randperm(n, generator=g)[:steps * BATCH].view(steps, BATCH) for _ in range(models)], 1)
    return idx.to(device)


def run_torch_loop(x, y, models, epochs, device):
    nets = make_models(models, device)
    xs, ys = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    n = xs.shape[0]
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for k, net in enumerate(nets):
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        for epoch in range(epochs):
            idx = orders(1, n, epoch * 1000 + k, device)[:, 0]
            for step in range(idx.shape[0]):
                opt.zero_grad()
                loss_fn(net(xs[idx[step]]), ys[idx[step]]).backward()
                opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def ensemble_functions(nets):
    """(loss of one model's params on a batch, stacked params): functorch on 1.13, torch.func later."""
    import copy
    try:
        from torch.func import functional_call, stack_module_state, grad, vmap
        params, _ = stack_module_state(nets)
        base = copy.deepcopy(nets[0]).to("meta")
        names = list(params)

        def loss(p, images, labels):
            logits = functional_call(base, dict(zip(names, p)), (images,))
            return torch.nn.functional.cross_entropy(logits, labels)
        stacked = [params[k].detach().clone() for k in names]
    except ImportError:
        from functorch import combine_state_for_ensemble, grad, vmap
        fmodel, params, _ = combine_state_for_ensemble(nets)

        def loss(p, images, labels):
            return torch.nn.functional.cross_entropy(fmodel(p, (), images), labels)
        stacked = [p.detach().clone() for p in params]
    return vmap(grad(loss)), stacked


def run_torch_vmap(x, y, models, epochs, device):
    nets = make_models(models, device)
    grads_of, params = ensemble_functions(nets)
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    xs, ys = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    n = xs.shape[0]
    if device != "cuda":
        start = time.perf_counter()
        t = 0
        for epoch in range(epochs):
            idx = orders(models, n, epoch, device)
            for step in range(idx.shape[0]):
                t += 1
                adam_step(params, grads_of(params, xs[idx[step]], ys[idx[step]]), m, v, t)
        return time.perf_counter() - start
    # The whole step as one CUDA graph: the batch's indices are copied in before each replay.
    t = torch.zeros((), device=device)
    index = torch.zeros((models, BATCH), dtype=torch.long, device=device)

    def step():
        adam_step_graphed(params, grads_of(params, xs[index], ys[index]), m, v, t)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()  # warm-up before capture
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    idx = orders(models, n, 0, device)
    for s in range(idx.shape[0]):  # a warm-up epoch outside the clock
        index.copy_(idx[s])
        graph.replay()
    indexes = [orders(models, n, epoch + 1, device) for epoch in range(epochs)]  # drawn outside the clock
    torch.cuda.synchronize()
    start = time.perf_counter()
    for idx in indexes:
        for s in range(idx.shape[0]):
            index.copy_(idx[s])
            graph.replay()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def run_jax_vmap(x, y, models, epochs):
    import jax
    import jax.numpy as jnp
    xs, ys = jax.device_put(x), jax.device_put(y.astype(np.int32))
    n = xs.shape[0]
    steps = n // BATCH

    def init(key):
        k = jax.random.split(key, 4)
        b1, b2 = 1 / np.sqrt(784), 1 / np.sqrt(128)
        return (jax.random.uniform(k[0], (784, 128), jnp.float32, -b1, b1), jax.random.uniform(k[1], (128,), jnp.float32, -b1, b1),
                jax.random.uniform(k[2], (128, 10), jnp.float32, -b2, b2), jax.random.uniform(k[3], (10,), jnp.float32, -b2, b2))

    def loss_fn(p, images, labels):
        hidden = jax.nn.relu(jnp.dot(images, p[0], precision=jax.lax.Precision.HIGHEST) + p[1])
        logits = jnp.dot(hidden, p[2], precision=jax.lax.Precision.HIGHEST) + p[3]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))

    def one_step(p, m, v, t, images, labels):
        g = jax.grad(loss_fn)(p, images, labels)
        m = tuple(BETA1 * a + (1 - BETA1) * d for a, d in zip(m, g))
        v = tuple(BETA2 * a + (1 - BETA2) * d * d for a, d in zip(v, g))
        c1, c2 = 1 - BETA1 ** t, jnp.sqrt(1 - BETA2 ** t)
        p = tuple(w - LR / c1 * a / (jnp.sqrt(s) / c2 + EPS) for w, a, s in zip(p, m, v))
        return p, m, v

    many = jax.vmap(one_step, in_axes=(0, 0, 0, None, 0, 0))

    @jax.jit
    def epoch(p, m, v, t0, index, images, labels):  # index [steps, models, batch]; the data as arguments
        def body(carry, batch):
            p, m, v, t = carry
            p, m, v = many(p, m, v, t + 1.0, images[batch], labels[batch])
            return (p, m, v, t + 1.0), None
        (p, m, v, t), _ = jax.lax.scan(body, (p, m, v, t0), index)
        return p, m, v, t

    p = jax.vmap(init)(jax.random.split(jax.random.PRNGKey(0), models))
    m = tuple(jnp.zeros_like(a) for a in p)
    v = tuple(jnp.zeros_like(a) for a in p)
    t = jnp.zeros((), jnp.float32)
    index_of = lambda e: jax.device_put(orders(models, n, e, "cpu").numpy().astype(np.int32))
    jax.block_until_ready(epoch(p, m, v, t, index_of(0), xs, ys))  # compile outside the clock
    indexes = [index_of(e + 1) for e in range(epochs)]
    start = time.perf_counter()
    for e in range(epochs):
        p, m, v, t = epoch(p, m, v, t, indexes[e], xs, ys)
    jax.block_until_ready(p)
    return time.perf_counter() - start


def device_name(device):
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    return platform.processor()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--models", default=None, help="comma-separated model counts")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--skip", default="", help="comma-separated peers to leave out")
    parser.add_argument("--serial-models", default=None,
                        help="CPU: the model counts leap-serial runs at (default: all); on a loaded machine its "
                             "OpenMP barriers wait for descheduled threads and it can take many times longer")
    args = parser.parse_args()
    counts = [int(c) for c in (args.models or ("2,8" if args.device == "cpu" else "1,2,4,8,16,32")).split(",")]
    skip = set(args.skip.split(",")) if args.skip else set()
    if args.device == "cpu":
        torch.set_num_threads(1)  # PyTorch 1.13's fastest setting for this model on 2 cores (cpu_seed.py)
    x, y = load()
    lines = []

    def say(text):
        print(text, flush=True)
        lines.append(text)

    date = datetime.date.today().isoformat()
    say(f"# leap sweep against its peers: N models of the seed workload, {args.epochs} epochs each")
    say(f"# {date}; {device_name(args.device)}; torch {torch.__version__}; load before: {os.getloadavg()}")
    peers = ["leap", "leap-serial", "torch-loop", "torch-vmap"] if args.device == "cpu" else ["leap", "torch-vmap", "jax-vmap"]
    peers = [p for p in peers if p not in skip]
    results = {}
    for count in counts:
        for peer in peers:
            if peer == "leap-serial" and args.serial_models and str(count) not in args.serial_models.split(","):
                continue
            try:
                if peer == "leap":  # on a GPU, side by side is asked for by its worker count
                    wall, accuracy, _ = run_leap(args.leap, args.device, count, args.epochs,
                                                 workers=count if args.device == "cuda" else None)
                elif peer == "leap-serial":
                    wall, accuracy, _ = run_leap(args.leap, args.device, count, args.epochs, workers=1)
                elif peer == "torch-loop":
                    wall, accuracy = run_torch_loop(x, y, count, args.epochs, args.device), float("nan")
                elif peer == "torch-vmap":
                    wall, accuracy = run_torch_vmap(x, y, count, args.epochs, args.device), float("nan")
                else:
                    wall, accuracy = run_jax_vmap(x, y, count, args.epochs), float("nan")
            except Exception:  # a peer that fails leaves its cell empty and the others run
                traceback.print_exc()
                continue
            results[(peer, count)] = wall
            print(f"  {peer} x{count}: {wall:.2f} s ({count / wall:.3f} models/s)"
                  + (f", mean val accuracy {accuracy:.4f}" if accuracy == accuracy else ""), flush=True)

    say(f"{'models':>6} " + " ".join(f"{p + ' s':>14}" for p in peers) + f" {'leap models/s':>14} {'vs best peer':>12}"
        + (f" {'leap vs 1':>10}" if 1 in counts else ""))
    checks = []
    for count in counts:
        cells = [f"{results[(p, count)]:14.2f}" if (p, count) in results else f"{'-':>14}" for p in peers]
        leap = results.get(("leap", count))
        others = [results[(p, count)] for p in peers if p.startswith(("torch", "jax")) and (p, count) in results]
        ratio = min(others) / leap if leap and others else float("nan")
        line = f"{count:6d} " + " ".join(cells) + f" {count / leap if leap else float('nan'):14.3f} {ratio:11.1f}x"
        if 1 in counts and leap and ("leap", 1) in results:
            line += f" {leap / results[('leap', 1)]:9.2f}x"
        say(line)
        if args.device == "cuda" and count in (8, 32):
            checks.append((f"{count} models: leap >= 5x the models/s of the faster peer", ratio >= 5, f"{ratio:.1f}x"))
        if args.device == "cpu":
            checks.append((f"{count} models: leap >= 2x the models/s of PyTorch's faster way", ratio >= 2, f"{ratio:.1f}x"))
            serial = results.get(("leap-serial", count))
            if leap and serial and os.cpu_count() > 1:
                checks.append((f"{count} models: side by side faster than one after another", leap < serial,
                               f"{serial / leap:.2f}x"))
    if args.device == "cuda":
        if ("leap", 1) in results and ("leap", 8) in results:
            scale = results[("leap", 8)] / results[("leap", 1)]
            checks.append(("8 models in at most 1.3x the wall time of 1", scale <= 1.3, f"{scale:.2f}x"))
        wall, accuracy, _ = run_leap(args.leap, "cuda", 20, 10, workers=20)
        say(f"leap sweep, 20 seeds x 10 epochs, whole command: {wall:.2f} s, mean val accuracy {accuracy:.4f}")
        checks.append(("20 seeds x 10 epochs in under 1 s, start to exit", wall < 1.0, f"{wall:.2f} s"))
    for what, ok, figure in checks:
        say(f"{'PASS' if ok else 'FAIL'}: {what}: {figure}")
    kind = "cpu" if args.device == "cpu" else re.sub(r"[^a-z0-9]+", "-", device_name("cuda").lower()).strip("-")
    path = os.path.join(HERE, "results", f"{date}-{kind}-sweep.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")
    if os.environ.get("OUT"):
        shutil.copy(path, os.environ["OUT"])


if __name__ == "__main__":
    main()
