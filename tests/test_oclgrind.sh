#!/usr/bin/env bash
# A second OpenCL platform without a system change (DESIGN §7): PoCL and Oclgrind, a simulated GPU
# (OpenCL 1.2, 32 KiB local memory, 128 MiB global memory), registered through OCL_ICD_VENDORS.
# `devices` lists both and `--device N` picks each; on the simulator, with its API checks and
# data-race detection on (bounds checks are on by default; OCLGRIND_UNINITIALIZED aborts on LLVM
# `freeze` in 21.10, so it stays off), every command runs on a tiny model with both GEMM backends,
# and any Oclgrind diagnostic on stderr fails the test; the GEMM, batch-norm and reduction tests run
# there on small shapes, every kernel variant against the double reference, and `tune` writes a
# database the next run on the simulator uses. `bench --device all` prints both devices in
# one table, and a run on a simulator shrunk to 8 work-items per group and 16 KiB of local memory
# matches the unshrunk run. Skipped (exit 77, CTest's SKIP_RETURN_CODE) without oclgrind.
set -u
CLI=${1:?usage: test_oclgrind.sh PATH/TO/coopnets_cl}
OCLGRIND_ICD_LIB=/usr/lib/oclgrind/liboclgrind-rt-icd.so
if [ ! -e "$OCLGRIND_ICD_LIB" ] || ! command -v oclgrind-kernel >/dev/null; then
  echo "SKIPPED: Oclgrind is not installed ($OCLGRIND_ICD_LIB or oclgrind-kernel missing):" \
    "apt-get install oclgrind (tools/setup.sh installs it) to test a second platform"
  exit 77
