#!/usr/bin/env bash
# --config and --print-config: the printed configuration reads back to itself and to the same
# run; the command line wins over the file; unknown keys, values of the wrong kind and
# malformed TOML are refused naming the file, the line and the key.
# usage: cli_config.sh LEAP_BINARY
source "$(dirname "$0")/cli_lib.sh"

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

# leap serve's model list ([[models]], an array of tables) is printed back after the options.
printf 'port = 9000\n\n[[models]]\nname = "a"\nload = "a.safetensors"\n[[models]]  # b\nname = "b"\nload = '"'b'"'\nmodel = "12-8-3"\n' > list.toml
if "$leap" serve --config list.toml --print-config > list.printed.toml 2>&1 &&
   grep -qx '\[\[models\]\]' list.printed.toml && grep -qx 'load = "b"' list.printed.toml; then
  round_trip serve-list serve --config list.toml
else
  fail "serve's [[models]] list printed as: $(cat list.printed.toml)"
fi

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
argmax_csv 200 12 3 3 > train.csv
args=(train --device cpu --data train.csv --model 12-8-3 --epochs 2 --batch-size 16 --seed 4 --no-run-dir)
"$leap" "${args[@]}" --save direct.safetensors > direct.log 2>&1 || fail "direct run: $(cat direct.log)"
"$leap" "${args[@]}" --save configured.safetensors --print-config > run.toml
"$leap" train --config run.toml > configured.log 2>&1 || fail "configured run: $(cat configured.log)"
cmp -s direct.safetensors configured.safetensors && ok "the configured run's weights equal the direct run's" ||
  fail "the run from --config differs from the run on the command line"

# Bad files: refused FILE TEXT MESSAGE COMMAND...: with FILE holding TEXT (printf's escapes),
# leap COMMAND... --config FILE fails saying MESSAGE.
refused() {
  local file=$1 text=$2 message=$3; shift 3
  printf '%b' "$text" > "$file"
  expect_error "$message" "$@" --config "$file"
}
refused key.toml 'epochs = 2\nepoch = 3\n' "key.toml:2: unknown key 'epoch': leap train has no option --epoch" train
refused snake.toml 'batch_size = 3\n' "did you mean 'batch-size'?" train
refused text.toml 'epochs = "ten"\n' "text.toml:1: 'epochs' expects an integer, found a string (\"ten\")" train
refused flag.toml 'drop-last = 1\n' "flag.toml:1: 'drop-last' expects true or false, found an integer (1)" train
refused quoted.toml 'lr = "0.1"\n' "'lr' expects a number, found a string" train
refused sign.toml 'seed = -1\n' "sign.toml:1: --seed: '-1' is not a whole number" train
refused range.toml 'epochs = 0\n' "range.toml:1: --epochs: Value 0 not in range" train
refused malformed.toml '# ok\n\nepochs 3\n' "malformed.toml:3: expected '=' after the key 'epochs'" train
refused table.toml '[train]\nepochs = 3\n' "table.toml:1: tables ('[train]') are not used" train
refused list.toml '[[models]]\nname = "a"\n' "list.toml:1: leap train reads no [[models]] list" train
refused both.toml 'load = "a.safetensors"\nresume = "run"\n' "both.toml:2: 'resume' cannot go with --load" train
expect_error "missing.toml: file does not exist" train --config missing.toml
# A required option may come from the file (then its own error is about the file it names).
refused eval.toml 'load = "nowhere.safetensors"\n' "nowhere.safetensors" eval --device cpu
refused no-load.toml 'model = "12-8-3"\n' "--load is required" eval
finish
