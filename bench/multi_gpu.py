"""Data-parallel training on one machine with two GPUs, in one run (bench/device_run.sh multigpu).

1. Parity: the same 50 steps (784-256-256-10, Adam, global batch 256, seed 0) on one GPU, on two
   GPUs of one process (leap train --gpus 2) and on two processes (mpirun -np 2 leap train) end
   with the same weights, within 1e-4 relative (max|a-b| / max|b| per tensor: fp32 products of
   128 rows instead of 256 add in another order).
2. Weak scaling: leap against PyTorch DDP (mp.spawn, NCCL, fp32 with TF32 off, Adam(fused=True))
   on 784-4096-4096-4096-10, 8192 samples per GPU per step, synthetic data resident on the GPU,
   one and two GPUs. Time per step (leap: the median epoch after the first from its JSONL
   metrics; DDP: the wall clock over the timed steps after warm-up and a synchronize), and the
   efficiency t(1 GPU) / t(2 GPUs). Targets: efficiency >= 95% and a two-GPU step no slower
   than DDP's.
3. The seed workload (784-128-10, batch 64, Fashion-MNIST) on one GPU and on two, as it comes:
   it is too small to gain from a second GPU.
NVLink multicast stays off (NCCL_NVLS_ENABLE=0) in every process. A part that fails is reported
and the others still run. Prints a table and writes multi-gpu.txt, multi-gpu.json (naming the
devices) and every command's output, one after another, in multi-gpu-logs.txt to --out.

usage: python3 bench/multi_gpu.py --leap /tmp/leap/leap --weights-diff /tmp/leap/weights_diff \
           --out $OUT [--mpirun mpirun] [--data-dir DIR]"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# Before torch or NCCL start anywhere, here and in every process started from here.
os.environ["NCCL_NVLS_ENABLE"] = "0"
os.environ["TORCH_SYMM_MEM_DISABLE_MULTICAST"] = "1"
os.environ["NVSHMEM_DISABLE_NVLS"] = "1"
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")

import numpy as np  # noqa: E402

WIDE = "784-4096-4096-4096-10"
PER_GPU_BATCH = 8192
WIDE_STEPS_PER_EPOCH_ON_TWO = 10  # the data set holds this many two-GPU steps
TARGET_EFFICIENCY = 0.95
PARITY_TOLERANCE = 1e-4


def set_workload(model, per_gpu_batch):
    global WIDE, PER_GPU_BATCH
    WIDE, PER_GPU_BATCH = model, per_gpu_batch


def first_line(error):
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def log(text):
    print(text, flush=True)


LOGS = None  # multi-gpu-logs.txt in --out: every command's output


def run(command, what):
    """Runs a command, its output appended to LOGS; raises with the output's tail when it fails."""
    log("$ " + " ".join(command))
    start = time.time()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(LOGS, "a") as out:
        out.write(f"==== {what}\n$ {' '.join(command)}\n{result.stdout}\n")
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-15:])
        raise RuntimeError(f"{what} exited with {result.returncode}:\n{tail}")
    log(f"  {what}: {time.time() - start:.1f} s")


def synthetic(directory, name, samples, seed):
    """Uniform [0,1) features; the label is the arg-max of the first ten (learnable)."""
    random = np.random.default_rng(seed)
    images = random.random((samples, 784), dtype=np.float32)
    labels = images[:, :10].argmax(axis=1).astype(np.int32)
    paths = (os.path.join(directory, f"{name}-images.npy"), os.path.join(directory, f"{name}-labels.npy"))
    np.save(paths[0], images)
    np.save(paths[1], labels)
    return paths


def mpirun(args, ranks):
    # Each rank sees every GPU and takes the one of its local rank; the variables travel to
    # the ranks on other nodes too.
    return [args.mpirun, "-np", str(ranks), "--bind-to", "none", "-x", "NCCL_NVLS_ENABLE",
            "-x", "LD_LIBRARY_PATH"]


def leap_train(args, data, extra, ranks_mode):
    """The leap command for one of: 'one' GPU, 'threads' (--gpus 2), 'mpi' (mpirun -np 2)."""
    command = [args.leap, "train", "--device", "cuda", "--data", data[0], "--labels", data[1]] + extra
    if ranks_mode == "threads":
        return command + ["--gpus", "2"]
    if ranks_mode == "mpi":
        return mpirun(args, 2) + command
    return command


def each_mode(failures, what, measure):
    """measure(mode) for one GPU, --gpus 2 and mpirun -np 2; a mode that fails is reported and
    left out, the others still run."""
    results = {}
    for mode in ("one", "threads", "mpi"):
        try:
            results[mode] = measure(mode)
        except Exception as error:  # noqa: BLE001 -- any failure is a result to report
            log(f"  {what}, {mode} failed: {error}")
            failures.append(f"{what}, {mode}: {first_line(error)}")
    return results


