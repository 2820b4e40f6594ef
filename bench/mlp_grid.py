"""The MLP grid of issue 19, leap and its peers side by side in one run on one machine:
784-128-10, 784-256-10, 784-1024-10, 784-512-256-10 (the teacher), 784-128-128-10,
784-256-256-256-10 and 784-1024-1024-10 at batch 64, and the seed MLP and the teacher at batch
16, 256 and 1024. Fashion-MNIST, cross-entropy, Adam(lr=1e-3), shuffled, the last partial batch
included. Each run: median us/step over the timed epochs (after a warm-up epoch) and the test
accuracy after them.

--device cpu: leap (its own choice of path, 2 threads and 1) against PyTorch's fastest plain
CPU loop (tensors preloaded, no DataLoader) on 1 thread and on 2 (on 2 for the seed MLP and the
teacher only, unless --all-columns: on 2 cores it has been slower than on 1 in every run). Targets: leap at least 3x
PyTorch's fastest loop on the same cores, for every shape; on the seed MLP at batch 64, at
least 70% of the fp32 peak that `leap info` measures (a 1024^3 sgemm through OpenBLAS).
--device cuda: leap in fp32 and in tf32 against JAX (jit + lax.scan, precision highest and
default) and PyTorch with the whole step in a CUDA graph (TF32 off and on). Targets: at batch
<= 256 leap at least 3x the fastest peer at the same precision, the teacher at batch 64 in at
most 12 us a step; at batch 1024 at least 1.5x.

Prints a table and PASS/FAIL per target, and writes bench/results/<date>-<device>-mlp-grid.txt
and .json (copies to $OUT when set). Other work on the machine slows every column alike but
adds noise: run it on a quiet machine.

usage: /usr/bin/python3 bench/mlp_grid.py --leap build-cpu/leap --device cpu [--epochs 2]
       python3 bench/mlp_grid.py --leap /tmp/leap/leap --device cuda [--epochs 3]
       (--only 784-128-10-b64,784-256-10-b64 --part a: some entries, into files named -a)"""
import argparse
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

# JAX must not grab most of the GPU at import: PyTorch shares the process.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import mlp_peers as peers  # noqa: E402

GRID = [("784-128-10", 64), ("784-256-10", 64), ("784-1024-10", 64), ("784-512-256-10", 64),
        ("784-128-128-10", 64), ("784-256-256-256-10", 64), ("784-1024-1024-10", 64),
        ("784-128-10", 16), ("784-128-10", 256), ("784-128-10", 1024),
        ("784-512-256-10", 16), ("784-512-256-10", 256), ("784-512-256-10", 1024)]
SEED = ("784-128-10", 64)
TEACHER = ("784-512-256-10", 64)
CPU_SPEEDUP, PEAK_SHARE = 3.0, 0.70
GPU_SPEEDUP, GPU_BIG_SPEEDUP, TEACHER_US = 3.0, 1.5, 12.0


# Per device: (column, runner(data, spec, batch, args)), leap's columns first.
def cpu_columns():
    def leap(threads):
        return lambda data, spec, batch, args: peers.run_leap(
            args.leap, args.data, spec, batch, args.epochs, args.seed, "cpu",
            settings={"OMP_NUM_THREADS": str(threads)}, warm_up=True)

    def torch(threads):
        return lambda data, spec, batch, args: peers.run_torch_cpu(
            data, peers.widths_of(spec), batch, args.epochs, args.seed, threads)
    return [("leap 2t", leap(2)), ("leap 1t", leap(1)), ("torch 1t", torch(1)), ("torch 2t", torch(2))]


