#!/usr/bin/env bash
# Installs what is missing, builds zerotouch with warnings as errors and ASan+UBSan, checks the
# formatting, and runs the whole test suite (unit, integration, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The dashboard's browser test drives Debian's Chromium with playwright-core (pinned in
# tests/browser/package-lock.json).
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

build=build/test
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DZTP_WERROR=ON -DENABLE_SANITIZERS=ON \
  -DZTP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"

scripts/check-format.sh

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
