#!/usr/bin/env bash
# Zero-downtime rolling deploys: wrk with keep-alive at full speed through the front door while
# ten consecutive rolling deploys replace three nginx replicas of the sample application.
# Prints total requests, non-2xx responses and socket errors (target: 0 errors), next to a
# baseline of the same load with no deploy running.
#
# RUNTIME=podman runs the same with `target: podman`: the sample application is built by ztp
# from its Dockerfile on the offline nginx base (scripts/make-nginx-base.py, an OCI layout in
# the temporary directory) and every replica is a rootful podman container behind ztp's front
# door. After the deploys one replica's container is killed (`podman kill`); `ztp drift` must
# find it and `ztp drift --fix` repair it. The containers and images of the run are removed on
# exit.
#
#   bench/zero_downtime/run.sh [path/to/ztp]      (needs: apt-get install wrk nginx-light)
#   RUNTIME=podman bench/zero_downtime/run.sh [path/to/ztp]
#                                                 (also: apt-get install podman runc; as root)
# Environment: DEPLOYS (10), RUNTIME (local or podman).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
runtime=${RUNTIME:-local}
[[ $runtime == local || $runtime == podman ]] ||
  { echo "RUNTIME is local or podman, not $runtime" >&2; exit 1; }
bench_ztp "${1:-}"
deploys=${DEPLOYS:-10}
if [[ $runtime == podman ]]; then
  command -v podman >/dev/null || { echo "podman is missing: apt-get install podman runc" >&2; exit 1; }
  [[ $(id -u) == 0 ]] || { echo "RUNTIME=podman runs rootful podman: run it as root" >&2; exit 1; }
fi
bench_sample_app
strategy="{rolling: {max_surge: 1, max_unavailable: 0}}"

