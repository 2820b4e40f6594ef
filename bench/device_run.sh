#!/usr/bin/env bash
# One command on a machine with one GPU: unpacks the packed build made elsewhere
# (bench/pack_gpu_build.sh), runs the whole test suite on the GPU, PyTorch parity, batch-1
# latency and the side-by-side seed benchmark. Logs and JSON go to $OUT.
# multigpu (two GPUs): data-parallel parity and leap against PyTorch DDP (bench/multi_gpu.py).
# usage: bench/device_run.sh [tests|bench|all|profile|latency|distill|dropout-path|fused|steptime|cluster-profile|onnx|multigpu|precision|wide-profile|serve|sweep|python|grid|grid-kernel|accuracy] [script options...]
# serve: leap serve against its HTTP floor at 1 and 64 clients, and --max-batch 1024 on the GPU
# under 64 clients sending 256 rows a request (bench/serve_bench.py --device cuda; options passed on).
# sweep: fit_many's GPU tests, a leap sweep of 2 x 20 seeds (its table and run directory), and
# bench/sweep_bench.py (1-32 models against JAX and PyTorch vmap; options passed on).
# dropout-path: the teacher with Dropout, the whole-GPU kernel against layer by layer; leap distill, timed.
# python: the Python module built there (bench/build_python_gpu.sh), its tests, and
# bench/python_seed.py on the GPU and the CPU (fit against the CLI; PyTorch and JAX scripts).
# grid: the MLP grid of issue 19 (bench/mlp_grid.py --device cuda; options passed on).
# grid-kernel: the whole-GPU kernel's tests, the grid barrier's cost, where its steps' time goes.
# accuracy: the grid's test accuracy over 5 seeds a side, leap against PyTorch's CUDA graph
# (bench/accuracy_seeds.py --device cuda; options passed on).
# fused: the persistent kernel's tests, 10 epochs through it and through the fused graph, its
# phase timing (LEAP_BARRIER_BENCH=1 adds the cluster barrier's cost); cluster-profile: Nsight
# Compute on one launch of it, with its SASS and per-instruction counts as CSV; steptime: the
# plain kernel's us a step (leap's path, median epoch of 20, three runs).
# precision: leap info, the precision tests, the wide bf16 benchmark (bench/wide_mlp.py, options
# passed on) and the seed workload's accuracy in fp32, tf32 and bf16 (bench/precision_accuracy.py).
# wide-profile: the wide bf16 step with the ReLU gradient in each place (LEAP_BF16_RELU) and with
# cuBLASLt's first choices (LEAP_GEMM_AUTOTUNE=0), and its kernels' times under ncu, both sizes.
set -uo pipefail
what=${1:-all}
shift || true
OUT=${OUT:-/tmp/leap-out}
mkdir -p "$OUT" /tmp/leap
tar -xJf .carry/gpu-build.tar.xz -C /tmp/leap
cublas_dir=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -n1)")
nccl_dir=$(dirname "$(find / -name 'libnccl.so.2*' -not -path '/proc/*' 2>/dev/null | head -n1)")
export LD_LIBRARY_PATH=/tmp/leap/lib:$cublas_dir:$nccl_dir:${LD_LIBRARY_PATH:-}
export LEAP_DATA_DIR=$PWD/.carry/fashion-mnist
# wrk (the serve benchmark's load generator) needs OpenSSL 3: the packed one only where the machine has none.
ldconfig -p | grep -q 'libssl\.so\.3 ' || export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/tmp/leap/ssl-lib
# NVLink multicast stays off in NCCL, PyTorch and NVSHMEM.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
# The packed Open MPI (bench/pack_mpi_runtime.sh), relocated; commands run as root there.
export OPAL_PREFIX=/tmp/leap/mpi/usr PMIX_PREFIX=/tmp/leap/mpi/usr/lib/x86_64-linux-gnu/pmix2
export PATH=/tmp/leap/mpi/usr/bin:$PATH OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/device.txt"
date -u +%Y-%m-%dT%H:%M:%SZ | tee -a "$OUT/device.txt"

