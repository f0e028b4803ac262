#!/usr/bin/env bash
# Installs what is missing, builds zerotouch with warnings as errors and ASan+UBSan, checks the
# formatting, and runs the whole test suite (unit, integration, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The dashboard's browser test drives Debian's Chromium with playwright-core (pinned in
# tests/browser/package-lock.json).
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
# The official AWS SDK for JavaScript, the wire reference of the AWS clients' tests (pinned in
# tests/aws-sdk/package-lock.json).
npm ci --prefix tests/aws-sdk --no-audit --no-fund --loglevel=error

build=build/test
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DZTP_WERROR=ON -DENABLE_SANITIZERS=ON \
  -DZTP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"

scripts/check-format.sh

# Third-party test vectors (tests/vectors.lock): ZTP_VECTORS_DIR when set, else ../shared/vectors
# beside the source tree, else fetched into a cache outside it. When that fails (no network),
# the tests that read them fail and say how to get them.
if [ -z "${ZTP_VECTORS_DIR:-}" ]; then
  if [ -d ../shared/vectors ]; then
    ZTP_VECTORS_DIR="$(cd ../shared/vectors && pwd)"
    export ZTP_VECTORS_DIR
  elif vectors="$(scripts/fetch-vectors.sh)"; then
    export ZTP_VECTORS_DIR="$vectors"
  else
    echo "test.sh: the test vectors could not be fetched; the tests that read them will fail" >&2
  fi
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