def cuda_columns():
    def leap(precision, path=None):
        return lambda data, spec, batch, args: peers.run_leap(
            args.leap, args.data, spec, batch, args.epochs, args.seed, "cuda", warm_up=True,
            options=("--precision", precision), settings={"LEAP_TRAINING_PATH": path} if path else None)

    def jax(precision):
        return lambda data, spec, batch, args: peers.run_jax(
            data, peers.widths_of(spec), batch, args.epochs, args.seed, precision, name=f"jax {precision}")

    def graph(tf32):
        return lambda data, spec, batch, args: peers.run_torch_graph(
            data, peers.widths_of(spec), batch, args.epochs, args.seed, tf32=tf32,
            name=f"graph {'tf32' if tf32 else 'fp32'}")
    # "leap grid": the whole-GPU kernel asked for, while leap does not yet choose it itself.
    return [("leap fp32", leap("fp32")), ("leap tf32", leap("tf32")), ("leap grid", leap("fp32", "grid")),
            ("jax highest", jax("highest")),
            ("jax default", jax("default")), ("graph fp32", graph(False)), ("graph tf32", graph(True))]


def targets(device, results, peak_tflops):
    """(target text, value, met) for every target of the device."""
    checks = []
    for (spec, batch), row in results.items():
        us = {name: r["us_per_step"] for name, r in row.items() if "us_per_step" in r}
        name = f"{spec} b{batch}"
        if device == "cpu":
            for leap, cores, torch_names in (("leap 2t", "2 cores", ("torch 2t", "torch 1t")),
                                             ("leap 1t", "1 core", ("torch 1t",))):
                fastest = min((us[t] for t in torch_names if t in us), default=None)
                value = fastest / us[leap] if fastest and leap in us else None
                checks.append((f"{name}: {leap} >= {CPU_SPEEDUP:g}x PyTorch's fastest loop on {cores}", value,
                               value is not None and value >= CPU_SPEEDUP))
            if (spec, batch) == SEED and "leap 2t" in row and "tflops" in row["leap 2t"] and peak_tflops:
                share = row["leap 2t"]["tflops"] / peak_tflops
                checks.append((f"{name}: leap 2t >= {PEAK_SHARE:.0%} of the measured fp32 peak "
                               f"({peak_tflops * 1e3:.0f} GFLOP/s)", share, share >= PEAK_SHARE))
        else:
            wanted = GPU_BIG_SPEEDUP if batch > 256 else GPU_SPEEDUP
            for leap, peer_names in (("leap fp32", ("jax highest", "graph fp32")),
                                     ("leap grid", ("jax highest", "graph fp32")),
                                     ("leap tf32", ("jax default", "graph tf32"))):
                fastest = min((us[p] for p in peer_names if p in us), default=None)
                value = fastest / us[leap] if fastest and leap in us else None
                checks.append((f"{name}: {leap} >= {wanted:g}x the fastest peer at its precision", value,
                               value is not None and value >= wanted))
            if (spec, batch) == TEACHER:
                best = min((us[l] for l in ("leap fp32", "leap tf32", "leap grid") if l in us), default=None)
                checks.append((f"{name}: leap <= {TEACHER_US:g} us a step", best,
                               best is not None and best <= TEACHER_US))
    return [{"target": text, "value": value, "met": bool(ok)} for text, value, ok in checks]


def measure_floor_terms(barrier_bench):
    """The grid barrier's ns at one block an SM and the L2 read+write rate in bytes/s, from
    bench_grid_barrier (its own run, here, before the grid)."""
    text = subprocess.run([barrier_bench], capture_output=True, text=True, check=True).stdout
    print(text, flush=True)
    rows = [line.split("|") for line in text.splitlines() if re.match(r"^ *\d+ \|", line)]
    barrier_ns = float(rows[-1][2])  # leap's barrier, every SM
    rate = float(re.search(r"([0-9.]+) TB/s", text).group(1)) * 1e12
    return {"barrier_ns": barrier_ns, "l2_bytes_per_second": rate, "text": text}


