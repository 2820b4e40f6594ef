#!/usr/bin/env bash
# Compares the sm_90 machine code of the persistent kernel's files (cluster_mlp.cu and the
# cluster_mlp_*.cu beside it) at two revisions: builds them from each with the CMake build's
# nvcc flags (a CUDA build, Release, sm_90, LEAP_NATIVE=OFF, cluster_mlp.cu's own -Xptxas
# option), keeps the sm_90 cubins that the objects embed and compares, kernel by kernel,
# wherever it lies among those files, the bytes of its code (every instruction with
# its encoding and scheduling bits), of its attributes (.nv.info) and of its constant and
# shared memory, then ptxas's registers, stack and spills. Nothing else may differ between
# the objects: line tables move with the source, and the anonymous namespace's mangled name
# carries a hash of the file, so names are compared with that hash taken out.
# Needs nvcc and binutils' readelf and xxd, no GPU; with cuobjdump on the path, a
# difference is also shown as SASS, else as 16-byte instruction words plus the PTX diff.
#
# usage: bench/sass_compare.sh REV_BEFORE [REV_AFTER]   (REV_AFTER: the working tree)
# Prints the report; exits 0 when every kernel is identical, 1 when some differ.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n 14,15p "$0" >&2; exit 2; }
before=$1 after=${2:-}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cuobjdump=${CUOBJDUMP:-$(command -v cuobjdump || true)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The sources of a revision (or of the working tree) under $work/$2.
checkout() {
  mkdir -p "$work/$2"
  if [ -z "$1" ]; then cp -r include src "$work/$2/"
  else git archive "$1" include src | tar -x -C "$work/$2"; fi
}

# Builds the objects as CMakeLists.txt does, from cluster_mlp.cu and the other .cu files of
# the kernel beside it (cluster_mlp_*.cu), keeping the intermediate files (each sm_90 cubin
# and PTX); -Xptxas -v only reports.
build() {
  local dir=$work/$1 main sources
  main=$(cd "$dir" && find src -name cluster_mlp.cu | head -1)
  [ -n "$main" ] || { echo "no cluster_mlp.cu in $1" >&2; exit 2; }
  sources=$(cd "$dir" && ls "$(dirname "$main")"/cluster_mlp*.cu)
  mkdir -p "$dir/keep"
  for source in $sources; do
    (cd "$dir" && "$nvcc" -forward-unknown-to-host-compiler -DLEAP_CUDA_ARCHITECTURES=\"90\" -DLEAP_HAVE_CUDA=1 \
      -DLEAP_VERSION=\"0.1.0\" -Iinclude -Isrc -lineinfo -O3 -DNDEBUG \
      "--generate-code=arch=compute_90,code=[compute_90,sm_90]" -Xcompiler=-Wall,-Wextra -std=c++17 \
      -Xptxas=--suppress-async-bulk-multicast-advisory-warning -Xptxas -v -x cu -c "$source" \
      -o "keep/$(basename "$source" .cu).o" --keep --keep-dir keep) >> "$dir/ptxas.txt" 2>&1 ||
      { cat "$dir/ptxas.txt" >&2; exit 2; }
  done
  echo $sources
}

# A kernel's name with the anonymous namespace's per-file hash taken out.
plain_name() { sed -E 's/[0-9]+_GLOBAL__N__[0-9a-f]{8}_[0-9]+_[A-Za-z0-9_]+_cu_[0-9a-f]{8}/_GLOBAL__N_/g'; }

# Each kernel's sections of the cubins as files $work/$1/sections/KIND.PLAIN_NAME (of
# .nv.shared, which has no bits, its size).
extract() {
  local dir=$work/$1 cubin
  mkdir -p "$dir/sections"
  for cubin in "$dir"/keep/*.sm_90.cubin; do
    readelf -S -W "$cubin" 2>/dev/null | sed -nE 's/^ *\[ *[0-9]+\] +//p' |
      awk '$1 ~ /^\.(text|nv\.info|nv\.constant0|nv\.shared)\._Z/ {print $1, $2, $4, $5}' |
      while read -r section type offset size; do
        kind=${section%%._Z*} name=${section#"$kind".}
        plain=$(echo "$name" | plain_name)
        echo "$name" > "$dir/sections/name.$plain"
        if [ "$type" = NOBITS ]; then echo $((16#$size)) > "$dir/sections/$kind.$plain"
        else dd if="$cubin" of="$dir/sections/$kind.$plain" iflag=skip_bytes,count_bytes skip=$((16#$offset)) \
          count=$((16#$size)) status=none; fi
      done
  done
}

# ptxas's lines for a kernel: registers, barriers, stack frame, spills.
resources() {
  awk -v k="$(cat "$work/$1/sections/name.$2")" '
    /Compiling entry function/ { entry = index($0, "'\''" k "'\''") > 0; next }
    entry && /bytes stack frame/ { gsub(/^ +/, ""); frame = $0 }
    entry && /Used [0-9]+ registers/ { sub(/^ptxas info *: */, ""); print $0 "; " frame; exit }
  ' "$work/$1/ptxas.txt"
}