if [[ $runtime == podman ]]; then
  # The ztp.home label of this run's containers: ztp names its home by the first 8 hex digits
  # of the SHA-256 of its absolute path.
  home_label=$(printf '%s' "$ZTP_HOME" | sha256sum | cut -c1-8)
  # Removes what the run made: its containers (by label), then its images by the names ztp gave
  # them (localhost/ztp/sample-site:<digest>, and the name of the layout podman pulled from), so
  # that an image another ztp home also names stays.
  podman_cleanup() {
    "$ztp" -f "$work/app/ztp.yaml" down >/dev/null 2>&1 || true
    podman ps --all --quiet --filter "label=ztp.home=$home_label" |
      xargs -r podman rm --force --time 0 >/dev/null 2>&1 || true
    {
      for dir in "$ZTP_HOME"/podman/*/; do
        [[ -d $dir ]] && echo "localhost/ztp/sample-site:$(basename "$dir" | cut -c1-12)"
      done
      podman images --format '{{.Repository}}:{{.Tag}}' | grep "^localhost$ZTP_HOME/" || true
    } | xargs -r -n1 podman rmi >/dev/null 2>&1 || true
    rm -rf "$work"
  }
  trap podman_cleanup EXIT
  python3 "$root/scripts/make-nginx-base.py" "$work/nginx-base" >/dev/null 2>"$work/base.log" ||
    { cat "$work/base.log" >&2; exit 1; }
  cat > "$work/app/ztp.yaml" <<EOT
app: sample-site
build:
  dockerfile: Dockerfile
  exclude: ["*.md"]
  args: {BASE: "oci:$work/nginx-base:latest"}
service:
  port: 80
  health: {path: /health, interval: 200ms, timeout: 1s}
  start_timeout: 60s
  stop_timeout: 5s
  drain_timeout: 5s
environments:
  - name: bench
    target: podman
    listen: 127.0.0.1:$port
    replicas: 3
    strategy: $strategy
EOT
else
  bench_sample_spec 3 "$strategy"
fi
cd "$work/app"
"$ztp" deploy bench --dir . >/dev/null 2>"$work/first.log" || { cat "$work/first.log" >&2; exit 1; }

# wrk's summary: requests, non-2xx, socket errors.
summary() {
  awk '/requests in/ {req=$1} /Non-2xx/ {non=$NF} /Socket errors/ {gsub(",",""); err=$4+$6+$8+$10}
       END {printf "%s %s %s\n", req, (non==""?0:non), (err==""?0:err)}' "$1"
}

wrk -t2 -c32 -d5s "http://127.0.0.1:$port/" > "$work/baseline.txt"
read -r base_req base_non base_err < <(summary "$work/baseline.txt")

# Stopped with SIGINT (wrk then prints its summary) once the deploys are done, however long
# they take.
wrk -t2 -c32 -d3600s "http://127.0.0.1:$port/" > "$work/under_deploys.txt" &
wrk_pid=$!
sleep 1
for i in $(seq 1 "$deploys"); do
  sed -i "s/AWS ECS Demo[^<]*/AWS ECS Demo build $i/" src/index.html
  "$ztp" deploy bench --dir . >/dev/null 2>"$work/deploy.log" ||
    { echo "deploy $i failed:" >&2; cat "$work/deploy.log" >&2; kill "$wrk_pid"; exit 1; }
done
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || true
read -r req non err < <(summary "$work/under_deploys.txt")

printf '%-34s %12s %10s %14s\n' "run ($runtime)" "requests" "non-2xx" "socket errors"
printf '%-34s %12s %10s %14s\n' "steady (no deploy, 5 s)" "$base_req" "$base_non" "$base_err"
printf '%-34s %12s %10s %14s\n' "$deploys rolling deploys of 3 replicas" "$req" "$non" "$err"
[[ "$non" == 0 && "$err" == 0 ]] && echo "target met: 0 errors" || echo "target missed"
[[ $runtime == podman ]] || exit 0

# A replica's container killed behind ztp's back. Alone, its supervisor starts it again at
# once; with its supervisor killed too, the replica is gone: `ztp drift` finds it and
# `ztp drift --fix` replaces it.
containers() {
  podman ps --filter "label=ztp.home=$home_label" --filter label=ztp.env=bench --filter status=running \
    --format '{{.Names}}' | sort
}
container_id() { podman ps --filter "name=^$1\$" --filter status=running --format '{{.ID}}'; }
# Waits up to 30 s for `cmd...` to succeed.
wait_for() {
  for _ in $(seq 1 60); do "$@" && return 0; sleep 0.5; done
  return 1
}
echo
echo "containers of environment bench:"
containers | sed 's/^/  /'
victim=$(containers | head -1)
replica=$(podman inspect --format '{{index .Config.Labels "ztp.replica"}}' "$victim")

old_id=$(container_id "$victim")
echo "podman kill $victim"
podman kill "$victim" >/dev/null
restarted() { local id; id=$(container_id "$victim"); [[ -n $id && $id != "$old_id" ]]; }
if wait_for restarted; then
  echo "  started again by its supervisor as container $(container_id "$victim")"
else
  echo "  not started again within 30 s"
fi
code=0
"$ztp" drift bench >"$work/drift.txt" 2>&1 || code=$?
echo "ztp drift bench: exit $code"
sed 's/^/  /' "$work/drift.txt"

supervisor=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["supervisor_pid"])' \
  "$ZTP_HOME/envs/bench/$replica/status.json")
echo
echo "kill -KILL $supervisor (the supervisor of $replica); podman kill $victim"
kill -KILL "$supervisor"
podman kill "$victim" >/dev/null 2>&1 || echo "  (the container had already stopped with its supervisor)"
code=0
found() { code=0; "$ztp" drift bench >"$work/drift.txt" 2>&1 || code=$?; [[ $code != 0 ]]; }
wait_for found || true
echo "ztp drift bench: exit $code"
sed 's/^/  /' "$work/drift.txt"
fix=0
"$ztp" drift bench --fix >"$work/fix.txt" 2>&1 || fix=$?
echo "ztp drift bench --fix: exit $fix"
sed 's/^/  /' "$work/fix.txt"
after=0
"$ztp" drift bench >"$work/after.txt" 2>&1 || after=$?
running=$(containers | wc -l)
echo "ztp drift bench after the fix: exit $after; $running containers running:"
containers | sed 's/^/  /'
if [[ $code == 2 && $fix == 0 && $after == 0 && $running == 3 ]]; then
  echo "drift found and repaired"
else
  echo "drift not found or not repaired"
fi