def floor_of(spec, batch, peak_tflops, terms):
    """The whole-GPU kernel's floor for a shape: its FLOPs at the fp32 peak, or its own L2
    traffic at the measured rate (each weight read going forward and, past the first layer,
    coming back; weight, moments read and written by the update; activations and gradients
    written once and read about twice), whichever is longer, plus its 2L barriers."""
    widths = peers.widths_of(spec)
    params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    first = (widths[0] + 1) * widths[1]
    flops = batch * peers.sample_flops(widths)
    traffic = 4 * params + 4 * (params - first) + 24 * params + 3 * 4 * batch * sum(widths[1:]) * 2
    compute_us = flops / (peak_tflops * 1e12) * 1e6
    bytes_us = traffic / terms["l2_bytes_per_second"] * 1e6
    barriers_us = 2 * (len(widths) - 1) * terms["barrier_ns"] / 1e3
    return {"flops": flops, "bytes": traffic, "compute_us": compute_us, "bytes_us": bytes_us,
            "barriers_us": barriers_us, "floor_us": max(compute_us, bytes_us) + barriers_us}


def memory_bytes_per_second(megabytes=256, rounds=3):
    """The machine's memory rate as one thread of numpy sees it: the best of a few copies of an
    array far larger than the caches, bytes read plus bytes written."""
    import numpy as np
    a = np.ones(megabytes << 18, dtype=np.float32)
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - start)
    return 2 * a.nbytes / best


def cpu_floor_lines(results, peak_tflops, memory_rate):
    """For each CPU shape: its FLOPs a step at the measured peak (all cores) and Adam's memory
    traffic (each weight and its two moments read and written: 24 bytes a parameter) at the
    measured memory rate; the floor is the longer of the two. Then leap's time on 2 cores over
    that floor, and what CPU_SPEEDUP x PyTorch's fastest loop on 2 cores would take of it:
    above 100%, the target lies past the floor."""
    lines = []
    for (spec, batch), row in results.items():
        us = {name: r["us_per_step"] for name, r in row.items() if "us_per_step" in r}
        fastest = min((us[t] for t in ("torch 2t", "torch 1t") if t in us), default=None)
        if "leap 2t" not in us or not fastest:
            continue
        widths = peers.widths_of(spec)
        flops = batch * peers.sample_flops(widths)
        params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
        compute_us = flops / (peak_tflops * 1e12) * 1e6
        memory_us = 24 * params / memory_rate * 1e6 if memory_rate else 0.0
        floor_us = max(compute_us, memory_us)
        wanted = fastest / CPU_SPEEDUP
        lines.append(f"  {spec} b{batch}: {flops / 1e6:.1f} MFLOP {compute_us:.0f} us, Adam {24 * params / 1e6:.1f} MB "
                     f"{memory_us:.0f} us: floor {floor_us:.0f} us; leap 2t at {floor_us / us['leap 2t']:.0%} of it; "
                     f"{CPU_SPEEDUP:g}x PyTorch ({wanted:.0f} us) would be at {floor_us / wanted:.0%}")
    return lines


