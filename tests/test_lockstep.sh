#!/usr/bin/env bash
# Lockstep against PyTorch: a short run of the 28×28 reference nets traced with the test-only switch
# COOPNETS_TRACE (include/coopnets/cn_trace.h), replayed by tools/lockstep_torch.py in PyTorch (the
# nets of benchmarks/peer_torch.py) from the same initial weights, batches, latent draws and
# Langevin noise; the parameters and metrics after each iteration must agree to float32 drift.
# Two iterations (the second Adam step builds on the first's moments), M = 20 chains ≠ n = 12
# observed, 3 descriptor and 2 generator Langevin steps (step 4, which the reference config skips).
# The 20-iteration run at the config's real sizes is benchmarks/results/LOCKSTEP.md.
#
# Tolerances (rms relative differences, ‖ours − torch‖ / ‖torch‖). Measured on this run: the revised
# chains Ỹ and the inferred h 6e-7 and 2e-8 in iteration 1, 6.6e-4 and 2.6e-6 in iteration 2; the
# parameters ≤ 6.1e-4 and L_D, L_G, mean ‖∂f/∂Y‖ ≤ 5.5e-5 after iteration 2. Float32 rounding is all
# of it: in iteration 1 one generator pre-activation lies 5e-7 from the leaky ReLU's kink (its scale
# is 0.75) and takes the other branch here, which moves that net's gradient by 4e-4 (exact once
# flipped), and Adam, whose first steps are ±lr wherever |gradient| ≫ eps, carries it on (a third
# iteration reaches Ỹ 2.5e-3: too close to a limit for a test). The limits: Ỹ and h 5e-3,
# parameters 5e-3, metrics 2e-3.
# The limits are checked against PyTorch's float64 replay, not its float32 one: on a Zen 3 (AVX2,
# OpenBLAS 0.3.21) PyTorch's float32 replay itself met a kink in iteration 1 (3.7e-3 from float64 in
# the descriptor's parameters, 1.3e-2 after iteration 2) while coopnets_cl stayed 8.9e-6 and 1.8e-5
# from float64 (Ỹ 1.4e-4, metrics ≤ 6e-6): against float32 the test measured PyTorch's rounding.
# A wrong draw is well above them: iteration 1's descriptor noise with its sign flipped (the last
# part) gives Ỹ 8e-2, parameters 6e-2 and 1.6e-2, L_D 1e-2, L_G 1.2e-2. The biases that cannot
# affect the run are reported, not checked (see the tool).
#
# PyTorch is Debian's python3-torch for the system Python (tools/setup.sh installs it); when it is
# missing the test installs it, and skips (exit 77, with the reason) only where that is impossible.
set -u
CLI=${1:?usage: test_lockstep.sh PATH/TO/coopnets_cl}
tmp=$(mktemp -d /tmp/cn_test_lockstep.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/support/cli_expect.sh"
PY=/usr/bin/python3 # python3-torch belongs to the system Python, not to a pyenv or venv one
TOOL=tools/lockstep_torch.py

if ! $PY -c 'import torch, numpy' 2>/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  echo "--- installing python3-torch and libopenblas0-pthread (apt-get)"
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3-torch libopenblas0-pthread >"$tmp/apt.log" 2>&1 || ! $PY -c 'import torch, numpy' 2>/dev/null; then
    sed 's/^/    /' "$tmp/apt.log" | tail -5
    echo "SKIPPED: PyTorch (Debian's python3-torch) is not installed and cannot be installed here" \
      "(apt-get as root or passwordless sudo failed, see above): bash tools/setup.sh installs it"
    exit 77
  fi
fi

train=("$CLI" --quiet train configs/fashion_mnist.json --iters 2 --set data.limit=1000 --set training.batch_size=12
       --set training.chains=20 --set descriptor.langevin.steps=3 --set generator.langevin.steps=2
       --set training.log_every=1 --set training.tensorboard=false)

echo "--- the traced run"
COOPNETS_TRACE="$tmp/trace" "${train[@]}" --out "$tmp/run" >"$tmp/train.log" 2>&1
check "train exits 0" [ $? = 0 ] || sed 's/^/    /' "$tmp/train.log"
check "the trace holds layout.json, the initial weights and 2 iterations" \
  test -s "$tmp/trace/layout.json" -a -s "$tmp/trace/000000/generator.npy" -a -s "$tmp/trace/000002/descriptor.npy"
check "iteration 2 has every draw: latent, 3 descriptor and 2 generator Langevin steps" \
  $PY -c "import numpy, sys; d = sys.argv[1]
shapes = [numpy.load(f'{d}/{n}.npy').shape for n in ('observed', 'latent', 'descriptor_noise', 'generator_noise')]
sys.exit(shapes != [(12, 1, 28, 28), (20, 100, 1, 1), (3, 20, 1, 28, 28), (2, 20, 100, 1, 1)])" "$tmp/trace/000002"
"${train[@]}" --out "$tmp/plain" >/dev/null 2>&1
check "tracing changes nothing: the traced run's metrics equal an untraced run's bit for bit" \
  cmp -s <(cut -d, -f1-8 "$tmp/run/metrics.jsonl") <(cut -d, -f1-8 "$tmp/plain/metrics.jsonl")

echo "--- PyTorch replays it"
$PY $TOOL "$tmp/trace" "$tmp/run" --max-param-rms 5e-3 --max-metric-rel 2e-3 --max-step-rms 5e-3 --limits-against float64 >"$tmp/replay.log" 2>&1
rc=$?
sed 's/^/    /' "$tmp/replay.log"
check "Ỹ, h, parameters and metrics agree after each of the 2 iterations (exit 0)" [ $rc = 0 ]
check "it compared 2 iterations" grep -qE '^ +2 \|' "$tmp/replay.log"

echo "--- a wrong draw is caught: iteration 1's descriptor Langevin noise with its sign flipped"
$PY -c "import numpy, sys; p = sys.argv[1]; numpy.save(p, -numpy.load(p))" "$tmp/trace/000001/descriptor_noise.npy"
expect 1 'FAIL: iteration 1: revised differs by' -- \
  $PY $TOOL "$tmp/trace" "$tmp/run" --iterations 1 --max-param-rms 5e-3 --max-metric-rel 2e-3 --max-step-rms 5e-3 --limits-against float64

echo "--- bad input"
expect 2 'COOPNETS_TRACE=.*traces only a run of mode "coop" on one rank from its first iteration .*mode "descriptor"' -- \
  env COOPNETS_TRACE="$tmp/d" "$CLI" train configs/tiny.json --iters 1 --out "$tmp/d-run" --set mode=descriptor
expect 2 'lockstep_torch: .*/000001/latent\.npy: missing \(the latent draw\)' -- \
  sh -c "rm '$tmp/trace/000001/latent.npy' && $PY $TOOL '$tmp/trace' '$tmp/run'"
summary
