#!/usr/bin/env bash
# Builds the Python module on a machine without Debian's packages (the GPU machine: its own
# python3, pip's pybind11, no CMake needed) from the libleap.a that bench/pack_gpu_build.sh
# packed: PREFIX/python/leap/ then holds the extension beside the pure-Python package, so that
# PYTHONPATH=PREFIX/python python3 -c 'import leap' works.
# The shared libraries libleap.a needs are looked for in PREFIX/lib (packed), then anywhere
# (CUDA's from pip's nvidia packages); each found one's directory goes on the rpath.
# usage: bench/build_python_gpu.sh [PREFIX=/tmp/leap]   (PYTHON, CXX choose the tools, JOBS the
# compilers at a time)
set -euo pipefail
trap 'echo "build_python_gpu: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
prefix=${1:-/tmp/leap}
python=${PYTHON:-python3}
out=$prefix/python/leap
mkdir -p "$out"
cp python/leap/*.py python/leap/*.pyi python/leap/py.typed "$out/"
suffix=$("$python" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")

find_lib() {
  if [ -e "$prefix/lib/$1" ]; then echo "$prefix/lib/$1"; return; fi
  # -quit, not `| head -n1`: find killed by the closed pipe would fail the script under pipefail.
  find / -name "$1" -not -path '/proc/*' -not -path '/sys/*' -print -quit 2>/dev/null || true
}
# What libleap.a calls decides what it needs (a CPU-only build needs no CUDA).
undefined=$(nm "$prefix/libleap.a" 2>/dev/null | awk '$1 == "U" {print $2}' | sort -u)
uses() { grep -qx "$1" <<<"$undefined"; }
needed=(libopenblas.so.0)
uses MPI_Init_thread && needed+=(libmpi.so.40)
uses cublasLtCreate && needed+=(libcudart.so.13 libcublas.so.13 libcublasLt.so.13)
uses ncclGetUniqueId && needed+=(libnccl.so.2)
libs=() rpath=()
for lib in "${needed[@]}"; do
  path=$(find_lib "$lib")
  [ -n "$path" ] || { echo "build_python_gpu: $lib not found"; exit 1; }
  libs+=("$path")
  rpath+=("-Wl,-rpath,$(dirname "$path")")
done
echo "Python module for $("$python" --version) against ${libs[*]}"
# JOBS compilers at a time (every core by default), then one link.
# pip's pybind11 names its headers; Debian's (pybind11-dev) are in /usr/include already.
includes=$("$python" -m pybind11 --includes 2>/dev/null) ||
  includes=-I$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
flags=(-O2 -std=c++20 -fPIC -fvisibility=hidden -fopenmp $includes -Iinclude -Icli -Ipython/bindings)
objects=$(mktemp -d)
jobs=${JOBS:-$(nproc)} batch=()
for source in python/bindings/*.cpp cli/progress.cpp; do
  "${CXX:-c++}" "${flags[@]}" -c "$source" -o "$objects/$(basename "$source" .cpp).o" & batch+=($!)
  if [ ${#batch[@]} -ge "$jobs" ]; then
    for pid in "${batch[@]}"; do wait "$pid"; done
    batch=()
  fi
done
for pid in "${batch[@]}"; do wait "$pid"; done
"${CXX:-c++}" -shared -fopenmp "$objects"/*.o -o "$out/_core$suffix" \
  "$prefix/libleap.a" "${libs[@]}" "${rpath[@]}" -l:libz.so.1 -ldl -lpthread -lrt
rm -rf "$objects"
PYTHONPATH=$prefix/python "$python" -c 'import leap; print("import leap:", leap.build_info())'
