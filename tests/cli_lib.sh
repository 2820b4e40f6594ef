# What the command-line tests share; each sources it first with the leap binary as $1.
# It makes a scratch directory the working directory (a run that gets as far as training
# writes its run directory there) and removes it at exit; fail counts failures, finish
# reports them as the exit status.
set -u
leap=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# expect_error MESSAGE_FRAGMENT ARGS...: leap ARGS fails, without a crash, saying the fragment.
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

# argmax_csv ROWS FEATURES CLASSES SEED: a CSV with a header row, the features uniform in
# [0, 1), the label the arg-max of the first CLASSES of them.
argmax_csv() {
  awk -v rows="$1" -v features="$2" -v classes="$3" -v seed="$4" 'BEGIN { srand(seed);
    printf "label"; for (j = 0; j < features; j++) printf ",f%d", j; print "";
    for (i = 0; i < rows; i++) { line = ""; best = 0;
      for (j = 0; j < features; j++) { v[j] = rand(); line = line sprintf(",%.5f", v[j]) }
      for (j = 1; j < classes; j++) if (v[j] > v[best]) best = j;
      print best line } }'
}

# An MNIST-style IDX directory of 64 random 28x28 images and labels 0-9, the same set as
# training and t10k data.
make_random_idx() {
  local dir=$1
  mkdir "$dir"
  header() { printf "\x00\x00\x08\x$1\x00\x00\x00\x40"; }
  { header 03; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((64 * 784)) /dev/urandom; } > "$dir/train-images-idx3-ubyte"
  { header 01; for i in $(seq 64); do printf "\x0$((i % 10))"; done; } > "$dir/train-labels-idx1-ubyte"
  cp "$dir/train-images-idx3-ubyte" "$dir/t10k-images-idx3-ubyte"
  cp "$dir/train-labels-idx1-ubyte" "$dir/t10k-labels-idx1-ubyte"
}

# The last command of a test: how many checks failed, and a status that is 0 when none did.
finish() {
  echo "$failures failed"
  [ $failures -eq 0 ]
}
