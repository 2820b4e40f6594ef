"""Wide MLPs in bf16 on one GPU, in one run: leap against PyTorch and against a plain bf16
matrix product, the ceiling of any training step made of such products.

Sizes (784 inputs, 3 hidden layers, 10 outputs, ReLU between, softmax cross-entropy, Adam):
  784-4096-4096-4096-10 at batch 8192, and 784-8192-8192-8192-10 at batch 16384.
For each size, one after another in this process:
  leap     bench_wide_mlp (Model::fit, --precision bf16, synthetic data resident on the GPU), the
           median step of the epochs after the first; nvidia-smi samples power.draw every 100 ms
           meanwhile, and its mean power times the timed interval is set beside NVML's energy
           counter over the same interval as leap reports it
  pytorch  nn.Sequential of Linear and ReLU in fp32, torch.autocast(bfloat16), Adam(fused=True),
           set_to_none gradients, synthetic data resident on the GPU; warm-up steps, then the
           median of timed steps (CUDA events around each)
  ceiling  torch.matmul of bf16 [batch, width] x [width, width] (the largest layer's forward
           product; cuBLAS), the median of back-to-back runs ("sustained"), and of ten runs
           after a rest ("burst", before the GPU's power limit lowers its clocks)
Each of leap, PyTorch and the sustained ceiling is timed for --seconds (4) after its warm-up,
after a 3-second rest, so that all three run at the clocks the power limit allows for long
runs; the burst ceiling shows how far that is from a cool GPU's.
FLOPs per step are counted from the model for both (2*m*n*k per product: the forward, the
weight gradients, and the input gradients of every layer but the first, whose input is data).
Targets: leap >= 1.1x PyTorch at both sizes; leap >= 90% of the sustained ceiling at the
larger size (the burst ratio is printed beside it); NVML's energy within 2x of nvidia-smi's.
Prints PASS or FAIL per target and exits 1 when any fails; --json writes every figure.

usage: python3 bench/wide_mlp.py --bench build/bench/bench_wide_mlp [--json FILE]
       [--sizes 784-4096-4096-4096-10:8192,...] [--device cuda|cpu (a smoke test)]"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import torch
from torch import nn

import target_report

SIZES = "784-4096-4096-4096-10:8192,784-8192-8192-8192-10:16384"
TARGET_VS_PYTORCH = 1.1
TARGET_VS_CEILING = 0.9


def training_flops(widths, batch):
    """2*m*n*k per product: forward and weight gradient of every layer, input gradient of all
    but the first."""
    flops = 0
    for layer, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        flops += 2 * batch * fan_in * fan_out * (2 if layer == 0 else 3)
    return flops


class PowerSampler:
    """nvidia-smi's power.draw every 100 ms, with its own timestamps, in a background process."""

    def __init__(self):
        self.samples, self.process = [], None
        try:
            self.process = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=timestamp,power.draw", "--format=csv,noheader,nounits",
                 "-lms", "100"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            return
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.process.stdout:
            try:
                stamp, watts = [part.strip() for part in line.split(",")]
                when = datetime.datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f").timestamp()
                self.samples.append((when, float(watts)))
            except ValueError:
                continue

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.thread.join(timeout=10)

    def energy(self, start, end):
        """Mean power over [start, end] times its length, and the number of samples."""
        inside = [watts for when, watts in self.samples if start <= when <= end]
        if not inside:
            return None, 0
        return statistics.mean(inside) * (end - start), len(inside)


def run_leap(bench, spec, batch, steps, seconds, flops, device, epochs=0):
    # Epochs enough to fill `seconds` after the first at ~600 TFLOP/s (the timing is the
    # median epoch, so a guess off by some is harmless).
    epochs = epochs or 2 + int(seconds / max(steps * flops / 6e14, 1e-6))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "leap.json")
        sampler = PowerSampler() if device == "cuda" else None
        command = [bench, "--model", spec, "--batch", str(batch), "--steps", str(steps),
                   "--epochs", str(epochs), "--precision", "bf16", "--device", device, "--json", out]
        process = subprocess.run(command, capture_output=True, text=True)
        if sampler:
            sampler.stop()
        print(process.stdout, end="", flush=True)
        if process.returncode != 0:
            return {"error": process.stderr.strip() or f"exit {process.returncode}"}
        result = json.load(open(out))
    timed = result["timed"]
    if sampler:
        joules, count = sampler.energy(timed["start_unix"], timed["end_unix"])
        result["nvidia_smi"] = {"joules": joules, "samples": count,
                                "seconds": timed["end_unix"] - timed["start_unix"]}
    return result