if [ "$what" = serve ]; then
  echo "== leap serve on the GPU: batch 1 beside the HTTP floor, then --max-batch 1024 under 64 clients (bench/serve_bench.py)"
  python3 bench/serve_bench.py --leap /tmp/leap/leap --floor /tmp/leap/bench_serve_floor --wrk /tmp/leap/wrk \
    --device cuda --out "$OUT" "$@" 2>&1 | tee "$OUT/serve-bench-console.txt"
  exit 0
fi
if [ "$what" = multigpu ]; then
  echo "== data parallel on the GPUs of this machine: tests, then parity and speed against DDP"
  /tmp/leap/leap_tests --gtest_filter='Shard*:InProcess*:DataParallel*' 2>&1 | tee "$OUT/multi-gpu-tests.txt" | grep -vE '^\[ RUN|^\[       OK'
  python3 bench/multi_gpu.py --leap /tmp/leap/leap --weights-diff /tmp/leap/weights_diff \
    --data-dir "$LEAP_DATA_DIR" --out "$OUT" "$@" 2>&1 | tee "$OUT/multi-gpu-console.txt"
  exit 0
fi
if [ "$what" = python ]; then
  echo "== the Python module, built here for this python3 (bench/build_python_gpu.sh)"
  bash bench/build_python_gpu.sh /tmp/leap 2>&1 | tee "$OUT/python-build.txt" ||
    { echo "the Python module did not build: nothing to test"; exit 1; }
  echo "== its tests (pytest, when this python3 has it)"
  if python3 -m pytest --version >/dev/null 2>&1; then
    PYTHONPATH=/tmp/leap/python LEAP_CLI=/tmp/leap/leap python3 -m pytest -q -p no:cacheprovider \
      tests/python/test_leap_python.py 2>&1 | tee "$OUT/python-tests.txt" | tail -n 15
  else
    echo "pytest is not installed here: tests skipped" | tee "$OUT/python-tests.txt"
  fi
  for device in cuda cpu; do
    echo "== the seed workload from Python against the CLI and its peers, $device"
    python3 bench/python_seed.py --leap /tmp/leap/leap --python-path /tmp/leap/python --device $device \
      --out-dir "$OUT" "$@" 2>&1 | tee "$OUT/python-seed-$device.txt"
  done
  exit 0
fi
if [ "$what" = precision ]; then
  echo "== leap info"
  /tmp/leap/leap info 2>&1 | tee "$OUT/info.txt"
  echo "== the precision tests on the GPU (the whole suite is the tests mode)"
  /tmp/leap/leap_tests --gtest_filter='Bf16Kernels.*:MixedPrecisionOps.*:BackendOps.*:CudaTraining.*:ClusterMlp.*:Precision.*:ComputeReport.*' 2>&1 |
    tee "$OUT/precision-tests.txt" | grep -E '^\[  (PASSED|FAILED|SKIPPED) |tests ran|Failure|Expected|Which is|against fp32|against the CPU|off by'
  echo "== wide MLPs in bf16: leap, PyTorch, the bf16 GEMM ceiling"
  python3 bench/wide_mlp.py --bench /tmp/leap/bench_wide_mlp --json "$OUT/wide-mlp.json" "$@" 2>&1 | tee "$OUT/wide-mlp.txt"
  echo "== the seed workload in fp32, tf32 and bf16"
  python3 bench/precision_accuracy.py --leap /tmp/leap/leap --data "$LEAP_DATA_DIR" \
    --json "$OUT/precision-accuracy.json" 2>&1 | tee "$OUT/precision-accuracy.txt" | grep -vE '^seed '
  exit 0
fi
if [ "$what" = wide-profile ]; then
  {
    for size in "784-4096-4096-4096-10 8192 60" "784-8192-8192-8192-10 16384 12"; do
      set -- $size
      for relu in kernel drelu_bgrad; do
        echo "== $1 at batch $2, LEAP_BF16_RELU=$relu"
        LEAP_BF16_RELU=$relu /tmp/leap/bench_wide_mlp --model "$1" --batch "$2" --steps 16 --epochs "$3" | tail -n 1
      done
      echo "== $1 at batch $2, cuBLASLt's first choices (LEAP_GEMM_AUTOTUNE=0)"
      LEAP_GEMM_AUTOTUNE=0 /tmp/leap/bench_wide_mlp --model "$1" --batch "$2" --steps 16 --epochs "$3" | tail -n 1
      # The second step's kernels (cuBLASLt's first choices, so that no timing runs come first).
      echo "== kernels of the $1 step at batch $2 (ncu, clocks as found, LEAP_GEMM_AUTOTUNE=0)"
      LEAP_GEMM_AUTOTUNE=0 ncu --clock-control none --metrics gpu__time_duration.sum --launch-count 100 \
        /tmp/leap/bench_wide_mlp --model "$1" --batch "$2" --steps 2 --epochs 1 2>&1 |
        grep -E '^  [a-zA-Z_].*\(|gpu__time_duration' | sed -E 's/\(([0-9]+, ){2}[0-9]+\)x.*//' | tail -n 52
    done
  } 2>&1 | tee "$OUT/wide-profile.txt"
  exit 0
