#!/usr/bin/env bash
# The cost of data parallelism on one host, where more ranks cannot mean more cores: 2 ranks with
# one PoCL thread each against 1 rank with two threads, on the same config, in one run. Writes
# benchmarks/results/mpi_overhead.md (and the two bench JSON files).
#
#   bash benchmarks/mpi_overhead.sh [CONFIG]   (default benchmarks/mnist28.json)
#
# Environment: BUILD_DIR (default build), ITERS/WARMUP (default 5/1).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-benchmarks/mnist28.json}
BUILD_DIR=${BUILD_DIR:-build}
ITERS=${ITERS:-5} WARMUP=${WARMUP:-1}
OUT=benchmarks/results
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
name=$(basename "$CONFIG" .json)
MPI=(mpirun --oversubscribe --bind-to none -n 2 -x POCL_MAX_PTHREAD_COUNT=1 -x POCL_CACHE_DIR)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
mkdir -p "$OUT"
echo "== 1 rank, 2 threads"
POCL_MAX_PTHREAD_COUNT=2 "$BUILD_DIR/coopnets_cl" bench "$CONFIG" --iters "$ITERS" --warmup "$WARMUP" \
  --json "$OUT/$name-1rank.json" | tee "$OUT/$name-1rank.log"
echo "== 2 ranks, 1 thread each"
"${MPI[@]}" "$BUILD_DIR/coopnets_cl" bench "$CONFIG" --iters "$ITERS" --warmup "$WARMUP" \
  --json "$OUT/$name-2ranks.json" | tee "$OUT/$name-2ranks.log"
echo "== the floor without MPI: two plain processes side by side, each half the batch and chains, one thread each"
tmp=$(mktemp -d /tmp/cn_mpi_overhead.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); t=c['training']; t['batch_size']//=2; t['chains']//=2
json.dump(c, open(sys.argv[2], 'w'))" "$CONFIG" "$tmp/half.json"
for k in 1 2; do
  POCL_MAX_PTHREAD_COUNT=1 "$BUILD_DIR/coopnets_cl" --quiet train "$tmp/half.json" --out "$tmp/half$k" \
    --iters $((ITERS + WARMUP + 1)) --set training.log_every=1 --set training.sample_every=0 \
    --set training.checkpoint_every=0 --set training.tensorboard=false &
done
wait
python3 - "$OUT" "$name" "$CONFIG" "$tmp" "$((WARMUP + 1))" <<'PY'
import json, os, platform, sys, datetime
out, name, config, tmp, skip = sys.argv[1:6]
def floor(k):  # the median seconds per iteration after the first `skip` of a plain half-batch process
    rows = [json.loads(l) for l in open(os.path.join(tmp, f"half{k}", "metrics.jsonl")) if '"event"' not in l]
    t = sorted(r["seconds_per_iteration"] for r in rows[int(skip):])
    return t[len(t) // 2]
t_floor = max(floor(1), floor(2))
one = json.load(open(os.path.join(out, f"{name}-1rank.json")))
two = json.load(open(os.path.join(out, f"{name}-2ranks.json")))
t1 = one["median_seconds"] if "median_seconds" in one else one["seconds_per_iteration"]["median"]
t2 = two["seconds_per_iteration"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
md = [f"# Two ranks on one host: the cost of data parallelism ({config})", "",
      f"{datetime.date.today()}, {cpu}, {os.cpu_count()} vCPUs, PoCL; `bash benchmarks/mpi_overhead.sh {config}`.", "",
      "| | seconds per iteration |", "|---|---|",
      f"| 1 rank, 2 PoCL threads | {t1:.3f} |",
      f"| 2 ranks (`mpirun -n 2 --bind-to none`), 1 PoCL thread each | {t2:.3f} |",
      f"| overhead of 2 ranks | **{100 * (t2 / t1 - 1):+.1f}%** (goal: at most +10%) |",
      f"| floor without MPI: 2 plain processes side by side, each half the batch, 1 thread | {t_floor:.3f} |",
      f"| 2 ranks against that floor | {100 * (t2 / t_floor - 1):+.1f}% |", "",
      f"Of the 2-rank iteration, {100 * two['collective_share']:.1f}% is host time in collectives (waiting for the",
      f"data and for the slower rank), {100 * two['batchnorm_share']:.1f}% of it in synchronised batch norm "
      f"({two['batchnorm_collectives_per_iteration']:.0f} collectives per iteration); each rank sends "
      f"{two['bytes_sent_per_iteration'] / 1e6:.1f} MB per iteration.",
      f"The same job's R = 1 baseline (rank 0 alone, one thread) took {two['seconds_per_iteration_one_rank']:.3f} s: "
      f"speed-up {two['speedup']:.2f} with 2 ranks of one thread each.", ""]
open(os.path.join(out, "mpi_overhead.md"), "w").write("\n".join(md))
print("\n".join(md))
PY