fi
tmp=$(mktemp -d /tmp/cn_test_oclgrind.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"
CONFIG=tests/configs/oclgrind_tiny.json
FM=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

mkdir "$tmp/vendors"
cp /etc/OpenCL/vendors/pocl.icd "$tmp/vendors/"
echo "$OCLGRIND_ICD_LIB" > "$tmp/vendors/oclgrind.icd"
export OCL_ICD_VENDORS=$tmp/vendors
export OCLGRIND_CHECK_API=1 OCLGRIND_DATA_RACES=1

# Lines of Oclgrind's diagnostics as 21.10 prints them: "Invalid read of size 4 at global memory
# address ...", "Read-write data race at ...", "Oclgrind - OpenCL runtime error detected", each
# followed by "\tKernel: NAME" or "\tFunction: NAME" lines. No diagnostic has needed suppressing.
DIAGNOSTIC='Invalid (read|write)|data race|runtime error detected|Uninitiali[sz]ed|divergence detected|Unaligned address|^	(Kernel|Function): |^Oclgrind: '

# grind CODE PATTERN -- COMMAND...: `expect`, and no Oclgrind diagnostic on the command's stderr.
grind() {
  local code=$1 pattern=$2; shift 3
  checks=$((checks + 1))
  local rc start=$SECONDS
  "$@" >"$tmp/stdout" 2>"$tmp/stderr"; rc=$?
  if [ "$rc" != "$code" ] || ! cat "$tmp/stdout" "$tmp/stderr" | grep -qE -- "$pattern"; then
    echo "FAIL: '$*' gave exit $rc (want $code), output:"
    cat "$tmp/stdout" "$tmp/stderr" | sed 's/^/    /' | head -20
    echo "    (wanted /$pattern/)"
    failures=$((failures + 1))
  elif grep -qE -- "$DIAGNOSTIC" "$tmp/stderr"; then
    echo "FAIL: '$*': Oclgrind reported:"
    sed 's/^/    /' "$tmp/stderr" | head -40
    failures=$((failures + 1))
  else
    echo "ok: $* -> $rc, /$pattern/, no Oclgrind diagnostic ($((SECONDS - start)) s)"
  fi
}

# The detector itself: a kernel reading past its buffer must be caught by the patterns above.
printf '__kernel void past_end(__global float *x) { x[get_global_id(0)] = x[get_global_id(0) + 1]; }\n' \
  > "$tmp/past_end.cl"
printf '%s\npast_end\n4 1 1\n4 1 1\n<size=16 fill=1>\n' "$tmp/past_end.cl" > "$tmp/past_end.sim"
oclgrind-kernel "$tmp/past_end.sim" >/dev/null 2>"$tmp/past_end.err"
check "the diagnostic patterns catch Oclgrind's report of a read past a buffer" grep -qE -- "$DIAGNOSTIC" "$tmp/past_end.err"

# Both platforms, their devices found by name (the ICD loader decides the order).
"$CLI" devices > "$tmp/devices.txt" 2>&1
index_of() { sed -nE "s/^ +\[([0-9]+)\]\*? +[A-Z]+ +$1.*/\1/p" "$tmp/devices.txt" | head -1; }
OG=$(index_of 'Oclgrind Simulator')
POCL=$(index_of 'pthread')
check "devices lists the Oclgrind platform and device" test -n "$OG"
check "devices lists the PoCL platform and device" test -n "$POCL"
check "devices lists two platforms" test "$(grep -c '^platform ' "$tmp/devices.txt")" = 2
if [ -z "$OG" ] || [ -z "$POCL" ]; then cat "$tmp/devices.txt"; summary; exit 1; fi
grind 0 "device $OG: Oclgrind Simulator" -- "$CLI" --device "$OG" kernels
grind 0 "device $POCL: pthread" -- "$CLI" --device "$POCL" kernels

# Every kernel variant against the double reference on the simulator (small shapes: CN_TEST_QUICK):
# the local-memory GEMM tiles and the work-group batch norm and reductions, with race detection.
TESTS=${CN_BINARY_DIR:?CN_BINARY_DIR: the build folder holding the test programs}
for t in test_gemm test_batchnorm test_reduce; do
  COOPNETS_DEVICE=$OG CN_TEST_QUICK=1 grind 0 ' 0 failed$' -- "$TESTS/$t"
  check "$t on the simulator checked a local-memory or work-group variant" \
    grep -qE '^(backend own, )?variant (local 16/4|group 64)' "$tmp/stdout"
done

# tune on the simulator writes a database the next run uses (a cache folder of its own).
COOPNETS_CACHE_DIR=$tmp/tuned COOPNETS_GEMM=own grind 0 'wrote .*tuning-[0-9a-f]+\.json' -- \
  "$CLI" --device "$OG" tune "$CONFIG" --max-candidates 2
COOPNETS_CACHE_DIR=$tmp/tuned COOPNETS_GEMM=own grind 0 'kernels: gemm .*\(tuned\), batchnorm .*\(tuned\), reduce .*\(tuned\)' -- \
  "$CLI" --device "$OG" train "$CONFIG" --iters 1 --out "$tmp/tuned-run"

# The classifier `evaluate` scores with, trained on PoCL (Oclgrind would take minutes).
expect 0 'wrote .*c\.cncl' -- "$CLI" --device "$POCL" train-classifier --size 16 --limit 300 --epochs 1 \
  --force --out "$tmp/c.cncl"

# Every command on the simulator, with each GEMM backend.
for gemm in own clblast; do
  run=$tmp/run-$gemm
  export COOPNETS_GEMM=$gemm
  grind 0 "done: .*GEMM: $gemm" -- "$CLI" --device "$OG" train "$CONFIG" --iters 1 --out "$run"
  grind 0 "resumed from .*ckpt-000001" -- "$CLI" --device "$OG" train --resume "$run" --iters 2
  grind 0 "wrote .*s\.png" -- "$CLI" --device "$OG" sample "$run" --count 4 --out "$tmp/$gemm-s.png"
  grind 0 "PSNR" -- "$CLI" --device "$OG" complete "$run" --count 4 --steps 2 --out "$tmp/$gemm-completion"
  grind 0 "wrote .*i\.png" -- "$CLI" --device "$OG" interpolate "$run" --rows 2 --cols 3 --out "$tmp/$gemm-i.png"
  # Two images of each set, the fewest evaluate takes: the classifier (16-32-64 channels) costs some
  # 30 times the tiny model's work per image: a third of this test's time with 4.
  grind 0 "generated +samples: FD " -- "$CLI" --device "$OG" evaluate "$run" --data "$FM" --classifier "$tmp/c.cncl" \
    --count 2 --out "$tmp/$gemm-e.json"
  check "the $gemm run on Oclgrind wrote the checkpoint of iteration 2" test -s "$run/checkpoints/ckpt-000002.cnck"
done
export COOPNETS_GEMM=own

# One table holding both devices.
grind 0 'cold start cache/none' -- "$CLI" --device all bench "$CONFIG" --iters 1 --warmup 0
table=$(sed -n '/^device .*s\/iteration/,$p' "$tmp/stdout")
check "bench --device all: the table has the Oclgrind row" grep -qE "^\[$OG\] Oclgrind Simulator" <<<"$table"
check "bench --device all: the table has the PoCL row" grep -qE "^\[$POCL\] pthread" <<<"$table"

# A smaller simulated device: at most 8 work-items a group (our GEMM asks for 8 x 8 on a GPU) and
# 16 KiB of local memory. Work-group sizes do not change what a work-item computes, so the losses
# match the run above bit for bit.
OCLGRIND_MAX_WGSIZE=8 OCLGRIND_LOCAL_MEM_SIZE=16384 \
  grind 0 "done: " -- "$CLI" --device "$OG" train "$CONFIG" --iters 2 --out "$tmp/small"
check "the simulator shrunk to work-groups of 8 gives the same losses" \
  cmp <(grep -oE '"loss_[dg]":[^,]*' "$tmp/run-own/metrics.jsonl") <(grep -oE '"loss_[dg]":[^,]*' "$tmp/small/metrics.jsonl")

echo "test_oclgrind took $SECONDS s"
summary
