#!/usr/bin/env bash
# train-classifier and evaluate end to end on a tiny model (16×16 Fashion-MNIST classifier from a
# few hundred images, --force), and each bad input ending with a clear message and exit code.
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
summary