def median_ms(run, warmup, device, seconds=0.0, repeats=10):
    """The median of timed runs after `warmup` ones: at least `repeats`, and as many as fill
    `seconds`. On the GPU, CUDA events around each run, read once at the end: the host queues
    the next run while the GPU works, as in a training loop."""
    for _ in range(warmup):
        run()
    events = []
    times = []
    began = time.perf_counter()
    while len(events) + len(times) < repeats or time.perf_counter() - began < seconds:
        if device == "cuda":
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run()
            stop.record()
            events.append((start, stop))
        else:
            run_began = time.perf_counter()
            run()
            times.append((time.perf_counter() - run_began) * 1e3)
    if events:
        events[-1][1].synchronize()
        times = [start.elapsed_time(stop) for start, stop in events]
    return statistics.median(times)


def run_pytorch(widths, batch, steps, seconds, device, profile=False):
    torch.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, **({"fused": True} if device == "cuda" else {}))
    criterion = nn.CrossEntropyLoss()
    images = torch.rand(steps, batch, widths[0], device=device)
    labels = torch.randint(0, widths[-1], (steps, batch), device=device)
    position = [0]

    def step():
        k = position[0] % steps
        position[0] += 1
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            loss = criterion(model(images[k]), labels[k])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    ms = median_ms(step, warmup=3, device=device, seconds=seconds)
    if profile and device == "cuda":  # where PyTorch's step goes, kernel by kernel
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            for _ in range(3):
                step()
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=16), flush=True)
    del model, optimizer, images, labels
    return {"step_ms": ms}


