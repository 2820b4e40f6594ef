#!/usr/bin/env bash
# --config and --print-config: the printed configuration reads back to itself and to the same
# run; the command line wins over the file; unknown keys, values of the wrong kind and
# malformed TOML are refused naming the file, the line and the key.
# usage: cli_config.sh LEAP_BINARY
set -u
leap=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# expect_error MESSAGE_FRAGMENT -- ARGS...
expect_error() {
  local fragment=$1; shift
  local output status
  output=$("$leap" "$@" 2>&1); status=$?
  if [ $status -eq 0 ] || [ $status -ge 128 ] || ! grep -qF -- "$fragment" <<<"$output"; then
    fail "leap $* -> status $status, output: $output"
  else
    ok "leap $* -> $(head -n1 <<<"$output")"
  fi
}

# Round trip: printed, read back, printed again: the same text, for every configurable command.
round_trip() {
  local name=$1; shift
  "$leap" "$@" --print-config > "$name.toml" 2>&1 || { fail "$name: $(cat "$name.toml")"; return; }
  local command=$1
  if "$leap" "$command" --config "$name.toml" --print-config > "$name.again.toml" 2>&1 &&
     cmp -s "$name.toml" "$name.again.toml"; then
    ok "$name: --print-config -> --config -> --print-config is the same text"
  else
    fail "$name: the configuration changed on the way back: $(diff "$name.toml" "$name.again.toml")"
  fi
}
round_trip train-defaults train
round_trip train train --model 12-8-3 --epochs 3 --lr .5 --momentum 1e-1 --seed 7 --drop-last \
  --data 'odd "name"\path.csv' --checkpoint-every 2steps --run-dir 'runs/a b'
round_trip distill distill --teacher-model 12-16-3 --student-model 12-4-3 --alpha 0.25 --no-run-dir
round_trip eval eval --load w.safetensors --model 12-8-3
round_trip predict predict --load w.safetensors --images x.idx -o out.csv
round_trip export export --load w.safetensors -o m.onnx
grep -qx 'lr = 0.5' train.toml || fail "--lr .5 printed as $(grep '^lr' train.toml)"

# The command line wins over the file.
printf 'epochs = 3\nbatch-size = 16\ndrop-last = true\n' > some.toml
"$leap" train --config some.toml --epochs 5 --print-config > merged.toml
if grep -qx 'epochs = 5' merged.toml && grep -qx 'batch-size = 16' merged.toml && grep -qx 'drop-last = true' merged.toml; then
  ok "command-line --epochs 5 overrides the file's 3; the file's other values stay"
else
  fail "override: $(cat merged.toml)"
fi

# ... also over a file's option that excludes one the command line gave.
printf 'no-run-dir = true\n' > none.toml
if "$leap" train --config none.toml --run-dir chosen --print-config > chosen.toml 2>&1 &&
   grep -qx 'run-dir = "chosen"' chosen.toml && grep -qx 'no-run-dir = false' chosen.toml; then
  ok "command-line --run-dir overrides the file's no-run-dir = true"
else
  fail "--run-dir over no-run-dir: $(cat chosen.toml)"
fi

# A configuration gives the same run as the command line it was printed from.
awk 'BEGIN { srand(3); printf "label"; for (j = 0; j < 12; j++) printf ",f%d", j; print "";
             for (i = 0; i < 200; i++) { line = ""; best = 0;
               for (j = 0; j < 12; j++) { v[j] = rand(); line = line sprintf(",%.5f", v[j]) }
               for (j = 1; j < 3; j++) if (v[j] > v[best]) best = j;
               print best line } }' > train.csv
args=(train --device cpu --data train.csv --model 12-8-3 --epochs 2 --batch-size 16 --seed 4 --no-run-dir)
"$leap" "${args[@]}" --save direct.safetensors > direct.log 2>&1 || fail "direct run: $(cat direct.log)"
"$leap" "${args[@]}" --save configured.safetensors --print-config > run.toml
"$leap" train --config run.toml > configured.log 2>&1 || fail "configured run: $(cat configured.log)"
cmp -s direct.safetensors configured.safetensors && ok "the configured run's weights equal the direct run's" ||
  fail "the run from --config differs from the run on the command line"

# Bad files.
printf 'epochs = 2\nepoch = 3\n' > key.toml
expect_error "key.toml:2: unknown key 'epoch': leap train has no option --epoch" train --config key.toml
printf 'batch_size = 3\n' > snake.toml
expect_error "did you mean 'batch-size'?" train --config snake.toml
printf 'epochs = "ten"\n' > text.toml
expect_error "text.toml:1: 'epochs' expects an integer, found a string (\"ten\")" train --config text.toml
printf 'drop-last = 1\n' > flag.toml
expect_error "flag.toml:1: 'drop-last' expects true or false, found an integer (1)" train --config flag.toml
printf 'lr = "0.1"\n' > quoted.toml
expect_error "'lr' expects a number, found a string" train --config quoted.toml
printf 'seed = -1\n' > sign.toml
expect_error "sign.toml:1: --seed: '-1' is not a whole number" train --config sign.toml
printf 'epochs = 0\n' > range.toml
expect_error "range.toml:1: --epochs: Value 0 not in range" train --config range.toml
printf '# ok\n\nepochs 3\n' > malformed.toml
expect_error "malformed.toml:3: expected '=' after the key 'epochs'" train --config malformed.toml
printf '[train]\nepochs = 3\n' > table.toml
expect_error "table.toml:1: tables ('[train]') are not used" train --config table.toml
printf 'load = "a.safetensors"\nresume = "run"\n' > both.toml
expect_error "both.toml:2: 'resume' cannot go with --load" train --config both.toml
expect_error "missing.toml: file does not exist" train --config missing.toml
# A required option may come from the file (then its own error is about the file it names).
printf 'load = "nowhere.safetensors"\n' > eval.toml
expect_error "nowhere.safetensors" eval --device cpu --config eval.toml
printf 'model = "12-8-3"\n' > no-load.toml
expect_error "--load is required" eval --config no-load.toml
echo "$failures failed"
[ $failures -eq 0 ]
