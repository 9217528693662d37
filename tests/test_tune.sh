#!/usr/bin/env bash
# The tuning database: `tune` measures the kernel variants on a config's shapes and writes the
# winners into the cache folder; a training run and bench then use them and say so ("(tuned)"); a
# database naming other variants (local-memory GEMM, work-group batch norm and reductions) drives
# the run and gives the same bits twice; without a database every family runs its heuristic; a
# corrupt, stale, foreign or unusable database is a warning naming the file, never a failure.
set -u
CLI=${1:?usage: test_tune.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_tune.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"
export COOPNETS_CACHE_DIR=$tmp/cache COOPNETS_GEMM=own # our kernels: no CLBlast compile to wait for
CONFIG=configs/tiny.json
tiny() { "$CLI" train "$CONFIG" --iters 2 --out "$tmp/$1"; }
# warned NAME WARNING KERNELS: a tiny run into $tmp/NAME succeeds, warns /WARNING/ and runs /KERNELS/.
warned() {
  tiny "$1" >"$tmp/$1.txt" 2>&1
  check "$1: the run goes on (exit $?)" grep -q '^done: ' "$tmp/$1.txt"
  check "$1: warns /$2/" grep -qE -- "warning: tuning database $2" "$tmp/$1.txt"
  check "$1: runs /$3/" grep -qE -- "$3" "$tmp/$1.txt"
  grep -E 'warning|kernels:' "$tmp/$1.txt" | sed 's/^/    /'
}
HEURISTIC='kernels: gemm (register|packed) [0-9]+x[0-9]+ \(heuristic\), batchnorm item \(heuristic\), reduce item \(heuristic\)'

expect 2 'tune: needs a CONFIG file' -- "$CLI" tune
expect 2 '--max-candidates' -- "$CLI" tune "$CONFIG" --max-candidates 0
sed 's/"mode": "coop"/"mode": "generator"/' "$CONFIG" > "$tmp/generator.json"
expect 2 'tuning measures mode "coop", not "generator"' -- "$CLI" tune "$tmp/generator.json"

# Without a database: the heuristics.
expect 0 "$HEURISTIC" -- tiny none

# tune writes the database; the next run uses it.
expect 0 'wrote .*/cache/tuning-[0-9a-f]{16}\.json: gemm .*, batchnorm .*, reduce ' -- \
  "$CLI" tune "$CONFIG" --max-candidates 2
db=$(ls "$tmp"/cache/tuning-*.json 2>/dev/null | head -1)
check "tune wrote one database file" test -n "$db" -a "$(ls "$tmp"/cache/tuning-*.json | wc -l)" = 1
[ -n "$db" ] || { summary; exit 1; }
flat=$(tr -d ' \n\t' < "$db")
for key in format device driver_version source_fnv1a measured_on kernels gemm batchnorm reduce conv measurements; do
  check "the database has \"$key\"" grep -q "\"$key\":" <<<"$flat"
done
check "the database records two candidates of each family" test "$(grep -o '"family":' <<<"$flat" | wc -l)" = 8
expect 0 'kernels: gemm [a-z0-9/ x]+ \(tuned\), batchnorm [a-z0-9 ]+ \(tuned\), reduce [a-z0-9 ]+ \(tuned\)' -- tiny tuned

# A database choosing the GPU-shaped variants drives training and bench, reproducibly.
header=$(sed -n '/"kernels"/q;p' "$db")
write_db() { # GEMM_VARIANT P Q BN_VARIANT P REDUCE_VARIANT P [CONV_VARIANT P]
  { echo "$header"
    printf '"kernels": {"gemm": {"variant": "%s", "p": %s, "q": %s}, "batchnorm": {"variant": "%s", "p": %s},\n' "$1" "$2" "$3" "$4" "$5"
    if [ $# -gt 7 ]; then printf '"conv": {"variant": "%s", "p": %s},\n' "$8" "$9"; fi
    printf '"reduce": {"variant": "%s", "p": %s}}}\n' "$6" "$7"; } > "$db"
}
# tiny's stride-1 deconv would run direct on a CPU (the heuristic): the database says lowered.
write_db local 8 8 group 64 group 16 lowered 0
expect 0 'kernels: gemm local 8/8 \(tuned\), batchnorm group 64 \(tuned\), reduce group 16 \(tuned\), conv lowered \(tuned\)' -- tiny run
mv "$tmp/run" "$tmp/first" # the checkpoint holds the run folder's name: the second run writes to the same
expect 0 'done: ' -- tiny run
check "a run with the tuned variants gives the same losses twice" \
  cmp <(grep -oE '"loss_[dg]":[^,]*' "$tmp/first/metrics.jsonl") <(grep -oE '"loss_[dg]":[^,]*' "$tmp/run/metrics.jsonl")
check "... and the same checkpoint bytes" cmp "$tmp/first/checkpoints/ckpt-000002.cnck" "$tmp/run/checkpoints/ckpt-000002.cnck"
expect 0 'local 8/8 \(tuned\) / group 64 \(tuned\) / group 16 \(tuned\) / lowered \(tuned\)' -- \
  "$CLI" bench "$CONFIG" --iters 1 --warmup 0 --json "$tmp/bench.json"
check "bench's JSON names the variants" grep -q '"gemm":.*"local 8/8 (tuned)"' "$tmp/bench.json"
# A device too small for an entry: that family falls back to its heuristic, with a warning.
COOPNETS_TEST_DEVICE=work_group=32 warned small "$db: kernels.batchnorm \"group 64\" needs a work-group of 64" \
  'kernels: gemm local 8/8 \(tuned\), batchnorm item \(heuristic\), reduce group 16 \(tuned\)'

# Unusable databases: a warning naming the file, the heuristics, and the run goes on.
printf '{"format": "coopnets_cl tuning 1", "kernels": {"gemm": {"vari' > "$db"
warned cut "$db: not a coopnets_cl tuning database" "$HEURISTIC"
head -c 300 /dev/urandom > "$db"
warned random "$db: not a coopnets_cl tuning database" "$HEURISTIC"
write_db local 8 8 group 64 group 16
sed -i 's/"source_fnv1a":[^,]*/"source_fnv1a": "0123456789abcdef"/' "$db"
warned stale "$db: stale: made for kernel source 0123456789abcdef, this build's is [0-9a-f]{16}" "$HEURISTIC"
write_db local 8 8 group 64 group 16
sed -i 's/"device":[^,]*/"device": "a GPU elsewhere"/' "$db"
warned foreign "$db: made for device \"a GPU elsewhere\"" "$HEURISTIC"
write_db turbo 8 8 group 64 group 16
warned turbo "$db: kernels.gemm.variant is \"turbo\", not a variant name" \
  'kernels: gemm (register|packed) [0-9]+x[0-9]+ \(heuristic\), batchnorm group 64 \(tuned\), reduce group 16 \(tuned\)'
write_db local 8 3 item 0 group 16
warned uneven "$db: kernels.gemm is \"local 8/3\", not a valid gemm variant" \
  'kernels: gemm (register|packed) [0-9]+x[0-9]+ \(heuristic\), batchnorm item \(tuned\), reduce group 16 \(tuned\)'
rm -f "$db"

# No cache folder at all: tune says where it would keep the database.
env -u COOPNETS_CACHE_DIR -u XDG_CACHE_HOME -u HOME "$CLI" tune "$CONFIG" >"$tmp/nohome.txt" 2>&1
check "tune without any cache folder is a usage error naming the variables" \
  grep -q 'no cache folder to keep the tuning database in (set COOPNETS_CACHE_DIR' "$tmp/nohome.txt"
summary
