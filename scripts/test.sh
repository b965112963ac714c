#!/usr/bin/env bash
# The whole test suite: set up and build, unit tests under AddressSanitizer
# and UndefinedBehaviorSanitizer, then every test (unit + integration) with
# ctest. Needs root (the integration tests create network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== unit tests under ASan/UBSan"
cmake -S . -B build-asan -DEGW_SANITIZE=ON -DEGW_INTEGRATION=OFF >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure)

echo "== fuzz targets, briefly"
CC=clang cmake -S . -B build-fuzz -DEGW_FUZZ=ON -DEGW_INTEGRATION=OFF >/dev/null
cmake --build build-fuzz --target fuzz_job -j"$(nproc)"
(cd build-fuzz && ctest -L fuzz --output-on-failure)

echo "== all tests"
cd build
ctest --output-on-failure "$@"
