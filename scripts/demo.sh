#!/usr/bin/env bash
# The demo: installs what is missing, builds ztp, and runs the sample application (application/)
# through dev → qa → prod on this machine, printing the URLs. Stop it all with:
#   build/release/ztp -f .demo/app/ztp.yaml down
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

if [[ -f "$app/ztp.yaml" ]]; then
  say "Stopping what an earlier demo left running"
  "$ztp" -f "$app/ztp.yaml" down || true
fi
rm -rf "$demo"
mkdir -p "$demo"

say "Writing the sample application with ztp init"
"$ztp" init "$app"
cd "$app"

say "Checking ztp.yaml"
"$ztp" validate

say "What this demo does not do yet"
cat <<'EOT'
The pipeline (ztp run: commit -> image tagged with the SHA -> dev -> qa -> approval -> prod)
is not built yet (docs/status.md). This demo deploys the sample application's directory to
each environment with `ztp deploy ENV --dir .`, which builds the same reproducible image and
rolls it out by each environment's strategy: rolling in dev, blue-green in qa, canary in prod.
EOT

for env in dev qa prod; do
  say "Deploying $env"
  "$ztp" deploy "$env" --dir .
done

say "Where it runs"
"$ztp" status
echo
for env in dev qa prod; do
  url=$("$ztp" -o json status "$env" | sed -n 's/.*"url": "\(.*\)".*/\1/p' | head -1)
  printf '%-5s %s  ->  %s\n' "$env" "$url" "$(curl -fsS "$url" | grep -o '<title>[^<]*' | sed 's/<title>//')"
done
cat <<EOT

The sample application runs in dev, qa and prod behind ztp's front-door proxy.
State lives in $ZTP_HOME. Stop everything with:
  $ztp -f $app/ztp.yaml down
EOT
