#!/usr/bin/env bash
# The paper's completion claim at equal iterations (issue 14): configs/fashion_mnist.json trained
# as CoopNets (RUNS/coop) and as the generator alone (Algorithm G, RUNS/generator, 30 inference
# steps a batch), both seed 1, each stopped at every iteration of --at in turn and asked to complete
# the same test images under the same masks (`coopnets_cl complete CKPT --mask M --count C`, seed 1,
# 100 inference steps). Writes RESULTS/COMPLETION.md (benchmarks/completion_report.py) and the
# completion figures of the last iteration.
#
# Every step skips what is done and resumes what is not: run the script again after a break and it
# continues from the runs' checkpoints (outside the checkout). A CoopNets run of seed 1 trained
# elsewhere with the same config (benchmarks/seed_spread.sh's RUNS/ours-1) may be copied to
# RUNS/coop: resume is exact, so it continues as this script would have trained it.
#
# usage: benchmarks/completion_runs.sh [--at "300 600 900 1200"] [--runs DIR] [--masks LIST]
#                                      [--count C] [--results DIR]
#   --at LIST      the iterations where both are compared (default "300 600 900 1200")
#   --runs DIR     the runs folder (default /work/runs/completion)
#   --masks LIST   (default "square:12"; e.g. "square:8 square:12 square:16 random:0.5")
#   --count C      test images completed (default 500)
#   --results DIR  where the table goes (default benchmarks/results)
# Environment: CLI (default build/coopnets_cl), POCL_CACHE_DIR (default ~/.cache/pocl/kcache).
set -euo pipefail
cd "$(dirname "$0")/.."
at="300 600 900 1200" runs=/work/runs/completion masks="square:12" count=500 results=benchmarks/results
while [ $# -gt 0 ]; do
  case "$1" in
    --at|--runs|--masks|--count|--results)
      [ $# -ge 2 ] || { echo "completion_runs.sh: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"; shift 2 ;;
    *) echo "completion_runs.sh: unknown option $1 (see the comment atop $0)" >&2; exit 2 ;;
  esac
done
for n in $at "$count"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "completion_runs.sh: '$n' is not a positive integer" >&2; exit 2; }
done
CLI=${CLI:-build/coopnets_cl}
CONFIG=configs/fashion_mnist.json
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
[ -x "$CLI" ] || { echo "completion_runs.sh: $CLI is missing: build first (cmake --build build)" >&2; exit 2; }
mkdir -p "$runs/scores" "$results"
say() { echo "=== $(date -u +%H:%M:%S) $*"; }
checkpoint_at() { printf '%s/checkpoints/ckpt-%06d.cnck' "$1" "$2"; }

declare -A extra=([coop]="" [generator]="--set mode=generator --set generator.langevin.steps=30")
for it in $at; do
  for kind in coop generator; do
    run=$runs/$kind
    done_all=1
    for m in $masks; do [ -s "$runs/scores/$kind-$it-${m/:/}.json" ] || done_all=0; done
    [ $done_all = 1 ] && { say "$kind at $it: completed already"; continue; }
    if [ ! -f "$(checkpoint_at "$run" "$it")" ]; then
      if ls "$run"/checkpoints/ckpt-*.cnck >/dev/null 2>&1; then
        say "$kind: resuming to iteration $it (log $run.log)"
        nice -n 10 "$CLI" train --resume "$run" --iters "$it" >> "$run.log" 2>&1
      else
        say "$kind: training to iteration $it (log $run.log)"
        # shellcheck disable=SC2086
        nice -n 10 "$CLI" train "$CONFIG" --out "$run" --iters "$it" --set seed=1 ${extra[$kind]} >> "$run.log" 2>&1
      fi
      [ -f "$(checkpoint_at "$run" "$it")" ] || { echo "completion_runs.sh: $run has no checkpoint at $it" >&2; exit 1; }
    fi
    for m in $masks; do
      out=$runs/scores/$kind-$it-${m/:/}
      say "$kind at $it: completing $count images, mask $m"
      nice -n 10 "$CLI" complete "$(checkpoint_at "$run" "$it")" --mask "$m" --count "$count" --seed 1 \
        --out "$out" > "$out.log" 2>&1 || { cat "$out.log"; exit 1; }
      cp "$out/completion.json" "$out.json"
    done
  done
done

last=${at##* } first_mask=${masks%% *}
for kind in coop generator; do
  cp "$runs/scores/$kind-$last-${first_mask/:/}/completion.png" "$results/completion_${kind}_$last.png"
done
python3 benchmarks/completion_report.py --scores "$runs/scores" --at "$at" --masks "$masks" \
  --md "$results/COMPLETION.md"
