#!/usr/bin/env bash
# The command line turns bad input into one clear message and a non-zero exit, never a crash.
# usage: cli_errors.sh LEAP_BINARY
source "$(dirname "$0")/cli_lib.sh"

printf 'garbage' > "$tmp/bad.safetensors"
mkdir "$tmp/empty"
expect_error "model spec '784-x-10'" train --model 784-x-10 --device cpu --data "$tmp/empty"
expect_error "train-images-idx3-ubyte" train --device cpu --data "$tmp/empty"
expect_error "--epochs: Value -3 not in range 1 to" train --epochs -3
expect_error "not expected" train --no-such-flag
expect_error "bad.safetensors" eval --device cpu --load "$tmp/bad.safetensors" --data "$tmp/empty"
expect_error "--load is required" eval

# Data files: each malformed input gets one message naming the file and the problem.
printf 'a,b,label\n1,2,0\n3,4,1\n' > "$tmp/ok.csv"
printf 'a,b,label\n1,2,0\n3,nan,1\n' > "$tmp/nan.csv"
printf 'a,b,label\n1,2,0\n3,4\n' > "$tmp/short.csv"
printf 'a,b,label\n1,2,0\n3,4,7\n' > "$tmp/label7.csv"
dict="{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
printf "\x93NUMPY\x01\x00\x$(printf %02x $((${#dict} + 1)))\x00%s\n" "$dict" > "$tmp/objects.npy"
expect_error "nan.csv: line 3, column 2 ('b'): 'nan' is not a finite number" train --device cpu --model 2-3 --data "$tmp/nan.csv"
expect_error "short.csv: line 3 has 2 fields, the header has 3" train --device cpu --model 2-3 --data "$tmp/short.csv"
expect_error "label 7 at sample 1 is outside [0, 3)" train --device cpu --model 2-3 --data "$tmp/label7.csv"
expect_error "training data has 2 features per sample but the model takes 5" train --device cpu --model 5-3 --data "$tmp/ok.csv"
expect_error "no column named 'y'" train --device cpu --model 2-3 --data "$tmp/ok.csv" --label-column y
expect_error "object array" train --device cpu --model 2-3 --data "$tmp/objects.npy" --labels "$tmp/objects.npy"
expect_error "NumPy features need their labels" train --device cpu --model 2-3 --data "$tmp/objects.npy"
expect_error "--data-format: parquet not in" train --data-format parquet
expect_error "--checkpoint-every '3x'" train --device cpu --model 2-3 --data "$tmp/ok.csv" --checkpoint-every 3x
expect_error "--on-nan: halt not in" train --on-nan halt
expect_error "nope.safetensors: file does not exist" train --device cpu --model 2-3 --data "$tmp/ok.csv" --resume "$tmp/nope.safetensors"
expect_error "bad.safetensors: 7 bytes, shorter than the 8-byte header" train --device cpu --model 2-3 --data "$tmp/ok.csv" --resume "$tmp/bad.safetensors"
# A pipe or a device would block or never end: refused before it is opened.
mkfifo "$tmp/fifo"
expect_error "fifo: not a regular file" train --device cpu --model 2-3 --data "$tmp/fifo" --data-format csv
expect_error "/dev/zero: not a regular file" eval --device cpu --load /dev/zero
# Out of memory: what was asked and what is available, no crash.
expect_error "out of host memory allocating 4398046511104 bytes" train --device cpu --model 784-1048576-1048576-10 --data "$tmp/ok.csv"
expect_error "shorter than the 8-byte header length" inspect "$tmp/bad.safetensors"
expect_error "does not exist" inspect "$tmp/missing.safetensors"
expect_error "file is required" inspect
expect_error "bad.safetensors" export --load "$tmp/bad.safetensors" -o "$tmp/m.onnx"
expect_error "no \"epoch\" column" plot "$tmp/bad.safetensors" -o "$tmp/plot.html"
expect_error "--format: onnx2 not in" export --format onnx2 --load "$tmp/bad.safetensors" -o "$tmp/m.onnx"
expect_error "--schedule: warmup not in {none,step,cosine}" distill --schedule warmup
expect_error "--weight-decay: '-1' is not a finite number >= 0" distill --weight-decay -1
expect_error "--teacher-schedule: linear not in {none,step,cosine}" distill --teacher-schedule linear
finish
