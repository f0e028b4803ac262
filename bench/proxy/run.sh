#!/usr/bin/env bash
# bench/proxy: the same static nginx backend measured with wrk four ways, side by side in one
# run: directly, through `ztp proxy`, through nginx as a reverse proxy (upstream keep-alive on)
# and through HAProxy (http-reuse always). Every proxy runs one worker on the same pinned
# cores; the rounds alternate the order; each figure is the median of the rounds.
#
# The layout makes the proxy the bottleneck: the backend gets a core of its own, and the proxy
# under test shares the other with wrk, so the CPU a proxy spends per request is CPU wrk does
# not get, and a leaner proxy serves more requests. "nginx (direct)" shows the headroom: it
# must be well above every proxy, or the run measured the backend, not the proxies. Beside
# req/s and p99, each proxy's own CPU time per request (user + system, read from /proc) is
# printed: the figure the core sharing cannot blur.
#
# Usage: bench/proxy/run.sh [path/to/ztp]
# Environment: ROUNDS (5), DURATION (10s), CONNECTIONS (64), WRK_THREADS (1),
#   PROXY_CPUS (0), BACKEND_CPUS (1), LOAD_CPUS (0)  -- taskset lists
# Needs: wrk, nginx (nginx-light), haproxy, curl, taskset (util-linux).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"  # free_port

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ztp="${1:-$root/build/ztp}"
rounds="${ROUNDS:-5}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-64}"
wrk_threads="${WRK_THREADS:-1}"
proxy_cpus="${PROXY_CPUS:-0}"
backend_cpus="${BACKEND_CPUS:-1}"
load_cpus="${LOAD_CPUS:-0}"

for tool in wrk nginx haproxy curl taskset; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    echo "bench/proxy: '$tool' is missing: apt-get install wrk nginx-light haproxy curl util-linux" >&2
    exit 1
  fi
done
if [ ! -x "$ztp" ]; then
  echo "bench/proxy: no ztp binary at $ztp: build it (ninja -C build ztp) or pass its path" >&2
  exit 1
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
haproxy_bin="$(command -v haproxy || echo /usr/sbin/haproxy)"

work="$(mktemp -d /tmp/ztp-bench-proxy.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -S "$work/ztp/admin.sock" ]; then
    curl -s --unix-socket "$work/ztp/admin.sock" -X POST http://ztp/v1/shutdown >/dev/null || true
  fi
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT

wait_http() {
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/"; then return 0; fi
    sleep 0.1
  done
  echo "bench/proxy: nothing answers on port $1" >&2
  exit 1
}

backend_port="$(free_port)"
nginx_proxy_port="$(free_port)"
haproxy_port="$(free_port)"
ztp_port="$(free_port)"

# The backend: nginx serving a small static page (and /health).
mkdir -p "$work/www" "$work/backend" "$work/nginx-proxy" "$work/ztp"
head -c 612 /dev/zero | tr '\0' 'x' >"$work/www/index.html"
echo ok >"$work/www/health"
# nginx workers run as an unprivileged user: they must be able to read the page.
chmod 755 "$work" "$work/www"
chmod 644 "$work/www/index.html" "$work/www/health"
cat >"$work/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/backend/nginx.pid;
error_log $work/backend/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$backend_port reuseport;
    root $work/www;
  }
}
EOF
taskset -c "$backend_cpus" "$nginx_bin" -c "$work/backend/nginx.conf" -p "$work/backend" &
pids+=($!)

# nginx as a reverse proxy, upstream keep-alive on.
cat >"$work/nginx-proxy/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx-proxy/nginx.pid;
error_log $work/nginx-proxy/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream app {
    server 127.0.0.1:$backend_port;
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$nginx_proxy_port;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
EOF
taskset -c "$proxy_cpus" "$nginx_bin" -c "$work/nginx-proxy/nginx.conf" -p "$work/nginx-proxy" &
pids+=($!)
nginx_proxy_pid=$!

# HAProxy, one thread, connection reuse to the backend.
cat >"$work/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option forwardfor
  http-reuse always
frontend front
  bind 127.0.0.1:$haproxy_port
  default_backend app
backend app
  server s1 127.0.0.1:$backend_port
EOF
taskset -c "$proxy_cpus" "$haproxy_bin" -f "$work/haproxy.cfg" -db &
pids+=($!)
haproxy_pid=$!

# ztp proxy, one worker thread.
taskset -c "$proxy_cpus" "$ztp" proxy --state-dir "$work/ztp" --threads 1 \
  >"$work/ztp/proxy.out" 2>&1 &
pids+=($!)
ztp_pid=$!
for _ in $(seq 1 100); do
  if curl -s --unix-socket "$work/ztp/admin.sock" http://ztp/v1/ping >/dev/null; then break; fi
  sleep 0.1
done
curl -sf --unix-socket "$work/ztp/admin.sock" -X PUT "http://ztp/v1/envs/bench" \
  -H 'Content-Type: application/json' \
  -d "{\"listen\":\"127.0.0.1:$ztp_port\",\"health\":{\"path\":\"/health\",\"interval_ms\":1000},
       \"release_sets\":[{\"release\":\"1\",\"weight\":100,
       \"backends\":[{\"id\":\"b0\",\"address\":\"127.0.0.1:$backend_port\"}]}]}" >/dev/null

for port in "$backend_port" "$nginx_proxy_port" "$haproxy_port"; do wait_http "$port"; done
for _ in $(seq 1 100); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ztp_port/" || true)"
  [ "$code" = 200 ] && break
  sleep 0.1
done
for port in "$backend_port" "$ztp_port" "$nginx_proxy_port" "$haproxy_port"; do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")"
  if [ "$code" != 200 ]; then
    echo "bench/proxy: port $port answers $code, not 200" >&2
    exit 1
  fi
done

# CPU time (user + system, in clock ticks) of process $1 and its children (nginx's workers).
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name.
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
  done
  echo "$total"
}
ticks_per_second="$(getconf CLK_TCK)"