def report(device, machine, columns, results, checks, epochs, peak_tflops=None, memory_rate=None):
    out = io.StringIO()
    out.write(f"MLP grid on {machine}, {epochs} timed epochs after a warm-up, Adam 1e-3, Fashion-MNIST\n")
    out.write("us/step (median epoch) and test accuracy; the targets' ratios: the fastest peer's us/step over leap's "
              f"({'same cores' if device == 'cpu' else 'same precision'})\n")
    header = f"{'model':20} {'batch':>5} | " + " | ".join(f"{c:>16}" for c in columns)
    out.write(header + "\n" + "-" * len(header) + "\n")
    for (spec, batch), row in results.items():
        cells = []
        for c in columns:
            r = row.get(c, {})
            cells.append(f"{'not run':>16}" if not r else f"{'failed':>16}" if "us_per_step" not in r else
                         f"{r['us_per_step']:8.1f} {r['test_accuracy']:.4f}".rjust(16))
        out.write(f"{spec:20} {batch:5} | " + " | ".join(cells) + "\n")
    out.write("\nleap's paths:\n")
    for (spec, batch), row in results.items():
        for c in columns:
            if c.startswith("leap") and row.get(c, {}).get("training_path"):
                out.write(f"  {spec} b{batch} {c}: {row[c]['training_path']}\n")
    floors = [(key, row["floor"]) for key, row in results.items() if "floor" in row]
    if floors:
        out.write("\nthe whole-GPU kernel's floor (fp32 FLOPs at the datasheet peak, or its L2 traffic at the measured "
                  "rate, whichever is longer, plus 2L grid barriers at their measured cost):\n")
        for (spec, batch), f in floors:
            leap = results[(spec, batch)].get("leap grid", {}).get("us_per_step")
            ratio = f"{leap / f['floor_us']:.1f}x the floor" if leap else "leap grid not run"
            out.write(f"  {spec} b{batch}: {f['compute_us']:.2f} us compute, {f['bytes_us']:.2f} us L2, "
                      f"{f['barriers_us']:.2f} us barriers: floor {f['floor_us']:.2f} us; the kernel {ratio}\n")
    cpu_floors = cpu_floor_lines(results, peak_tflops, memory_rate) if device == "cpu" and peak_tflops else []
    if cpu_floors:
        out.write(f"\nthe CPU's floor: FLOPs at the measured fp32 peak ({peak_tflops * 1e3:.0f} GFLOP/s on all cores) or "
                  f"Adam's traffic at the measured memory rate ({(memory_rate or 0) / 1e9:.1f} GB/s, one thread's copy), "
                  "whichever is longer:\n" + "\n".join(cpu_floors) + "\n")
    out.write("\ntargets:\n")
    for t in checks:
        value = "n/a" if t["value"] is None else f"{t['value']:.3g}"
        out.write(f"  {'PASS' if t['met'] else 'FAIL'}  {t['target']:70} {value:>8}\n")
    passed = sum(t["met"] for t in checks)
    out.write(f"{passed} of {len(checks)} targets met\n")
    return out.getvalue()


def machine_name(device, args):
    if device == "cpu":
        return f"{peers.cpu_name()}, {os.cpu_count()} cores"
    import torch
    return torch.cuda.get_device_name()


