#!/usr/bin/env bash
# Kills a process that writes checkpoints in a loop (SIGKILL, at random moments) and checks
# each time that the checkpoint on disk is whole: the old one or the new one, never torn.
# usage: kill_during_write.sh CHECKPOINT_TORTURE_BINARY [ROUNDS]
set -u
tool=$1
rounds=${2:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
file=$tmp/checkpoint.safetensors
torn=0 mid_write=0
for round in $(seq "$rounds"); do
  rm -f "$file" "$file.ready" "$file.tmp"
  "$tool" write "$file" >"$tmp/writer.log" 2>&1 &
  writer=$!
  for _ in $(seq 600); do [ -e "$file.ready" ] && break; sleep 0.05; done
  if [ ! -e "$file.ready" ]; then
    echo "FAIL: the writer made no first checkpoint: $(cat "$tmp/writer.log")"; kill -9 $writer; exit 1
  fi
  sleep "0.$(printf '%03d' $((RANDOM % 300)))"
  kill -9 $writer
  wait $writer 2>/dev/null
  [ -e "$file.tmp" ] && mid_write=$((mid_write + 1))
  if ! result=$("$tool" check "$file"); then
    echo "FAIL: round $round: $result"; torn=$((torn + 1))
  else
    echo "round $round: $result$([ -e "$file.tmp" ] && echo ' (killed during a write)')"
  fi
done
echo "$rounds kills, $mid_write during a write, $torn torn checkpoints"
[ $torn -eq 0 ] && [ $mid_write -gt 0 ]
