#!/usr/bin/env bash
# Builds leap for Hopper (sm_90, portable x86-64 host code) and packs the programs with the
# shared libraries a bare GPU machine lacks (Open MPI's runtime and mpirun among them; NCCL
# and cuBLAS are found there, beside PyTorch), plus the Fashion-MNIST files, into .carry/
# (ignored by git) for bench/device_run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-cuda -DLEAP_NATIVE=OFF -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build build-cuda -j2
stage=$(mktemp -d)
mkdir -p "$stage/lib" .carry/fashion-mnist
cp build-cuda/leap build-cuda/tests/leap_tests build-cuda/tests/parity_tool build-cuda/tests/kd_tool build-cuda/tests/weights_diff build-cuda/bench/bench_latency build-cuda/bench/bench_cluster_barrier build-cuda/bench/bench_grid_barrier build-cuda/bench/bench_launch_floor build-cuda/bench/bench_wide_mlp "$stage/"
for lib in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libgomp.so.1; do
  cp -L "$(ldd build-cuda/leap | awk -v l="$lib" '$1 == l {print $3}')" "$stage/lib/"
done
# leap links NCCL and MPI: NCCL is there, MPI is not.
# (ldd's list read whole first: grep -q stopping early would fail the pipe under pipefail.)
linked=$(ldd build-cuda/leap)
grep -q libnccl <<< "$linked" || { echo "build-cuda/leap lacks NCCL: is nccl.h in the CUDA toolkit?"; exit 1; }
grep -q libmpi <<< "$linked" || { echo "build-cuda/leap lacks MPI: install libopenmpi-dev"; exit 1; }
bash bench/pack_mpi_runtime.sh "$stage"
# leap serve's simdjson, and its benchmark's load generator (wrk) with LuaJIT; wrk's OpenSSL apart
# in ssl-lib/, which bench/device_run.sh uses only where the machine has no libssl.so.3.
cp build-cuda/bench/bench_serve_floor /usr/bin/wrk "$stage/"
mkdir -p "$stage/ssl-lib"
for program in build-cuda/leap /usr/bin/wrk; do
  ldd "$program" | awk '$1 ~ /^lib(simdjson|luajit)/ {print $3}' | xargs -r cp -L -t "$stage/lib/"
  ldd "$program" | awk '$1 ~ /^lib(ssl|crypto)\.so/ {print $3}' | xargs -r cp -L -t "$stage/ssl-lib/"
done
# The library itself, for the Python module that bench/build_python_gpu.sh builds there.
cp build-cuda/libleap.a "$stage/"
tar -cJf .carry/gpu-build.tar.xz -C "$stage" .
rm -rf "$stage"
cp -u /usr/share/datasets/fashion-mnist/*.gz .carry/fashion-mnist/
du -sh .carry/*
