#!/usr/bin/env bash
# One call on a GPU machine (the workplace's device tool): unpacks a build made elsewhere
# (bench/pack_gpu_build.sh), runs the whole test suite on the GPU, PyTorch parity, batch-1
# latency and the side-by-side seed benchmark. Logs and JSON go to $OUT.
# multigpu (two GPUs): data-parallel parity and leap against PyTorch DDP (bench/multi_gpu.py).
# usage: bench/device_run.sh [tests|bench|all|profile|latency|distill|fused|onnx|multigpu] [script options...]
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
# NVLink multicast stays off in NCCL, PyTorch and NVSHMEM.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
# The packed Open MPI (bench/pack_mpi_runtime.sh), relocated; commands run as root there.
export OPAL_PREFIX=/tmp/leap/mpi/usr PMIX_PREFIX=/tmp/leap/mpi/usr/lib/x86_64-linux-gnu/pmix2
export PATH=/tmp/leap/mpi/usr/bin:$PATH OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/device.txt"
date -u +%Y-%m-%dT%H:%M:%SZ | tee -a "$OUT/device.txt"

if [ "$what" = multigpu ]; then
  echo "== data parallel on the GPUs of this machine: tests, then parity and speed against DDP"
  /tmp/leap/leap_tests --gtest_filter='Shard*:InProcess*:DataParallel*' 2>&1 | tee "$OUT/multi-gpu-tests.txt" | grep -vE '^\[ RUN|^\[       OK'
  python3 bench/multi_gpu.py --leap /tmp/leap/leap --weights-diff /tmp/leap/weights_diff \
    --data-dir "$LEAP_DATA_DIR" --out "$OUT" "$@" 2>&1 | tee "$OUT/multi-gpu-console.txt"
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
if [ "$what" = fused ]; then
  echo "== cluster barrier cost"
  /tmp/leap/bench_cluster_barrier 2>&1 | tee "$OUT/cluster-barrier.txt"
  echo "== the persistent kernel against the CPU and the general GPU path"
  /tmp/leap/leap_tests --gtest_filter='ClusterMlp.*:CudaTraining.*' 2>&1 | tee "$OUT/fused-tests.txt" | grep -vE '^\[ RUN|^\[       OK'
  for path in cluster fused; do
    echo "== leap train, 10 epochs, LEAP_TRAINING_PATH=$path"
    LEAP_TRAINING_PATH=$path /tmp/leap/leap train --no-run-dir --epochs 10 --device cuda --data "$LEAP_DATA_DIR" 2>&1 | tee "$OUT/train-$path.txt" | grep -vE '^ *[0-9]+/[0-9]+ \['
  done
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
fi
if [ "$what" = all ] || [ "$what" = bench ]; then
  echo "== seed workload side by side"
  python3 bench/gpu_seed.py --leap /tmp/leap/leap --data "$LEAP_DATA_DIR" "$@" 2>&1 | tee "$OUT/gpu-seed.txt" | grep -vE '^  (pytorch|seed|eager|graph|jax) epoch'
fi
