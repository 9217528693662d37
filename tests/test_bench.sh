#!/usr/bin/env bash
# `coopnets_cl bench`: a short real run whose JSON has every required key, and bad input ending
# with a clear message and exit code 2 (1 for a file that cannot be written). No speed asserts.
set -u
CLI=${1:?usage: test_bench.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"

expect 0 'images/s' -- "$CLI" bench configs/tiny.json --iters 2 --warmup 0 --json "$tmp/bench.json"
json=$(tr -d ' \n\t' < "$tmp/bench.json" 2>/dev/null)
for key in device config seconds_per_iteration median min max images_per_second steps kernels \
    generate revise update_descriptor infer_latent update_generator cold_start_seconds cached uncached \
    gemm seconds calls gflops gbps peak resolved_config; do
  check "bench JSON has \"$key\"" grep -q "\"$key\":" <<<"$json"
done
# The GEMM family counts its flops, so its rate is a number, and an iteration takes time.
check "GEMM seconds, calls and GFLOP/s are numbers" \
  grep -qE '"gemm":\{"seconds":[0-9.e-]+,"calls":[1-9][0-9]*,"gflops":[0-9.e+-]+,' <<<"$json"
check "seconds per iteration are numbers" grep -qE '"seconds_per_iteration":\{"median":[0-9.e-]+' <<<"$json"

# Every device: one summary table, and the JSON is a list of the runs.
expect 0 'cold start cache/none' -- "$CLI" --device all bench configs/tiny.json --iters 1 --warmup 0 \
  --json "$tmp/all.json"
check "--device all wrote a list of runs" grep -qE '^\[' "$tmp/all.json"
check "--device all: the runs have their timings" grep -q '"seconds_per_iteration"' "$tmp/all.json"

expect 2 'needs a CONFIG' -- "$CLI" bench
expect 2 '\-\-iters needs an integer' -- "$CLI" bench configs/tiny.json --iters 0
expect 2 '\-\-warmup needs an integer' -- "$CLI" bench configs/tiny.json --warmup -1
expect 2 'unknown or incomplete option' -- "$CLI" bench configs/tiny.json --frob
expect 2 'neither a device index nor "all"' -- "$CLI" --device fast bench configs/tiny.json
expect 2 'the devices are' -- "$CLI" --device 99 bench configs/tiny.json
expect 1 'missing\.json' -- "$CLI" bench "$tmp/missing.json"
printf '{"mode": "descriptor", "descriptor": {"chain_init": "noise"}, "data": {"kind": "synthetic"}}' > "$tmp/mode.json"
expect 2 'mode\.json.*coop' -- "$CLI" bench "$tmp/mode.json"
printf '{"data": {"kind": "synthetic", "limit": 10}}' > "$tmp/small.json"
expect 2 'small\.json.*batch_size' -- "$CLI" bench "$tmp/small.json"
expect 1 'cannot write .*nothere/b\.json' -- "$CLI" bench configs/tiny.json --json "$tmp/nothere/b.json"

summary