checkout "$before" before
checkout "$after" after
src_before=$(build before)
src_after=$(build after)
extract before
extract after

echo "sm_90 code of the persistent kernel's files, built $(date -u +%Y-%m-%d), $("$nvcc" --version | tail -1)"
echo "before: $before ($(git rev-parse --short "$before")) $src_before"
echo "after:  ${after:-the working tree}${after:+ ($(git rev-parse --short "$after"))} $src_after"
echo "cubin bytes: before $(cat "$work"/before/keep/*.sm_90.cubin | wc -c), after $(cat "$work"/after/keep/*.sm_90.cubin | wc -c)" \
  "(line tables included: they move with the source)"
status=0
for plain in $(ls "$work/before/sections" "$work/after/sections" | grep '^name\.' | sed 's/^name\.//' | sort -u); do
  echo
  echo "kernel $plain"
  for side in before after; do
    t=$work/$side/sections/.text.$plain
    if [ -f "$t" ]; then
      echo "  $side: $(($(stat -c %s "$t") / 16)) instructions ($(stat -c %s "$t") bytes); $(resources "$side" "$plain")"
    else echo "  $side: absent"; fi
  done
  same=() differ=()
  for kind in .text .nv.info .nv.constant0 .nv.shared; do
    b=$work/before/sections/$kind.$plain a=$work/after/sections/$kind.$plain
    if [ -f "$b" ] && [ -f "$a" ] && cmp -s "$b" "$a"; then same+=("$kind")
    elif [ -f "$b" ] || [ -f "$a" ]; then differ+=("$kind"); fi
  done
  if [ ${#differ[@]} = 0 ]; then
    echo "  verdict: IDENTICAL (${same[*]}: every byte)"
    continue
  fi
  status=1
  echo "  verdict: DIFFERENT in ${differ[*]}${same[*]:+ (the same: ${same[*]})}"
  b=$work/before/sections/.text.$plain a=$work/after/sections/.text.$plain
  if [ -f "$b" ] && [ -f "$a" ] && ! cmp -s "$b" "$a"; then
    xxd -p -c 16 "$b" > "$work/b.words"
    xxd -p -c 16 "$a" > "$work/a.words"
    diff "$work/b.words" "$work/a.words" > "$work/d.txt" || true
    echo "  instruction words: $(grep -c '^<' "$work/d.txt" || true) only before, $(grep -c '^>' "$work/d.txt" || true) only after" \
      "(a changed register or stall count changes a word)"
    if [ -n "$cuobjdump" ]; then
      for side in before after; do
        for cubin in "$work"/$side/keep/*.sm_90.cubin; do
          "$cuobjdump" -sass -fun "$(cat "$work/$side/sections/name.$plain")" "$cubin" 2>/dev/null
        done |
          sed -nE 's|^ *\/\*[0-9a-f]{4,}\*\/ *([^;]*;).*|\1|p' | tr -s ' ' > "$work/$side.sass"
      done
      diff "$work/before.sass" "$work/after.sass" > "$work/s.txt" || true
      echo "  SASS (without encodings): $(grep -c '^<' "$work/s.txt" || true) lines only before," \
        "$(grep -c '^>' "$work/s.txt" || true) only after; the first:"
      head -30 "$work/s.txt" | sed 's/^/    /'
    fi
  fi
done
# The PTX of both, without line directives and with the names' hash taken out: where the
# code differs, this shows how.
if [ $status = 1 ]; then
  for side in before after; do
    cat "$work"/$side/keep/*.ptx | grep -vE '^\s*\.(loc|file)\b' | plain_name > "$work/$side.ptx"
  done
  diff "$work/before.ptx" "$work/after.ptx" > "$work/p.txt" || true
  echo
  echo "PTX: $(grep -c '^<' "$work/p.txt" || true) lines only before, $(grep -c '^>' "$work/p.txt" || true) only after; the first:"
  head -40 "$work/p.txt" | sed 's/^/  /'
fi
echo
[ $status = 0 ] && echo "ALL IDENTICAL" || echo "SOME DIFFERENT"
exit $status