def run_ceiling(width, batch, seconds, device):
    a = torch.randn(batch, width, device=device, dtype=torch.bfloat16)
    b = torch.randn(width, width, device=device, dtype=torch.bfloat16)
    flops = 2 * batch * width * width
    burst = median_ms(lambda: torch.matmul(a, b), warmup=3, device=device, repeats=10)
    sustained = median_ms(lambda: torch.matmul(a, b), warmup=3, device=device, seconds=seconds)
    return {"ms": sustained, "tflops": flops / sustained / 1e9, "burst_ms": burst,
            "burst_tflops": flops / burst / 1e9, "shape": [batch, width, width]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="the bench_wide_mlp binary")
    parser.add_argument("--sizes", default=SIZES, help="SPEC:BATCH,... (default: the two targets)")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--steps", type=int, default=16, help="leap: steps an epoch")
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds of each measurement")
    parser.add_argument("--rest", type=float, default=3.0, help="idle seconds before each measurement")
    parser.add_argument("--epochs", type=int, default=0, help="leap: epochs (default: enough for --seconds)")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--profile", action="store_true", help="print PyTorch's kernels for 3 steps")
    args = parser.parse_args()

    info = {"torch": torch.__version__, "date": datetime.date.today().isoformat()}
    if args.device == "cuda":
        info["device"] = torch.cuda.get_device_name()
        info["cuda_torch"] = torch.version.cuda
    results = []
    for item in args.sizes.split(","):
        spec, batch = item.split(":")
        batch = int(batch)
        widths = [int(w) for w in spec.split("-")]
        flops = training_flops(widths, batch)
        print(f"== {spec} at batch {batch}: {flops / 1e12:.3f} TFLOP a step", flush=True)
        row = {"model": spec, "batch": batch, "flops_per_step": flops}
        time.sleep(args.rest)
        row["leap"] = run_leap(args.bench, spec, batch, args.steps, args.seconds, flops, args.device, args.epochs)
        time.sleep(args.rest)
        row["pytorch"] = run_pytorch(widths, batch, args.steps, args.seconds, args.device, args.profile)
        time.sleep(args.rest)
        row["ceiling"] = run_ceiling(max(widths[1:-1]), batch, args.seconds, args.device)
        if args.device == "cuda":
            torch.cuda.empty_cache()
        leap = row["leap"]
        if "error" not in leap:
            leap["step_ms"] = leap["median_step_seconds"] * 1e3
            assert leap["flops_per_step"] == flops, "leap counts FLOPs otherwise"
        for name in ("leap", "pytorch"):
            if "step_ms" in row[name]:
                row[name]["tflops"] = flops / row[name]["step_ms"] / 1e9
        if "tflops" in leap:
            row["leap_vs_pytorch"] = row["pytorch"]["step_ms"] / leap["step_ms"]
            row["leap_vs_ceiling"] = leap["tflops"] / row["ceiling"]["tflops"]
            row["leap_vs_burst_ceiling"] = leap["tflops"] / row["ceiling"]["burst_tflops"]
        results.append(row)

    print(f"\nwide MLPs in bf16 with Adam on {info.get('device', args.device)} (torch {info['torch']})")
    header = (f"{'model':24} {'batch':>6} | {'leap ms':>8} {'TFLOP/s':>8} | {'torch ms':>8} {'TFLOP/s':>8} | "
              f"{'ceiling sustained/burst':>23} | {'vs torch':>8} {'vs ceiling':>16}")
    print(header)
    print("-" * len(header))
    for row in results:
        leap, torch_row = row["leap"], row["pytorch"]
        if "error" in leap:
            print(f"{row['model']:24} {row['batch']:>6} | leap failed: {leap['error']}")
            continue
        ceiling = row["ceiling"]
        print(f"{row['model']:24} {row['batch']:>6} | {leap['step_ms']:8.3f} {leap['tflops']:8.1f} | "
              f"{torch_row['step_ms']:8.3f} {torch_row['tflops']:8.1f} | "
              f"{ceiling['tflops']:11.1f} / {ceiling['burst_tflops']:9.1f} | {row['leap_vs_pytorch']:7.3f}x "
              f"{100 * row['leap_vs_ceiling']:6.1f}% / {100 * row['leap_vs_burst_ceiling']:6.1f}%")
    for row in results:
        leap = row["leap"]
        if "error" in leap:
            continue
        print(f"{row['model']}: leap path: {leap['training_path']}")
        report = leap["compute_report"]
        print(f"  MFU {100 * report['mfu']:.1f}% ({report['peak_source']})")
        smi = leap.get("nvidia_smi")
        nvml = leap["timed"]["joules"]
        if smi and smi["joules"] is not None and nvml:
            ratio = nvml / smi["joules"]
            row["energy_check"] = {"nvml_joules": nvml, "nvidia_smi_joules": smi["joules"], "ratio": ratio,
                                   "seconds": smi["seconds"], "samples": smi["samples"]}
            print(f"  energy over the timed {smi['seconds']:.2f} s: NVML {nvml:.1f} J, nvidia-smi power.draw "
                  f"({smi['samples']} samples) x time {smi['joules']:.1f} J, ratio {ratio:.3f}")
        else:
            print(f"  {leap.get('energy_source')}; nvidia-smi: {smi}")

    checks = []
    for row in results:
        if "leap_vs_pytorch" in row:
            checks.append((f"{row['model']} b{row['batch']}: leap >= {TARGET_VS_PYTORCH}x PyTorch",
                           row["leap_vs_pytorch"], row["leap_vs_pytorch"] >= TARGET_VS_PYTORCH))
        else:
            checks.append((f"{row['model']} b{row['batch']}: leap ran", None, False))
        if "energy_check" in row:
            ratio = row["energy_check"]["ratio"]
            checks.append((f"{row['model']} b{row['batch']}: NVML energy within 2x of nvidia-smi's",
                           ratio, 0.5 <= ratio <= 2.0))
    largest = max(results, key=lambda r: r["flops_per_step"])
    if "leap_vs_ceiling" in largest:
        checks.append((f"{largest['model']} b{largest['batch']}: leap >= {100 * TARGET_VS_CEILING:.0f}% "
                       f"of the sustained bf16 GEMM ceiling", largest["leap_vs_ceiling"],
                       largest["leap_vs_ceiling"] >= TARGET_VS_CEILING))
    passed = target_report.print_targets(checks, lambda value: f"{value:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": results,
                       "targets": target_report.json_rows(checks),
                       "passed": passed}, f, indent=2)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
