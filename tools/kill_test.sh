#!/usr/bin/env bash
# Kill test: trains configs/tiny.json (a checkpoint every iteration, a sample grid every 3) and
# kills it with SIGKILL at random moments, many times. After each kill:
#   - the newest checkpoint must load (`coopnets_cl sample RUN --count 4`),
#   - training must resume from it (`train --resume RUN` for one more iteration),
#   - metrics.jsonl must hold only whole lines after that resume (a line cut by the kill is dropped),
#     with iterations in order.
# Then training continues (resumed) until the next kill. Reports kills survived, unreadable
# checkpoints (must be 0), and how many kills landed inside a checkpoint write (a leftover
# temporary file: the rename never happened, the previous checkpoint stayed the newest).
#
#   tools/kill_test.sh [KILLS] [COOPNETS_CL] [SEED]     defaults: 30, build/coopnets_cl, 1
#
# Kill moments are 0-2 s after each start (drawn from SEED), so they hit start-up, iterations,
# sample grids and checkpoint writes alike.
set -uo pipefail
cd "$(dirname "$0")/.."
kills=${1:-30}
cli=${2:-build/coopnets_cl}
RANDOM=${3:-1}
[ -x "$cli" ] || { echo "no program at $cli: build first (cmake --build build)" >&2; exit 2; }
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
tmp=$(mktemp -d /tmp/cn_kill_test.XXXXXX)
run=$tmp/run
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT

newest() { ls "$run/checkpoints" 2>/dev/null | grep -E '^ckpt-[0-9]+\.cnck$' | sort | tail -1; }
# Whole lines only, each {"iteration":N,...}, N never decreasing.
metrics_ok() {
  [ -f "$run/metrics.jsonl" ] || return 0
  awk 'BEGIN { last = -1 }
       !/^\{"iteration":[0-9]+,.*\}$/ { bad = 1; exit }
       { split($0, a, /[:,]/); if (a[2] + 0 < last) { bad = 1; exit } last = a[2] + 0 }
       END { exit bad }' "$run/metrics.jsonl"
}

survived=0 unreadable=0 resume_failed=0 metrics_bad=0 during_write=0 before_first=0 torn_lines=0
for k in $(seq 1 "$kills"); do
  if [ -n "$(newest)" ]; then from=(--resume "$run"); else from=(configs/tiny.json --out "$run"); fi
  "$cli" --quiet train "${from[@]}" --iters 1000000 --set training.checkpoint_every=1 \
    --set training.log_every=1 --set training.sample_every=3 >>"$tmp/train.log" 2>&1 &
  pid=$!
  delay_ms=$((RANDOM % 2001))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  pid=
  tmps=$(find "$run" -name '*.tmp.*' 2>/dev/null | wc -l)
  [ "$tmps" -gt 0 ] && during_write=$((during_write + 1))
  find "$run" -name '*.tmp.*' -delete 2>/dev/null # leftovers of this kill, counted above
  if [ -s "$run/metrics.jsonl" ] && [ -n "$(tail -c 1 "$run/metrics.jsonl")" ]; then torn_lines=$((torn_lines + 1)); fi
  ckpt=$(newest)
  if [ -z "$ckpt" ]; then
    before_first=$((before_first + 1))
    echo "kill $k after ${delay_ms} ms: before the first checkpoint"
    continue
  fi
  status="ok"
  if ! "$cli" --quiet sample "$run" --count 4 --out "$tmp/sample.png" >"$tmp/sample.log" 2>&1; then
    unreadable=$((unreadable + 1)) status="UNREADABLE: $(tail -1 "$tmp/sample.log")"
  fi
  it=$((10#${ckpt//[^0-9]/}))
  if ! "$cli" --quiet train --resume "$run" --iters $((it + 1)) >"$tmp/resume.log" 2>&1; then
    resume_failed=$((resume_failed + 1)) status="$status; RESUME FAILED: $(tail -1 "$tmp/resume.log")"
  elif ! metrics_ok; then
    metrics_bad=$((metrics_bad + 1)) status="$status; metrics.jsonl BROKEN"
  fi
  [ "$status" = ok ] && survived=$((survived + 1))
  echo "kill $k after ${delay_ms} ms: newest $ckpt ($tmps temporary files left by the kill): $status"
done

echo
echo "kills: $kills, survived: $survived, before the first checkpoint: $before_first"
echo "unreadable checkpoints: $unreadable, failed resumes: $resume_failed, broken metrics.jsonl: $metrics_bad"
echo "kills inside a checkpoint or PNG write (temporary file left): $during_write; metrics.jsonl ending in a cut line: $torn_lines"
[ $unreadable = 0 ] && [ $resume_failed = 0 ] && [ $metrics_bad = 0 ]
