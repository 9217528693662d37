#!/usr/bin/env bash
# Texture synthesis of issue 14: configs/texture.json trained on scikit-image's brick, grass and
# gravel (RUNS/texture-NAME), each scored by `coopnets_cl evaluate` from its newest checkpoint with
# the same sample count and seed (not a copy, same statistics, diversity: README "Texture
# synthesis"), and the table RESULTS/TEXTURE.md with each run's newest sample strip beside it
# (benchmarks/texture_report.py).
#
# Every step skips what is done and resumes what is not: run the script again after a break and it
# continues from the runs' checkpoints (outside the checkout). --score-only scores the runs as far
# as they got without training further, e.g. while they still train in another process.
#
# usage: benchmarks/texture_runs.sh [--iters N] [--runs DIR] [--textures "brick grass gravel"]
#                                   [--config FILE] [--config-for NAME=FILE ...] [--count C]
#                                   [--results DIR] [--score-only]
#   --iters N        iterations per texture (default: the config's training.iterations)
#   --runs DIR       the runs folder (default /work/runs/textures)
#   --textures LIST  scikit-image texture names under DATA/skimage (default "brick grass gravel")
#   --config FILE    (default configs/texture.json)
#   --config-for NAME=FILE
#                    texture NAME's own config instead (repeatable), e.g. the README's choice per
#                    texture: --config configs/texture_latent8_k4.json
#                    --config-for brick=configs/texture_latent8.json
#   --count C        samples scored per texture (default 8)
#   --results DIR    where the table and strips go (default benchmarks/results)
# Environment: CLI (default build/coopnets_cl), POCL_CACHE_DIR (default ~/.cache/pocl/kcache),
# DATA (default ~/.local/share/coopnets_cl/data, where tools/fetch_data.sh puts the images).
set -euo pipefail
cd "$(dirname "$0")/.."
iters= runs=/work/runs/textures textures="brick grass gravel" config=configs/texture.json count=8
results=benchmarks/results score_only=0
declare -A config_for=()
while [ $# -gt 0 ]; do
  case "$1" in
    --iters|--runs|--textures|--config|--count|--results)
      [ $# -ge 2 ] || { echo "texture_runs.sh: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"; shift 2 ;;
    --config-for)
      [ $# -ge 2 ] && [[ "$2" == ?*=?* ]] || { echo "texture_runs.sh: --config-for needs NAME=FILE" >&2; exit 2; }
      config_for[${2%%=*}]=${2#*=}; shift 2 ;;
    --score-only) score_only=1; shift ;;
    *) echo "texture_runs.sh: unknown option $1 (see the comment atop $0)" >&2; exit 2 ;;
  esac
done
for n in ${iters:+"$iters"} "$count"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "texture_runs.sh: '$n' is not a positive integer" >&2; exit 2; }
done
CLI=${CLI:-build/coopnets_cl}
DATA=${DATA:-$HOME/.local/share/coopnets_cl/data}
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
[ -x "$CLI" ] || { echo "texture_runs.sh: $CLI is missing: build first (cmake --build build)" >&2; exit 2; }
config_of() { echo "${config_for[$1]:-$config}"; }
for t in "${!config_for[@]}"; do
  [[ " $textures " == *" $t "* ]] || { echo "texture_runs.sh: --config-for $t: not among the textures ($textures)" >&2; exit 2; }
done
for t in $textures; do
  [ -f "$(config_of "$t")" ] || { echo "texture_runs.sh: no config $(config_of "$t") (for $t)" >&2; exit 2; }
  [ -f "$DATA/skimage/$t.png" ] || { echo "texture_runs.sh: $DATA/skimage/$t.png is missing (tools/fetch_data.sh)" >&2; exit 2; }
done
mkdir -p "$runs/eval" "$results"
say() { echo "=== $(date -u +%H:%M:%S) $*"; }
newest_checkpoint() { ls "$1"/checkpoints/ckpt-*.cnck 2>/dev/null | sort | tail -1 || true; } # none: empty (pipefail)

if [ $score_only = 0 ]; then
  for t in $textures; do
    run=$runs/texture-$t
    if [ -n "$(newest_checkpoint "$run")" ]; then
      say "texture-$t: resuming (log $run.log)"
      nice -n 10 "$CLI" train --resume "$run" ${iters:+--iters "$iters"} >> "$run.log" 2>&1
    else
      say "texture-$t: training $(config_of "$t") (log $run.log)"
      nice -n 10 "$CLI" train "$(config_of "$t")" --out "$run" ${iters:+--iters "$iters"} \
        --set data.path="$DATA/skimage/$t.png" >> "$run.log" 2>&1
    fi
    tail -n 2 "$run.log" | sed 's/^/    /'
  done
fi

# Scores: redone when the run has a newer checkpoint since.
for t in $textures; do
  run=$runs/texture-$t out=$runs/eval/texture-$t.json
  newest=$(newest_checkpoint "$run")
  [ -n "$newest" ] || { echo "texture_runs.sh: $run has no checkpoint yet" >&2; exit 1; }
  if [ -s "$out" ] && [ "$out" -nt "$newest" ]; then
    say "texture-$t: scored already ($out)"
  else
    say "texture-$t: scoring $newest"
    nice -n 10 "$CLI" evaluate "$newest" --count "$count" --seed 1 --out "$out" \
      > "$runs/eval/texture-$t.log" 2>&1 || { cat "$runs/eval/texture-$t.log"; exit 1; }
  fi
  # The strip the run wrote at (or last before) the scored checkpoint: observed, then revised chains.
  iteration=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["iteration"])' "$out")
  strip=$(ls "$run"/samples/texture-*.png | awk -F'texture-' -v it="$iteration" \
            '{ n = $NF; sub(/\.png$/, "", n); if (n + 0 <= it) best = $0 } END { print best }')
  [ -n "$strip" ] && cp "$strip" "$results/texture_$t.png"
done

python3 benchmarks/texture_report.py --runs "$runs" --textures "$textures" --md "$results/TEXTURE.md"
