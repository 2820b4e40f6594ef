"""The seed workload (784-128-10, Adam 1e-3, batch 64, 10 epochs, Fashion-MNIST) trained by
leap in fp32, tf32 and bf16 on one device, over several seeds: the final test accuracy of
each, and the acceptance: bf16's and tf32's mean test accuracy within 0.3 points of fp32's
(the mean over seeds, since one seed's accuracy moves by about that much from run to run in
any precision; each seed's figures are printed too). Also trains bf16 through the cuBLASLt
bf16 step (LEAP_TRAINING_PATH=bf16) rather than the fused kernels, for its accuracy.

usage: python3 bench/precision_accuracy.py --leap build/leap [--device cuda] [--seeds 5]
       [--data DIR] [--json FILE]"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import target_report

TOLERANCE = 0.003  # 0.3 points


def train(leap, device, precision, seed, data, epochs, path=None):
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "run.jsonl")
        command = [leap, "train", "--device", device, "--precision", precision, "--seed", str(seed),
                   "--epochs", str(epochs), "--metrics", metrics, "--run-dir", os.path.join(tmp, "run")]
        if data:
            command += ["--data", data]
        env = dict(os.environ, **({"LEAP_TRAINING_PATH": path} if path else {}))
        process = subprocess.run(command, capture_output=True, text=True, env=env)
        if process.returncode != 0:
            return {"error": process.stderr.strip()}
        lines = [json.loads(line) for line in open(metrics) if line.strip()]
    epochs_rows = [r for r in lines if "epoch" in r]
    compute = next((r["compute"] for r in lines if "compute" in r), {})
    path_line = next((l for l in process.stdout.splitlines() if l.startswith("Training path:")), "")
    return {"test_accuracy": epochs_rows[-1]["val_accuracy"], "loss": epochs_rows[-1]["loss"],
            "us_per_step": compute.get("seconds_per_step", 0) * 1e6, "joules_per_epoch": compute.get("joules_per_epoch"),
            "training_path": path_line.removeprefix("Training path: ")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leap", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data")
    parser.add_argument("--json")
    args = parser.parse_args()

    variants = [("fp32", "fp32", None), ("tf32", "tf32", None), ("bf16", "bf16", None)]
    if args.device == "cuda":
        variants.append(("bf16 cuBLASLt step", "bf16", "bf16"))
    runs = {name: [] for name, _, _ in variants}
    for seed in range(args.seeds):
        for name, precision, path in variants:
            result = train(args.leap, args.device, precision, seed, args.data, args.epochs, path)
            runs[name].append(result)
            if "error" in result:
                print(f"seed {seed} {name}: failed: {result['error']}", flush=True)
            else:
                print(f"seed {seed} {name:20} test accuracy {result['test_accuracy']:.4f}  loss {result['loss']:.4f}  "
                      f"{result['us_per_step']:8.1f} us/step  path: {result['training_path']}", flush=True)

    print(f"\nseed workload, {args.epochs} epochs, {args.seeds} seeds, on {args.device}")
    print(f"{'precision':20} | {'seed 0':>7} | {'mean':>7} | {'min':>7} | {'max':>7} | {'mean - fp32':>11}")
    means = {}
    for name, _, _ in variants:
        accuracies = [r["test_accuracy"] for r in runs[name] if "test_accuracy" in r]
        if not accuracies:
            print(f"{name:20} | failed")
            continue
        means[name] = statistics.mean(accuracies)
        delta = means[name] - means.get("fp32", means[name])
        print(f"{name:20} | {accuracies[0]:7.4f} | {means[name]:7.4f} | {min(accuracies):7.4f} | "
              f"{max(accuracies):7.4f} | {100 * delta:+10.2f} pt")
    checks = []
    for name in ("tf32", "bf16"):
        if name in means and "fp32" in means:
            delta = means[name] - means["fp32"]
            checks.append((f"{name} mean test accuracy within {100 * TOLERANCE:.1f} points of fp32", delta,
                           abs(delta) <= TOLERANCE))
        else:
            checks.append((f"{name} trained", None, False))
    passed = target_report.print_targets(checks, lambda value: f"{100 * value:+.2f} pt")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": args.device, "epochs": args.epochs, "runs": runs, "means": means,
                       "targets": target_report.json_rows(checks)}, f, indent=2)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
