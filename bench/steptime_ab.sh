#!/usr/bin/env bash
# The persistent kernel's step time of two leap builds side by side on one GPU: runs
# `leap train --no-run-dir --epochs 20 --device cuda` with each binary in turn (the order
# alternating from run to run, so that a drift of the clocks falls on both), takes each run's
# median epoch time over its steps, and compares the medians of the runs. PASS when the new
# build's step is within 2% of the base's (LEAP_AB_TOLERANCE, a fraction) and every epoch's
# loss and metrics are the same in both (the change must not alter the results' bits).
# Needs a machine with one GPU, python3 and the packed build's libraries on LD_LIBRARY_PATH
# (found beside the binaries in lib/, and cuBLAS and NCCL wherever they are installed).
#
# usage: bench/steptime_ab.sh NEW_LEAP BASE_LEAP [DATA_DIR] [RUNS]
#   DATA_DIR: Fashion-MNIST (default $LEAP_DATA_DIR, else .carry/fashion-mnist); RUNS: per
#   binary (default 3). Logs go to $OUT (default a temporary folder), the report to stdout
#   and $OUT/steptime-ab.txt. Exits 0 on PASS, 1 on FAIL, 2 on bad usage.
set -uo pipefail
[ $# -ge 2 ] && [ $# -le 4 ] || { sed -n 11,14p "$0" >&2; exit 2; }
new=$1 base=$2
data=${3:-${LEAP_DATA_DIR:-.carry/fashion-mnist}}
runs=${4:-3}
tolerance=${LEAP_AB_TOLERANCE:-0.02}
for binary in "$new" "$base"; do [ -x "$binary" ] || { echo "not an executable: $binary" >&2; exit 2; }; done
[ -d "$data" ] || { echo "no data folder: $data" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
for binary in "$new" "$base"; do LD_LIBRARY_PATH=$(dirname "$binary")/lib:${LD_LIBRARY_PATH:-}; done
# cuBLAS and NCCL, which the packed build leaves to the machine (beside PyTorch, say).
for lib in libcublasLt.so.13 libnccl.so.2; do
  found=$(ldconfig -p 2>/dev/null | grep -c "$lib")
  for dir in ${LD_LIBRARY_PATH//:/ }; do ls "$dir/$lib"* > /dev/null 2>&1 && found=1; done
  if [ "$found" = 0 ]; then
    path=$(find / -name "$lib*" -not -path '/proc/*' 2>/dev/null | head -n1)
    [ -n "$path" ] && LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$(dirname "$path")
  fi
done
export LD_LIBRARY_PATH

{
  echo "the persistent kernel's step, two builds side by side, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "device: $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | head -1)"
  echo "new:  $new"
  echo "base: $base"
  echo "leap train --no-run-dir --epochs 20 --device cuda, $runs runs each, alternating"
} | tee "$OUT/steptime-ab.txt"
status=0
for run in $(seq 1 "$runs"); do
  if [ $((run % 2)) = 1 ]; then order="new base"; else order="base new"; fi
  for which in $order; do
    binary=$new
    [ "$which" = base ] && binary=$base
    "$binary" train --no-run-dir --epochs 20 --device cuda --data "$data" \
      --metrics "$OUT/steptime-$which-$run.jsonl" > "$OUT/steptime-$which-$run.log" 2>&1 ||
      { echo "run $run of $which failed: see $OUT/steptime-$which-$run.log" | tee -a "$OUT/steptime-ab.txt"; status=1; }
  done
done
[ $status = 0 ] || { echo FAIL | tee -a "$OUT/steptime-ab.txt"; exit 1; }
python3 - "$OUT" "$runs" "$tolerance" <<'PY' 2>&1 | tee -a "$OUT/steptime-ab.txt"
import json, statistics, sys
out, runs, tolerance = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def epochs(which, run):
    return [r for r in map(json.loads, open(f"{out}/steptime-{which}-{run}.jsonl")) if "epoch" in r]
def us_a_step(rows):  # the median epoch's time over its steps
    return statistics.median(r["seconds"] for r in rows) / rows[-1]["steps"] * 1e6
def results(rows):  # what the steps computed: every epoch's logs but its times
    return [{k: v for k, v in r.items() if k not in ("seconds", "us_per_step", "joules")} for r in rows]
median = {}
same = True
for which in ("new", "base"):
    per_run = [us_a_step(epochs(which, run)) for run in range(1, runs + 1)]
    median[which] = statistics.median(per_run)
    print(f"{which:5} us a step: " + ", ".join(f"{us:.3f}" for us in per_run) + f"; median {median[which]:.3f}")
for run in range(1, runs + 1):
    if results(epochs("new", run)) != results(epochs("base", run)):
        same = False
        print(f"run {run}: the epochs' losses or metrics differ between the builds")
last = epochs("new", 1)[-1]
print("results: " + ("the same in every run and epoch" if same else "DIFFERENT") +
      f" (last epoch of run 1: loss {last.get('loss')}, val_accuracy {last.get('val_accuracy')})")
ratio = median["new"] / median["base"]
fast = ratio <= 1 + tolerance
print(f"new / base: {ratio:.4f} (at most {1 + tolerance:.2f} to pass)")
print("PASS" if fast and same else "FAIL")
sys.exit(0 if fast and same else 1)
PY
exit "${PIPESTATUS[0]}"
