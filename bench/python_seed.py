"""The seed workload from Python against the CLI and against its peers, in one run on one
device. First leap's fit() from Python (bench/python_seed/leap_keras.py) and `leap train`,
alternated over --rounds: each run's us/step is its median epoch after the first, and the
target is Python within 5% of the CLI (the median of the rounds' ratios). Then whole scripts, import and data loading included,
timed from the shell's view: leap in Keras' shape and in PyTorch's, the same script in
PyTorch, and (where importable) JAX. Writes bench/results/<date>-<device>-python-seed.txt
and .json and prints PASS or FAIL.

usage: /usr/bin/python3 bench/python_seed.py --leap build/leap --python-path build/python
       [--device cpu|cuda] [--epochs 10] [--rounds 5] [--peers pytorch,jax] [--threads N]"""
import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "python_seed")
TARGET = 1.05  # Python's us/step at most 5% above the CLI's


def steady_us_per_step(values):
    return statistics.median(values[1:] if len(values) > 1 else values)


def run_cli(leap, device, epochs, env):
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "m.jsonl")
        subprocess.run([leap, "train", "--no-run-dir", "--model", "784-128-10", "--epochs", str(epochs),
                        "--batch-size", "64", "--lr", "0.001", "--optimizer", "adam", "--device", device,
                        "--metrics", metrics], check=True, env=env, stdout=subprocess.DEVNULL)
        rows = [r for r in map(json.loads, open(metrics)) if "epoch" in r]
    return steady_us_per_step([r["us_per_step"] for r in rows]), rows[-1]["val_accuracy"]


def run_python_fit(device, epochs, env):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "fit.json")
        subprocess.run([sys.executable, os.path.join(SCRIPTS, "leap_keras.py"), "--epochs", str(epochs),
                        "--device", device, "--json", out], check=True, env=env, stdout=subprocess.DEVNULL)
        record = json.load(open(out))
    return steady_us_per_step(record["us_per_step"]), record["test_accuracy"], record["training_path"]


def wall_time(command, env):
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        return None, result.stderr.strip().splitlines()[-1:] or ["failed"]
    accuracy = [line for line in result.stdout.splitlines() if "test accuracy" in line]
    return seconds, accuracy[-1:] or [""]


def device_name(device, env):
    """The device in words, and its label in the results' file name: the GPU's (h100), or
    cpu (on a GPU machine, its host's: h100-host-cpu, apart from the CPU machine's records)."""
    gpu = subprocess.run([sys.executable, "-c", "import leap; print(leap.device_info('cuda')['name'] "
                          "if leap.cuda_available() else '')"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    gpu_label = "h100" if "H100" in gpu else "h200" if "H200" in gpu else "gpu"
    if device == "cuda":
        return gpu, gpu_label
    label = f"{gpu_label}-host-cpu" if gpu else "cpu"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores", label
    return platform.processor(), label


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True, help="the leap command")
    parser.add_argument("--python-path", required=True, help="the directory holding the leap package")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--peers", default="pytorch,jax")
    parser.add_argument("--threads", type=int,
                        help="OMP_NUM_THREADS for every program (leap, PyTorch): 1 on a machine shared "
                             "with other work, where spinning OpenMP threads wait on each other")
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.path.abspath(args.python_path))
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    device, label = device_name(args.device, env)
    lines = [f"seed workload from Python, {args.epochs} epochs, batch 64, on {device} "
             f"({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, load average "
             f"{os.getloadavg()[0]:.1f}, OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')})"]

    # Each round runs both, first one then the other by turns, so that a load that drifts
    # over the run weighs on both; the target takes the median of the rounds' ratios.
    cli, fit = [], []
    for round in range(args.rounds):
        if round % 2:
            fit.append(run_python_fit(args.device, args.epochs, env))
            cli.append(run_cli(args.leap, args.device, args.epochs, env))
        else:
            cli.append(run_cli(args.leap, args.device, args.epochs, env))
            fit.append(run_python_fit(args.device, args.epochs, env))
        print(f"round {round + 1}: CLI {cli[-1][0]:.2f} us/step, Python fit {fit[-1][0]:.2f} us/step", flush=True)
    cli_us = statistics.median(r[0] for r in cli)
    fit_us = statistics.median(r[0] for r in fit)
    ratios = [f[0] / c[0] for f, c in zip(fit, cli)]
    ratio = statistics.median(ratios)
    passed = ratio <= TARGET
    lines += ["", "us/step (median epoch after the first; median of the rounds):",
              f"  leap train (CLI)     {cli_us:9.2f}   runs: " + ", ".join(f"{r[0]:.2f}" for r in cli),
              f"  leap fit() (Python)  {fit_us:9.2f}   runs: " + ", ".join(f"{r[0]:.2f}" for r in fit),
              f"  training path: {fit[-1][2]}",
              f"  test accuracy: CLI {cli[-1][1]:.4f}, Python {fit[-1][1]:.4f}",
              "  Python / CLI by round: " + ", ".join(f"{r:.3f}" for r in ratios),
              f"target: Python fit within 5% of the CLI's us/step (median of the rounds' ratios): {ratio:.3f}x "
              f"({'PASS' if passed else 'FAIL'})"]

    scripts = [("leap, Keras shape", [sys.executable, os.path.join(SCRIPTS, "leap_keras.py"), "--device", args.device]),
               ("leap, PyTorch shape", [sys.executable, os.path.join(SCRIPTS, "leap_torch.py"), "--device", args.device])]
    peers = args.peers.split(",") if args.peers else []
    if "pytorch" in peers and importlib.util.find_spec("torch"):
        scripts.append(("PyTorch", [sys.executable, os.path.join(SCRIPTS, "pytorch.py"), "--device", args.device]))
    if "jax" in peers and importlib.util.find_spec("jax"):
        scripts.append(("JAX", [sys.executable, os.path.join(SCRIPTS, "jax_seed.py")]))
    lines += ["", "whole script, wall seconds (interpreter start, imports, data, "
              f"{args.epochs} epochs, test accuracy):"]
    walls = {}
    for name, command in scripts:
        seconds, tail = wall_time(command + ["--epochs", str(args.epochs)], env)
        walls[name] = seconds
        shown = f"{seconds:8.2f}" if seconds is not None else "  failed"
        lines.append(f"  {name:20} {shown}   {tail[0]}")
        print(lines[-1], flush=True)
    leap_wall = walls.get("leap, Keras shape")
    for name, seconds in walls.items():
        if leap_wall and seconds and name != "leap, Keras shape":
            lines.append(f"  leap (Keras shape) is {seconds / leap_wall:.1f}x faster than {name}")

    load, cores = os.getloadavg()[0], os.cpu_count()
    if load > cores:
        lines += ["", f"note: the machine was shared (load average {load:.1f} on {cores} cores): "
                  "single runs vary; the rounds show by how much"]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    date = datetime.date.today().isoformat()
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, f"{date}-{label}-python-seed")
    with open(base + ".txt", "w") as f:
        f.write(text)
    with open(base + ".json", "w") as f:
        json.dump({"benchmark": "python_seed", "date": date, "device": device, "epochs": args.epochs,
                   "omp_num_threads": env.get("OMP_NUM_THREADS"), "load_average": os.getloadavg()[0],
                   "cli_us_per_step": [r[0] for r in cli], "fit_us_per_step": [r[0] for r in fit],
                   "ratios": ratios, "ratio": ratio, "passed": passed, "wall_seconds": walls}, f, indent=2)
    print(f"wrote {base}.txt and .json")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
