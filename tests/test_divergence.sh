#!/usr/bin/env bash
# The divergence guard (training.max_retries, training.retry_lr_factor), driven by the test-only
# fault switch COOPNETS_FAULT=nan:N (the N-th log point sees NaN losses; nan:N+ every one from
# the N-th on), so each case is deterministic:
#   1. one NaN: rollback to the newest checkpoint, a smaller lr and Langevin step, the run completes,
#      metrics.jsonl records the rollback, and the smaller lr survives a resume;
#   2. NaN forever: max_retries rollbacks, then a clear message and exit 1;
#   3. NaN before the first checkpoint: nothing to roll back to, a clear message and exit 1;
#   4. a real divergence (absurd lr): caught (a checkpoint of NaN weights is never written),
#      rolled back, and the run completes;
#   5. a dead descriptor (COOPNETS_FAULT=dead:N: f(Y~) and df/dY exactly 0) is rolled back the same way.
set -u
CLI=${1:?usage: test_divergence.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_divergence.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh" # summary (its expect and check are redefined here)
check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
  local what=$1; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
# train LOG OUT [ARGS...]: tiny (log every 5, checkpoint every 5, 20 iterations); sets $rc.
train() {
  local log=$1 out=$2; shift 2
  "$CLI" train configs/tiny.json --out "$out" --set training.checkpoint_every=5 "$@" >"$log" 2>&1
  rc=$?
  sed 's/^/    /' "$log" | grep -v '^    iter\|^    checkpoint'
}

echo "--- 1. one NaN at the third log point (iteration 15)"
COOPNETS_FAULT=nan:3 train "$tmp/one.log" "$tmp/one"
check "exit 0 after recovering" [ "$rc" = 0 ]
check "says it rolled back to ckpt-000010 with lr 0.0035" \
  grep -qE 'diverged at iteration 15 .*rolled back to .*ckpt-000010\.cnck \(rollback 1 of 3\); descriptor learning rate now 0\.0035, Langevin step size 0\.001' "$tmp/one.log"
check "completes 20 iterations" grep -qE 'iter +20/20' "$tmp/one.log"
check "metrics.jsonl has the rollback event at iteration 10" \
  grep -qE '^\{"iteration":10,"event":"rollback","diverged_at":15,.*"descriptor_lr":0\.0035,"descriptor_step_size":0\.001\}$' "$tmp/one/metrics.jsonl"
iterations=$(grep -oE '^\{"iteration":[0-9]+,"epoch"' "$tmp/one/metrics.jsonl" | grep -oE '[0-9]+' | tr '\n' ' ')
check "metrics.jsonl holds each log point once, in order (got: $iterations)" [ "$iterations" = "5 10 15 20 " ]
check "config.json has the smaller lr" grep -qE '"lr":[[:space:]]*0\.0035' "$tmp/one/config.json"
rm "$tmp/one/config.json" # the resume writes it again from the checkpoint
"$CLI" train --resume "$tmp/one" --iters 25 >"$tmp/resume.log" 2>&1
check "resume works" grep -qE 'iter +25/25' "$tmp/resume.log"
check "the resumed run kept the smaller lr (from the checkpoint's config)" \
  grep -qE '"lr":[[:space:]]*0\.0035' "$tmp/one/config.json"

echo "--- 2. NaN at every log point from the second on, max_retries 2"
COOPNETS_FAULT=nan:2+ train "$tmp/all.log" "$tmp/all" --set training.max_retries=2
check "exit 1" [ "$rc" = 1 ]
check "gives up with a clear message" \
  grep -qE 'training diverged at iteration 10 .*gave up after 2 rollbacks \(training\.max_retries\)\. The checkpoints in .*/all/checkpoints are from before it' "$tmp/all.log"
check "two rollback events" [ "$(grep -c '"event":"rollback"' "$tmp/all/metrics.jsonl")" = 2 ]
check "the checkpoint it rolled back to still loads" "$CLI" sample "$tmp/all" --count 4 --out "$tmp/all.png"

echo "--- 3. NaN at the first log point, before any checkpoint"
COOPNETS_FAULT=nan:1 train "$tmp/early.log" "$tmp/early" --set training.checkpoint_every=10
check "exit 1" [ "$rc" = 1 ]
check "says there is nothing to roll back to" grep -qE 'diverged at iteration 5 .*no checkpoint to roll back to yet' "$tmp/early.log"

echo "--- 4. a real divergence: descriptor lr 1e4"
train "$tmp/real.log" "$tmp/real" --set descriptor.optimizer.lr=1e4 --set training.checkpoint_every=1 \
  --set training.retry_lr_factor=0.001 --iters 10
check "exit 0 after recovering" [ "$rc" = 0 ]
check "caught and rolled back" grep -qE 'diverged .*NaN or Inf.*rolled back to .*ckpt-' "$tmp/real.log"
check "completes 10 iterations" grep -qE 'iter +10/10' "$tmp/real.log"

echo "--- 5. a dead descriptor (f = 0 and df/dY = 0 at the third log point): rolled back like a divergence"
COOPNETS_FAULT=dead:3 train "$tmp/dead.log" "$tmp/dead"
check "exit 0 after recovering" [ "$rc" = 0 ]
check "says the descriptor died and rolled back with a smaller lr" \
  grep -qE 'the descriptor died at iteration 15 .*every unit is off.*rolled back to .*ckpt-000010\.cnck \(rollback 1 of 3\); descriptor learning rate now 0\.0035' "$tmp/dead.log"
check "completes 20 iterations" grep -qE 'iter +20/20' "$tmp/dead.log"

summary
