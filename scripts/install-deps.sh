#!/usr/bin/env bash
# Installs the Debian packages that zerotouch needs to build, test and run its demo.
# Idempotent and quiet when everything is already there. Run as root (or with sudo).
set -euo pipefail

# Build: compiler, CMake, and the libraries of DESIGN.md.
build_packages=(
  g++ cmake ninja-build pkg-config clang-format python3
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libgit2-dev libssh2-1-dev libboost-dev libcurl4-openssl-dev libarchive-dev
  libssl-dev libhowardhinnant-date-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# Fuzzing (scripts/fuzz.sh): clang and its libFuzzer and sanitizer runtimes.
fuzz_packages=(
  clang libclang-rt-14-dev
)
# Tests and the demo: the real peers the integration tests drive.
runtime_packages=(
  git sqlite3 curl ca-certificates procps util-linux nginx-light skopeo python3-jsonschema
  docker-registry hyperfine chromium prometheus openssh-server openssh-client fcgiwrap
)
# Benchmarks (bench/): load generators and the baselines we compare against.
bench_packages=(
  wrk hyperfine haproxy util-linux
)

wanted=("${build_packages[@]}" "${fuzz_packages[@]}" "${runtime_packages[@]}")
if [[ "${ZTP_INSTALL_BENCH:-0}" == "1" ]]; then
  wanted+=("${bench_packages[@]}")
fi

# The dashboard's browser test drives Chromium with playwright-core from npm: Node.js comes
# from Debian unless the machine already has one.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  wanted+=(nodejs npm)
fi

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
