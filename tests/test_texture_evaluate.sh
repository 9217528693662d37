#!/usr/bin/env bash
# evaluate on a texture model end to end: a tiny texture run (tiny.json's nets on one 16×16 image),
# then the numbers of cn_texture_stats on its samples, in the output and the JSON, and the
# errors of a texture model whose image is gone.
set -u
CLI=${1:?usage: test_texture_evaluate.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_texture.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"

# The "photograph": a grid of a tiny model's samples (a PNG this program writes).
expect 0 '.*' -- "$CLI" --quiet train configs/tiny.json --iters 2 --out "$tmp/run"
expect 0 'wrote .*photo\.png' -- "$CLI" sample "$tmp/run" --count 16 --out "$tmp/photo.png"
expect 0 'iter +4/4' -- "$CLI" train configs/tiny.json --iters 4 --out "$tmp/tex" --set data.kind=texture \
  --set data.path="$tmp/photo.png" --set training.batch_size=1 --set training.log_every=1

expect 0 'wrote .*t\.json' -- "$CLI" evaluate "$tmp/tex" --count 6 --out "$tmp/t.json"
"$CLI" evaluate "$tmp/tex" --count 6 --out "$tmp/again.json" > "$tmp/out.txt" 2>&1
for line in '^not a copy' '^  real_crops .*the photograph.s halves' '^  real_elsewhere .*elsewhere in itself' '^same statistics' '^  phase_randomised .*ceiling' \
  '^  noise .*ceiling' '^diversity' '^  revised ' '^revised by [0-9]+ Langevin steps of ' '^sharpness: mean \|Laplacian\|' '^  observed .*the photograph.s' \
  '^lattice: not measured \(a 1x1 latent map'; do
  check "evaluate prints /$line/" grep -qE -- "$line" "$tmp/out.txt"
done
check "the same seed, the same numbers" cmp -s <(grep -v '"checkpoint"' "$tmp/t.json") <(grep -v '"checkpoint"' "$tmp/again.json")
for key in '"not_a_copy"' '"statistics"' '"diversity"' '"sharpness"' '"observed"' '"revision_steps"' '"revision_step_size"' '"real_crops"' '"real_elsewhere"' '"phase_randomised"' '"noise"' '"revised"'; do
  check "texture evaluation JSON has $key" grep -q "$key" "$tmp/t.json"
done
check "6 samples: 3 pairs for diversity" grep -q '"count":[[:space:]]*3' "$tmp/t.json"
check "no classifier is asked for" test ! -e "$tmp/classifier.cncl"
expect 2 '\-\-count needs an integer >= 2' -- "$CLI" evaluate "$tmp/tex" --count 1

rm "$tmp/photo.png"
expect 1 'photo\.png' -- "$CLI" evaluate "$tmp/tex" --count 2 --out "$tmp/u.json"
check "a failed evaluation writes no JSON" test ! -e "$tmp/u.json"
summary
