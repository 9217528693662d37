#!/usr/bin/env bash
# Builds coopnets_cl, runs `coopnets_cl bench` on every OpenCL device for the reference configs
# (benchmarks/mnist28.json, benchmarks/scene64.json and configs/texture.json, the 128x128 texture
# nets), each followed at once by the PyTorch peer on the CPU (benchmarks/peer_torch.py), and writes
# benchmarks/results/RESULTS.md and chart.png (benchmarks/report.py).
#
#   bash benchmarks/run.sh [--note "what else ran on the machine"] [--isa avx2] [--out DIR]
#
# --out DIR: where the results go (default benchmarks/results, benchmarks/results/avx2 with
# --isa avx2), so a second kind of machine keeps its own RESULTS.md beside the first's.
#
# --isa avx2: both sides generate AVX2 + FMA code on an AVX-512 machine (PoCL compiles for
# POCL_LLVM_CPU_NAME=haswell with its avx2 kernel library, OpenBLAS runs its Haswell core), and the
# results go to benchmarks/results/avx2. COOPNETS_VECTOR_WIDTH=8 makes coopnets_cl size its
# kernels as it would on an AVX2 machine: PoCL still reports the host's 16 floats per vector, and
# the 16-wide variants that picks spill AVX2's 16 registers (measured: 0.95-1.11 of PyTorch's
# iteration, SGEMM 76 GFLOP/s against OpenBLAS's 145). The avx2 results are the kernels' fit to
# 8-wide vectors measured where no AVX2 machine is at hand (same caches and clock as the AVX-512
# run, so not a stand-in for their sizes).
#
# Environment: BUILD_DIR (default build), ITERS_28/WARMUP_28 (default 5/1), ITERS_64/WARMUP_64
# (default 3/1), ITERS_TEXTURE/WARMUP_TEXTURE (default 2/1: an iteration takes tens of seconds on
# a 2-core CPU), POCL_CACHE_DIR (default ~/.cache/pocl/kcache). The texture config needs
# scikit-image's brick.png (tools/fetch_data.sh fetches it when missing). Installs python3-torch and
# libopenblas0-pthread when missing: Debian's torch multiplies through whatever libblas.so.3 is
# installed, and only OpenBLAS makes the comparison fair (DESIGN §4).
set -euo pipefail
cd "$(dirname "$0")/.."

note="" isa="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --note) note=${2:?--note needs a text}; shift 2 ;;
    --isa)
      [ "${2:-}" = avx2 ] || { echo "run.sh: --isa takes avx2" >&2; exit 2; }
      isa=avx2; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    *) echo "usage: bash benchmarks/run.sh [--note TEXT] [--isa avx2] [--out DIR]" >&2; exit 2 ;;
  esac
done

OUT=benchmarks/results
if [ "$isa" = avx2 ]; then
  grep -qw avx2 /proc/cpuinfo || { echo "run.sh: this CPU has no AVX2" >&2; exit 2; }
  export POCL_LLVM_CPU_NAME=haswell POCL_KERNELLIB_NAME=avx2 OPENBLAS_CORETYPE=Haswell COOPNETS_VECTOR_WIDTH=8
  OUT=benchmarks/results/avx2
  note="${note:+$note; }AVX2 code on an AVX-512 machine (--isa avx2: PoCL compiles for haswell, kernels sized for 8 floats per vector, OpenBLAS runs its Haswell core)"
fi
OUT=${out:-$OUT}
BUILD_DIR=${BUILD_DIR:-build}
PY=/usr/bin/python3 # Debian's python3-torch belongs to the system Python, not to a pyenv or venv one
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}

missing=()
$PY -c 'import torch' 2>/dev/null || missing+=(python3-torch)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing+=(libopenblas0-pthread)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target coopnets_cl
CLI=$BUILD_DIR/coopnets_cl
mkdir -p "$OUT"
"$CLI" devices | tee "$OUT/devices.txt"

data=$HOME/.local/share/coopnets_cl/data # where configs/texture.json reads brick.png from
[ -s "$data/skimage/brick.png" ] || sh tools/fetch_data.sh "$data"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
configs=(mnist28 scene64 texture)
for name in "${configs[@]}"; do
  case $name in
    mnist28) config=benchmarks/mnist28.json iters=${ITERS_28:-5} warmup=${WARMUP_28:-1} sgemm=(--sgemm 1024) ;;
    scene64) config=benchmarks/scene64.json iters=${ITERS_64:-3} warmup=${WARMUP_64:-1} sgemm=() ;;
    texture) config=configs/texture.json iters=${ITERS_TEXTURE:-2} warmup=${WARMUP_TEXTURE:-1} sgemm=() ;;
  esac
  echo "== $name: coopnets_cl on every device"
  "$CLI" --device all bench "$config" --iters "$iters" --warmup "$warmup" "${sgemm[@]}" \
    --json "$OUT/$name.json" | tee "$OUT/$name.log"
  echo "== $name: PyTorch on the CPU"
  $PY benchmarks/peer_torch.py "$OUT/$name.json" --iters "$iters" --warmup "$warmup" \
    --json "$OUT/$name-torch.json" | tee "$OUT/$name-torch.log"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

$PY benchmarks/report.py "$OUT" --configs "${configs[@]}" --load-before "$load_before" --load-after "$load_after" \
  --note "$note"
