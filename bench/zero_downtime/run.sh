#!/usr/bin/env bash
# Zero-downtime rolling deploys: wrk with keep-alive at full speed through the front door while
# ten consecutive rolling deploys replace three nginx replicas of the sample application.
# Prints total requests, non-2xx responses and socket errors (target: 0 errors), next to a
# baseline of the same load with no deploy running.
#
#   bench/zero_downtime/run.sh [path/to/ztp]      (needs: apt-get install wrk nginx-light)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
bench_ztp "${1:-}"
deploys=${DEPLOYS:-10}
bench_sample_app
bench_sample_spec 3 "{rolling: {max_surge: 1, max_unavailable: 0}}"
cd "$work/app"
"$ztp" deploy bench --dir . >/dev/null 2>"$work/first.log" || { cat "$work/first.log" >&2; exit 1; }

# wrk's summary: requests, non-2xx, socket errors.
summary() {
  awk '/requests in/ {req=$1} /Non-2xx/ {non=$NF} /Socket errors/ {gsub(",",""); err=$4+$6+$8+$10}
       END {printf "%s %s %s\n", req, (non==""?0:non), (err==""?0:err)}' "$1"
}

wrk -t2 -c32 -d5s "http://127.0.0.1:$port/" > "$work/baseline.txt"
read -r base_req base_non base_err < <(summary "$work/baseline.txt")

wrk -t2 -c32 -d120s "http://127.0.0.1:$port/" > "$work/under_deploys.txt" &
wrk_pid=$!
sleep 1
for i in $(seq 1 "$deploys"); do
  sed -i "s/AWS ECS Demo[^<]*/AWS ECS Demo build $i/" src/index.html
  "$ztp" deploy bench --dir . >/dev/null 2>&1 || { echo "deploy $i failed" >&2; kill "$wrk_pid"; exit 1; }
done
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || true
read -r req non err < <(summary "$work/under_deploys.txt")

printf '%-34s %12s %10s %14s\n' "run" "requests" "non-2xx" "socket errors"
printf '%-34s %12s %10s %14s\n' "steady (no deploy, 5 s)" "$base_req" "$base_non" "$base_err"
printf '%-34s %12s %10s %14s\n' "$deploys rolling deploys of 3 replicas" "$req" "$non" "$err"
[[ "$non" == 0 && "$err" == 0 ]] && echo "target met: 0 errors" || echo "target missed"
