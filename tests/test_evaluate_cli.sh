#!/usr/bin/env bash
# train-classifier and evaluate end to end on a tiny model (16×16 Fashion-MNIST classifier from a
# few hundred images, --force), and each bad input ending with a clear message and exit code.
# evaluate --generated (images made elsewhere, e.g. by the PyTorch peer) scores by the same code: a
# checkpoint's samples written with --save-samples score exactly as the checkpoint did, real
# training images score exactly the real-data floor, and noise far above it.
set -u
CLI=${1:?usage: test_evaluate_cli.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_evaluate.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"
FM=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

expect 2 'expected an IDX training images file' -- "$CLI" train-classifier --data "$tmp/pics.png" --out "$tmp/c.cncl"
expect 2 '\-\-epochs needs an integer >= 1' -- "$CLI" train-classifier --epochs 0
expect 2 'unknown or incomplete option' -- "$CLI" train-classifier --bogus
expect 1 'below 90%.*not saved' -- "$CLI" train-classifier --size 16 --limit 100 --epochs 1 --out "$tmp/low.cncl"
check "a classifier below 90% is not written" test ! -e "$tmp/low.cncl"
expect 0 'wrote .*c\.cncl' -- "$CLI" train-classifier --size 16 --limit 300 --epochs 1 --force --out "$tmp/c.cncl"

expect 0 '.*' -- "$CLI" --quiet train configs/tiny.json --iters 10 --out "$tmp/run"
check "the tiny run wrote a checkpoint" compgen -G "$tmp/run/checkpoints/ckpt-*.cnck"
expect 2 'needs a checkpoint' -- "$CLI" evaluate
expect 2 'pass --data' -- "$CLI" evaluate "$tmp/run" --classifier "$tmp/c.cncl"
expect 1 'nosuch\.cncl.*train-classifier' -- "$CLI" evaluate "$tmp/run" --data "$FM" --classifier "$tmp/nosuch.cncl"
head -c 40 "$tmp/c.cncl" > "$tmp/cut.cncl"
expect 2 'cut\.cncl.*(truncated|not a classifier)' -- "$CLI" evaluate "$tmp/run" --data "$FM" --classifier "$tmp/cut.cncl"
expect 0 'wrote .*c12\.cncl' -- "$CLI" train-classifier --size 12 --limit 20 --epochs 1 --force --out "$tmp/c12.cncl"
expect 2 'c12\.cncl takes 12x12 images.*model makes 16x16' -- \
  "$CLI" evaluate "$tmp/run" --data "$FM" --classifier "$tmp/c12.cncl"
expect 0 'generated +samples: FD .*real floor.*IS' -- "$CLI" evaluate "$tmp/run" --data "$FM" --classifier "$tmp/c.cncl" \
  --count 150 --out "$tmp/e.json"
check "evaluation JSON has the scores and the floor" grep -q '"fd_train_vs_test"' "$tmp/e.json"
check "evaluation JSON has the descriptor scores" grep -q '"f_revised"' "$tmp/e.json"

# json_number FILE KEY: the number a key holds in evaluate's JSON
json_number() { sed -n "s/.*\"$2\":[[:space:]]*\([-0-9.eE+]*\).*/\1/p" "$1" | head -1; }
same() { [ -n "$2" ] && [ "$1" = "$2" ]; }
differ() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" != "$2" ]; }
above() { awk -v a="$1" -v b="$2" -v k="$3" 'BEGIN { exit !(a != "" && b != "" && a > k * b) }'; } # A > K·B

expect 0 'revised +samples: FD' -- "$CLI" evaluate "$tmp/run" --data "$FM" --classifier "$tmp/c.cncl" --count 150 \
  --revision-steps 2 --save-samples "$tmp/s" --out "$tmp/r2.json"
check "the JSON names the revision steps" grep -q '"revision_steps":[[:space:]]*2' "$tmp/r2.json"
check "the generated samples do not depend on the revision steps" \
  same "$(json_number "$tmp/e.json" fd_generated)" "$(json_number "$tmp/r2.json" fd_generated)"
check "2 revision steps score apart from the config's 5" \
  differ "$(json_number "$tmp/e.json" fd_revised)" "$(json_number "$tmp/r2.json" fd_revised)"
expect 0 'wrote .*files\.json' -- "$CLI" evaluate --generated "$tmp/s-generated.idx" --revised "$tmp/s-revised.idx" \
  --data "$FM" --classifier "$tmp/c.cncl" --out "$tmp/files.json"
for key in fd_generated fd_revised is_generated is_revised fd_train_vs_test; do
  check "the saved samples score as the checkpoint did: $key" \
    same "$(json_number "$tmp/r2.json" $key)" "$(json_number "$tmp/files.json" $key)"
done

# 28×28 files: real training images, and noise (deterministic bytes), as unsigned-byte IDX
expect 0 'wrote .*c28\.cncl' -- "$CLI" train-classifier --size 28 --limit 300 --epochs 1 --force --out "$tmp/c28.cncl"
{ printf '\x00\x00\x08\x03\x00\x00\x00\x96\x00\x00\x00\x1c\x00\x00\x00\x1c'
  LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 150 * 784; i++) printf "%c", int(rand() * 256) }'; } > "$tmp/noise.idx"
expect 0 'generated +samples: FD' -- "$CLI" evaluate --generated "$FM" --classifier "$tmp/c28.cncl" --count 150 \
  --out "$tmp/real.json"
check "real training images score exactly the real-data floor" \
  same "$(json_number "$tmp/real.json" fd_generated)" "$(json_number "$tmp/real.json" fd_train_vs_test)"
expect 0 'generated +samples: FD' -- "$CLI" evaluate --generated "$tmp/noise.idx" --classifier "$tmp/c28.cncl" \
  --out "$tmp/noise.json"
check "noise scores 10 times the floor or more" \
  above "$(json_number "$tmp/noise.json" fd_generated)" "$(json_number "$tmp/real.json" fd_train_vs_test)" 10
check "noise was scored on all 150 images" same 150 "$(json_number "$tmp/noise.json" count)"
expect 2 's-generated\.idx: images are 16x16 .* classifier takes 28x28' -- \
  "$CLI" evaluate --generated "$tmp/s-generated.idx" --classifier "$tmp/c28.cncl"
expect 2 'noise\.idx: 150 images, fewer than the 200' -- \
  "$CLI" evaluate --generated "$tmp/noise.idx" --count 200 --classifier "$tmp/c28.cncl"
expect 2 'c\.cncl is not an IDX file' -- "$CLI" evaluate --generated "$tmp/c.cncl" --classifier "$tmp/c28.cncl"
expect 1 'nosuch\.idx: No such file' -- "$CLI" evaluate --generated "$tmp/nosuch.idx" --classifier "$tmp/c28.cncl"
expect 2 'not both' -- "$CLI" evaluate "$tmp/run" --generated "$tmp/noise.idx"
expect 2 '\-\-revised needs \-\-generated' -- "$CLI" evaluate --revised "$tmp/noise.idx"
expect 2 'need a checkpoint' -- "$CLI" evaluate --generated "$tmp/noise.idx" --revision-steps 3
expect 2 '\-\-revision-steps needs an integer >= 1' -- "$CLI" evaluate "$tmp/run" --revision-steps 0
summary
