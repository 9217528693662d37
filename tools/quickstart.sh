#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: set everything up, then train CoopNets on
# Fashion-MNIST (configs/fashion_mnist.json) with progress and ETA. Extra arguments go to `train`
# (e.g. --iters 200, --device 1). Stop with Ctrl-C (a checkpoint is written) and continue with
#   build/coopnets_cl train --resume runs/fashion_mnist
set -euo pipefail
cd "$(dirname "$0")/.."
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
bash tools/setup.sh
build/coopnets_cl devices
exec build/coopnets_cl train configs/fashion_mnist.json "$@"
