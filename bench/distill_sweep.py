"""Distillation recipes on Fashion-MNIST, paired over seeds: one teacher trained once
(784-512-256-10, dropout, Adam), then for each recipe (temperature, alpha) and seed, the
784-128-10 student alone and distilled from the same initial weights and batch order
(`leap distill --teacher-load`). Prints the mean gain and the share of the gap recovered
per recipe and writes JSON.

usage: python3 bench/distill_sweep.py --leap build/leap [--data DIR] [--device cuda]
       [--seeds 3] [--recipes 2:0.5,4:0.9] [--teacher-epochs 30] [--epochs 10] [--json FILE]"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile

ROW = re.compile(r"^(teacher|student alone|student distilled)\s+([0-9.]+)\s+(\d+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)$")


def run(leap, args):
    out = subprocess.run([leap, "distill", *args], check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line.strip())
        if m:
            rows[m.group(1)] = {"accuracy": float(m.group(2)), "parameters": int(m.group(3)),
                                "flops_per_sample": int(m.group(4)), "batch1_us": float(m.group(5)),
                                "batch1024_us": float(m.group(6))}
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leap", required=True)
    parser.add_argument("--data", default=os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--recipes", default="2:0.5,4:0.5,4:0.9,8:0.9")
    parser.add_argument("--teacher-epochs", type=int, default=30)
    parser.add_argument("--teacher-dropout", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()
    common = ["--data", args.data, "--device", args.device, "--epochs", str(args.epochs)]
    with tempfile.TemporaryDirectory() as tmp:
        teacher = os.path.join(tmp, "teacher.safetensors")
        first = run(args.leap, common + ["--teacher-epochs", str(args.teacher_epochs), "--teacher-dropout",
                                         str(args.teacher_dropout), "--teacher-save", teacher, "--seed", "0"])
        print(f"teacher: {first['teacher']['accuracy']:.4f}", flush=True)
        results = []
        for recipe in args.recipes.split(","):
            temperature, alpha = recipe.split(":")
            runs = []
            for seed in range(args.seeds):
                rows = run(args.leap, common + ["--teacher-load", teacher, "--teacher-dropout", str(args.teacher_dropout),
                                                "--temperature", temperature, "--alpha", alpha, "--seed", str(seed)])
                runs.append(rows)
                print(f"  T={temperature} alpha={alpha} seed {seed}: alone {rows['student alone']['accuracy']:.4f}, "
                      f"distilled {rows['student distilled']['accuracy']:.4f}", flush=True)
            alone = statistics.mean(r["student alone"]["accuracy"] for r in runs)
            distilled = statistics.mean(r["student distilled"]["accuracy"] for r in runs)
            teacher_accuracy = first["teacher"]["accuracy"]
            gap = teacher_accuracy - alone
            results.append({"temperature": float(temperature), "alpha": float(alpha), "seeds": args.seeds,
                            "teacher": teacher_accuracy, "student_alone": alone, "distilled": distilled,
                            "gain_points": 100 * (distilled - alone),
                            "gap_recovered": (distilled - alone) / gap if gap > 0 else None, "runs": runs})
    print(f"\nteacher {args.teacher_epochs} epochs, dropout {args.teacher_dropout}: {first['teacher']['accuracy']:.4f}; "
          f"student {args.epochs} epochs; means over {args.seeds} paired seeds")
    print(f"{'T':>5} {'alpha':>6} {'alone':>8} {'distilled':>10} {'gain pt':>8} {'gap recovered':>14}")
    for r in results:
        recovered = f"{100 * r['gap_recovered']:.0f}%" if r["gap_recovered"] is not None else "n/a"
        print(f"{r['temperature']:5.1f} {r['alpha']:6.2f} {r['student_alone']:8.4f} {r['distilled']:10.4f} "
              f"{r['gain_points']:+8.2f} {recovered:>14}")
    print("acceptance: gain >= 0.5 points and >= 50% of the gap recovered")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"benchmark": "distill_sweep", "teacher_epochs": args.teacher_epochs,
                       "teacher_dropout": args.teacher_dropout, "epochs": args.epochs, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