def measured_peak(binary, device):
    """leap info's fp32 peak in TFLOP/s for the device (measured on the CPU, the datasheet's
    for a GPU), read from that device's own lines of `leap info`, or None."""
    section = re.search(rf"^  {device}:.*?(?=^  \w+:|^\S|\Z)", peers.leap_info(binary), re.M | re.S)
    found = section and re.search(r"peak dense TFLOP/s: fp32 ([0-9.eE+-]+)", section.group(0))
    return float(found.group(1)) if found else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leap", required=True, help="the leap binary")
    parser.add_argument("--device", choices=("cpu", "cuda"), required=True)
    parser.add_argument("--data", default=None, help="Fashion-MNIST IDX .gz directory (default: $LEAP_DATA_DIR, "
                                                     "bench/data, else /usr/share/datasets/fashion-mnist)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after the warm-up epoch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="comma-separated model-batch entries, e.g. 784-128-10-b64")
    parser.add_argument("--columns", default="", help="comma-separated columns to run (default: all)")
    parser.add_argument("--all-columns", action="store_true",
                        help="PyTorch on 2 CPU threads for every entry (default: the seed MLP and the teacher only)")
    parser.add_argument("--barrier-bench", default="", help="bench_grid_barrier (cuda): measures the barrier and "
                                                            "L2 terms of the whole-GPU kernel's floor")
    parser.add_argument("--part", default="", help="a name for this part of the grid (with --only), added to "
                                                   "the results' file names")
    args = parser.parse_args()
    args.data = args.data or peers.default_data_dir()
    grid = [g for g in GRID if not args.only or f"{g[0]}-b{g[1]}" in args.only.split(",")]
    columns = cpu_columns() if args.device == "cpu" else cuda_columns()
    if args.columns:
        columns = [c for c in columns if c[0] in args.columns.split(",")]
    machine = machine_name(args.device, args)
    peak = measured_peak(args.leap, args.device) if args.device == "cpu" else None
    memory_rate = memory_bytes_per_second() if args.device == "cpu" else None
    print(f"device: {machine}; data {args.data}; {args.epochs} timed epochs"
          + (f"; measured fp32 peak {peak * 1e3:.0f} GFLOP/s" if peak else "")
          + (f", memory {memory_rate / 1e9:.1f} GB/s" if memory_rate else ""), flush=True)
    data = peers.load_data(args.data)
    terms, gpu_peak = None, None
    if args.device == "cuda" and args.barrier_bench:
        terms = measure_floor_terms(args.barrier_bench)
        gpu_peak = measured_peak(args.leap, "cuda")

    results = {}
    start = time.perf_counter()
    for spec, batch in grid:
        row = results.setdefault((spec, batch), {})
        if terms and gpu_peak:
            row["floor"] = floor_of(spec, batch, gpu_peak, terms)
        for name, run in columns:
            if name == "torch 2t" and (spec, batch) not in (SEED, TEACHER) and not args.all_columns:
                continue  # slower than one thread on 2 cores in every run so far: the seed and teacher show it
            print(f"== {spec} batch {batch}: {name}", flush=True)
            try:
                row[name] = run(data, spec, batch, args)
                print(f"  {name}: {row[name]['us_per_step']:.1f} us/step, test accuracy "
                      f"{row[name]['test_accuracy']:.4f}", flush=True)
            except Exception as error:  # noqa: BLE001 - one broken run must not lose the others
                traceback.print_exc()
                row[name] = {"error": f"{type(error).__name__}: {error}"}
            if args.device == "cuda" and not name.startswith("leap"):
                import torch
                torch.cuda.empty_cache()
        write(args, machine, peak, memory_rate, columns, results, time.perf_counter() - start, final=False)
    write(args, machine, peak, memory_rate, columns, results, time.perf_counter() - start, final=True)


def write(args, machine, peak, memory_rate, columns, results, seconds, final):
    """The table and targets so far into the results files (after every entry, so that a run
    cut short keeps what it measured); printed at the end."""
    checks = targets(args.device, results, peak)
    text = report(args.device, machine, [c for c, _ in columns], results, checks, args.epochs, peak, memory_rate)
    text += f"(grid ran in {seconds:.0f} s{'' if final else '; still running'}; load average {os.getloadavg()[0]:.1f} " \
            f"on {os.cpu_count()} cores when written: other work on the machine slows every column)\n"
    date = datetime.date.today().isoformat()
    slug = "cpu" if args.device == "cpu" else peers.device_slug(machine)
    base = os.path.join(peers.HERE, "results", f"{date}-{slug}-mlp-grid" + (f"-{args.part}" if args.part else ""))
    os.makedirs(os.path.dirname(base), exist_ok=True)
    with open(base + ".txt", "w") as f:
        f.write(text)
    record = {"benchmark": "mlp_grid", "date": date, "device": machine, "epochs": args.epochs,
              "measured_fp32_peak_tflops": peak, "memory_bytes_per_second": memory_rate, "torch": peers.package_version("torch"),
              "jax": peers.package_version("jax"), "python": sys.version.split()[0], "targets": checks,
              "results": {f"{spec} b{batch}": row for (spec, batch), row in results.items()}}
    with open(base + ".json", "w") as f:
        json.dump(record, f, indent=2)
    if not final:
        return
    print("\n" + text, flush=True)
    print(f"wrote {base}.txt and .json", flush=True)
    if os.environ.get("OUT"):
        for ext in (".txt", ".json"):
            shutil.copy(base + ext, os.environ["OUT"])


if __name__ == "__main__":
    main()
