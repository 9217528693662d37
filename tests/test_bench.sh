#!/usr/bin/env bash
# `coopnets_cl bench`: a short real run whose JSON has every required key, and bad input ending
# with a clear message and exit code 2 (1 for a file that cannot be written). No speed asserts.
set -u
CLI=${1:?usage: test_bench.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"

expect 0 'GFLOP/s measured .*FMA micro-kernel' -- "$CLI" bench configs/tiny.json --iters 2 --warmup 0 --sgemm 64 \
  --json "$tmp/bench.json"
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

# The measured peak and bandwidth are positive, and what the GEMMs achieve is a share of the peak. The
# margin allows for a shared machine: the peak and the kernels are timed at different moments.
peak_sane() {
  python3 - "$tmp/bench.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
p, of = r["peak"], r["of_peak"]
bad = []
def need(ok, what):
    if not ok:
        bad.append(what)
need(isinstance(p["gflops"], (int, float)) and p["gflops"] > 0, f"peak gflops {p['gflops']}")
need(isinstance(p["gbps"], (int, float)) and p["gbps"] > 0, f"peak gbps {p['gbps']}")
need("FMA micro-kernel" in p["gflops_how"] and "copy kernel" in p["gbps_how"], "how each was measured")
need(p["formula_gflops"] is None or p["formula_gflops"] > 0, f"formula {p['formula_gflops']}")
gemm = r["kernels"]["gemm"]["gflops"]
need(abs(of["gemm_gflops"] - gemm) <= 1e-6 * gemm, f"of_peak.gemm_gflops {of['gemm_gflops']} vs kernels {gemm}")
need(abs(of["gemm"] - gemm / p["gflops"]) <= 1e-6, f"of_peak.gemm {of['gemm']} vs {gemm} / {p['gflops']}")
for key in ("gemm", "sgemm_own"):
    need(0 < of[key] <= 1.5, f"of_peak.{key} {of[key]}: not a share of the peak")
need(abs(of["sgemm_own"] - r["sgemm"]["own_gflops"] / p["gflops"]) <= 1e-6, "of_peak.sgemm_own")
# (the lowering's buffers of a tiny net may sit in a cache, faster than the copy's memory: no cap)
need(of["lowering_gbps"] > 0 and abs(of["lowering"] - of["lowering_gbps"] / p["gbps"]) <= 1e-6,
     f"lowering {of['lowering_gbps']} GB/s, {of['lowering']} of {p['gbps']}")
print("\n".join(bad) or f"peak {p['gflops']:.1f} GFLOP/s, {p['gbps']:.1f} GB/s; GEMM {of['gemm']:.1%}, "
      f"SGEMM {of['sgemm_own']:.1%}, lowering {of['lowering']:.1%}")
sys.exit(1 if bad else 0)
EOF
}
check "the peak and bandwidth are measured and the achieved rates are shares of them" peak_sane

# --launches: the profiled iteration launch by launch; its rows add up to the JSON's families,
# launch counts included, and every step of the iteration has launches.
expect 0 'wrote .*launches\.csv' -- "$CLI" bench configs/tiny.json --iters 1 --warmup 0 \
  --json "$tmp/one.json" --launches "$tmp/launches.csv"
launches_sum() {
  python3 - "$tmp/one.json" "$tmp/launches.csv" <<'EOF'
import csv, json, sys
r = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
bad = []
if not rows or list(rows[0]) != ["device", "step", "kernel", "family", "seconds", "gflop", "megabytes",
                                 "gflops_per_second", "gbytes_per_second"]:
    bad.append(f"header or rows missing: {list(rows[0]) if rows else 'no rows'}")
for family, total in r["kernels"].items():
    mine = [x for x in rows if x["family"] == family]
    seconds = sum(float(x["seconds"]) for x in mine)
    if len(mine) != total["calls"] or abs(seconds - total["seconds"]) > 1e-6 + 1e-6 * total["seconds"]:
        bad.append(f"{family}: {len(mine)} launches, {seconds} s; the JSON: {total['calls']}, {total['seconds']} s")
for step in ("generate", "revise", "update_descriptor", "update_generator"):
    if not any(x["step"] == step for x in rows):
        bad.append(f"no launch in step {step}")
print("\n".join(bad) or f"{len(rows)} launches")
sys.exit(1 if bad else 0)
EOF
}
check "--launches: the rows add up to the JSON's kernel families" launches_sum

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
expect 1 'cannot write .*nothere/l\.csv' -- "$CLI" bench configs/tiny.json --launches "$tmp/nothere/l.csv"

summary
