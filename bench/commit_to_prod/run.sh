#!/usr/bin/env bash
# Commit to prod: the time from `git commit` to prod serving the new content, for the sample
# application on the local target (dev rolling, qa blue-green, prod canary with pauses of 1 s,
# check suites on in every environment), measured by hyperfine. Side by side in the same run,
# the baseline: the same three environments rolled by hand with `ztp deploy ENV --dir .` (no
# trigger, no commit build, no gates). Prints both, their ratio, and the stage breakdown of the
# last run (build, push, each environment).
#
#   bench/commit_to_prod/run.sh [path/to/ztp]     (needs: apt-get install hyperfine nginx-light git curl)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"  # free_port
root=$(cd "$(dirname "$0")/../.." && pwd)
ztp=$(realpath "${1:-$root/build/release/ztp}")
runs=${RUNS:-5}
for tool in hyperfine git curl nginx; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] ||
    { echo "$tool is missing: scripts/install-deps.sh installs it" >&2; exit 1; }
done
[[ -x "$ztp" ]] || { echo "no ztp at $ztp: build it first (cmake --build build/release)" >&2; exit 1; }

work=$(mktemp -d)
traffic_pid=""
cleanup() {
  [[ -n "$traffic_pid" ]] && kill "$traffic_pid" 2>/dev/null
  "$ztp" -f "$work/app/ztp.yaml" down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export ZTP_HOME="$work/home"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@zerotouch.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@zerotouch.invalid
dev=$(free_port); qa=$(free_port); preview=$(free_port); prod=$(free_port)

"$ztp" init "$work/app" >/dev/null
cat > "$work/app/ztp.yaml" <<EOT
app: sample-site
source: {repo: ., branch: main, paths: ["src/**"]}
build:
  exclude: ["*.md"]
  command: ["nginx", "-p", "{{replica_dir}}", "-c", "{{replica_dir}}/nginx.local.conf", "-e", "stderr", "-g", "daemon off;"]
  templates: ["nginx.local.conf"]
  dockerfile: none
service:
  port: 80
  health: {path: /health, interval: 200ms, timeout: 500ms}
  drain_timeout: 2s
checks:
  smoke:
    - {name: home page, path: /, expect: {status: 200, body_contains: "AWS ECS Demo"}}
    - {name: about page, path: /about.html, expect: {status: 200, body_contains: "About Our Application"}}
environments:
  - name: dev
    listen: 127.0.0.1:$dev
    replicas: 2
    strategy: {rolling: {max_surge: 1, max_unavailable: 0}}
    verify: [smoke]
  - name: qa
    listen: 127.0.0.1:$qa
    replicas: 2
    strategy: {blue_green: {preview_listen: 127.0.0.1:$preview, keep_previous: 1m}}
    verify: [smoke, security_headers]
  - name: prod
    listen: 127.0.0.1:$prod
    replicas: 3
    strategy:
      canary:
        steps: [{weight: 10, pause: 1s}, {weight: 50, pause: 1s}]
        analysis: {max_error_rate: 0.01, max_p95: 500ms, min_requests: 3, deadline: 30s}
    verify: [smoke, security_headers, error_pages]
EOT
cd "$work/app"
git init -q -b main
git add -A
git commit -q -m "the sample application"
"$ztp" run >/dev/null 2>"$work/first.log" || { cat "$work/first.log" >&2; exit 1; }

# Visitors on prod: the canary's analysis needs live traffic.
(while true; do curl -s -o /dev/null "http://127.0.0.1:$prod/" || true; sleep 0.02; done) &
traffic_pid=$!

# Each measured command starts from a new commit (pipeline) or a new edit (baseline) of the
# home page, and ends when prod serves it.
cat > "$work/edit.sh" <<'EOT'
#!/usr/bin/env bash
set -euo pipefail
n=$(( $(cat .n 2>/dev/null || echo 0) + 1 )); echo $n > .n
sed -i "s/AWS ECS Demo[^<]*/AWS ECS Demo $n/" src/index.html
EOT
cat > "$work/pipeline.sh" <<EOT
#!/usr/bin/env bash
set -euo pipefail
git commit -q -am "edit \$(cat .n)"
"$ztp" run >/dev/null 2>>"$work/pipeline.log"
curl -fsS "http://127.0.0.1:$prod/" | grep -q "AWS ECS Demo \$(cat .n)<"
EOT
cat > "$work/by_hand.sh" <<EOT
#!/usr/bin/env bash
set -euo pipefail
for env in dev qa prod; do "$ztp" deploy "\$env" --dir . >/dev/null 2>>"$work/by_hand.log"; done
curl -fsS "http://127.0.0.1:$prod/" | grep -q "AWS ECS Demo \$(cat .n)<"
EOT
chmod +x "$work"/*.sh
echo .n >> .git/info/exclude

hyperfine --runs "$runs" --export-json "$work/times.json" --style basic \
  --prepare "$work/edit.sh" -n "ztp run (commit -> prod)" "$work/pipeline.sh" \
  --prepare "$work/edit.sh" -n "ztp deploy x3 by hand" "$work/by_hand.sh"

python3 - "$work/times.json" <<'EOT'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
run, hand = r["ztp run (commit -> prod)"], r["ztp deploy x3 by hand"]
print(f"\n{'':28}{'median s':>10}{'mean s':>10}{'stddev':>9}")
for name, x in (("ztp run (commit -> prod)", run), ("ztp deploy x3 by hand", hand)):
    sd = "-" if x["stddev"] is None else f"{x['stddev']:.2f}"  # none with RUNS=1
    print(f"{name:28}{x['median']:>10.2f}{x['mean']:>10.2f}{sd:>9}")
print(f"ratio run / by hand (median): {run['median'] / hand['median']:.2f}")
EOT

echo
echo "stage breakdown of the last run (seconds):"
"$ztp" -o json history -n 1 > "$work/last_run.json"
python3 - "$work/last_run.json" <<'EOT'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
per = {}
for s in run["stages"]:
    if s["started_at"] and s["finished_at"]:
        key = s["env"] or s["name"]
        per[key] = per.get(key, 0) + (s["finished_at"] - s["started_at"]) / 1000
for key, secs in per.items():
    print(f"  {key:8}{secs:7.2f}")
print(f"  {'total':8}{(run['finished_at'] - run['created_at']) / 1000:7.2f}")
EOT
