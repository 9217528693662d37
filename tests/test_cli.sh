#!/usr/bin/env bash
# The command line: a short real run, and each kind of bad input ending with a clear message
# and the right exit code (2: bad input or usage, 1: a failure at run time).
set -u
CLI=${1:?usage: test_cli.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"

expect 0 'platform 0: .*' -- "$CLI" devices
expect 0 '\[0\]' -- "$CLI" devices --device 0
expect 2 'unknown command' -- "$CLI" frobnicate
expect 2 'usage' -- "$CLI"
expect 2 'no such device.*|the devices are' -- "$CLI" --device 99 train configs/tiny.json --iters 1 --out "$tmp/x"
expect 2 'not a device index' -- "$CLI" --device abc train configs/tiny.json --out "$tmp/x"
expect 1 'missing\.json.*cannot (open|read)' -- "$CLI" train "$tmp/missing.json"
printf '{"seed": 1, "trainin": {}}' > "$tmp/unknown.json"
expect 2 'unknown\.json.*trainin' -- "$CLI" train "$tmp/unknown.json"
printf '{"training": {"batch_size": "ten"}}' > "$tmp/type.json"
expect 2 'type\.json.*training\.batch_size' -- "$CLI" train "$tmp/type.json"
printf '{"training": {"chains": 0}}' > "$tmp/range.json"
expect 2 'range\.json.*training\.chains' -- "$CLI" train "$tmp/range.json"
printf '{"seed": 1,' > "$tmp/broken.json"
expect 2 'broken\.json' -- "$CLI" train "$tmp/broken.json"
expect 2 'descriptor\.nosuchkey' -- "$CLI" train configs/tiny.json --set descriptor.nosuchkey=3
expect 2 'generator.*(output|image)' -- "$CLI" train configs/tiny.json --set data.image_size=20
expect 2 '\-\-iters' -- "$CLI" train configs/tiny.json --iters zero
expect 2 'unknown or incomplete option' -- "$CLI" train configs/tiny.json --frob

# Every command of `coopnets_cl --help`: COMMAND --help and -h print its help page on stdout alone
# and exit 0, the page describes each option of its usage line, and an unknown option exits 2 with
# the usage on stderr alone.
commands=$("$CLI" --help | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 {print $1}')
check "coopnets_cl --help lists the eleven commands" test "$(wc -w <<<"$commands")" = 11
# streams CODE OUT_PATTERN ERR_PATTERN COMMAND...: exit CODE, stdout and stderr each matching its
# pattern ('': empty).
matches() { if [ -z "$1" ]; then [ ! -s "$2" ]; else grep -qE -- "$1" "$2"; fi; }
streams() {
  local code=$1 out_pattern=$2 err_pattern=$3; shift 3
  "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$?
  [ "$rc" = "$code" ] && matches "$out_pattern" "$tmp/stdout" && matches "$err_pattern" "$tmp/stderr" && return
  echo "    '$*' exit $rc (want $code); stdout (want /$out_pattern/):"; sed 's/^/      /' "$tmp/stdout" | head -5
  echo "    stderr (want /$err_pattern/):"; sed 's/^/      /' "$tmp/stderr" | head -5
  return 1
}
# every --option of the usage lines has its own line in the options
options_described() {
  local opt
  for opt in $(sed -n '/^usage:/,/^$/p' "$tmp/stdout" | grep -oE -- '--[a-z-]+' | sort -u); do
    grep -qE -- "^  $opt( |$)" "$tmp/stdout" || { echo "    $opt is not described"; return 1; }
  done
}
for c in $commands; do
  for h in --help -h; do
    check "$c $h: the help page on stdout, exit 0" streams 0 "^usage: coopnets_cl $c( |$)" '' "$CLI" "$c" "$h"
  done
  check "$c --help describes every option of its usage" options_described
  check "$c --frob: exit 2, the usage on stderr" streams 2 '' "^usage: coopnets_cl $c( |$)" "$CLI" "$c" --frob
done
check "help COMMAND is COMMAND --help" streams 0 '^usage: coopnets_cl evaluate' '' "$CLI" help evaluate
check "--help after other arguments and global options" \
  streams 0 '^usage: coopnets_cl sample' '' "$CLI" --quiet sample "$tmp/nowhere" --count 3 --help
expect 2 "sample: needs a checkpoint" -- "$CLI" sample
expect 2 "channels must be 1 or 3, got '2'" -- "$CLI" prepare "$tmp/a" "$tmp/b" --channels 2

# bad data: an empty folder, a corrupt PNG, a truncated IDX file
mkdir -p "$tmp/empty" "$tmp/pngs"
expect 2 'empty.*no PNG' -- "$CLI" train configs/tiny.json --out "$tmp/x" --set data.kind=folder --set data.path="$tmp/empty"
printf '\x89PNG\r\n\x1a\n this is not really a png' > "$tmp/pngs/broken.png"
expect 2 'broken\.png' -- "$CLI" train configs/tiny.json --out "$tmp/x" --set data.kind=folder --set data.path="$tmp/pngs"
printf '\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x10\x00\x00\x00\x10abc' > "$tmp/short-idx3-ubyte"
expect 2 'short-idx3-ubyte' -- "$CLI" train configs/tiny.json --out "$tmp/x" --set data.kind=idx --set data.path="$tmp/short-idx3-ubyte"

# not_matching PATTERN COMMAND...: COMMAND's output does not match PATTERN
not_matching() { local pattern=$1; shift; ! "$@" 2>&1 | grep -qE -- "$pattern"; }
# the learning-rate schedule: iteration t (from 0) runs at lr * decay_factor^floor(t / decay_every),
# recorded per log point, and a resume in the middle of it continues the same run
sched=(--set training.log_every=1 --set training.checkpoint_every=2 --set descriptor.optimizer.decay_every=2
       --set descriptor.optimizer.decay_factor=0.5 --set generator.optimizer.decay_every=3)
expect 0 'iter +4/4' -- "$CLI" train configs/tiny.json --iters 4 --out "$tmp/sched" "${sched[@]}"
rates() { grep -oE '"(descriptor|generator)_lr":[^,}]*' "$1/metrics.jsonl" | cut -d: -f2 | tr '\n' ' '; }
check "descriptor lr 0.007 0.007 0.0035 0.0035, generator lr 1e-4 1e-4 1e-4 1e-5 (got: $(rates "$tmp/sched"))" \
  [ "$(rates "$tmp/sched")" = "0.007 0.0001 0.007 0.0001 0.0035 0.0001 0.0035 1e-05 " ]
expect 0 'iter +2/2' -- "$CLI" train configs/tiny.json --iters 2 --out "$tmp/sched2" "${sched[@]}"
expect 0 'iter +4/4' -- "$CLI" train --resume "$tmp/sched2" --iters 4
check "a resume at iteration 2 gives the uninterrupted run's losses" \
  cmp -s <(grep -oE '"(loss_[dg]|f_[a-z]+)":[^,]*' "$tmp/sched/metrics.jsonl") \
  <(grep -oE '"(loss_[dg]|f_[a-z]+)":[^,]*' "$tmp/sched2/metrics.jsonl")
expect 2 'descriptor\.optimizer\.decay_factor' -- "$CLI" train configs/tiny.json --set descriptor.optimizer.decay_factor=0
expect 2 'generator\.optimizer\.decay_every' -- "$CLI" train configs/tiny.json --set generator.optimizer.decay_every=-1
# rough edges: mode descriptor alone starts its chains from noise; data that tools/fetch_data.sh
# provides names the script when missing; a config that is not text says so
expect 0 'iter +1/1' -- "$CLI" train configs/tiny.json --iters 1 --out "$tmp/dnoise" --set mode=descriptor
check "mode descriptor alone: chain_init noise in the resolved config" grep -qE '"chain_init":[[:space:]]*"noise"' "$tmp/dnoise/config.json"
expect 1 'brick\.png.*tools/fetch_data\.sh' -- env HOME="$tmp/nohome" "$CLI" train configs/texture.json --iters 1 --out "$tmp/x"
expect 1 'nothere-idx3-ubyte\.gz.*tools/fetch_data\.sh' -- "$CLI" train configs/fashion_mnist.json --iters 1 --out "$tmp/x" \
  --set data.path=/usr/share/datasets/fashion-mnist/nothere-idx3-ubyte.gz
expect 1 'nothere\.png' -- "$CLI" train configs/tiny.json --out "$tmp/x" --set data.kind=texture --set data.path="$tmp/nothere.png"
check "data outside fetch_data.sh's folders does not mention it" not_matching 'fetch_data' "$CLI" train configs/tiny.json \
  --out "$tmp/x" --set data.kind=texture --set data.path="$tmp/nothere.png"
printf '\0{"seed": 1}' > "$tmp/nul.json"
expect 2 'nul\.json: not a text file \(a NUL byte at offset 0\)' -- "$CLI" train "$tmp/nul.json"
: > "$tmp/empty.json"
expect 2 'empty\.json: it is empty' -- "$CLI" train "$tmp/empty.json"

# a real, short run, then resume, sample and interpolate from it
expect 0 'iter +2/2' -- "$CLI" train configs/tiny.json --iters 2 --out "$tmp/run" --set training.log_every=1
expect 0 'resumed from .*ckpt-000002' -- "$CLI" train --resume "$tmp/run" --iters 3
expect 0 'wrote .*s\.png' -- "$CLI" sample "$tmp/run" --count 9 --out "$tmp/s.png"
expect 0 'wrote .*i\.png' -- "$CLI" interpolate "$tmp/run" --rows 2 --cols 4 --spherical --out "$tmp/i.png"
expect 0 'iter +1/1' -- "$CLI" train configs/tiny.json --iters 1 --out "$tmp/tex" --set data.kind=texture \
  --set data.path="$tmp/s.png" --set data.texture_copies=16
check "a texture run writes the observed-beside-synthesised sheet" test -s "$tmp/tex/samples/texture-000001.png"
check "sample grids and the run's config exist" test -s "$tmp/s.png" -a -s "$tmp/s-generated.png" -a -s "$tmp/run/config.json"

# bad checkpoints
printf 'not a checkpoint at all, just text' > "$tmp/bad.cnck"
expect 2 'bad\.cnck.*(not a coopnets_cl checkpoint|truncated)' -- "$CLI" sample "$tmp/bad.cnck"
cp "$tmp/run/checkpoints/ckpt-000003.cnck" "$tmp/flip.cnck"
printf '\x00\x00\x00\x00' | dd of="$tmp/flip.cnck" bs=1 seek=300 conv=notrunc status=none
expect 2 'flip\.cnck.*corrupt' -- "$CLI" sample "$tmp/flip.cnck"
head -c 1000 "$tmp/run/checkpoints/ckpt-000003.cnck" > "$tmp/short.cnck"
expect 2 'short\.cnck.*(corrupt|truncated)' -- "$CLI" sample "$tmp/short.cnck"
expect 1 'no checkpoint' -- "$CLI" sample "$tmp/nowhere"

summary
