#!/usr/bin/env bash
# Installs the Debian packages that zerotouch needs to build, test and run its demo.
# Idempotent and quiet when everything is already there. Run as root (or with sudo).
set -euo pipefail

# Build: compiler, CMake, and the libraries of DESIGN.md.
build_packages=(
  g++ cmake ninja-build pkg-config clang-format python3
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libgit2-dev libssh2-1-dev libboost-dev libcurl4-openssl-dev libarchive-dev
  libssl-dev libhowardhinnant-date-dev zlib1g-dev libzstd-dev libpugixml-dev
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
  podman buildah runc zstd
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

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ -n $sudo ]] && ! command -v sudo >/dev/null; then
    echo "install-deps: run as root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Podman, to run images such as the base image of docs/base-image.md. It runs with runc, named
# here so that it is used even where crun is installed too: crun refuses the cgroup layout of
# these machines. Podman's default open-files limit for a container is above the machines' hard
# limit, which runc cannot set ("error setting rlimit type 7: operation not permitted"): with no
# default ulimits, containers inherit podman's own. Without systemd, podman picks the cgroupfs
# cgroup manager and the file events logger by itself. Checked even when no package was missing.
podman_conf=/etc/containers/containers.conf.d/zz-ztp.conf
podman_conf_text='# Written by scripts/install-deps.sh of zerotouch.
[containers]
default_ulimits = []

[engine]
runtime = "runc"'
if [[ "$(cat "$podman_conf" 2>/dev/null)" != "$podman_conf_text" ]]; then
  if [[ -n $sudo ]] && ! command -v sudo >/dev/null; then
    echo "install-deps: run as root to write $podman_conf" >&2
    exit 1
  fi
  echo "install-deps: writing $podman_conf"
  $sudo mkdir -p "${podman_conf%/*}"
  printf '%s\n' "$podman_conf_text" | $sudo tee "$podman_conf" >/dev/null
fi
