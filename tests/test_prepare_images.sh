#!/usr/bin/env bash
# tools/prepare_images.sh: a folder of PNGs goes straight to `coopnets_cl prepare`; other formats are
# converted by ImageMagick's `convert` first, category sub-folders kept, the staging folder removed;
# without `convert` it says which package to install. ImageMagick itself is not needed: a stand-in
# `convert` on PATH copies the file (the test's "JPEGs" hold PNG bytes), so the script's own work
# is what is checked.
set -u
CLI=${1:?usage: test_prepare_images.sh PATH/TO/coopnets_cl}
script=$CN_SOURCE_DIR/tools/prepare_images.sh
tmp=$(mktemp -d /tmp/cn_test_prepare_images.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"
export COOPNETS_CL=$CLI TMPDIR=$tmp/scratch
mkdir -p "$TMPDIR"

png_shape() { od -An -tu1 -j16 -N10 "$1" | awk '{print $3*256+$4 "x" $7*256+$8 " type " $10}'; }

# a 3x2 grid of 16x16 shapes: 56x38, from a one-iteration tiny model
expect 0 'iter +1/1' -- "$CLI" train configs/tiny.json --iters 1 --out "$tmp/run"
expect 0 'wrote' -- "$CLI" sample "$tmp/run" --count 6 --out "$tmp/grid.png"

mkdir -p "$tmp/png/cats" "$tmp/mixed/cats" "$tmp/mixed/dogs" "$tmp/bin"
cp "$tmp/grid.png" "$tmp/png/cats/a.png"
expect 0 'prepared 1 images .*12x12' -- bash "$script" "$tmp/png" "$tmp/out_png" --size 12 --channels 1
check "PNG only: 12x12 gray" test "$(png_shape "$tmp/out_png/cats/a.png")" = "12x12 type 0"

cp "$tmp/grid.png" "$tmp/mixed/top.png"
cp "$tmp/grid.png" "$tmp/mixed/cats/b.JPG"
cp "$tmp/grid.png" "$tmp/mixed/dogs/c.jpeg"
printf '#!/bin/sh\necho "convert $*" >> "%s/convert.log"\ncp "${1%%\\[0\\]}" "$2"\n' "$tmp" > "$tmp/bin/convert"
chmod +x "$tmp/bin/convert"
expect 0 'prepared 3 images .*20x20 RGB, 2 category folders' -- \
  env PATH="$tmp/bin:$PATH" bash "$script" "$tmp/mixed" "$tmp/out_mixed" --size 20 --crop 30
check "converted categories kept: cats/b.png, dogs/c.png" test -s "$tmp/out_mixed/cats/b.png" -a -s "$tmp/out_mixed/dogs/c.png"
check "the PNG passed through: top.png 20x20 RGB" test "$(png_shape "$tmp/out_mixed/top.png")" = "20x20 type 2"
check "convert asked for the first frame of each non-PNG only" test "$(grep -c '\[0\] ' "$tmp/convert.log")" = 2
check "the staging folder is removed" test -z "$(ls -A "$TMPDIR")"

# no convert on PATH: the error names the package; nothing is written
mkdir -p "$tmp/nobin"
for tool in find wc mktemp dirname tr; do ln -s "$(command -v $tool)" "$tmp/nobin/$tool"; done
expect 2 '2 images that are not PNG.*apt-get install imagemagick' -- \
  env PATH="$tmp/nobin" "$(command -v bash)" "$script" "$tmp/mixed" "$tmp/out_none"
check "nothing written without convert" test ! -e "$tmp/out_none"
expect 2 'is not a folder' -- bash "$script" "$tmp/nothere" "$tmp/out"
expect 2 'usage: tools/prepare_images.sh' -- bash "$script" "$tmp/png"
summary
