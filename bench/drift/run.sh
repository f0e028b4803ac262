#!/usr/bin/env bash
# The time of one drift check across many environments on the local target: ENVS environments
# (default 100) of REPLICAS nginx replicas each (default 3; the sample application's nginx, one
# worker per replica) behind one ztp proxy. Deploys them all, then times `ztp drift` over every
# environment and `ztp drift ENV` over one, RUNS times each (default 3), and prints the median,
# the time per environment and what the check found (it must be in sync: exit 0). Everything
# lives in a temporary ZTP_HOME that is brought down and removed on exit.
#
#   bench/drift/run.sh [path/to/ztp]      (needs: apt-get install nginx-light)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ztp=$(realpath "${1:-$root/build/release/ztp}")
envs=${ENVS:-100}
replicas=${REPLICAS:-3}
runs=${RUNS:-3}
command -v nginx >/dev/null || { echo "nginx is missing: apt-get install nginx-light" >&2; exit 1; }
[[ -x "$ztp" ]] || { echo "no ztp at $ztp: build it first (cmake --build build/release)" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
  timeout 600 "$ztp" -f "$work/app/ztp.yaml" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export ZTP_HOME="$work/home"
"$ztp" init "$work/app" >/dev/null

# ztp.yaml: one front door per environment on a free port, replica ports from a range wide
# enough for every replica plus a rollout's surge.
python3 - "$work/app/ztp.yaml" "$envs" "$replicas" <<'PY'
import socket, sys
path, envs, replicas = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks, ports = [], []
for _ in range(envs):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    ports.append(s.getsockname()[1])
first = 20000 + (ports[0] % 20000)
last = first + envs * replicas * 2 + 100
while any(first <= p <= last for p in ports):
    first, last = last + 1, last + 1 + (last - first)
lines = [
    "app: sample-site",
    "build:",
    '  command: ["nginx", "-p", "{{replica_dir}}", "-c", "{{replica_dir}}/nginx.local.conf", "-e", "stderr", "-g", "daemon off;"]',
    '  templates: ["nginx.local.conf"]',
    '  dockerfile: none',
    "service:",
    f"  port_range: {first}-{last}",
    "  health: {path: /health, interval: 1s, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 2}",
    "  start_timeout: 20s",
    "  stop_timeout: 5s",
    "  drain_timeout: 1s",
    "environments:",
]
for i, port in enumerate(ports):
    lines += [f"  - name: e{i:03d}",
              f"    listen: 127.0.0.1:{port}",
              f"    replicas: {replicas}",
              f"    strategy: {{rolling: {{max_surge: {replicas}, max_unavailable: 0}}}}"]
open(path, "w").write("\n".join(lines) + "\n")
PY
cd "$work/app"

echo "deploying $envs environments of $replicas replicas ..." >&2
started=$(date +%s)
for ((i = 0; i < envs; i++)); do
  name=$(printf 'e%03d' "$i")
  timeout 120 "$ztp" deploy "$name" --dir . >/dev/null 2>"$work/deploy.log" ||
    { echo "deploy of $name failed:" >&2; cat "$work/deploy.log" >&2; exit 1; }
done
echo "deployed in $(( $(date +%s) - started )) s" >&2

# Runs `ztp drift ARGS` RUNS times; prints the median wall time in ms. Exit 0 required.
median_ms() {
  local times=() t0 t1 code
  for ((r = 0; r < runs; r++)); do
    t0=$(date +%s%N)
    code=0
    timeout 600 "$ztp" drift "$@" >"$work/drift.out" 2>&1 || code=$?
    t1=$(date +%s%N)
    if [[ $code != 0 ]]; then
      echo "ztp drift $* exited $code (expected 0, in sync):" >&2
      head -40 "$work/drift.out" >&2
      exit 1
    fi
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

all=$(median_ms)
one=$(median_ms e000)
checks=$(sqlite3 "$ZTP_HOME/state.db" 'select count(*) from drift_reports' 2>/dev/null || echo "?")
printf '%-52s %s\n' "environments x replicas" "$envs x $replicas ($((envs * replicas)) nginx replicas)"
printf '%-52s %s ms\n' "ztp drift (every environment), median of $runs" "$all"
printf '%-52s %s ms\n' "  per environment" "$(( all / envs ))"
printf '%-52s %s ms\n' "ztp drift e000 (one environment), median of $runs" "$one"
printf '%-52s %s\n' "drift reports kept in the store" "$checks"
