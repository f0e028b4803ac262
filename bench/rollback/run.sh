#!/usr/bin/env bash
# Time to restore after a bad canary: wrk at full speed through the front door while a release
# that answers 500 on / is deployed as a canary at 10% of two nginx replicas. Prints (a) the
# time from the first bad response (the proxy's access log) to all traffic back on the stable
# release (the store's `restore.weights` event), and (b) the share of client requests that
# failed, next to the canary weight. Targets: under 2 s to restore; failed requests no more
# than the weight times the requests sent while at risk.
#
#   bench/rollback/run.sh [path/to/ztp]      (needs: apt-get install wrk nginx-light)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
bench_ztp "${1:-}"
weight=${WEIGHT:-10}
bench_sample_app
bench_sample_spec 2 "
      canary:
        steps: [{weight: $weight, pause: 60s}]
        analysis: {max_error_rate: 0.01, min_requests: 20, deadline: 60s}"
cd "$work/app"
"$ztp" deploy bench --dir . >/dev/null 2>"$work/first.log" || { cat "$work/first.log" >&2; exit 1; }

# The broken release: / answers 500, /health stays healthy.
cp -r "$work/app" "$work/bad"
python3 - "$work/bad/conf/site.conf" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("location / {", "location = / {\n    return 500;\n}\n\nlocation / {", 1)
open(p, "w").write(s)
PY

wrk -t2 -c16 -d60s "http://127.0.0.1:$port/" > "$work/wrk.txt" &
wrk_pid=$!
sleep 2
status=0
"$ztp" deploy bench --dir "$work/bad" >/dev/null 2>"$work/bad.log" || status=$?
sleep 1
kill -INT "$wrk_pid" 2>/dev/null || true
wait "$wrk_pid" || true
if [[ $status != 12 ]]; then
  echo "the broken deploy exited $status, expected 12 (rolled back):" >&2
  cat "$work/bad.log" >&2
  exit 1
fi
sleep 1  # the proxy flushes its access log on a timer

python3 - "$work/wrk.txt" "$ZTP_HOME/proxy/access-bench.log" "$ZTP_HOME/state.db" "$weight" <<'PY'
import datetime, json, re, sqlite3, sys

wrk_file, access_log, db, weight = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
text = open(wrk_file).read()
total = int(re.search(r"(\d+) requests in", text).group(1))
non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0
socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
socket_errors = sum(int(x) for x in socket.groups()) if socket else 0
failed = non2xx + socket_errors

def ms(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000

lines = [json.loads(l) for l in open(access_log) if l.strip()]
bad = [ms(l["ts"]) for l in lines if l["release"] == "2" and l["status"] >= 500]
if not bad:
    sys.exit("no 5xx answer of the canary in the access log")
first_bad, last_bad = min(bad), max(bad)
con = sqlite3.connect(db)
restored = con.execute(
    "SELECT min(at) FROM events WHERE env = 'bench' AND kind = 'restore.weights' AND at >= ?",
    (int(first_bad) - 1000,)).fetchone()[0]
if restored is None:
    sys.exit("no restore.weights event in the store")
at_risk = [l for l in lines if first_bad <= ms(l["ts"]) <= restored]
risk_s = (restored - first_bad) / 1000
share = failed / total if total else 0
risk_share = failed / len(at_risk) if at_risk else 0
bound = weight / 100 * len(at_risk)

print(f"{'canary weight':<48} {weight}%")
print(f"{'time to restore (first 500 -> 100% on stable)':<48} {risk_s:.2f} s   (target < 2 s)")
print(f"{'last 500 after the first':<48} {(last_bad - first_bad) / 1000:.2f} s")
print(f"{'client requests (wrk, whole run)':<48} {total}")
print(f"{'failed (non-2xx + socket errors)':<48} {failed} ({share * 100:.2f}% of all)")
print(f"{'requests while at risk':<48} {len(at_risk)}")
print(f"{'failed share while at risk':<48} {risk_share * 100:.2f}%  (weight {weight}%)")
print(f"{'bound: weight x requests while at risk':<48} {bound:.0f}")
met = risk_s < 2 and failed <= bound
print("targets met" if met else "target missed")
PY
