#!/usr/bin/env bash
# Fuzzes the file readers with libFuzzer + ASan + UBSan: config (cn_config_parse with --set
# overrides), png (cn_png_read + cn_image8_fit), idx (cn_idx_read), checkpoint
# (cn_checkpoint_read_config; the harness appends a valid checksum so mutations reach the header
# parsing behind it). The harnesses are tests/fuzz/fuzz_*.c, the seeds tests/fuzz/corpus/<target>/.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     default: 60 s for each of the four targets
#
# Builds into build-fuzz/ (CC=clang, -DCN_FUZZ=ON), keeps each target's growing corpus in
# build-fuzz/corpus/<target>/ (the seeds in tests/ are not touched) and its findings in
# build-fuzz/findings/<target>/ (crash-*, leak-*, oom-*, timeout-*). Fuzzing goes on after a finding
# (libFuzzer's fork mode). Prints executions and findings per target; exits 1 when there are any.
# A finding, once fixed, goes to tests/fuzz/regressions/<target>/, which test_fuzz_regressions
# replays in every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config png idx checkpoint)
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: tools/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }

if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "installing clang and its sanitizer runtimes (clang, libclang-rt-14-dev)"
  apt-get install -y clang libclang-rt-14-dev >/dev/null
fi
CC=clang CFLAGS=-Wno-unknown-warning-option cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCN_FUZZ=ON \
  -DCN_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null

export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
export UBSAN_OPTIONS=print_stacktrace=1
# The harnesses write each input to a temporary file: on tmpfs that is ~6x faster than on disk.
# A folder of our own, removed at the end, also takes what workers stopped by libFuzzer leave.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm; else base=${TMPDIR:-/tmp}; fi
TMPDIR=$(mktemp -d "$base/cn_fuzz.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
status=0
summary=()
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t findings=build-fuzz/findings/$t log=build-fuzz/fuzz-$t.log
  mkdir -p "$corpus" "$findings"
  before=$(find "$findings" -type f | wc -l)
  echo "fuzzing $t for $seconds s (log: $log)"
  # -fork=1 -ignore_*: one worker that is restarted after a finding, so one run reports them all.
  "build-fuzz/fuzz_$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$seconds" -fork=1 -ignore_crashes=1 \
    -ignore_ooms=1 -ignore_timeouts=1 -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || true
  # Fork mode's status lines: "#RUNS: cov: ... exec/s ... oom/timeout/crash: O/T/C time: ...".
  runs=$(grep -oE '^#[0-9]+:' "$log" | tail -1 | tr -d '#:')
  found=$(($(find "$findings" -type f | wc -l) - before))
  [ "$found" = 0 ] || status=1
  summary+=("$(printf '%-10s %12s executions  %3d new findings  %6d corpus inputs' "$t" "${runs:-?}" "$found" \
    "$(find "$corpus" -type f | wc -l)")")
done
echo
printf '%s\n' "${summary[@]}"
[ "$status" = 0 ] || echo "findings are in build-fuzz/findings/; replay one with build-fuzz/fuzz_TARGET FILE"
exit $status
