#!/usr/bin/env bash
# SIGTERM during `leap train`: a checkpoint is written, the exit status is non-zero and the
# message says how to resume; the resumed run ends with the weights of a run never stopped.
# usage: cli_interrupt.sh LEAP_BINARY
set -u
leap=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

# 1500 samples of 40 features; the label is the arg-max of the first three.
awk 'BEGIN { srand(7); printf "label"; for (j = 0; j < 40; j++) printf ",f%d", j; print "";
             for (i = 0; i < 1500; i++) { best = 0; line = "";
               for (j = 0; j < 40; j++) { v[j] = rand() * 2 - 1; line = line sprintf(",%.6f", v[j]) }
               for (j = 1; j < 3; j++) if (v[j] > v[best]) best = j;
               print best line } }' > train.csv
# 40 epochs: the stop must land mid-run even when a loaded machine delays the signal.
args=(train --device cpu --data train.csv --model 40-128-64-3 --epochs 40 --batch-size 16 --seed 3)

"$leap" "${args[@]}" --run-dir straight --save straight.safetensors > straight.log 2>&1 ||
  fail "straight run: $(cat straight.log)"

"$leap" "${args[@]}" --run-dir run --checkpoint-every 1 --save resumed.safetensors > first.log 2>&1 &
pid=$!
for _ in $(seq 1200); do [ -e run/checkpoint.safetensors ] && break; sleep 0.05; done
kill -TERM $pid
wait $pid
status=$?
[ $status -eq 143 ] || fail "status $status after SIGTERM (expected 143): $(tail -3 first.log)"
grep -q "stopped by SIGTERM after step" first.log || fail "no stop message: $(tail -3 first.log)"
grep -q -- "--resume run" first.log || fail "no resume hint: $(tail -3 first.log)"
echo "ok: $(grep 'stopped by' first.log)"

"$leap" "${args[@]}" --run-dir run --resume run --save resumed.safetensors > resumed.log 2>&1 ||
  fail "resumed run: $(cat resumed.log)"
grep -q "Resuming from" resumed.log || fail "did not resume: $(head -5 resumed.log)"
cmp straight.safetensors resumed.safetensors || fail "resumed weights differ from the straight run's"
echo "ok: stopped and resumed, the weights equal the straight run's bit for bit"

# The weights evaluate on the same CSV file.
"$leap" eval --device cpu --model 40-128-64-3 --load resumed.safetensors --data train.csv > eval.log 2>&1 ||
  fail "eval on CSV: $(cat eval.log)"
grep -q "test_accuracy" eval.log || fail "eval printed no accuracy: $(cat eval.log)"
echo "ok: $(cat eval.log)"
