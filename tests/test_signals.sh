#!/usr/bin/env bash
# SIGTERM and SIGINT during training: the run finishes its iteration, writes a checkpoint at it,
# says how to continue and exits 130; the resume continues from that checkpoint.
set -u
CLI=${1:?usage: test_signals.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_signals.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh" # summary (its expect and check are redefined here)
not() { ! "$@"; }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; sed 's/^/    /' "$log" | tail -8; failures=$((failures + 1)); fi
}

for sig in TERM INT; do
  run=$tmp/$sig log=$tmp/$sig.log
  echo "--- SIG$sig after the first log line"
  # Far more iterations than it will run; log every iteration, no periodic checkpoints.
  "$CLI" train configs/tiny.json --out "$run" --iters 100000 --set training.log_every=1 \
    --set training.checkpoint_every=0 --set training.sample_every=0 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q '^iter' "$log" && break; sleep 0.1; done
  kill -s $sig $pid
  wait $pid
  rc=$?
  pid=
  stopped=$(grep -oE 'stopped at iteration [0-9]+' "$log" | grep -oE '[0-9]+$')
  check "exit 130 (got $rc)" [ "$rc" = 130 ]
  check "says where it stopped and how to continue" grep -qE "stopped at iteration [0-9]+; continue with --resume $run" "$log"
  ckpt=$(printf '%s/checkpoints/ckpt-%06d.cnck' "$run" "${stopped:-0}")
  check "a checkpoint at the stopped iteration ${stopped:-?}" [ -s "$ckpt" ]
  check "the only checkpoint (none were due)" [ "$(ls "$run/checkpoints" | wc -l)" = 1 ]
  check "no temporary files left" [ -z "$(find "$run" -name '*.tmp.*')" ]
  # A crash in the middle of a metrics line (power loss; a kill cannot split the one write) leaves
  # a cut line at the end: the resume must drop it, not glue the next line to it.
  [ $sig = TERM ] && printf '{"iteration":%d,"epoch":0,"f_obse' "$stopped" >>"$run/metrics.jsonl"
  log=$tmp/$sig-resume.log
  "$CLI" train --resume "$run" --iters $((stopped + 2)) >"$log" 2>&1
  rc=$?
  check "the resume exits 0 (got $rc)" [ "$rc" = 0 ]
  check "resumes at iteration $stopped" grep -qE "resumed from .*ckpt-0*$stopped\.cnck at iteration $stopped\$" "$log"
  check "and runs to iteration $((stopped + 2))" grep -qE "iter +$((stopped + 2))/$((stopped + 2))" "$log"
  lines=$(grep -oE '^\{"iteration":[0-9]+' "$run/metrics.jsonl" | grep -oE '[0-9]+' | tr '\n' ' ')
  check "metrics.jsonl: iterations 1 to $((stopped + 2)) once each (got: $lines)" \
    [ "$lines" = "$(seq -s ' ' 1 $((stopped + 2))) " ]
  check "metrics.jsonl: whole lines only" not grep -qvE '^\{"iteration":[0-9]+,.*\}$' "$run/metrics.jsonl"
done

summary
