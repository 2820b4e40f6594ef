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
expect_error "--schedule: warmup not in {none,step,cosine}" distill --schedule warmup
expect_error "--weight-decay: Value -1 not in range" distill --weight-decay -1
expect_error "--teacher-schedule: linear not in {none,step,cosine}" distill --teacher-schedule linear
echo "$failures failed"
[ $failures -eq 0 ]