fi
if [ "$what" = sweep ]; then
  echo "== many models at once: fit_many against runs alone on the GPU, then leap sweep against JAX and PyTorch vmap"
  # The persistent kernel's own tests with them: its body is shared with the models' kernel.
  /tmp/leap/leap_tests --gtest_filter='Sweep.*:ModelGroup.*:ClusterMlp*' 2>&1 | tee "$OUT/sweep-tests.txt" | grep -vE '^\[ RUN|^\[       OK'
  /tmp/leap/leap sweep --device cuda --data "$LEAP_DATA_DIR" --model 784-128-10 --seeds 0-19 --lr 1e-3,3e-4 \
    --epochs 10 --workers 40 --run-dir "$OUT/sweep-run" 2>&1 | tee "$OUT/sweep-table.txt" | grep -vE '^\[[0-9]+/'
  # Models the persistent kernel does not take (the teacher: its graph): 8 seeds side by side
  # (graphs on side streams) against one after another, start to exit.
  for workers in 1 8; do
    TIMEFORMAT="8 teachers, --workers $workers: %R s start to exit"
    time /tmp/leap/leap sweep --no-run-dir --device cuda --data "$LEAP_DATA_DIR" --model 784-512-256-10 \
      --seeds 0-7 --epochs 2 --workers "$workers" 2>&1 | grep -vE '^\[[0-9]+/' | tail -n 8
  done 2>&1 | tee "$OUT/sweep-teachers.txt"
  python3 bench/sweep_bench.py --leap /tmp/leap/leap --device cuda "$@" 2>&1 | tee "$OUT/sweep-bench.txt"
  exit 0
fi
if [ "$what" = grid-kernel ]; then
  echo "== the whole-GPU kernel's tests (a hang ends at 150 s)"
  timeout 150 /tmp/leap/leap_tests --gtest_filter='GridMlp.*:CudaTraining.WholeGpu*' 2>&1 |
    tee "$OUT/grid-kernel-tests.txt" | grep -vE '^\[ RUN|^\[       OK'
  echo "== the grid-wide barrier's cost"
  timeout 60 /tmp/leap/bench_grid_barrier 2>&1 | tee "$OUT/grid-barrier.txt"
  echo "== where a step's time goes (LEAP_PHASE_TIMING), one epoch each"
  for model in 784-512-256-10:64 784-1024-1024-10:64 784-256-10:64 784-512-256-10:1024; do
    LEAP_PHASE_TIMING=1 timeout 60 /tmp/leap/leap train --no-run-dir --model "${model%:*}" --batch-size "${model#*:}" \
      --epochs 1 --device cuda --data "$LEAP_DATA_DIR" 2>&1 | grep -vE '^ *[0-9]+/[0-9]+ \[' | tee -a "$OUT/grid-kernel-phases.txt"
  done
  for variant in LEAP_GRID_BLOCKS_PER_SM=2 LEAP_GRID_COPIES=async; do
    for model in 784-512-256-10 784-1024-1024-10; do
      echo "== $model with $variant" | tee -a "$OUT/grid-kernel-phases.txt"
      env "$variant" LEAP_PHASE_TIMING=1 timeout 60 /tmp/leap/leap train --no-run-dir --model $model --epochs 1 \
        --device cuda --data "$LEAP_DATA_DIR" 2>&1 | grep -vE '^ *[0-9]+/[0-9]+ \[' | tee -a "$OUT/grid-kernel-phases.txt"
    done
  done
  echo "== the tests again with the asynchronous copies"
  LEAP_GRID_COPIES=async timeout 100 /tmp/leap/leap_tests --gtest_filter='GridMlp.OneStep*:GridMlp.OtherShapes*' 2>&1 |
    tee "$OUT/grid-kernel-tests-async.txt" | grep -vE '^\[ RUN|^\[       OK'
  exit 0
