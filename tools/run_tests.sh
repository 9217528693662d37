#!/usr/bin/env bash
# The test suite: installs what is missing, builds, runs every CTest test on the OpenCL device (PoCL
# on the CPU in CI), then the suite again under the sanitizers. PoCL's kernel cache stays in one
# place so CLBlast compiles once per machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$HOME/.cache/pocl/kcache}
mkdir -p "$POCL_CACHE_DIR"
bash tools/setup.sh
if ! (cd build && ctest --output-on-failure --timeout 900 "$@"); then
  bash tools/ctest_failures.sh build || true
  exit 1
fi
# The same suite under ASan + UBSan + LeakSanitizer (its own build in build-asan/).
[ "${CN_SKIP_SANITIZE:-0}" = 1 ] || bash tools/sanitize.sh
