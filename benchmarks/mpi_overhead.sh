#!/usr/bin/env bash
# The cost of data parallelism on one host, where more ranks cannot mean more cores: 2 ranks with
# one PoCL thread each against 1 rank with two threads, on the same config, and the floor without
# MPI (two plain processes side by side, each half the batch and chains, one thread each). The
# three run in turn, REPEATS rounds, because a 2-vCPU machine's speed drifts between minutes; the
# overhead reported is the median of the rounds' own ratios. Writes benchmarks/results/mpi_overhead.md
# (and the last round's two bench JSON files).
#
#   bash benchmarks/mpi_overhead.sh [CONFIG]   (default benchmarks/mnist28.json)
#
# Environment: BUILD_DIR (default build), ITERS/WARMUP (default 5/1), REPEATS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-benchmarks/mnist28.json}
BUILD_DIR=${BUILD_DIR:-build}
ITERS=${ITERS:-5} WARMUP=${WARMUP:-1} REPEATS=${REPEATS:-3}
OUT=benchmarks/results
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
name=$(basename "$CONFIG" .json)
MPI=(mpirun --oversubscribe --bind-to none -n 2 -x POCL_MAX_PTHREAD_COUNT=1 -x POCL_CACHE_DIR)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
mkdir -p "$OUT"
tmp=$(mktemp -d /tmp/cn_mpi_overhead.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); t=c['training']; t['batch_size']//=2; t['chains']//=2
json.dump(c, open(sys.argv[2], 'w'))" "$CONFIG" "$tmp/half.json"
for round in $(seq 1 "$REPEATS"); do
  echo "== round $round: 1 rank, 2 threads"
  POCL_MAX_PTHREAD_COUNT=2 "$BUILD_DIR/coopnets_cl" bench "$CONFIG" --iters "$ITERS" --warmup "$WARMUP" \
    --json "$tmp/one-$round.json" | tee "$OUT/$name-1rank.log"
  echo "== round $round: 2 ranks, 1 thread each"
  "${MPI[@]}" "$BUILD_DIR/coopnets_cl" bench "$CONFIG" --iters "$ITERS" --warmup "$WARMUP" \
    --json "$tmp/two-$round.json" | tee "$OUT/$name-2ranks.log"
  echo "== round $round: the floor without MPI"
  for k in 1 2; do
    POCL_MAX_PTHREAD_COUNT=1 "$BUILD_DIR/coopnets_cl" --quiet train "$tmp/half.json" --out "$tmp/half$round-$k" \
      --iters $((ITERS + WARMUP + 1)) --set training.log_every=1 --set training.sample_every=0 \
      --set training.checkpoint_every=0 --set training.tensorboard=false &
  done
  wait
done
cp "$tmp/one-$REPEATS.json" "$OUT/$name-1rank.json"
cp "$tmp/two-$REPEATS.json" "$OUT/$name-2ranks.json"
python3 - "$OUT" "$name" "$CONFIG" "$tmp" "$((WARMUP + 1))" "$REPEATS" <<'PY'
import json, os, sys, datetime, statistics
out, name, config, tmp, skip, repeats = sys.argv[1:7]
def floor(round_, k):  # the median seconds per iteration after the first `skip` of a plain half-batch process
    rows = [json.loads(l) for l in open(os.path.join(tmp, f"half{round_}-{k}", "metrics.jsonl")) if '"event"' not in l]
    return statistics.median(r["seconds_per_iteration"] for r in rows[int(skip):])
rounds = []
for r in range(1, int(repeats) + 1):
    one = json.load(open(os.path.join(tmp, f"one-{r}.json")))
    two = json.load(open(os.path.join(tmp, f"two-{r}.json")))
    t1 = one["median_seconds"] if "median_seconds" in one else one["seconds_per_iteration"]["median"]
    rounds.append(dict(t1=t1, t2=two["seconds_per_iteration"], floor=max(floor(r, 1), floor(r, 2)), two=two))
med = lambda key: statistics.median(x[key] for x in rounds)
overhead = statistics.median(x["t2"] / x["t1"] - 1 for x in rounds)
over_floor = statistics.median(x["t2"] / x["floor"] - 1 for x in rounds)
two = sorted(rounds, key=lambda x: x["t2"] / x["t1"])[len(rounds) // 2]["two"]  # the median round's breakdown
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
md = [f"# Two ranks on one host: the cost of data parallelism ({config})", "",
      f"{datetime.date.today()}, {cpu}, {os.cpu_count()} vCPUs, PoCL; `bash benchmarks/mpi_overhead.sh {config}`:",
      f"{repeats} rounds, each running the three set-ups in turn; seconds per iteration.", "",
      "| round | 1 rank, 2 PoCL threads | 2 ranks (`mpirun -n 2 --bind-to none`), 1 PoCL thread each | overhead | "
      "floor: 2 plain processes, each half the batch, 1 thread | 2 ranks against the floor |",
      "|---|---|---|---|---|---|"]
for i, x in enumerate(rounds, 1):
    md.append(f"| {i} | {x['t1']:.3f} | {x['t2']:.3f} | {100 * (x['t2'] / x['t1'] - 1):+.1f}% | {x['floor']:.3f} | "
              f"{100 * (x['t2'] / x['floor'] - 1):+.1f}% |")
md += [f"| **median** | {med('t1'):.3f} | {med('t2'):.3f} | **{100 * overhead:+.1f}%** (goal: at most +10%) | "
       f"{med('floor'):.3f} | {100 * over_floor:+.1f}% |", "",
       f"In the median round, {100 * two['collective_share']:.1f}% of the 2-rank iteration is host time in collectives "
       f"(waiting for the data and for the slower rank), {100 * two['batchnorm_share']:.1f}% of it in synchronised batch norm "
       f"({two['batchnorm_collectives_per_iteration']:.0f} collectives per iteration); each rank sends "
       f"{two['bytes_sent_per_iteration'] / 1e6:.1f} MB per iteration. That job's R = 1 baseline (rank 0 alone, one "
       f"thread) took {two['seconds_per_iteration_one_rank']:.3f} s: speed-up {two['speedup']:.2f} with 2 ranks of one "
       "thread each.", ""]
open(os.path.join(out, "mpi_overhead.md"), "w").write("\n".join(md))
print("\n".join(md))
PY
