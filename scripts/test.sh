#!/usr/bin/env bash
# The whole test suite: set up and build, the unit and integration tests
# under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer, the
# fuzz targets briefly, then every test of the release build with ctest.
# Needs root (the integration tests create network namespaces). Extra
# arguments go to the last ctest run (e.g. -R record).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
jobs=$(nproc)

echo "== unit and integration tests under ASan/UBSan/LSan"
cmake -S . -B build-asan -DEGW_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L 'unit|integration' -j"$jobs" \
	--output-on-failure)

echo "== fuzz targets, briefly"
CC=clang cmake -S . -B build-fuzz -DEGW_FUZZ=ON -DEGW_INTEGRATION=OFF >/dev/null
cmake --build build-fuzz --target fuzz_job fuzz_layout fuzz_config fuzz_sdp fuzz_manifest -j"$jobs"
(cd build-fuzz && ctest -L fuzz --output-on-failure)

echo "== all tests"
cd build
ctest -j"$jobs" --output-on-failure "$@"
