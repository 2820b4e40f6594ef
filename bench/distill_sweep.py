"""Distillation recipes on Fashion-MNIST, paired over seeds: one teacher trained once
(784-512-256-10, dropout, Adam) or loaded, then for each recipe (temperature, alpha) and seed,
the 784-128-10 student alone and distilled from the same initial weights and batch order
(`leap distill --teacher-load --seeds 0-(N-1)`: every seed's two students side by side in one
call, one process and one copy of the data). Teacher and both students share the optimizer and weight
decay; both students share the epochs and learning-rate schedule. Prints per seed, then the mean gain,
its spread over seeds, the share of the teacher-student gap recovered and leap distill's report
table (accuracy, parameters, FLOPs, latency) for the first recipe; writes JSON.

The defaults are leap distill's recipe, so that a bare run is the acceptance check:
usage: python3 bench/distill_sweep.py --leap build/leap [--data DIR] [--device cpu|cuda]
       [--seeds 5] [--recipes 2:0.5,1:1.0] [--teacher-epochs 30] [--epochs 100]
       [--schedule none|step|cosine] [--teacher-schedule none|step|cosine] [--weight-decay 0]
       [--teacher-load FILE] [--json FILE]"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile

EPOCH = re.compile(r"^epoch time \(median\): student alone ([0-9.]+) ms, distilled ([0-9.]+) ms")
SEED = re.compile(r"^seed (\d+): student alone ([0-9.]+), student distilled ([0-9.]+)")
ROW = re.compile(r"^(teacher|student alone|student distilled)\s+([0-9.]+)\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)$")


def run(leap, args):
    out = subprocess.run([leap, "distill", "--no-run-dir", *args], check=True, capture_output=True, text=True).stdout
    rows = {"seeds": []}
    for line in out.splitlines():
        m = SEED.match(line.strip())
        if m:
            rows["seeds"].append((int(m.group(1)), float(m.group(2)), float(m.group(3))))
        m = EPOCH.match(line.strip())
        if m:
            rows["epoch_ms"] = {"alone": float(m.group(1)), "distilled": float(m.group(2))}
        m = ROW.match(line.strip())
        if m:
            rows[m.group(1)] = {"accuracy": float(m.group(2)), "parameters": int(m.group(3)),
                                "flops_per_sample": int(m.group(4)), "batch1_us": float(m.group(5)),
                                "batch1024_us": float(m.group(6))}
    return rows


def report(runs):
    """leap distill's table, accuracies averaged over the seeds and latencies their medians."""
    print(f"{'':18} {'test acc':>9} {'parameters':>11} {'FLOPs/sample':>13} {'batch 1 (us)':>13} {'batch 1024 (us)':>16}")
    for name in ("teacher", "student alone", "student distilled"):
        rows = [r[name] for r in runs]
        print(f"{name:18} {statistics.mean(r['accuracy'] for r in rows):9.4f} {rows[0]['parameters']:11d} "
              f"{rows[0]['flops_per_sample']:13d} {statistics.median(r['batch1_us'] for r in rows):13.1f} "
              f"{statistics.median(r['batch1024_us'] for r in rows):16.1f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True)
    parser.add_argument("--data", default=os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--recipes", default="2:0.5", help="temperature:alpha,...")
    parser.add_argument("--teacher-epochs", type=int, default=30)
    parser.add_argument("--teacher-dropout", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--schedule", default="none", choices=["none", "step", "cosine"])
    parser.add_argument("--teacher-schedule", default="cosine", choices=["none", "step", "cosine"])
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--teacher-load", help="saved teacher weights (skips training one)")
    parser.add_argument("--json")
    args = parser.parse_args()
    shared = ["--data", args.data, "--device", args.device, "--schedule", args.schedule,
              "--weight-decay", str(args.weight_decay), "--teacher-dropout", str(args.teacher_dropout)]
    with tempfile.TemporaryDirectory() as tmp:
        teacher = args.teacher_load or os.path.join(tmp, "teacher.safetensors")
        if not args.teacher_load:  # one teacher for every recipe and seed; the students here are throwaway
            run(args.leap, shared + ["--teacher-epochs", str(args.teacher_epochs), "--teacher-schedule",
                                     args.teacher_schedule, "--teacher-save", teacher, "--epochs", "1"])
        results = []
        for recipe in args.recipes.split(","):
            temperature, alpha = recipe.split(":")
            rows = run(args.leap, shared + ["--teacher-load", teacher, "--epochs", str(args.epochs),
                                            "--temperature", temperature, "--alpha", alpha,
                                            "--seeds", f"0-{args.seeds - 1}"])
            if not rows["seeds"]:  # one seed: the table's rows are that seed's
                rows["seeds"] = [(0, rows["student alone"]["accuracy"], rows["student distilled"]["accuracy"])]
            runs = []
            for seed, alone_accuracy, distilled_accuracy in rows["seeds"]:
                # Each seed's accuracies; the teacher, parameters and latencies are the call's.
                per_seed = {name: dict(rows[name]) for name in ("teacher", "student alone", "student distilled")}
                per_seed["student alone"]["accuracy"] = alone_accuracy
                per_seed["student distilled"]["accuracy"] = distilled_accuracy
                if "epoch_ms" in rows:
                    per_seed["epoch_ms"] = rows["epoch_ms"]
                runs.append(per_seed)
                print(f"  T={temperature} alpha={alpha} seed {seed}: teacher {rows['teacher']['accuracy']:.4f}, "
                      f"alone {alone_accuracy:.4f}, distilled {distilled_accuracy:.4f}", flush=True)
            teacher_accuracy = runs[0]["teacher"]["accuracy"]
            alone = statistics.mean(r["student alone"]["accuracy"] for r in runs)
            distilled = statistics.mean(r["student distilled"]["accuracy"] for r in runs)
            gains = [r["student distilled"]["accuracy"] - r["student alone"]["accuracy"] for r in runs]
            gap = teacher_accuracy - alone
            results.append({"temperature": float(temperature), "alpha": float(alpha), "seeds": args.seeds,
                            "teacher": teacher_accuracy, "student_alone": alone, "distilled": distilled,
                            "gain_points": 100 * (distilled - alone),
                            "gain_stdev_points": 100 * statistics.stdev(gains) if len(gains) > 1 else None,
                            "gap_recovered": (distilled - alone) / gap if gap > 0 else None, "runs": runs})
    teacher_recipe = (f"loaded from {args.teacher_load}" if args.teacher_load else
                      f"{args.teacher_epochs} epochs, dropout {args.teacher_dropout}, schedule {args.teacher_schedule}")
    print(f"\nteacher 784-512-256-10, {teacher_recipe}: {results[0]['teacher']:.4f}; "
          f"students 784-128-10, {args.epochs} epochs; schedule {args.schedule}, weight decay {args.weight_decay}; "
          f"means over {args.seeds} paired seeds")
    print(f"{'T':>5} {'alpha':>6} {'alone':>8} {'distilled':>10} {'gain pt':>8} {'sd pt':>6} {'gap recovered':>14}  pass")
    for r in results:
        recovered = f"{100 * r['gap_recovered']:.0f}%" if r["gap_recovered"] is not None else "n/a"
        spread = f"{r['gain_stdev_points']:6.2f}" if r["gain_stdev_points"] is not None else f"{'-':>6}"
        passed = r["gain_points"] >= 0.5 and (r["gap_recovered"] is None or r["gap_recovered"] >= 0.5)
        print(f"{r['temperature']:5.1f} {r['alpha']:6.2f} {r['student_alone']:8.4f} {r['distilled']:10.4f} "
              f"{r['gain_points']:+8.2f} {spread} {recovered:>14}  {'yes' if passed else 'no'}")
    print("acceptance: gain >= 0.5 points and >= 50% of the gap recovered\n")
    report(results[0]["runs"])
    epochs = [r["epoch_ms"] for r in results[0]["runs"] if "epoch_ms" in r]
    if epochs:
        alone_ms = statistics.median(e["alone"] for e in epochs)
        distilled_ms = statistics.median(e["distilled"] for e in epochs)
        ratio = distilled_ms / alone_ms
        print(f"\nepoch time (median over seeds): student alone {alone_ms:.2f} ms, distilled {distilled_ms:.2f} ms, "
              f"{ratio:.2f}x (target at most 1.2x): {'pass' if ratio <= 1.2 else 'FAIL'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"benchmark": "distill_sweep", "device": args.device, "teacher_epochs": args.teacher_epochs,
                       "teacher_dropout": args.teacher_dropout, "teacher_schedule": args.teacher_schedule,
                       "teacher_load": args.teacher_load, "epochs": args.epochs, "schedule": args.schedule,
                       "weight_decay": args.weight_decay, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