fi
if [ "$what" = accuracy ]; then
  echo "== the grid's test accuracy over seeds: leap against PyTorch's CUDA graph"
  python3 bench/accuracy_seeds.py --leap /tmp/leap/leap --device cuda --data "$LEAP_DATA_DIR" --seeds 5 --epochs 3 \
    --json "$OUT/accuracy-seeds.json" "$@" 2>&1 | tee "$OUT/accuracy-seeds-console.txt"
fi

if [ "$what" = grid ]; then
  echo "== the MLP grid: leap against JAX (jit + lax.scan) and PyTorch's CUDA graph"
  python3 bench/mlp_grid.py --leap /tmp/leap/leap --device cuda --data "$LEAP_DATA_DIR" --barrier-bench /tmp/leap/bench_grid_barrier "$@" 2>&1 | tee "$OUT/mlp-grid-console.txt"
  exit 0
fi
if [ "$what" = dropout-path ]; then
  echo "== the teacher with Dropout: the whole-GPU kernel against layer by layer (leap's choice today); then leap distill's recipe, start to exit"
  for path in grid layers; do
    echo "-- LEAP_TRAINING_PATH=$path"
    LEAP_TRAINING_PATH=$path /tmp/leap/leap train --no-run-dir --model 784-512-256-10 --dropout 0.5 --epochs 3 \
      --device cuda --data "$LEAP_DATA_DIR" 2>&1 | grep -vE '^ *[0-9]+/[0-9]+ \['
  done
  TIMEFORMAT='leap distill (default recipe): %R s start to exit'
  time /tmp/leap/leap distill --no-run-dir --device cuda --data "$LEAP_DATA_DIR" > "$OUT/distill-console.txt" 2>&1
  grep -vE '^ *[0-9]+/[0-9]+ \[' "$OUT/distill-console.txt" | tail -n 30
  exit 0
fi
if [ "$what" = distill ]; then
  echo "== distillation recipes"
  python3 bench/distill_sweep.py --leap /tmp/leap/leap --data "$LEAP_DATA_DIR" --device cuda \
    --json "$OUT/distill-sweep.json" "$@" 2>&1 | tee "$OUT/distill-sweep.txt"
  exit 0
fi
if [ "$what" = onnx ]; then
  echo "== ONNX export under onnxruntime"
  python3 bench/onnx_check.py --leap /tmp/leap/leap --data "$LEAP_DATA_DIR" --json "$OUT/onnx-check.json" "$@" 2>&1 | tee "$OUT/onnx-check.txt"
  exit 0
fi
if [ "$what" = cluster-profile ]; then
  echo "== Nsight Compute on one launch of the persistent kernel"
  LEAP_TRAINING_PATH=cluster ncu --kernel-name regex:cluster_mlp_kernel --launch-skip 0 --launch-count 1 --set full \
    --import-source yes -o "$OUT/cluster" /tmp/leap/leap train --no-run-dir --epochs 1 --device cuda --data "$LEAP_DATA_DIR" > "$OUT/ncu-log.txt" 2>&1
  tail -n 5 "$OUT/ncu-log.txt"
  ncu -i "$OUT/cluster.ncu-rep" --page details > "$OUT/cluster-details.txt" 2>&1
  ncu -i "$OUT/cluster.ncu-rep" --page source --csv --print-source sass > "$OUT/cluster-sass.csv" 2>&1 ||
    ncu -i "$OUT/cluster.ncu-rep" --page source --csv > "$OUT/cluster-sass.csv" 2>&1
  wc -l "$OUT"/cluster-*
  exit 0
fi
if [ "$what" = steptime ]; then
  for run in 1 2 3; do
    /tmp/leap/leap train --no-run-dir --epochs 20 --device cuda --data "$LEAP_DATA_DIR" --metrics "$OUT/steptime-$run.jsonl" > /dev/null 2>&1
    python3 -c 'import json, statistics, sys
