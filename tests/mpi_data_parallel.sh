#!/usr/bin/env bash
# Data-parallel training under mpirun, on the CPU: N processes from the same seed train to
# the weights of one process with the same global batch (1e-5 relative after 50 steps),
# with shares that differ when the ranks do not divide a batch; --batch-per-rank; rank 0
# alone writes; a stalled rank stops the job with a message instead of a hang.
# usage: mpi_data_parallel.sh LEAP_BINARY WEIGHTS_DIFF_BINARY LEAP_HAVE_MPI
set -u
leap=$1 diff=$2 have_mpi=$3
if [ "$have_mpi" != ON ]; then
  echo "skipped: leap was built without MPI (install libopenmpi-dev and openmpi-bin, reconfigure)"
  exit 77
fi
command -v mpirun >/dev/null || { echo "skipped: no mpirun on PATH (install openmpi-bin)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

# CI runs as root, in containers: allow both, copy through shared memory without ptrace,
# ranks on whatever cores there are. NVLink multicast stays off everywhere.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export NCCL_NVLS_ENABLE=0 OMP_NUM_THREADS=1
mpi() { mpirun -np "$1" --bind-to none "${@:2}"; }
# The leap processes mpirun started (from /proc: CI images may lack procps).
ranks_of() { awk -v parent="$1" '$2 == "(leap)" && $4 == parent { print $1 }' /proc/[0-9]*/stat 2>/dev/null; }

# Samples of 64 features; the label is the arg-max of the first ten.
samples() {
  awk -v rows="$1" -v seed="$2" 'BEGIN { srand(seed); printf "label";
    for (j = 0; j < 64; j++) printf ",f%d", j; print "";
    for (i = 0; i < rows; i++) { best = 0; line = "";
      for (j = 0; j < 64; j++) { v[j] = rand(); line = line sprintf(",%.6f", v[j]) }
      for (j = 1; j < 10; j++) if (v[j] > v[best]) best = j;
      print best line } }'
}
samples 3200 1 > steps50.csv   # 50 batches of 64
samples 3210 2 > steps51.csv   # 51, the last of 10 samples
samples 101 3 > validation.csv
args=(train --device cpu --model 64-48-32-10 --epochs 1 --seed 5 --validation-data validation.csv)

same() {  # same WHAT A B: weights within 1e-5 relative
  "$diff" "$2" "$3" 1e-5 > diff.log 2>&1 || fail "$1: $(cat diff.log)"
  echo "ok: $1 ($(tail -1 diff.log))"
}

"$leap" "${args[@]}" --data steps50.csv --batch-size 64 --save one.safetensors > one.log 2>&1 ||
  fail "one process: $(cat one.log)"
mpi 2 "$leap" "${args[@]}" --data steps50.csv --batch-size 64 --save two.safetensors \
  --metrics two.jsonl > two.log 2>&1 || fail "mpirun -np 2: $(cat two.log)"
grep -q "Data parallel: 2 ranks" two.log || fail "mpirun -np 2 did not train in parallel: $(head -20 two.log)"
same "mpirun -np 2, 50 steps of 64" one.safetensors two.safetensors
[ "$(grep -c 'Epoch 1/1' two.log)" -eq 1 ] || fail "more than rank 0 printed the epoch: $(cat two.log)"
[ "$(grep -c "\"epoch\"" two.jsonl)" -eq 1 ] || fail "epoch metrics written $(grep -c "\"epoch\"" two.jsonl) times"
val_one=$(grep -o 'val_loss: [0-9.]*' one.log) val_two=$(grep -o 'val_loss: [0-9.]*' two.log)
[ "$val_one" = "$val_two" ] || fail "validation differs: one process $val_one, two ranks $val_two"
echo "ok: rank 0 alone logs; the sharded validation gives one process's $val_one"

mpi 2 "$leap" "${args[@]}" --data steps50.csv --batch-size 32 --batch-per-rank \
  --save per_rank.safetensors > per_rank.log 2>&1 || fail "--batch-per-rank: $(cat per_rank.log)"
same "mpirun -np 2 --batch-size 32 --batch-per-rank" one.safetensors per_rank.safetensors

"$leap" "${args[@]}" --data steps51.csv --batch-size 64 --save one51.safetensors > one51.log 2>&1 ||
  fail "one process, 51 steps: $(cat one51.log)"
mpi 3 "$leap" "${args[@]}" --data steps51.csv --batch-size 64 --save three51.safetensors \
  > three51.log 2>&1 || fail "mpirun -np 3: $(cat three51.log)"
same "mpirun -np 3, shares of 22/21/21 and a last batch of 4/3/3" one51.safetensors three51.safetensors

# A stalled rank: the others give up after --collective-timeout and the job ends.
mpirun -np 2 --bind-to none "$leap" train --device cpu --model 64-48-32-10 --epochs 100000 \
  --data steps50.csv --collective-timeout 3 > stalled.log 2>&1 &
launcher=$!
for _ in $(seq 200); do grep -q "Training path" stalled.log && break; sleep 0.05; done
ranks=$(ranks_of $launcher)
[ -n "$ranks" ] || fail "no rank processes under mpirun: $(cat stalled.log)"
victim=$(echo "$ranks" | tail -1)
kill -STOP "$victim"
for _ in $(seq 600); do kill -0 $launcher 2>/dev/null || break; sleep 0.05; done
if kill -0 $launcher 2>/dev/null; then
  kill -CONT "$victim"; kill -KILL $launcher $ranks 2>/dev/null
  fail "the job still runs 30 s after a rank stalled: $(tail -5 stalled.log)"
fi
wait $launcher && fail "the job of a stalled rank exited with status 0"
grep -q "failed or stalled" stalled.log || fail "no message about the stalled rank: $(tail -8 stalled.log)"
kill -KILL $ranks 2>/dev/null
echo "ok: a stalled rank ended the job: $(grep -m1 'failed or stalled' stalled.log)"
