#!/usr/bin/env bash
# The command line turns bad input into one clear message and a non-zero exit, never a crash.
# usage: cli_errors.sh LEAP_BINARY
set -u
leap=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect STATUS_IS_NONZERO MESSAGE_FRAGMENT -- ARGS...
expect_error() {
  local fragment=$1; shift
  local output status
  output=$("$leap" "$@" 2>&1); status=$?
  if [ $status -eq 0 ] || [ $status -ge 128 ] || ! grep -qF -- "$fragment" <<<"$output"; then
    echo "FAIL: leap $* -> status $status, output: $output"
    failures=$((failures + 1))
  else
    echo "ok: leap $* -> $(head -n1 <<<"$output")"
  fi
}

printf 'garbage' > "$tmp/bad.safetensors"
mkdir "$tmp/empty"
expect_error "model spec '784-x-10'" train --model 784-x-10 --device cpu --data "$tmp/empty"
expect_error "train-images-idx3-ubyte" train --device cpu --data "$tmp/empty"
expect_error "--epochs: Value -3 not in range 1 to" train --epochs -3
expect_error "not expected" train --no-such-flag
expect_error "bad.safetensors" eval --device cpu --load "$tmp/bad.safetensors" --data "$tmp/empty"
expect_error "--load is required" eval
expect_error "shorter than the 8-byte header length" inspect "$tmp/bad.safetensors"
expect_error "does not exist" inspect "$tmp/missing.safetensors"
expect_error "file is required" inspect
expect_error "bad.safetensors" export --load "$tmp/bad.safetensors" -o "$tmp/m.onnx"
expect_error "no \"epoch\" column" plot "$tmp/bad.safetensors" -o "$tmp/plot.html"
expect_error "--format: onnx2 not in" export --format onnx2 --load "$tmp/bad.safetensors" -o "$tmp/m.onnx"
echo "$failures failed"
[ $failures -eq 0 ]
