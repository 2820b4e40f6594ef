#!/usr/bin/env bash
# The GPU runs that the open work still needs, in one command on a machine with one GPU, after
# bench/pack_gpu_build.sh here (and, for the kernel's A/B, the base build's leap compressed to
# .carry/leap-base.xz: `xz -c build-cuda/leap > .carry/leap-base.xz` at the commit before the
# change). Each part has a time limit; logs go to $OUT/runs, packed into $OUT/gpu-runs.tgz.
# usage: bench/gpu_runs.sh [first|second|third|short]
#   first: the GPU suite, the Python module (its tests, fit against the CLI), the whole-GPU
#   kernel's barrier check, cost and phase times, leap serve on the GPU
#   second: many models at once (fit_many's and the persistent kernel's GPU tests, leap sweep,
#   against JAX and PyTorch vmap), the teacher with Dropout on the whole-GPU kernel against
#   layer by layer and leap distill's recipe start to exit, then the MLP grid (leap, JAX,
#   PyTorch) with its floors, as many entries as time allows
#   third: the grid's test accuracy over 5 seeds a side against PyTorch's CUDA graph
#   short (about 7 minutes, for a short lease): the GPU suite (the whole-GPU kernel's tests
#   among it), the cluster kernel's A/B, the Python module, then what time is left of the grid
#   at batch 64 for leap's paths and JAX at its highest precision, with the floors
set -uo pipefail
cd "$(dirname "$0")/.."
part=${1:-first}
final=${OUT:-/tmp/leap-out}
export OUT=/tmp/leap-runs
mkdir -p "$OUT" "$final"
# GPU_RUNS_SECONDS: the whole run's limit; each part gets its own limit or what is left of it.
deadline=$(( $(date +%s) + ${GPU_RUNS_SECONDS:-100000} ))
step() {  # step NAME SECONDS COMMAND...
  local name=$1 seconds=$2; shift 2
  local left=$(( deadline - $(date +%s) ))
  [ "$left" -lt "$seconds" ] && seconds=$left
  [ "$seconds" -lt 10 ] && { echo "$name: not run (no time left)"; return; }
  timeout "$seconds" "$@" > "$OUT/$name-console.txt" 2>&1
  echo "$name: exit $?"
  # Packed after every part, so that a run cut short still brings back what it measured.
  tar czf "$final/gpu-runs-$part.tgz" -C "$OUT" .
}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
if [ "$part" = first ]; then
  step tests 200 bash bench/device_run.sh tests
  step python 150 bash bench/device_run.sh python --epochs 3
  step grid-kernel 150 bash bench/device_run.sh grid-kernel
  step serve 60 bash bench/device_run.sh serve
elif [ "$part" = short ]; then
  step tests 140 bash bench/device_run.sh tests
  if [ -f .carry/leap-base.xz ]; then
    mkdir -p /tmp/leap-base && xz -dc .carry/leap-base.xz > /tmp/leap-base/leap && chmod +x /tmp/leap-base/leap
    step kernel-ab 30 bash bench/steptime_ab.sh /tmp/leap/leap /tmp/leap-base/leap .carry/fashion-mnist 3
  fi
  step python 90 bash bench/device_run.sh python --epochs 3
  step grid 70 bash bench/device_run.sh grid --epochs 2 --columns "leap fp32,leap grid,jax highest" --only \
    784-512-256-10-b64,784-256-10-b64,784-1024-1024-10-b64,784-128-128-10-b64,784-256-256-256-10-b64,784-1024-10-b64,784-128-10-b64 --part b64-short
  cp bench/results/*-mlp-grid-b64-short.* "$OUT/" 2>/dev/null && tar czf "$final/gpu-runs-$part.tgz" -C "$OUT" .
elif [ "$part" = third ]; then
  step accuracy 500 bash bench/device_run.sh accuracy --entries \
    784-128-10-b64,784-256-10-b64,784-1024-10-b64,784-512-256-10-b64,784-128-128-10-b64,784-256-256-256-10-b64,784-1024-1024-10-b64,784-128-10-b16,784-128-10-b256,784-128-10-b1024,784-512-256-10-b16,784-512-256-10-b256,784-512-256-10-b1024
else
  step sweep 170 bash bench/device_run.sh sweep
  step dropout-path 60 bash bench/device_run.sh dropout-path
  step grid 380 bash bench/device_run.sh grid --epochs 2
  cp bench/results/*-mlp-grid.* "$OUT/" 2>/dev/null && tar czf "$final/gpu-runs-$part.tgz" -C "$OUT" .
fi
[ -f "$OUT/grid-kernel-console.txt" ] && grep -hE '^\[  (PASSED|FAILED|SKIPPED) |Failure|Expected|Which is|us a step|layer [0-9]:|a step:|blocks|TB/s|^ +[0-9]+ \|' "$OUT/grid-kernel-console.txt" | head -n 80
grep -hE '^\[  (PASSED|FAILED) |PASS|FAIL' "$OUT"/*-console.txt | tail -n 30
