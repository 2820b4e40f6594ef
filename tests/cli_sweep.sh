#!/usr/bin/env bash
# leap sweep: every model of a sweep ends with the same bytes of weights as leap train run
# alone with its configuration and seed, whatever the thread count of either (models side
# by side, one a core, or one after another on every core); its run directory holds a
# metrics.csv a model, summary.csv, report.html with spread bands and the weights; --config
# reads a grid; bad grids are refused before anything trains or a run directory is made.
# usage: cli_sweep.sh LEAP_BINARY
source "$(dirname "$0")/cli_lib.sh"

# Big enough that the products go to OpenBLAS and Adam's and ReLU's loops to OpenMP's threads.
argmax_csv 600 64 10 3 > train.csv
argmax_csv 200 64 10 4 > validation.csv
data=(--device cpu --data train.csv --validation-data validation.csv --batch-size 128)

"$leap" sweep "${data[@]}" --epochs 2 --model 64-600-10 --seeds 0-2 --lr 1e-3,3e-3 --workers 2 --save-all \
  --run-dir side > side.log 2>&1 || fail "sweep: $(cat side.log)"
grep -q "6 models on cpu" side.log && grep -q "2 at once, one a core" side.log && ok "6 models, 2 at once" ||
  fail "sweep did not say how it trains: $(head -n3 side.log)"

# Each model against leap train alone, on 1 and on 3 threads.
for lr in 0.001 0.003; do
  for seed in 0 1 2; do
    threads=$((seed == 1 ? 3 : 1))
    OMP_NUM_THREADS=$threads "$leap" train "${data[@]}" --epochs 2 --model 64-600-10 --lr $lr --seed $seed --no-run-dir \
      --save alone.safetensors > alone.log 2>&1 || fail "train: $(cat alone.log)"
    swept="side/lr=$lr/seed-$seed/model.safetensors"
    cmp -s alone.safetensors "$swept" && ok "lr $lr seed $seed: the bytes of leap train on $threads threads" ||
      fail "lr $lr seed $seed: $swept differs from leap train on $threads threads"
  done
done

# One after another, each model on every core (3 threads), and 3 workers on 2 cores: the same bytes.
OMP_NUM_THREADS=3 "$leap" sweep "${data[@]}" --epochs 2 --model 64-600-10 --seeds 1 --lr 3e-3 --workers 1 --save-all \
  --run-dir serial > serial.log 2>&1 || fail "serial sweep: $(cat serial.log)"
cmp -s serial/64-600-10/seed-1/model.safetensors "side/lr=0.003/seed-1/model.safetensors" &&
  ok "one after another on 3 threads: the same bytes" || fail "one after another: other bytes"
"$leap" sweep "${data[@]}" --epochs 2 --model 64-600-10 --seeds 0-2 --lr 1e-3 --workers 3 --save-all \
  --run-dir three > three.log 2>&1 || fail "3 workers: $(cat three.log)"
for seed in 0 1 2; do
  cmp -s "three/64-600-10/seed-$seed/model.safetensors" "side/lr=0.001/seed-$seed/model.safetensors" ||
    fail "3 workers, seed $seed: other bytes"
done

# The run directory.
for file in config.toml summary.csv report.html lr=0.001/best.safetensors lr=0.003/best.safetensors \
            lr=0.001/seed-0/metrics.csv lr=0.003/seed-2/metrics.jsonl; do
  [ -s "side/$file" ] || fail "side/$file is missing or empty"
done
[ "$(wc -l < side/lr=0.001/seed-0/metrics.csv)" -eq 3 ] || fail "metrics.csv: $(cat side/lr=0.001/seed-0/metrics.csv)"
[ "$(wc -l < side/summary.csv)" -eq 3 ] && grep -q '^"lr=0.003",64-600-10,adam,' side/summary.csv &&
  ok "summary.csv: a row per configuration" || fail "summary.csv: $(cat side/summary.csv)"
grep -q "<polygon" side/report.html && grep -q "lr=0.003" side/report.html && ok "report.html draws spread bands" ||
  fail "report.html has no band"
grep -q "final val accuracy" side.log && grep -q "models/s" side.log && ok "the table and the totals are printed" ||
  fail "no table: $(cat side.log)"

# --config reads the grid; --print-config reads back to itself.
printf 'model = "64-600-10"\nseeds = "0-1"\nlr = 0.003\nepochs = 1\nworkers = 2\n' > grid.toml
"$leap" sweep --config grid.toml "${data[@]}" --run-dir configured > configured.log 2>&1 ||
  fail "--config: $(cat configured.log)"
grep -q "1 configurations x 2 seeds = 2 models" configured.log && ok "--config grid" || fail "--config: $(head -n3 configured.log)"
"$leap" sweep --config configured/config.toml --print-config | cmp -s - configured/config.toml ||
  fail "config.toml does not read back to itself"

# leap distill --seeds: every seed's students alone and distilled side by side in one call, each
# with the bytes of a call for that seed alone (one teacher for both).
make_random_idx idx
distill=(distill --device cpu --data idx --teacher-model 784-8-10 --student-model 784-4-10 --teacher-epochs 1 --epochs 2 --batch-size 16)
"$leap" "${distill[@]}" --seeds 0-2 --teacher-save teacher.safetensors --run-dir paired > paired.log 2>&1 ||
  fail "distill --seeds: $(cat paired.log)"
[ "$(grep -c '^seed [0-2]: student alone' paired.log)" -eq 3 ] && ok "distill --seeds 0-2: a line a seed" ||
  fail "distill --seeds: $(cat paired.log)"
"$leap" "${distill[@]}" --seed 2 --teacher-load teacher.safetensors --run-dir single > single.log 2>&1 ||
  fail "distill --seed 2: $(cat single.log)"
for arm in alone distilled; do
  cmp -s "paired/student-$arm-seed-2/model.safetensors" "single/student-$arm/model.safetensors" &&
    ok "distill: student $arm of seed 2 side by side has the bytes of its call alone" ||
    fail "distill: student $arm of seed 2 differs between --seeds 0-2 and --seed 2"
done

# Bad grids: refused before training, and no run directory made.
expect_error "--lr: empty list" sweep "${data[@]}" --lr ""
expect_error "an empty value in the list" sweep "${data[@]}" --lr 1e-3,
expect_error "is given twice" sweep "${data[@]}" --seeds 0-3,2
expect_error "runs backwards" sweep "${data[@]}" --seeds 5-2
expect_error "--lr: -1 is out of range" sweep "${data[@]}" --lr -1
expect_error "is not a finite number" sweep "${data[@]}" --lr nan
expect_error "--epochs: 0 is out of range" sweep "${data[@]}" --epochs 0
expect_error "--dropout: 0.99 is out of range" sweep "${data[@]}" --dropout 0.99
expect_error "--schedule: unknown value 'linear'" sweep "${data[@]}" --schedule none,linear
expect_error "--model" sweep "${data[@]}" --model 64-x-10
expect_error "32 inputs, but the data has 64 features" sweep "${data[@]}" --model 64-8-10,32-8-10
expect_error "models of the largest would fit" sweep "${data[@]}" --model 64-60000-60000-10 --seeds 0-99
expect_error "more than 100000 models" sweep "${data[@]}" --seeds 0-99999 --lr 1,2
expect_error "--save-all writes into the run directory" sweep "${data[@]}" --save-all --no-run-dir
[ ! -e runs ] && ok "no bad grid made a run directory" || fail "bad grids made $(ls runs)"
finish
