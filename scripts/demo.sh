#!/usr/bin/env bash
# The demo: installs what is missing, builds ztp, puts the sample application (application/) in
# a fresh git repository and runs the pipeline for two commits: each commit is built once into
# an image tagged with its SHA and promoted through dev → qa → prod, prod after an approval
# (which this script gives itself, and says so). Then builds the same site from its Dockerfile
# into a runnable nginx image (over a base made offline from Debian's nginx) and runs dev as
# podman containers. Prints the URLs. Stop it all with:
#   ZTP_HOME=.demo/home build/release/ztp -f .demo/app/ztp.yaml down
#   ZTP_HOME=.demo/containers-home build/release/ztp -f .demo/app/ztp.containers.yaml down
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Installing what is missing"
scripts/install-deps.sh

say "Building ztp (release)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DZTP_BUILD_TESTS=OFF \
  -DZTP_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target ztp
ztp="$root/build/release/ztp"

demo=${ZTP_DEMO_DIR:-$root/.demo}
app="$demo/app"
export ZTP_HOME="$demo/home"
export GIT_AUTHOR_NAME="zerotouch demo" GIT_AUTHOR_EMAIL="demo@zerotouch.invalid"
export GIT_COMMITTER_NAME="zerotouch demo" GIT_COMMITTER_EMAIL="demo@zerotouch.invalid"

if [[ -f "$app/ztp.yaml" ]]; then
  say "Stopping what an earlier demo left running"
  "$ztp" -f "$app/ztp.yaml" down || true
  [[ -f "$app/ztp.containers.yaml" ]] &&
    ZTP_HOME="$demo/containers-home" "$ztp" -f "$app/ztp.containers.yaml" down || true
fi
rm -rf "$demo"
mkdir -p "$demo"

say "Writing the sample application with ztp init, in a new git repository"
"$ztp" init "$app"
cd "$app"
"$ztp" validate
git init -q -b main
git add -A
git commit -q -m "The sample application"
git log --oneline -1

traffic_pid=""
stop_traffic() { [[ -n "$traffic_pid" ]] && kill "$traffic_pid" 2>/dev/null; traffic_pid=""; }
trap stop_traffic EXIT

# Visitors on prod's front door while it rolls out: the canary's analysis judges live traffic,
# and without any it stays inconclusive.
start_traffic() {
  (while true; do curl -s -o /dev/null "http://127.0.0.1:8083/" || true; sleep 0.05; done) &
  traffic_pid=$!
}

# One pass of the pipeline for the tip of main: dev and qa without a pause, then the run waits
# at prod's approval gate; this script approves it, the way a person would with `ztp approve`.
run_pipeline() {
  local code=0
  "$ztp" run --no-wait-approval || code=$?
  [[ $code -eq 0 ]] || { echo "ztp run failed with exit code $code" >&2; exit "$code"; }
  local run
  run=$("$ztp" -o json status | grep -A1 '"awaiting": "prod"' | grep '"id"' | tr -dc '0-9')
  [[ -n "$run" ]] || { echo "the run did not stop at prod's approval gate" >&2; exit 1; }
  say "Approving prod for run $run ourselves (a person would run: ztp approve $run)"
  start_traffic
  "$ztp" approve "$run" --by demo -m "approved by scripts/demo.sh" || code=$?
  stop_traffic
  [[ $code -eq 0 ]] || { echo "the run failed in prod with exit code $code" >&2; exit "$code"; }
}

say "Run 1: commit $(git rev-parse --short HEAD) through dev → qa → prod"
run_pipeline

say "A content change, committed"
sed -i 's|<h1>\([^<]*\)</h1>|<h1>\1 (second release)</h1>|' src/index.html
git commit -q -am "Announce the second release on the home page"
git log --oneline -1

say "Run 2: commit $(git rev-parse --short HEAD) through dev → qa → prod"
run_pipeline

say "The same site as a runnable container image, in podman"
# The Dockerfile's base is an nginx image made offline from Debian's nginx (no public registry
# is needed); ztp builds the Dockerfile over it and runs dev's replicas as containers, on its
# own ports and with its own ZTP_HOME.
python3 "$root/scripts/make-nginx-base.py" "$demo/nginx-base" >/dev/null
(export ZTP_HOME="$demo/containers-home" NGINX_BASE="oci:$demo/nginx-base:latest"
 "$ztp" -f ztp.containers.yaml deploy dev --dir .)
containers_url=http://127.0.0.1:8091/

say "Where it runs"
"$ztp" status
echo
"$ztp" history
echo
for env in dev qa prod; do
  url=$("$ztp" -o json status "$env" | sed -n 's/.*"url": "\(.*\)".*/\1/p' | head -1)
  printf '%-5s %s  ->  %s\n' "$env" "$url" "$(curl -fsS "$url" | grep -o '<h1>[^<]*' | sed 's/<h1>//')"
done
cat <<EOT

The sample application runs in dev, qa and prod behind ztp's front-door proxy, at the commit
above. State lives in $ZTP_HOME; the git repository is $app. Try a commit of your own there
and run the pipeline again:
  export ZTP_HOME=$ZTP_HOME
  $ztp -f $app/ztp.yaml run
The same site built from its Dockerfile runs as podman containers at $containers_url
(podman ps --filter label=ztp.env=dev). Stop everything with:
  ZTP_HOME=$ZTP_HOME $ztp -f $app/ztp.yaml down
  ZTP_HOME=$demo/containers-home $ztp -f $app/ztp.containers.yaml down
EOT
