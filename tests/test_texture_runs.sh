#!/usr/bin/env bash
# benchmarks/texture_runs.sh refuses bad options before it trains anything: --config-for without
# NAME=FILE, for a texture not asked for, or naming a missing file (exit 2, saying which); a good
# --config-for gets past the checks (then: no runs to score yet, exit 1). No training runs here.
set -u
CLI=${1:?usage: test_texture_runs.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_texture_runs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"
mkdir -p "$tmp/data/skimage"
for t in brick grass gravel; do : > "$tmp/data/skimage/$t.png"; done # the script checks they exist
run() { CLI="$CLI" DATA="$tmp/data" bash benchmarks/texture_runs.sh --runs "$tmp/runs" --results "$tmp/results" "$@"; }

expect 2 'config-for needs NAME=FILE' -- run --config-for brick
expect 2 'config-for needs NAME=FILE' -- run --config-for =configs/texture.json
expect 2 'config-for needs NAME=FILE' -- run --config-for
expect 2 'config-for foo: not among the textures \(brick grass gravel\)' -- run --config-for foo=configs/texture.json
expect 2 'config-for gravel: not among the textures \(brick\)' -- run --textures brick --config-for gravel=configs/texture.json
expect 2 'no config nothere\.json \(for brick\)' -- run --config-for brick=nothere.json
expect 1 'texture-brick has no checkpoint yet' -- run --score-only --textures brick --config-for brick=configs/texture_latent8.json
check "nothing trained" test ! -e "$tmp/runs/texture-brick"
summary
