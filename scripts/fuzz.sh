#!/usr/bin/env bash
# Runs one libFuzzer target for a while; see --help and docs/testing.md ("Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(spec webhook http_head chunked manifest unpack)

usage() {
  cat <<USAGE
usage: scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_FLAG...]

Builds the libFuzzer binary fuzz_TARGET with clang in build/fuzz (-DZTP_FUZZ=ON; configured on
first use) and runs it for SECONDS over a scratch corpus (build/fuzz/scratch/TARGET/corpus, kept
from run to run) into which the seeds of tests/fuzz/TARGET/ are copied first. New inputs stay
in the scratch corpus. A failing input (crash, leak, timeout, out of memory) is copied into
tests/fuzz/TARGET/crash-<sha1> and the script exits 1 naming it: fix the fault, keep the file
(fuzz_replay_TARGET then replays it in every test run) and commit both.
Extra flags go to the fuzzer as they are (e.g. -max_len=65536 -timeout=10).

targets: ${targets[*]}

environment: ZTP_FUZZ_BUILD (build directory, default build/fuzz),
             ZTP_FUZZ_WORK (scratch directory, default build/fuzz/scratch/TARGET),
             TMPDIR (where harnesses write their files; default /dev/shm when present)
USAGE
}

if [[ $# -ge 1 && ( "$1" == "--help" || "$1" == "-h" ) ]]; then
  usage
  exit 0
fi
if [[ $# -lt 2 ]]; then
  usage >&2
  exit 2
fi
target="$1"
seconds="$2"
shift 2
if [[ ! " ${targets[*]} " == *" $target "* ]]; then
  echo "fuzz.sh: unknown target \"$target\"; targets: ${targets[*]}" >&2
  exit 2
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
  echo "fuzz.sh: SECONDS must be a positive whole number, not \"$seconds\"" >&2
  exit 2
fi
seeds="tests/fuzz/$target"
if [[ ! -d "$seeds" ]] || [[ -z "$(ls -A "$seeds")" ]]; then
  echo "fuzz.sh: $seeds is missing or empty; a target needs seed inputs" >&2
  exit 2
fi

for tool in clang++ cmake ninja; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz.sh: $tool is missing; run scripts/install-deps.sh" >&2
    exit 1
  fi
done

if [[ ! -f "$(clang++ -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a" ]]; then
  echo "fuzz.sh: clang has no libFuzzer runtime (Debian: libclang-rt-14-dev); run" \
    "scripts/install-deps.sh" >&2
  exit 1
fi

build="${ZTP_FUZZ_BUILD:-build/fuzz}"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DZTP_FUZZ=ON -DZTP_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" --target "fuzz_$target"

# The scratch corpus lives in the build directory and grows from run to run; the seeds are
# copied in (new ones too), and the fuzzer writes what it finds there, never into tests/.
work="${ZTP_FUZZ_WORK:-$build/scratch/$target}"
corpus="$work/corpus"
artifacts="$work/artifacts"
rm -rf "$artifacts"
mkdir -p "$corpus" "$artifacts"
for seed in "$seeds"/*; do
  [[ -e "$corpus/${seed##*/}" ]] || cp "$seed" "$corpus/"
done

# The manifest and unpack harnesses write files for every input: on a tmpfs, their fsyncs cost
# nothing.
if [[ -z "${TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]]; then
  export TMPDIR=/dev/shm
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# A single allocation past 512 MB fails at once with its stack; memory that only adds up is left
# to the RSS limit (2 GB), whose report with ASan can take minutes.
status=0
"$build/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 -malloc_limit_mb=512 \
  -artifact_prefix="$artifacts/" "$@" "$corpus" || status=$?

found=()
for crash in "$artifacts"/*; do
  [[ -f "$crash" ]] || continue
  kept="$seeds/crash-$(sha1sum "$crash" | cut -c1-40)"
  cp "$crash" "$kept"
  found+=("$kept")
done
echo "fuzz.sh: corpus of $target: $(find "$corpus" -type f | wc -l) files in $corpus"
if [[ ${#found[@]} -gt 0 ]]; then
  echo "fuzz.sh: fuzz_$target found a failing input; look at: ${found[*]}" >&2
  echo "fuzz.sh: reproduce with $build/fuzz_$target ${found[0]}" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "fuzz.sh: fuzz_$target exited with status $status without leaving an input" >&2
  exit "$status"
fi
