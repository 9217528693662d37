#!/usr/bin/env bash
# Device and disk faults: each ends with a clear message and a non-zero exit, never a crash, and
# the checkpoints written before a failure still load. Faults are injected with the test-only
# switch COOPNETS_FAULT=KIND:N (the N-th OpenCL call / buffer allocation / file write fails):
#   - a config too large for the device: refused in words (MiB and the limit) before allocating;
#   - a kernel that fails to build: the message and the compiler's log;
#   - an invalid device index (--device and COOPNETS_DEVICE);
#   - the first OpenCL calls of a run failing one by one (platform, context, uploads, builds);
#   - a buffer allocation failing; a device call failing mid-training; a full disk mid-training.
set -u
CLI=${1:?usage: test_faults.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_faults.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh" # summary (its expect and check are redefined here)
ok() { checks=$((checks + 1)); echo "ok: $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $1"; sed 's/^/    /' "$tmp/out" | head -20; }
# run ...: runs the CLI, output in $tmp/out, exit code in $rc.
run() { "$CLI" "$@" >"$tmp/out" 2>&1; rc=$?; }
# expect CODE PATTERN DESCRIPTION: the last run exited CODE and its output matches PATTERN.
expect() {
  if [ "$rc" = "$1" ] && grep -qE -- "$2" "$tmp/out"; then ok "$3 (exit $rc)"
  else fail "$3: exit $rc (want $1), output does not match /$2/"; fi
}
tiny() { run --quiet train configs/tiny.json --out "$tmp/run" "$@"; }

echo "--- a config too large for the device"
run --quiet train configs/fashion_mnist.json --out "$tmp/big" --set training.chains=100000 --set data.limit=200
expect 1 'needs .*[0-9.]+ MiB.* device 0 .*(allows at most|has) [0-9.]+ MiB .*CL_DEVICE_(MAX_MEM_ALLOC|GLOBAL_MEM)_SIZE.*fewer chains' \
  "100000 chains on Fashion-MNIST are refused naming MiB and the limit"

echo "--- invalid device index"
run --device 99 train configs/tiny.json --iters 1 --out "$tmp/dev"
expect 2 'no such device.*|the devices are' "--device 99"
COOPNETS_DEVICE=99 run train configs/tiny.json --iters 1 --out "$tmp/dev"
expect 2 'COOPNETS_DEVICE 99: no such device' "COOPNETS_DEVICE=99"

echo "--- the first OpenCL calls failing one by one (no program cache, our GEMM: every call is made)"
build_failed=0
for n in $(seq 1 20); do
  COOPNETS_NO_CACHE=1 COOPNETS_GEMM=own COOPNETS_FAULT=cl:$n tiny --iters 2
  first=$(grep -m1 '^coopnets_cl: ' "$tmp/out")
  if [ "$rc" != 1 ] && [ "$rc" != 2 ] || [ -z "$first" ]; then fail "cl:$n: exit $rc without a message"; continue; fi
  ok "cl:$n -> exit $rc: ${first:0:150}"
  if grep -q 'failed to build' "$tmp/out" && [ $build_failed = 0 ]; then
    build_failed=1
    if grep -qE 'kernel program [a-z_0-9]+ failed to build on device 0 .*CL_BUILD_PROGRAM_FAILURE' "$tmp/out" &&
       grep -q -- '--- build log ---' "$tmp/out" && grep -q 'injected build failure' "$tmp/out"; then
      ok "a failed build names the program and device and prints the compiler's log"
    else fail "a failed build without its program, device or log"; fi
  fi
done
[ $build_failed = 1 ] && ok "one of them was a kernel build" || fail "no kernel build among the first 20 OpenCL calls"

echo "--- a buffer allocation failing"
COOPNETS_FAULT=alloc:1 tiny --iters 2
expect 1 'CL_MEM_OBJECT_ALLOCATION_FAILURE while allocating [0-9]+ bytes for .* on device 0' "alloc:1"

echo "--- a device call failing mid-training"
rm -rf "$tmp/run"
COOPNETS_FAULT=cl:3000 tiny --set training.checkpoint_every=1
expect 1 '^coopnets_cl: ([a-z ]+: )?CL_[A-Z_]+ while .* on device 0' "cl:3000 stops the run with the OpenCL error"
expect 1 'newest checkpoint is .*ckpt-0000[0-9]+\.cnck: continue with --resume' "and names the checkpoint to resume from"
run sample "$tmp/run" --count 4 --out "$tmp/s.png"
expect 0 'wrote .*s\.png' "the newest checkpoint loads"
run train --resume "$tmp/run" --iters 20
expect 0 'resumed from .*ckpt-' "training resumes from it"
expect 0 'iter +20/20' "and completes"

echo "--- a full disk mid-training"
rm -rf "$tmp/run"
COOPNETS_FAULT=write:100 tiny --set training.checkpoint_every=5
expect 1 'cannot write checkpoint .*ckpt-0000[0-9]+\.cnck: No space left on device \(the previous checkpoints are intact\)' \
  "write:100 stops the run with the file and the reason"
run sample "$tmp/run" --count 4 --out "$tmp/s.png"
expect 0 'wrote .*s\.png' "the checkpoints before it load"
leftovers=$(find "$tmp/run" -name '*.tmp.*' | wc -l)
[ "$leftovers" = 0 ] && ok "no temporary files left" || fail "$leftovers temporary files left"

summary
