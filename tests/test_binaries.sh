#!/usr/bin/env bash
# Devices without an online compiler: `kernels --export DIR` writes every program as a device
# binary with a manifest; with the compiler switched off (COOPNETS_TEST_DEVICE=no_compiler, a
# test-only switch) a run says it needs binaries, and a run from --binaries DIR (or
# COOPNETS_BINARIES) equals the source-built run bit for bit (losses and checkpoint bytes, with our
# own GEMM, which binaries-only mode uses). A missing, foreign or damaged binary is an error naming
# the program and the device.
set -u
CLI=${1:?usage: test_binaries.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_binaries.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"
bin=$tmp/bin

expect 0 "wrote 1[0-9] program binaries and .*manifest\.json" -- "$CLI" kernels --export "$bin"
manifest=$(tr -d ' \n\t' < "$bin/manifest.json")
for key in format device driver_version programs name options source_fnv1a file binary_fnv1a; do
  check "the manifest has \"$key\"" grep -q "\"$key\":" <<<"$manifest"
done
check "the manifest names the device the binaries are for" \
  grep -qF "\"device\":\"$("$CLI" devices | sed -nE 's/^ +\[0\]\*? +[A-Z]+ +//p' | tr -d ' ')\"" <<<"$manifest"
check "our GEMM's binary carries its block sizes as build options" grep -qE '"options":"-cl-std=CL1.2-DCN_GEMM_(TM|PM)=' <<<"$manifest"
check "one binary file per program" test "$(ls "$bin"/*.bin | wc -l)" = "$(grep -o '"file":' <<<"$manifest" | wc -l)"

export COOPNETS_GEMM=own
expect 0 'online compiler yes' -- "$CLI" devices
COOPNETS_TEST_DEVICE=no_compiler expect 0 'online compiler no' -- "$CLI" devices
COOPNETS_TEST_DEVICE=no_compiler expect 1 'no online compiler.*--binaries DIR' -- "$CLI" train configs/tiny.json \
  --iters 2 --out "$tmp/x"

# The same tiny run compiled from source, then from binaries with no compiler, into the same folder
# (the checkpoint carries its output path).
expect 0 'done: .*GEMM: own' -- "$CLI" train configs/tiny.json --iters 10 --out "$tmp/run"
mv "$tmp/run" "$tmp/from_source"
COOPNETS_TEST_DEVICE=no_compiler expect 0 'done: .*GEMM: own' -- "$CLI" --binaries "$bin" train configs/tiny.json \
  --iters 10 --out "$tmp/run"
losses() { grep -oE '"(iteration|f_[a-z]+|loss_[dg]|grad_f_norm)":[^,]*' "$1/metrics.jsonl"; }
check "the run from binaries logs the same losses" cmp <(losses "$tmp/from_source") <(losses "$tmp/run")
check "the run from binaries has metrics" test "$(losses "$tmp/run" | grep -c loss_d)" -ge 2
check "the run from binaries writes the same checkpoint bytes" \
  cmp "$tmp/from_source/checkpoints/ckpt-000010.cnck" "$tmp/run/checkpoints/ckpt-000010.cnck"
COOPNETS_TEST_DEVICE=no_compiler COOPNETS_BINARIES=$bin expect 0 'from the binaries' -- "$CLI" kernels
COOPNETS_TEST_DEVICE=no_compiler COOPNETS_BINARIES=$bin expect 0 'wrote .*s\.png' -- "$CLI" sample "$tmp/run" \
  --count 4 --out "$tmp/s.png"
COOPNETS_GEMM=clblast expect 2 'CLBlast compiles its kernels at run time' -- "$CLI" --binaries "$bin" train \
  configs/tiny.json --iters 1 --out "$tmp/y"

# What goes wrong, in words naming the program and the device.
expect 1 'nothere/manifest\.json' -- "$CLI" --binaries "$tmp/nothere" kernels
expect 2 'needs a folder' -- "$CLI" kernels --binaries
cp -r "$bin" "$tmp/missing" && rm "$tmp/missing"/im2col-*.bin
expect 1 'program im2col: cannot read its binary .*im2col-.*device 0' -- "$CLI" --binaries "$tmp/missing" kernels
cp -r "$bin" "$tmp/unlisted" && sed -i 's/"name":\t"langevin"/"name":\t"other"/' "$tmp/unlisted/manifest.json"
expect 1 'program langevin \(build options .*\) has no binary in .*unlisted for device 0' -- \
  "$CLI" --binaries "$tmp/unlisted" kernels
cp -r "$bin" "$tmp/foreign" && sed -i 's/"device":\t"[^"]*"/"device":\t"Some GPU"/' "$tmp/foreign/manifest.json"
expect 1 'program [a-z]+: the binaries in .*foreign were built for device "Some GPU".*not for device 0' -- \
  "$CLI" --binaries "$tmp/foreign" kernels
cp -r "$bin" "$tmp/stale" && sed -i '0,/"source_fnv1a":\t"[0-9a-f]*"/s//"source_fnv1a":\t"0123456789abcdef"/' \
  "$tmp/stale/manifest.json"
expect 1 'program activation: the binary .* for device 0 .* was built from another source' -- \
  "$CLI" --binaries "$tmp/stale" kernels
cp -r "$bin" "$tmp/damaged" && printf 'x' >> "$(ls "$tmp/damaged"/noise-*.bin)"
expect 2 'program noise: binary .*noise-.*\.bin is damaged' -- "$CLI" --binaries "$tmp/damaged" kernels

summary
