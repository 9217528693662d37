#!/usr/bin/env bash
# The seed spread of issue 14: configs/fashion_mnist.json trained for --iters iterations (600) with
# seeds 1 2 3 by coopnets_cl (RUNS/ours-S) and by the PyTorch peer (benchmarks/train_torch.py,
# RUNS/torch-S), each scored by `coopnets_cl evaluate` with the same classifier, sample count,
# sample seed and 10 descriptor revision steps: the peer's samples through --generated/--revised,
# which score exactly as a checkpoint's own (tests/test_evaluate_cli.sh). Writes
# RESULTS/SEED_SPREAD.md and RESULTS/seed_spread.json (benchmarks/seed_spread_report.py).
#
# Every step skips what is done and resumes what is not: run the script again after a break (a
# session's end, SIGINT, a crash) and it continues from the runs' checkpoints. The runs live
# outside the checkout. Both trainers stop at a checkpoint on SIGINT/SIGTERM.
#
# usage: benchmarks/seed_spread.sh [--iters N] [--runs DIR] [--seeds "1 2 3"] [--count C]
#                                  [--classifier FILE] [--results DIR] [--threads T]
#   --iters N          iterations per run (default 600)
#   --runs DIR         the runs folder (default /work/runs/seed-spread)
#   --seeds LIST       (default "1 2 3")
#   --count C          samples scored per run, and real images per split (default 2000)
#   --classifier FILE  (default RUNS/classifier.cncl, trained here when missing: ~4 epochs)
#   --results DIR      where the table goes (default benchmarks/results)
#   --threads T        the PyTorch trainer's threads (default 1)
# Environment: CLI (default build/coopnets_cl), POCL_CACHE_DIR (default ~/.cache/pocl/kcache).
set -euo pipefail
cd "$(dirname "$0")/.."
iters=600 runs=/work/runs/seed-spread seeds="1 2 3" count=2000 classifier= results=benchmarks/results threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --iters|--runs|--seeds|--count|--classifier|--results|--threads)
      [ $# -ge 2 ] || { echo "seed_spread.sh: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"; shift 2 ;;
    *) echo "seed_spread.sh: unknown option $1 (see the comment atop $0)" >&2; exit 2 ;;
  esac
done
for n in "$iters" "$count" "$threads"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "seed_spread.sh: '$n' is not a positive integer" >&2; exit 2; }
done
CLI=${CLI:-build/coopnets_cl}
PY=/usr/bin/python3 # Debian's python3-torch belongs to the system Python
CONFIG=configs/fashion_mnist.json
STEPS=10 SAMPLE_SEED=1
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
[ -x "$CLI" ] || { echo "seed_spread.sh: $CLI is missing: build first (cmake --build build)" >&2; exit 2; }
$PY -c 'import torch, numpy' 2>/dev/null || { echo "seed_spread.sh: $PY lacks torch or numpy (tools/setup.sh)" >&2; exit 2; }
mkdir -p "$runs/eval" "$results"
classifier=${classifier:-$runs/classifier.cncl}
say() { echo "=== $(date -u +%H:%M:%S) $*"; }

# The iteration of a coopnets_cl run folder's newest checkpoint (0: none).
ours_iteration() {
  local newest
  newest=$(ls "$1"/checkpoints/ckpt-*.cnck 2>/dev/null | sort | tail -1)
  [ -n "$newest" ] || { echo 0; return; }
  newest=${newest##*/ckpt-}; echo $((10#${newest%.cnck}))
}

if [ ! -s "$classifier" ]; then
  say "training the classifier $classifier"
  nice -n 10 "$CLI" train-classifier --out "$classifier" 2>&1 | tee -a "$runs/classifier.log"
fi

for s in $seeds; do
  run=$runs/ours-$s
  at=$(ours_iteration "$run")
  if [ "$at" -ge "$iters" ]; then
    say "ours-$s: done ($at iterations)"
  elif [ "$at" -gt 0 ]; then
    say "ours-$s: resuming at iteration $at of $iters (log $run.log)"
    nice -n 10 "$CLI" train --resume "$run" --iters "$iters" >> "$run.log" 2>&1
  else
    say "ours-$s: training $iters iterations (log $run.log)"
    nice -n 10 "$CLI" train "$CONFIG" --out "$run" --iters "$iters" --set seed="$s" >> "$run.log" 2>&1
  fi
  tail -n 3 "$run.log" | sed 's/^/    /'

  # The peer takes the resolved config coopnets_cl wrote (the presets' layers spelled out).
  run=$runs/torch-$s
  say "torch-$s: training or resuming to $iters iterations (log $run.log)"
  nice -n 10 $PY benchmarks/train_torch.py "$runs/ours-$s/config.json" --out "$run" --iters "$iters" --seed "$s" \
    --resume --threads "$threads" --samples "$count" --revision-steps "$STEPS" --sample-seed "$SAMPLE_SEED" \
    >> "$run.log" 2>&1
  tail -n 2 "$run.log" | sed 's/^/    /'
done

# Scores: redone when the run has changed since.
for s in $seeds; do
  for impl in ours torch; do
    run=$runs/$impl-$s out=$runs/eval/$impl-$s.json
    if [ $impl = ours ]; then
      newest=$(ls "$run"/checkpoints/ckpt-*.cnck | sort | tail -1)
      source=("$newest" --seed "$SAMPLE_SEED" --revision-steps "$STEPS" --save-samples "$run/samples")
    else
      newest=$run/samples.json
      source=(--generated "$run/samples-generated.idx" --revised "$run/samples-revised.idx")
    fi
    if [ -s "$out" ] && [ "$out" -nt "$newest" ]; then
      say "$impl-$s: scored already ($out)"
      continue
    fi
    say "$impl-$s: scoring"
    nice -n 10 "$CLI" evaluate "${source[@]}" --count "$count" --classifier "$classifier" --out "$out" \
      > "$runs/eval/$impl-$s.log" 2>&1 || { cat "$runs/eval/$impl-$s.log"; exit 1; }
    grep -E 'samples: FD' "$runs/eval/$impl-$s.log" | sed 's/^/    /'
  done
done

$PY benchmarks/seed_spread_report.py --runs "$runs" --seeds "$seeds" --iters "$iters" \
  --md "$results/SEED_SPREAD.md" --json "$results/seed_spread.json"