# One wrk run against port $1 while measuring the CPU of process $2 (none: -):
# prints "req/s p99_ms cpu_us_per_request errors".
measure() {
  local out before=0 after=0
  [ "$2" = - ] || before="$(cpu_ticks "$2")"
  out="$(taskset -c "$load_cpus" wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency \
    "http://127.0.0.1:$1/")"
  [ "$2" = - ] || after="$(cpu_ticks "$2")"
  echo "$out" | awk -v ticks=$((after - before)) -v hz="$ticks_per_second" -v pid="$2" '
    /Requests\/sec:/ { rps = $2 }
    / requests in / { n = $1 }
    /^ +99%/ {
      v = $2
      if (v ~ /us$/) { sub(/us$/, "", v); p99 = v / 1000 }
      else if (v ~ /ms$/) { sub(/ms$/, "", v); p99 = v }
      else if (v ~ /s$/) { sub(/s$/, "", v); p99 = v * 1000 }
    }
    /Non-2xx|Socket errors/ { gsub(/^ +/, ""); gsub(/ /, "_"); errors = errors $0 ";" }
    END {
      cpu = (pid == "-" || n == 0) ? "-" : sprintf("%.2f", ticks * 1e6 / hz / n)
      printf "%s %s %s %s\n", rps, p99, cpu, errors
    }'
}

names=(direct ztp nginx haproxy)
declare -A port_of=([direct]=$backend_port [ztp]=$ztp_port [nginx]=$nginx_proxy_port
  [haproxy]=$haproxy_port)
declare -A pid_of=([direct]=- [ztp]=$ztp_pid [nginx]=$nginx_proxy_pid [haproxy]=$haproxy_pid)
declare -A rps_of p99_of cpu_of

# Warm every path once.
for n in "${names[@]}"; do
  taskset -c "$load_cpus" wrk -t1 -c"$connections" -d2s "http://127.0.0.1:${port_of[$n]}/" >/dev/null
done

for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then order=("${names[@]}"); else
    order=(haproxy nginx ztp direct)
  fi
  for n in "${order[@]}"; do
    read -r rps p99 cpu err <<<"$(measure "${port_of[$n]}" "${pid_of[$n]}")"
    echo "round $round  ${n}: ${rps} req/s  p99 ${p99} ms  proxy cpu ${cpu} us/req" \
      "${err:+errors: $err}" >&2
    rps_of[$n]+="$rps "
    p99_of[$n]+="$p99 "
    cpu_of[$n]+="$cpu "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo
echo "bench/proxy: wrk -t$wrk_threads -c$connections -d$duration, median of $rounds rounds;" \
  "proxies on cpus $proxy_cpus, backend on $backend_cpus, wrk on $load_cpus"
printf '%-24s %9s %8s %14s %12s %12s %11s\n' target req/s p99_ms "req/s vs nginx" \
  "p99 vs nginx" "cpu us/req" "cpu vs nginx"
nginx_rps="$(echo "${rps_of[nginx]}" | median)"
nginx_p99="$(echo "${p99_of[nginx]}" | median)"
nginx_cpu="$(echo "${cpu_of[nginx]}" | median)"
labels=([0]="nginx (direct)" [1]="ztp proxy" [2]="nginx as reverse proxy" [3]="haproxy")
for i in 0 1 2 3; do
  n="${names[$i]}"
  rps="$(echo "${rps_of[$n]}" | median)"
  p99="$(echo "${p99_of[$n]}" | median)"
  cpu="$(echo "${cpu_of[$n]}" | median)"
  awk -v l="${labels[$i]}" -v r="$rps" -v p="$p99" -v c="$cpu" -v nr="$nginx_rps" \
    -v np="$nginx_p99" -v nc="$nginx_cpu" 'BEGIN {
      cr = c == "-" ? "-" : sprintf("%.2f", c / nc)
      printf "%-24s %9.0f %8.2f %14.2f %12.2f %12s %11s\n", l, r, p, r / nr, p / np, c, cr
    }'
done
