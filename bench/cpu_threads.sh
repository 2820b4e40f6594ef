#!/usr/bin/env bash
# Do leap's hot CPU operations use every core? leap train on one thread and on all of them
# (OMP_NUM_THREADS sizes the one OpenMP pool that OpenBLAS and leap's element-wise loops share),
# for the seed workload and for a wider network whose matrix products dominate a step. Prints
# a table: us/step (one epoch, Fashion-MNIST; the best of REPEATS runs, since a shared machine's
# other work only ever slows a run) and the speed-up of all cores over one.
# usage: bench/cpu_threads.sh [LEAP_BINARY] [REPEATS]   (default build/leap, 3)
set -euo pipefail
leap=${1:-build/leap}
repeats=${2:-3}
cores=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $cores cores; $(date -u +%Y-%m-%d); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $leap train --device cpu --epochs 1 (Fashion-MNIST, 938 or 235 steps); us/step from --metrics, best of $repeats"
printf "%-22s %6s %14s %14s %9s\n" model batch "1 thread us" "$cores threads us" speed-up
for workload in "784-128-10 64" "784-1024-1024-10 256"; do
  read -r model batch <<< "$workload"
  declare -A us=()
  for threads in 1 "$cores"; do
    for _ in $(seq "$repeats"); do
      OMP_NUM_THREADS=$threads "$leap" train --device cpu --epochs 1 --model "$model" \
        --batch-size "$batch" --metrics "$tmp/$threads.jsonl" > "$tmp/$threads.log" 2>&1
      grep -q "cpu ($threads threads" "$tmp/$threads.log" || { echo "leap did not take $threads threads"; exit 1; }
      run=$(sed -n 's/.*"us_per_step": *\([0-9.]*\).*/\1/p' "$tmp/$threads.jsonl")
      us[$threads]=$(awk -v run="$run" -v best="${us[$threads]:-}" 'BEGIN { print (best == "" || run < best) ? run : best }')
    done
  done
  awk -v model="$model" -v batch="$batch" -v one="${us[1]}" -v all="${us[$cores]}" \
    'BEGIN { printf "%-22s %6s %14.0f %14.0f %9.2f\n", model, batch, one, all, one / all }'
done