def parity(args, work, failures):
    data = synthetic(work, "parity", 50 * 256, 1)
    common = ["--model", "784-256-256-10", "--epochs", "1", "--batch-size", "256", "--seed", "0"]

    def train(mode):
        path = os.path.join(work, f"parity-{mode}.safetensors")
        run(leap_train(args, data, common + ["--save", path], mode), f"parity, {mode}")
        return path

    weights = each_mode(failures, "parity", train)
    result = {}
    for mode, against in (("threads", "one"), ("mpi", "one"), ("mpi", "threads")):
        if mode not in weights or against not in weights:
            continue
        check = subprocess.run([args.weights_diff, weights[mode], weights[against], str(PARITY_TOLERANCE)],
                               capture_output=True, text=True)
        last = check.stdout.strip().splitlines()[-1] if check.stdout.strip() else check.stderr.strip()
        result[f"{mode}_vs_{against}"] = {"pass": check.returncode == 0, "summary": last}
        log(f"  parity {mode} vs {against}: {last}")
    return result


def leap_us_per_step(metrics_path):
    """The median us/step over the epochs after the first (which starts NCCL and cuBLASLt)."""
    with open(metrics_path) as lines:
        epochs = [json.loads(line) for line in lines if line.strip()]
    later = [epoch["us_per_step"] for epoch in epochs[1:]] or [epochs[-1]["us_per_step"]]
    return statistics.median(later)


def leap_wide(args, work, failures):
    samples = WIDE_STEPS_PER_EPOCH_ON_TWO * 2 * PER_GPU_BATCH
    data = synthetic(work, "wide", samples, 2)

    def time_steps(mode):
        metrics = os.path.join(work, f"wide-{mode}.jsonl")
        extra = ["--model", WIDE, "--epochs", "4", "--batch-size", str(PER_GPU_BATCH), "--batch-per-rank",
                 "--seed", "0", "--metrics", metrics]
        run(leap_train(args, data, extra, mode), f"leap {WIDE}, {mode}")
        us = leap_us_per_step(metrics)
        log(f"  leap {mode}: {us:.0f} us/step")
        return us

    return each_mode(failures, "leap wide", time_steps)


def ddp_worker(rank, world, port, steps, warmup, model_spec, per_gpu_batch, queue):
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel

    set_workload(model_spec, per_gpu_batch)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", rank=rank, world_size=world, device_id=torch.device("cuda", rank))
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 products, as leap's
    torch.manual_seed(rank)
    widths = [int(w) for w in WIDE.split("-")]
    layers = []
    for i in range(len(widths) - 1):
        layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU()]
    model = DistributedDataParallel(nn.Sequential(*layers[:-1]).cuda(), device_ids=[rank])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    criterion = nn.CrossEntropyLoss()
    images = torch.rand(PER_GPU_BATCH, widths[0], device="cuda")
    labels = torch.randint(0, widths[-1], (PER_GPU_BATCH,), device="cuda")

    def step():
        optimizer.zero_grad(set_to_none=True)
        criterion(model(images), labels).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    if rank == 0:
        queue.put(elapsed / steps * 1e6)
    dist.barrier()
    dist.destroy_process_group()


def ddp_wide(args):
    import torch.multiprocessing as mp

    times = {}
    for world, name in ((1, "one"), (2, "two")):
        context = mp.get_context("spawn")
        queue = context.SimpleQueue()
        port = 29500 + world
        log(f"$ PyTorch DDP {WIDE}, {world} GPU(s)")
        mp.start_processes(ddp_worker, args=(world, port, 30, 10, WIDE, PER_GPU_BATCH, queue), nprocs=world, join=True,
                           start_method="spawn")
        times[name] = queue.get()
        log(f"  ddp {name}: {times[name]:.0f} us/step")
    return times


def seed_workload(args, work):
    """784-128-10, batch 64, Fashion-MNIST: one GPU (the fused path) against two."""
    times = {}
    runs = (("one", []), ("threads_global64", ["--gpus", "2"]),
            ("threads_64_per_gpu", ["--gpus", "2", "--batch-per-rank"]))
    for name, extra in runs:
        metrics = os.path.join(work, f"seed-{name}.jsonl")
        command = [args.leap, "train", "--device", "cuda", "--epochs", "2", "--metrics", metrics] + extra
        if args.data_dir:
            command += ["--data", args.data_dir]
        run(command, f"seed workload, {name}")
        times[name] = leap_us_per_step(metrics)
        log(f"  seed {name}: {times[name]:.1f} us/step")
    return times


def gpu_names():
    query = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                           capture_output=True, text=True)
    return [line.strip() for line in query.stdout.splitlines() if line.strip()]


def attempt(report, failures, name, part):
    """Runs one part of the benchmark into report[name]; a failure is reported and the other
    parts still run."""
    try:
        report[name] = part()
    except Exception as error:  # noqa: BLE001 -- any failure is a result to report
        log(f"  {name} failed: {error}")
        failures.append(f"{name}: {first_line(error)}")


