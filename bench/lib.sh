# Shared set-up of the bench/ scripts that deploy the sample application: source it, then call
# what the script needs.

# A TCP port on 127.0.0.1 that is free now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Sets `ztp` to the binary given as $1 (default: build/release/ztp) after checking that it and
# wrk exist.
bench_ztp() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  ztp=$(realpath "${1:-$root/build/release/ztp}")
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
  [[ -x "$ztp" ]] || { echo "no ztp at $ztp: build it first (cmake --build build/release)" >&2; exit 1; }
}

# Makes `work` (a temporary directory, removed with everything ztp started when the script
# exits), ZTP_HOME inside it, the sample application in $work/app and `port`, a free port for
# its front door.
bench_sample_app() {
  work=$(mktemp -d)
  trap '"$ztp" -f "$work/app/ztp.yaml" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  export ZTP_HOME="$work/home"
  "$ztp" init "$work/app" >/dev/null
  port=$(free_port)
}

# Writes $work/app/ztp.yaml: the sample application on nginx as environment `bench` on `port`,
# with $1 replicas and the strategy $2 (YAML, indented for its place under `strategy:`).
bench_sample_spec() {
  cat > "$work/app/ztp.yaml" <<EOT
app: sample-site
build:
  command: ["nginx", "-p", "{{replica_dir}}", "-c", "{{replica_dir}}/nginx.local.conf", "-e", "stderr", "-g", "daemon off;"]
  templates: ["nginx.local.conf"]
  dockerfile: none
service:
  health: {path: /health, interval: 200ms, timeout: 500ms}
  drain_timeout: 5s
environments:
  - name: bench
    listen: 127.0.0.1:$port
    replicas: $1
    strategy: $2
EOT
}
