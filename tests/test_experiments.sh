#!/usr/bin/env bash
# The experiment commands: training modes descriptor and generator, `complete` (pattern completion),
# `prepare` (image folders), `interpolate --spherical` — short real runs, and bad input ending with a
# clear message and exit code 2 (1 for a missing file).
set -u
CLI=${1:?usage: test_experiments.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_experiments.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"

# PNG width, height (IHDR, big-endian) and colour type (0 gray, 2 RGB)
png_shape() { od -An -tu1 -j16 -N10 "$1" | awk '{print $3*256+$4 "x" $7*256+$8 " type " $10}'; }

# ---- training modes ---------------------------------------------------------------------------
expect 0 'iter +6/6 .*L_D +- +L_G +[0-9.]+' -- "$CLI" train configs/tiny.json --iters 6 --out "$tmp/g" \
  --set mode=generator --set generator.optimizer.lr=0.003 --set training.log_every=3
expect 0 'resumed from .*ckpt-000006' -- "$CLI" train --resume "$tmp/g" --iters 12
expect 0 'iter +2/2 .*L_D +-?[0-9.e+]+ +L_G +- ' -- "$CLI" train configs/tiny.json --iters 2 --out "$tmp/d" \
  --set mode=descriptor --set descriptor.chain_init=persistent --set training.log_every=1
check "mode generator writes generator samples only" test -s "$tmp/g/samples/generated-000012.png" -a ! -e "$tmp/g/samples/revised-000012.png"
check "mode descriptor writes revised chains only" test -s "$tmp/d/samples/revised-000002.png" -a ! -e "$tmp/d/samples/generated-000002.png"
expect 2 'generator\.langevin\.steps must be >= 1 in mode "generator"' -- "$CLI" train configs/tiny.json \
  --set mode=generator --set generator.langevin.steps=0
expect 2 'chain_init "generator" needs mode "coop"' -- "$CLI" train configs/tiny.json --set mode=descriptor \
  --set descriptor.chain_init=generator
expect 0 'wrote .*i\.png' -- "$CLI" interpolate "$tmp/g" --rows 2 --cols 5 --spherical --out "$tmp/i.png"
expect 2 'mode "descriptor".*no generator' -- "$CLI" sample "$tmp/d" --count 4 --out "$tmp/s.png"
expect 2 'mode "generator".*no descriptor' -- "$CLI" sample "$tmp/g" --count 4 --langevin 2 --out "$tmp/s.png"

# ---- complete ---------------------------------------------------------------------------------
expect 0 'from fresh synthetic shapes \(seed 2; training used 1\) with square:5 masks, 5 Langevin steps' -- "$CLI" complete "$tmp/g" --mask square:5 --count 20 \
  --steps 5 --out "$tmp/c"
check "completion.png is 10 columns x 6 rows of 16x16 tiles" test "$(png_shape "$tmp/c/completion.png")" = "178x106 type 0"
for key in hidden_mean_abs_error hidden_psnr_db visible_mean_abs_error baseline_hidden_mean_abs_error baseline_hidden_psnr_db mask steps count checkpoint images; do
  check "completion.json has $key" grep -q "\"$key\":" "$tmp/c/completion.json"
done
check "completion.json: 20 images, 20*25 hidden values" grep -qE '"hidden_values":[[:space:]]*500,' "$tmp/c/completion.json"
check "completion.json: finite hidden error" grep -qE '"hidden_mean_abs_error":[[:space:]]*0\.[0-9]+' "$tmp/c/completion.json"
expect 0 'hidden pixels: mean \|error\| 0\.[0-9]+, PSNR [0-9.]+ dB \(images in \[0,1\]\); visible pixels' -- "$CLI" complete "$tmp/g" \
  --mask random:0.3 --count 4 --steps 2 --seed 9 --out "$tmp/c2"
expect 0 'square:7 masks, 100 Langevin' -- "$CLI" complete "$tmp/g" --count 1 --out "$tmp/c3"
for bad in square:0 square:16 square:x random:0 random:1.5 blob; do
  expect 2 "mask \"$bad\"" -- "$CLI" complete "$tmp/g" --mask "$bad" --out "$tmp/c4"
done
expect 2 '\-\-steps needs an integer >= 0' -- "$CLI" complete "$tmp/g" --steps -1
expect 2 '\-\-count needs an integer >= 1' -- "$CLI" complete "$tmp/g" --count 0
expect 2 '\-\-count needs' -- "$CLI" complete "$tmp/g" --count
expect 2 "unknown or incomplete option '--frob'" -- "$CLI" complete "$tmp/g" --frob
expect 2 'needs a checkpoint' -- "$CLI" complete
expect 1 'nothere' -- "$CLI" complete "$tmp/g" --images "$tmp/nothere"
expect 2 'needs a generator.*mode "descriptor"' -- "$CLI" complete "$tmp/d" --steps 1

# the test split beside an IDX training file (as Fashion-MNIST's t10k-images beside train-images)
mkdir -p "$tmp/idx"
idx_header='\x00\x00\x08\x03\x00\x00\x00\x20\x00\x00\x00\x10\x00\x00\x00\x10' # 32 images of 16x16
{ printf "$idx_header"; yes | head -c 8192; } > "$tmp/idx/train-images-idx3-ubyte"
expect 0 'iter +1/1' -- "$CLI" train configs/tiny.json --iters 1 --out "$tmp/m" --set data.kind=idx \
  --set data.path="$tmp/idx/train-images-idx3-ubyte" --set data.limit=0
expect 0 'train-images-idx3-ubyte \(training images: no test split known' -- "$CLI" complete "$tmp/m" --steps 1 --out "$tmp/c5"
{ printf "$idx_header"; yes n | head -c 8192; } > "$tmp/idx/t10k-images-idx3-ubyte"
expect 0 't10k-images-idx3-ubyte \(test split\)' -- "$CLI" complete "$tmp/m" --steps 1 --out "$tmp/c5"
expect 0 'completing 4 images from .*/idx/t10k-images-idx3-ubyte with' -- "$CLI" complete "$tmp/m" --steps 1 \
  --count 4 --images "$tmp/idx/t10k-images-idx3-ubyte" --out "$tmp/c5"

# ---- prepare ----------------------------------------------------------------------------------
mkdir -p "$tmp/src/shirts" "$tmp/src/shoes" "$tmp/empty"
expect 0 'wrote' -- "$CLI" sample "$tmp/g" --count 6 --out "$tmp/src/wide.png"   # a 3x2 grid: 56x38
cp "$tmp/src/wide.png" "$tmp/src/shirts/a.png"
cp "$tmp/src/wide.png" "$tmp/src/shoes/b.PNG"
echo "not an image" > "$tmp/src/notes.txt"
expect 0 'prepared 3 images into .*dst \(12x12 gray, 2 category folders; skipped 1 entries' -- "$CLI" prepare \
  "$tmp/src" "$tmp/dst" --size 12 --channels 1
check "prepared gray 12x12" test "$(png_shape "$tmp/dst/wide.png")" = "12x12 type 0"
check "categories mirrored" test -s "$tmp/dst/shirts/a.png" -a -s "$tmp/dst/shoes/b.png"
expect 0 'prepared 3 images .*20x20 RGB' -- "$CLI" prepare "$tmp/src" "$tmp/dst3" --size 20 --crop 30
check "prepared RGB 20x20" test "$(png_shape "$tmp/dst3/shirts/a.png")" = "20x20 type 2"
expect 0 'training 1 iterations \(2 images' -- "$CLI" train configs/tiny.json --iters 1 --out "$tmp/cat" \
  --set data.kind=categories --set data.path="$tmp/dst" --set training.batch_size=2 --set training.chains=2 \
  --set data.limit=0
expect 2 'needs a source folder and a destination' -- "$CLI" prepare "$tmp/src"
expect 2 '\-\-channels must be 1 or 3' -- "$CLI" prepare "$tmp/src" "$tmp/x" --channels 2
expect 2 '\-\-size needs an integer >= 4' -- "$CLI" prepare "$tmp/src" "$tmp/x" --size 2
expect 2 '\-\-size must be at most 4096' -- "$CLI" prepare "$tmp/src" "$tmp/x" --size 5000
expect 2 'DST must differ from SRC' -- "$CLI" prepare "$tmp/src" "$tmp/src/../src"
expect 2 'empty has no PNG images' -- "$CLI" prepare "$tmp/empty" "$tmp/x"
expect 1 'cannot read folder .*nothere' -- "$CLI" prepare "$tmp/nothere" "$tmp/x"
printf '\x89PNG\r\n\x1a\n this is not really a png' > "$tmp/src/shoes/broken.png"
expect 2 'broken\.png' -- "$CLI" prepare "$tmp/src" "$tmp/x"
expect 0 'completing 1 images from .*wide\.png' -- "$CLI" complete "$tmp/g" --images "$tmp/dst/wide.png" --steps 1 \
  --out "$tmp/c6"

summary
