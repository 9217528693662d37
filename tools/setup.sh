#!/usr/bin/env bash
# Installs what coopnets_cl needs from Debian 12 packages (only what is missing) and builds it into
# build/. Run as root, or as a user with sudo. Idempotent: quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
          libclblast-dev libpng-dev libcjson-dev librandom123-dev zlib1g-dev dataset-fashion-mnist
          libopenmpi-dev openmpi-bin libprotobuf-c-dev protobuf-c-compiler python3-venv oclgrind
          python3-torch libopenblas0-pthread) # PyTorch for tests/test_lockstep.sh (OpenBLAS: its products at speed)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else
    echo "setup: not root and no sudo; install these Debian packages first: ${missing[*]}" >&2; exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_TYPE=${BUILD_TYPE:-Release}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/coopnets_cl"
