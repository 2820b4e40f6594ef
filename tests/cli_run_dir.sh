#!/usr/bin/env bash
# Run directories: leap train and leap distill write one by default (runs/COMMAND-DATE-TIME,
# never an existing one), --run-dir chooses it, --no-run-dir writes none. It holds the
# resolved options as config.toml (which --config reads back), metrics.csv with Keras'
# CSVLogger columns, metrics.jsonl, the checkpoint and report.html; a run resumed there keeps
# one row per epoch.
# usage: cli_run_dir.sh LEAP_BINARY
source "$(dirname "$0")/cli_lib.sh"

argmax_csv 200 12 3 5 > train.csv
cp train.csv validation.csv
args=(train --device cpu --data train.csv --validation-data validation.csv --model 12-8-3 --batch-size 16)

# The default: a new dated directory under runs/, named in the output.
"$leap" "${args[@]}" --epochs 2 > first.log 2>&1 || fail "default run: $(cat first.log)"
"$leap" "${args[@]}" --epochs 2 > second.log 2>&1 || fail "second run: $(cat second.log)"
first=$(sed -n 's/^Run directory: //p' first.log)
second=$(sed -n 's/^Run directory: //p' second.log)
if [[ $first =~ ^runs/train-[0-9]{8}-[0-9]{6}(-[0-9]+)?$ ]] && [ -n "$second" ] && [ "$first" != "$second" ]; then
  ok "runs went to $first and $second"
else
  fail "run directories '$first' and '$second'"
fi
for file in config.toml metrics.csv metrics.jsonl checkpoint.safetensors report.html; do
  [ -s "$first/$file" ] || fail "$first/$file is missing or empty"
done
header=$(head -n1 "$first/metrics.csv")
[[ $header == epoch,loss,accuracy,val_loss,val_accuracy,* ]] && ok "metrics.csv: $header" || fail "metrics.csv header: $header"
[ "$(wc -l < "$first/metrics.jsonl")" -eq 2 ] || fail "metrics.jsonl: $(cat "$first/metrics.jsonl")"
grep -q "<svg" "$first/report.html" || fail "report.html has no chart"

# config.toml is the run's --print-config, and reads back to the same.
"$leap" "${args[@]}" --epochs 2 --print-config > printed.toml
cmp -s printed.toml "$first/config.toml" && ok "config.toml equals --print-config" ||
  fail "config.toml differs from --print-config: $(diff printed.toml "$first/config.toml")"
"$leap" train --config "$first/config.toml" --print-config | cmp -s - "$first/config.toml" ||
  fail "config.toml does not read back to itself"

# --run-dir chooses; --no-run-dir writes nothing.
"$leap" "${args[@]}" --epochs 2 --run-dir chosen > chosen.log 2>&1 || fail "--run-dir: $(cat chosen.log)"
[ -s chosen/metrics.csv ] && grep -q "^Run directory: chosen$" chosen.log && ok "--run-dir chosen" || fail "--run-dir: $(cat chosen.log)"
before=$(ls runs | wc -l)
"$leap" "${args[@]}" --epochs 1 --no-run-dir > none.log 2>&1 || fail "--no-run-dir: $(cat none.log)"
[ "$(ls runs | wc -l)" -eq "$before" ] && ! grep -q "Run directory" none.log && ok "--no-run-dir writes none" ||
  fail "--no-run-dir wrote $(ls runs)"
# A failing run (bad data) makes no directory.
printf 'a,b,label\n1,2,7\n' > bad.csv
"$leap" train --device cpu --model 2-3 --data bad.csv > bad.log 2>&1 && fail "bad data trained"
[ "$(ls runs | wc -l)" -eq "$before" ] && ok "bad data leaves no run directory" || fail "bad data made $(ls runs)"

# Resumed in its directory (more epochs from the end checkpoint): one row per epoch, 1 to 4.
"$leap" "${args[@]}" --epochs 4 --resume chosen > resumed.log 2>&1 || fail "resume: $(cat resumed.log)"
epochs=$(tail -n +2 chosen/metrics.csv | cut -d, -f1 | tr '\n' ' ')
[ "$epochs" = "1 2 3 4 " ] && ok "resumed in place: epochs $epochs" || fail "resumed metrics.csv epochs: $epochs"
[ "$(wc -l < chosen/metrics.jsonl)" -eq 4 ] || fail "resumed metrics.jsonl: $(cat chosen/metrics.jsonl)"
"$leap" "${args[@]}" --epochs 4 --run-dir straight > straight.log 2>&1 || fail "straight: $(cat straight.log)"
"$leap" inspect chosen/checkpoint.safetensors > /dev/null || fail "the checkpoint does not load"
cmp -s <(tail -n +2 chosen/metrics.csv | cut -d, -f2-5) <(tail -n +2 straight/metrics.csv | cut -d, -f2-5) &&
  ok "2 epochs + resume + 2 log the figures of 4 straight" || fail "resumed figures differ from the straight run's"

# leap distill: one directory a model (each plottable), the report and the configuration.
make_random_idx idx
"$leap" distill --device cpu --data idx --teacher-model 784-8-10 --student-model 784-4-10 --teacher-epochs 1 \
  --epochs 1 --run-dir distilled > distill.log 2>&1 || fail "distill: $(cat distill.log)"
for file in config.toml report.html teacher/metrics.csv student-alone/metrics.jsonl student-distilled/model.safetensors; do
  [ -s "distilled/$file" ] || fail "distilled/$file is missing"
done
"$leap" plot distilled/teacher distilled/student-alone distilled/student-distilled -o plot.html > /dev/null ||
  fail "leap plot of the distillation's run directories"
[ $failures -eq 0 ] && ok "leap distill wrote its run directory"
finish