def judge(report, failures):
    """Efficiencies and the verdict's failures from the figures that were measured."""
    for name, check in report.get("parity", {}).items():
        if not check["pass"]:
            failures.append(f"parity {name}: {check['summary']}")
    leap, ddp = report.get("leap_us_per_step"), report.get("ddp_us_per_step")
    efficiency = report["weak_scaling_efficiency"]
    if ddp:
        efficiency["ddp"] = ddp["one"] / ddp["two"]
    if not leap or "one" not in leap:
        return
    for mode in ("threads", "mpi"):
        if mode not in leap:
            continue
        efficiency[f"leap_{mode}"] = leap["one"] / leap[mode]
        if efficiency[f"leap_{mode}"] < TARGET_EFFICIENCY:
            failures.append(f"leap {mode}: efficiency {efficiency[f'leap_{mode}']:.3f} < {TARGET_EFFICIENCY}")
        if ddp and leap[mode] > ddp["two"]:
            failures.append(f"leap {mode}: {leap[mode]:.0f} us/step, slower than DDP's {ddp['two']:.0f}")


def table(report, names):
    lines = [f"{WIDE}, {PER_GPU_BATCH} samples per GPU per step, fp32, on {names[0]} x{len(names)}",
             f"{'':24}{'1 GPU us/step':>16}{'2 GPUs us/step':>16}{'efficiency':>12}"]
    leap, ddp = report.get("leap_us_per_step"), report.get("ddp_us_per_step")
    efficiency = report["weak_scaling_efficiency"]
    for mode, label in (("threads", "leap --gpus 2"), ("mpi", "leap mpirun -np 2")):
        if leap and f"leap_{mode}" in efficiency:
            lines.append(f"{label:24}{leap['one']:16.0f}{leap[mode]:16.0f}{efficiency[f'leap_{mode}']:12.3f}")
    if ddp:
        lines.append(f"{'PyTorch DDP':24}{ddp['one']:16.0f}{ddp['two']:16.0f}{efficiency['ddp']:12.3f}")
    if "seed_us_per_step" in report:
        lines.append("seed workload (784-128-10, batch 64): " + ", ".join(
            f"{name} {value:.1f} us/step" for name, value in report["seed_us_per_step"].items()))
    if "parity" in report:
        lines.append("parity: " + "; ".join(f"{name} {check['summary']}" for name, check in report["parity"].items()))
    lines.append(report["verdict"] + (": " + "; ".join(report["failures"]) if report["failures"] else
                                      f" (efficiency >= {TARGET_EFFICIENCY}, no slower than DDP, parity "
                                      f"within {PARITY_TOLERANCE})"))
    return lines


def main():
    global LOGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leap", required=True)
    parser.add_argument("--weights-diff", required=True)
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--out", required=True)
    parser.add_argument("--data-dir", default=os.environ.get("LEAP_DATA_DIR", ""))
    parser.add_argument("--model", default=WIDE, help="the wide model (smaller ones check the script)")
    parser.add_argument("--per-gpu-batch", type=int, default=PER_GPU_BATCH)
    args = parser.parse_args()
    set_workload(args.model, args.per_gpu_batch)
    os.makedirs(args.out, exist_ok=True)
    LOGS = os.path.join(args.out, "multi-gpu-logs.txt")
    names = gpu_names()
    if len(names) < 2:
        sys.exit(f"multi_gpu.py needs two GPUs; nvidia-smi lists {len(names)}")
    for tool in (args.leap, args.weights_diff):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is not an executable")
    if not shutil.which(args.mpirun):
        sys.exit(f"no {args.mpirun}: the multi-process runs need Open MPI's mpirun")
    work = tempfile.mkdtemp(prefix="leap-multi-gpu-")
    report = {"date": datetime.date.today().isoformat(), "devices": names, "model": WIDE,
              "per_gpu_batch": PER_GPU_BATCH, "precision": "fp32 (TF32 off)", "nccl_nvls_enable": "0",
              "weak_scaling_efficiency": {}}
    failures = []
    try:
        attempt(report, failures, "parity", lambda: parity(args, work, failures))
        attempt(report, failures, "leap_us_per_step", lambda: leap_wide(args, work, failures))
        attempt(report, failures, "ddp_us_per_step", lambda: ddp_wide(args))
        attempt(report, failures, "seed_us_per_step", lambda: seed_workload(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    judge(report, failures)
    report["failures"] = failures
    report["verdict"] = "PASS" if not failures else "FAIL"
    lines = table(report, names)
    log("\n".join(lines))
    with open(os.path.join(args.out, "multi-gpu.json"), "w") as out:
        json.dump(report, out, indent=2)
    with open(os.path.join(args.out, "multi-gpu.txt"), "w") as out:
        out.write("\n".join(lines) + "\n")
    sys.exit(0 if not failures else 1)


if __name__ == "__main__":
    main()
