#!/usr/bin/env bash
# Data-parallel training through MPI (DESIGN §7) on the tiny config:
#  - the same run on R = 1, 2 and 3 ranks (3 splits 16 images and 16 chains unevenly): every
#    logged metric of 5 iterations agrees within relative 1e-5 (float summation order is the only
#    difference; measured: 2.3e-7), and R = 2 twice is bitwise the same;
#  - Algorithm G and Algorithm D with persistent chains on 3 ranks equal 1, and resume on 2;
#  - a checkpoint written by 2 ranks resumes on 1 and on 3 and continues the same run (on 3 with
#    ranks 1 and 2 started where the run folder is not: rank 0 alone reads it and sends it on);
#  - a rank killed with SIGKILL, a device failing on one rank, a rank that hangs and a replica that
#    drifts each end the whole job within a bound, with a message naming the rank, and leave the
#    last checkpoint intact and resumable;
#  - SIGTERM to mpirun writes a checkpoint, and where an iteration outlasts mpirun's kill delay
#    rank 0 says how to lengthen it;
#  - ranks on different devices (PoCL's CPU and Oclgrind's simulated GPU) compute the same run;
#  - a binary built without MPI refuses a multi-rank launch in words.
# Needs mpirun (openmpi-bin; tools/setup.sh installs it): its absence fails the test. Under the
# sanitizers (tools/sanitize.sh) R=2 twice, the failing ranks and the two devices run in the plain
# pass only.
set -u
CLI=${1:?usage: test_mpi.sh PATH/TO/coopnets_cl}
CLI=$(cd "$(dirname "$CLI")" && pwd)/$(basename "$CLI")
tmp=$(mktemp -d /tmp/cn_test_mpi.XXXXXX)
trap 'pkill -9 -f "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh" # summary
COMPARE="$(dirname "$0")/support/metrics_compare.awk"
log=$tmp/log
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  checks=$((checks + 1))
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; sed 's/^/    /' "$log" | tail -12; failures=$((failures + 1)); fi
}
not() { ! "$@"; }
same_metrics() { awk -v tol="$1" -f "$COMPARE" "$2" "$3" >"$tmp/compare" 2>&1; local rc=$?; cat "$tmp/compare"; return $rc; }

if ! command -v mpirun >/dev/null; then
  echo "FAIL: mpirun not found: install openmpi-bin (tools/setup.sh does)"
  exit 1
fi
MPI=(mpirun --oversubscribe -x POCL_MAX_PTHREAD_COUNT=1 -x COOPNETS_MPI_TIMEOUT -x COOPNETS_FAULT
     -x COOPNETS_FAULT_RANK -x COOPNETS_GEMM -x POCL_CACHE_DIR)
