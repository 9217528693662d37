#!/usr/bin/env bash
# Device limits honoured everywhere: with the test-only switch COOPNETS_TEST_DEVICE capping the
# device at 8 work-items a group (and per dimension) and 16 KiB of local memory, far below a CPU's,
# the kernel and whole-network tests pass (a launch beyond the limits is refused in words, so any
# place that ignored them would fail), and a tiny run gives the same bits as without the cap. Under a
# GPU-sized cap (64 work-items, 16 KiB) every kernel variant that fits is checked as well.
set -u
CLI=${1:?usage: test_device_limits.sh PATH/TO/coopnets_cl}
TESTS=${CN_BINARY_DIR:?CN_BINARY_DIR: the build folder holding the test programs}
tmp=$(mktemp -d /tmp/cn_test_device_limits.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"
CAP=work_group=8,local_memory=16384

COOPNETS_TEST_DEVICE=$CAP expect 0 'local memory 16 KiB, max work-group 8 \(8 x 8 x 8\)' -- "$CLI" devices
COOPNETS_TEST_DEVICE=work_group=0 expect 2 'COOPNETS_TEST_DEVICE=work_group=0: "work_group=0" is not' -- "$CLI" devices
COOPNETS_TEST_DEVICE=fast expect 2 '"fast" is not work_group=N, local_memory=BYTES or no_compiler' -- \
  "$CLI" train configs/tiny.json --iters 1 --out "$tmp/x"

for t in test_conv2d test_deconv2d test_gemm test_batchnorm test_reduce test_golden test_coop test_algorithms; do
  COOPNETS_TEST_DEVICE=$CAP expect 0 ' 0 failed' -- "$TESTS/$t"
done
# A GPU-sized cap: work-groups of 64 and 16 KiB of local memory. The kernel variants that fit
# (local-memory GEMM tiles 16/4, 8/1 and 8/8, work-groups of 16 and 64 per channel or row) must all
# match the double reference; those that do not fit are not offered.
for t in test_gemm test_batchnorm test_reduce; do
  COOPNETS_TEST_DEVICE=work_group=64,local_memory=16384 "$TESTS/$t" > "$tmp/$t.txt" 2>&1
  check "$t with work-groups of 64 and 16 KiB of local memory passes (exit $?)" grep -q ' 0 failed$' "$tmp/$t.txt"
  check "$t there checked the 16/4 local-memory GEMM or groups of 64" \
    grep -qE '^(backend own, )?variant (local 16/4|group 64)' "$tmp/$t.txt"
done

export COOPNETS_GEMM=own # the same GEMM for both runs, without measuring
expect 0 'done: ' -- "$CLI" train configs/tiny.json --iters 10 --out "$tmp/run"
mv "$tmp/run" "$tmp/uncapped"
COOPNETS_TEST_DEVICE=$CAP expect 0 'done: ' -- "$CLI" train configs/tiny.json --iters 10 --out "$tmp/run"
check "the capped run logs the same losses" \
  cmp <(grep -oE '"loss_[dg]":[^,]*' "$tmp/uncapped/metrics.jsonl") <(grep -oE '"loss_[dg]":[^,]*' "$tmp/run/metrics.jsonl")
check "the capped run writes the same checkpoint bytes" \
  cmp "$tmp/uncapped/checkpoints/ckpt-000010.cnck" "$tmp/run/checkpoints/ckpt-000010.cnck"
summary