rows = [r for r in map(json.loads, open(sys.argv[2])) if "epoch" in r]
us = statistics.median(r["seconds"] for r in rows) / rows[-1]["steps"] * 1e6
accuracy = rows[-1]["val_accuracy"]
print(f"run {sys.argv[1]}: {us:.3f} us a step (median of {len(rows)} epochs), test accuracy {accuracy:.4f}")' \
      "$run" "$OUT/steptime-$run.jsonl"
  done 2>&1 | tee "$OUT/steptime.txt"
  exit 0
fi
if [ "$what" = fused ]; then
  [ -n "${LEAP_BARRIER_BENCH:-}" ] && { echo "== cluster barrier cost"; /tmp/leap/bench_cluster_barrier 2>&1 | tee "$OUT/cluster-barrier.txt"; }
  echo "== the persistent kernel against the CPU and the general GPU path"
  /tmp/leap/leap_tests --gtest_filter='ClusterMlp.*:CudaTraining.*' 2>&1 | tee "$OUT/fused-tests.txt" | grep -vE '^\[ RUN|^\[       OK'
  for path in cluster fused; do
    echo "== leap train, 10 epochs, LEAP_TRAINING_PATH=$path"
    LEAP_TRAINING_PATH=$path /tmp/leap/leap train --no-run-dir --epochs 10 --device cuda --data "$LEAP_DATA_DIR" 2>&1 | tee "$OUT/train-$path.txt" | grep -vE '^ *[0-9]+/[0-9]+ \['
  done
  echo "== where the persistent kernel's step goes (LEAP_PHASE_TIMING=1, 2 epochs)"
  LEAP_PHASE_TIMING=1 LEAP_TRAINING_PATH=cluster /tmp/leap/leap train --no-run-dir --epochs 2 --device cuda --data "$LEAP_DATA_DIR" 2>&1 | tee "$OUT/phases.txt" | grep -vE '^ *[0-9]+/[0-9]+ \['
  exit 0
fi
if [ "$what" != bench ] && [ "$what" != latency ]; then
  echo "== test suite on the GPU"
  /tmp/leap/leap_tests 2>&1 | tee "$OUT/gpu-tests.txt" | grep -E '^\[  (PASSED|FAILED|SKIPPED) |tests ran|max \|gpu - cpu\||through:|Failure|Expected|Which is'
  echo "== PyTorch parity (CPU engine, torch on this machine)"
  python3 tests/python/torch_parity.py --tool /tmp/leap/parity_tool 2>&1 | tee "$OUT/parity.txt"
  python3 tests/python/kd_parity.py --tool /tmp/leap/kd_tool 2>&1 | tee -a "$OUT/parity.txt"
fi
if [ "$what" = profile ]; then
  echo "== kernel times of the training step (ncu, clocks as found)"
  ncu --clock-control none --metrics gpu__time_duration.sum --launch-skip 600 --launch-count 12 \
    /tmp/leap/leap train --no-run-dir --epochs 1 --device cuda 2>&1 | grep -E '^  [a-zA-Z_].*\(|gpu__time_duration' | tee "$OUT/profile.txt"
fi
if [ "$what" = all ] || [ "$what" = bench ] || [ "$what" = latency ]; then
  echo "== batch-1 latency"
  /tmp/leap/bench_latency --json "$OUT/latency.json" 2>&1 | tee "$OUT/latency.txt"
  echo "== batch-1 latency through the CUDA graph path (LEAP_INFERENCE_PATH=graph)"
  LEAP_INFERENCE_PATH=graph /tmp/leap/bench_latency --json "$OUT/latency-graph.json" 2>&1 | tee -a "$OUT/latency.txt"
  python3 bench/latency_peers.py --json "$OUT/latency-peers.json" 2>&1 | tee -a "$OUT/latency.txt"
  echo "== the floor of one launch a call on this host"
  /tmp/leap/bench_launch_floor 2>&1 | tee -a "$OUT/latency.txt"
fi
if [ "$what" = all ] || [ "$what" = bench ]; then
  echo "== seed workload side by side"
  python3 bench/gpu_seed.py --leap /tmp/leap/leap --data "$LEAP_DATA_DIR" "$@" 2>&1 | tee "$OUT/gpu-seed.txt" | grep -vE '^  (pytorch|seed|eager|graph|jax) epoch'
fi