[ "$(id -u)" = 0 ] && MPI+=(--allow-run-as-root)
# Under the sanitizers: Open MPI's components are loaded with dlopen and built without frame
# pointers, so LeakSanitizer's fast unwinder cuts their stacks before the library names that
# tests/lsan.supp suppresses; the slow unwinder sees them.
[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
# That start-up costs each mpirun some 13 s there, so the sanitizer pass skips runs whose host
# paths other runs here take too (what they prove is about results: the plain pass checks it).
sanitized() { [ -n "${ASAN_OPTIONS:-}" ]; }
export COOPNETS_MPI_TIMEOUT=120 COOPNETS_FAULT= COOPNETS_FAULT_RANK= COOPNETS_GEMM=${COOPNETS_GEMM:-}
TRAIN=(train configs/tiny.json --set training.log_every=1 --set training.sample_every=5)

train_on() { # train_on R OUT ARGS...: R = 1 is a plain process
  local ranks=$1 out=$2; shift 2
  if [ "$ranks" = 1 ]; then "$CLI" "${TRAIN[@]}" --out "$out" "$@" >"$log" 2>&1
  else "${MPI[@]}" -n "$ranks" "$CLI" "${TRAIN[@]}" --out "$out" "$@" >"$log" 2>&1; fi
}

echo "--- the same run on 1, 2 and 3 ranks"
for R in 1 2 3; do
  train_on $R "$tmp/r$R" --iters 5
  check "R=$R trains 5 iterations (exit $?)" grep -q "iter      5/5" "$log"
  [ $R != 1 ] && check "R=$R says how it splits the work" grep -q "data-parallel over $R ranks" "$log"
done
for R in 2 3; do
  check "R=$R: every metric of iterations 1-5 equals R=1's within 1e-5" \
    same_metrics 1e-5 "$tmp/r1/metrics.jsonl" "$tmp/r$R/metrics.jsonl"
done
png_header() { head -c 24 "$1" 2>/dev/null | od -An -tx1; } # signature + IHDR: width and height
check "R=2 writes the whole grid of all 16 chains, as R=1 does" \
  [ -n "$(png_header "$tmp/r1/samples/revised-000005.png")" -a \
    "$(png_header "$tmp/r1/samples/revised-000005.png")" = "$(png_header "$tmp/r2/samples/revised-000005.png")" ]
if sanitized; then
  echo "--- R=2 twice, bitwise the same: run in the plain pass (the R=2 run's paths again)"
else
  mv "$tmp/r2" "$tmp/r2-first" # the same folder again: a checkpoint holds the config, with its path
  train_on 2 "$tmp/r2" --iters 5
  check "R=2 twice: the same metrics to the last printed digit" same_metrics 0 "$tmp/r2-first/metrics.jsonl" "$tmp/r2/metrics.jsonl"
  check "R=2 twice: bit-identical checkpoints" cmp "$tmp/r2-first/checkpoints/ckpt-000005.cnck" "$tmp/r2/checkpoints/ckpt-000005.cnck"
fi

echo "--- a checkpoint of 2 ranks resumes on 1 and on 3"
train_on 2 "$tmp/c2" --iters 8 --set training.checkpoint_every=4
check "R=2 writes checkpoints 4 and 8" [ -s "$tmp/c2/checkpoints/ckpt-000004.cnck" -a -s "$tmp/c2/checkpoints/ckpt-000008.cnck" ]
for R in 1 3; do
  mkdir -p "$tmp/resume$R/checkpoints" && cp "$tmp/c2/checkpoints/ckpt-000004.cnck" "$tmp/c2/metrics.jsonl" "$tmp/resume$R/"
  mv "$tmp/resume$R/ckpt-000004.cnck" "$tmp/resume$R/checkpoints/"
  if [ $R = 1 ]; then "$CLI" train --resume "$tmp/resume$R" --iters 8 >"$log" 2>&1
  else # ranks 1 and 2 start where the run folder is not, as on other hosts: rank 0 sends the checkpoint
    mkdir -p "$tmp/elsewhere"
    (cd "$tmp" && "${MPI[@]}" -n 1 "$CLI" train --resume resume$R --iters 8 : \
       -n $((R - 1)) -wdir "$tmp/elsewhere" "$CLI" train --resume resume$R --iters 8) >"$log" 2>&1
  fi
  check "R=$R resumes at iteration 4" grep -q "resumed from .*ckpt-000004.cnck at iteration 4" "$log"
  check "R=$R continues the R=2 run: iterations 1-8 agree within 1e-5" \
    same_metrics 1e-5 "$tmp/c2/metrics.jsonl" "$tmp/resume$R/metrics.jsonl"
done

echo "--- Algorithm G (a latent vector kept per image) and Algorithm D with persistent chains"
for mode in generator persistent; do
  if [ $mode = generator ]; then margs=(--set mode=generator --set data.limit=32) # 2 epochs in 4 iterations
  else margs=(--set mode=descriptor --set descriptor.chain_init=persistent); fi
  train_on 1 "$tmp/$mode-r1" --iters 4 "${margs[@]}"
  train_on 3 "$tmp/$mode-r3" --iters 4 --set training.checkpoint_every=2 "${margs[@]}"
  check "mode $mode, R=3: every metric of iterations 1-4 equals R=1's within 1e-5" \
    same_metrics 1e-5 "$tmp/$mode-r1/metrics.jsonl" "$tmp/$mode-r3/metrics.jsonl"
  rm "$tmp/$mode-r3/checkpoints/ckpt-000004.cnck"
  "${MPI[@]}" -n 2 "$CLI" train --resume "$tmp/$mode-r3" --iters 4 >"$log" 2>&1
  check "mode $mode: the checkpoint of 3 ranks resumes on 2 and continues the same run" \
    same_metrics 1e-5 "$tmp/$mode-r1/metrics.jsonl" "$tmp/$mode-r3/metrics.jsonl"
done

# Starts a long 2-rank run in the background (log every iteration, a checkpoint every 20) and
# waits for its first checkpoint.
start_long() { # start_long OUT
  "${MPI[@]}" -n 2 "$CLI" "${TRAIN[@]}" --out "$1" --iters 1000000 --set training.sample_every=0 \
    --set training.checkpoint_every=20 >"$log" 2>&1 &
  job=$!
  for _ in $(seq 1 600); do [ -e "$1/checkpoints/ckpt-000020.cnck" ] && break; sleep 0.1; done
}
rank_pid() { # the pid of rank $1 of the job writing into $2
  for p in $(pgrep -f -- "--out $2 "); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && { echo "$p"; return; }
  done
}
# Waits for the background job at most $1 seconds; sets rc and seconds.
wait_job() {
  local t0=$SECONDS
  for _ in $(seq 1 $(($1 * 10))); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
  if kill -0 $job 2>/dev/null; then kill -9 $job; rc=hung; else wait $job; rc=$?; fi
  seconds=$((SECONDS - t0))
}
resumable() { # the newest checkpoint of $1 loads and training goes on from it for 2 iterations
  local newest it
  newest=$(ls "$1/checkpoints" 2>/dev/null | grep -E '^ckpt-[0-9]+\.cnck$' | sort | tail -1)
  [ -n "$newest" ] || { echo "no checkpoint in $1/checkpoints" >"$log.resume"; return 1; }
  it=$((10#$(echo "$newest" | grep -oE '[0-9]+')))
  "${MPI[@]}" -n 2 "$CLI" train --resume "$1" --iters $((it + 2)) >"$log.resume" 2>&1 &&
    grep -q "resumed from .*$newest at iteration $it" "$log.resume"
}
ends_job() { # ends_job WHAT OUT: the job ended within 60 s, non-zero, and its last checkpoint resumes
  check "$1: the job ends within 60 s (exit $rc after ${seconds}s)" [ "$rc" != hung -a "$rc" != 0 ]
  check "$1: the newest checkpoint loads and the job resumes from it" resumable "$2"
}

# Under the sanitizers these four jobs end in SIGKILL or MPI_Abort, where LeakSanitizer never runs
# and nothing of ours is left to check; the plain pass runs them (and Open MPI's start-up under
# the slow unwinder costs minutes).
if sanitized; then
  echo "--- killed, failing, hung and drifting ranks: run in the plain pass, not under the sanitizers"
else
  echo "--- a rank killed with SIGKILL"
  start_long "$tmp/kill"
  victim=$(rank_pid 1 "$tmp/kill")
  check "found rank 1's process" [ -n "$victim" ]
  [ -n "$victim" ] && kill -9 "$victim"
  wait_job 60
  check "mpirun names the killed rank" grep -qE "rank 1 .*(signal 9|Killed)" "$log"
  ends_job "SIGKILL" "$tmp/kill"

  echo "--- a device failing on rank 1"
  # several hundred OpenCL calls an iteration: the 12000th comes after checkpoint 20
  COOPNETS_FAULT=cl:12000 COOPNETS_FAULT_RANK=1 start_long "$tmp/device"
  wait_job 60
  check "the error names rank 1 and the OpenCL failure" grep -q "coopnets_cl (rank 1 of 2): .*CL_OUT_OF_RESOURCES" "$log"
  ends_job "device failure" "$tmp/device"

  echo "--- a rank that hangs (SIGSTOP): the others time out"
  COOPNETS_MPI_TIMEOUT=5 start_long "$tmp/hang"
  victim=$(rank_pid 1 "$tmp/hang")
  [ -n "$victim" ] && kill -STOP "$victim"
  wait_job 60
  check "rank 0 gives up waiting, and says so" grep -q "coopnets_cl (rank 0 of 2): no answer from the other ranks for [0-9]* s" "$log"
  ends_job "hang" "$tmp/hang"

  echo "--- a replica that drifts"
  COOPNETS_FAULT=drift:25 COOPNETS_FAULT_RANK=1 start_long "$tmp/drift" # the check of iteration 25: after checkpoint 20
  wait_job 60
  check "the replica check names rank 1" grep -q "the replicas drifted apart: .* rank 1 differ from rank 0" "$log"
  ends_job "drift" "$tmp/drift"

fi

echo "--- SIGTERM to mpirun"
start_long "$tmp/term"
pkill -TERM -f -- "^mpirun .*--out $tmp/term "
wait_job 60
stopped=$(grep -oE 'stopped at iteration [0-9]+' "$log" | grep -oE '[0-9]+$')
check "rank 0 says where it stopped (iteration ${stopped:-?}) and how to continue" \
  grep -qE "stopped at iteration [0-9]+; continue with --resume $tmp/term" "$log"
check "a checkpoint at that iteration" [ -s "$(printf '%s/checkpoints/ckpt-%06d.cnck' "$tmp/term" "${stopped:-0}")" ]
check "said once, by rank 0" [ "$(grep -c 'stopped at iteration' "$log")" = 1 ]
check "the job resumes from it" resumable "$tmp/term"

echo "--- ranks on different devices: PoCL (CPU) and Oclgrind (a simulated GPU)"
if sanitized; then
  # Minutes there, as for test_oclgrind, which tools/sanitize.sh leaves out for the same reason.
  echo "run in the plain pass: Oclgrind interprets every kernel, slowed by ASan's allocator, on the R=2 run's paths"
elif [ -e /usr/lib/oclgrind/liboclgrind-rt-icd.so ] && [ -e /etc/OpenCL/vendors/pocl.icd ]; then
  mkdir -p "$tmp/icd" && cp /etc/OpenCL/vendors/pocl.icd "$tmp/icd/" &&
    echo /usr/lib/oclgrind/liboclgrind-rt-icd.so >"$tmp/icd/oclgrind.icd"
  small=(--iters 2 --set training.batch_size=4 --set training.chains=4 --set descriptor.langevin.steps=2
         --set generator.langevin.steps=1)
  # Oclgrind interprets kernels: shapes tiny, and our own GEMM (no CLBlast tuning in a simulator).
  OCL_ICD_VENDORS=$tmp/icd COOPNETS_GEMM=own "$CLI" --device 1 "${TRAIN[@]}" --out "$tmp/het1" "${small[@]}" >"$log" 2>&1
  OCL_ICD_VENDORS=$tmp/icd COOPNETS_GEMM=own "${MPI[@]}" -x OCL_ICD_VENDORS -n 2 "$CLI" --device 1,0 "${TRAIN[@]}" \
    --out "$tmp/het2" "${small[@]}" >"$log" 2>&1
  check "rank 1 runs on the Oclgrind simulator" grep -q "rank 1 of 2: device 0: Oclgrind" "$log"
  check "CPU + simulated GPU equal one CPU within 1e-5" same_metrics 1e-5 "$tmp/het1/metrics.jsonl" "$tmp/het2/metrics.jsonl"
else
  echo "FAIL: oclgrind (Debian package oclgrind) or PoCL's ICD is missing: cannot run ranks on two platforms"
  failures=$((failures + 1))
fi

echo "--- guards"
"${MPI[@]}" -n 2 "$CLI" "${TRAIN[@]}" --out "$tmp/slow" --iters 1 --set descriptor.langevin.steps=12000 >"$log" 2>&1
check "an iteration longer than mpirun's 1 s kill delay: rank 0 says how to stop with a checkpoint" \
  grep -q "mpirun kills the ranks 1 s after it forwards Ctrl-C or SIGTERM.*odls_base_sigkill_timeout" "$log"
"${MPI[@]}" -n 2 "$CLI" sample "$tmp/r2" --count 4 --out "$tmp/s.png" >"$log" 2>&1
check "sample under mpirun -n 2 is refused in words" grep -q "only train and bench run on several ranks" "$log"
"${MPI[@]}" -n 5 "$CLI" "${TRAIN[@]}" --out "$tmp/many" --iters 1 --set training.chains=4 >"$log" 2>&1
check "5 ranks for 4 chains are refused in words" grep -q "leave a rank with nothing to do: use at most 4 ranks" "$log"
if [ -n "${CN_BINARY_DIR:-}" ] && [ -e "${CN_SOURCE_DIR:-.}/CMakeLists.txt" ]; then
  nompi=$CN_BINARY_DIR/../build-nompi
  # Unoptimised: it only has to compile and refuse (measured 26 s against Release's 36 s).
  cmake -S "${CN_SOURCE_DIR:-.}" -B "$nompi" -DCN_MPI=OFF -DCN_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug >"$log" 2>&1 &&
    cmake --build "$nompi" --target coopnets_cl -j2 >>"$log" 2>&1
  check "the sources build without MPI" [ -x "$nompi/coopnets_cl" ]
  OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 "$nompi/coopnets_cl" "${TRAIN[@]}" --out "$tmp/nompi" >"$log" 2>&1
  code=$?
  check "a binary without MPI refuses 2 ranks (exit $code) and says how to get MPI" \
    grep -q "built without MPI: install libopenmpi-dev" "$log"
  OMPI_COMM_WORLD_SIZE=1 "$nompi/coopnets_cl" "${TRAIN[@]}" --out "$tmp/nompi" --iters 1 >"$log" 2>&1
  check "and trains as one process" grep -q "iter      1/1" "$log"
fi

summary
