#!/usr/bin/env bash
# ctldb metrics on a server of its own: the exposition passes promtool;
# the server down is ctldb_up 0 with a reason, never an empty page; metrics
# serve scraped by a real Prometheus (Debian's package) whose query API
# returns ctldb_up == 1 and the backup age; stopping the server turns
# ctldb_up to 0 at the next scrape and starting it brings 1 back without
# restarting ctldb; 50 concurrent scrapes a second for 10 s answer every
# request with one server connection and no growth in memory.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_server_binaries
PROMTOOL=$(command -v promtool || true)
PROMETHEUS=$(command -v prometheus || true)
if [[ -z "$PROMTOOL" || -z "$PROMETHEUS" ]]; then
    echo "SKIP: prometheus and promtool not installed (scripts/install-deps installs them)"
    exit 77
fi
use_private_server sb
SERVE_PID=""
PROM_PID=""
at_exit '[[ -n "$SERVE_PID" ]] && kill "$SERVE_PID" 2>/dev/null; [[ -n "$PROM_PID" ]] && kill "$PROM_PID" 2>/dev/null; wait 2>/dev/null'
export CTLDB_BACKUP_DIR=$IT_TMP/backups
mkdir -p "$CTLDB_BACKUP_DIR"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
value() { grep -E "^$1 " "$OUT" | awk '{print $2}'; }

# --- the monitoring files in docs/ ------------------------------------------------------------
MON=$CTLDB_SOURCE_DIR/docs/monitoring
check "the alert rules pass promtool check rules" "$PROMTOOL" check rules "$MON/ctldb-alerts.yml"
check "every metric of the rules and the dashboard is one ctldb emits" python3 -c '
import json, re, sys, yaml
src = open(sys.argv[3]).read()
emitted = set(re.findall(r"\"(ctldb_[a-z_]+)\"", src))
exprs = [r["expr"] for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
dash = json.load(open(sys.argv[2]))
panels = [p for p in dash["panels"] if p["type"] != "row"]
exprs += [t["expr"] for p in panels for t in p["targets"]]
used = set(m for e in exprs for m in re.findall(r"ctldb_[a-z_]+", e))
assert used <= emitted, used - emitted
assert len(panels) >= 20 and all(p["title"] for p in panels)' "$MON/ctldb-alerts.yml" "$MON/ctldb-dashboard.json" "$CTLDB_SOURCE_DIR/src/metrics/metrics.cpp"
check "the Kubernetes manifest: Deployment, Service, ServiceMonitor, options ctldb accepts" python3 -c '
import subprocess, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
assert [d["kind"] for d in docs] == ["Deployment", "Service", "ServiceMonitor"]
spec = docs[0]["spec"]["template"]["spec"]
c = spec["containers"][0]
assert c["command"][:3] == ["ctldb", "metrics", "serve"]
help = subprocess.run([sys.argv[2], "metrics", "serve", "--help"], capture_output=True, text=True).stdout
for opt in [a for a in c["command"] if a.startswith("--")]:
    assert opt in help or opt == "--log-format", opt
sc = c["securityContext"]
assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"] and spec["securityContext"]["runAsNonRoot"]
env = {e["name"] for e in c["env"]}
assert {"DB_PASSWORD_FILE", "CTLDB_BACKUP_DIR"} <= env
assert docs[1]["spec"]["ports"][0]["port"] == 9187' "$CTLDB_SOURCE_DIR/docs/kubernetes/metrics.yaml" "$CTLDB"

# --- one exposition ---------------------------------------------------------------------------
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q backup >/dev/null
expect_rc 0 "metrics" "$CTLDB" metrics
check "promtool check metrics finds nothing" bash -c "'$PROMTOOL' check metrics <'$OUT'"
check "ctldb_up 1" test "$(value ctldb_up)" = 1
check "the newest backup's age" grep -qE '^ctldb_backup_newest_age_seconds\{database="cloudtolocalllm"\} [0-9]+' "$OUT"
check "pool headroom for the pods" grep -qE '^ctldb_pool_headroom_connections [0-9]+' "$OUT"
check "certificate expiry" grep -qE '^ctldb_tls_server_certificate_expiry_seconds [0-9]+' "$OUT"
check "no migration pending" test "$(value ctldb_migrations_pending)" = 0
check "every family has HELP and TYPE and a sample" python3 -c '
import re, sys
lines = open(sys.argv[1]).read().splitlines()
helps = {l.split()[2] for l in lines if l.startswith("# HELP ")}
types = {l.split()[2] for l in lines if l.startswith("# TYPE ")}
samples = {re.split(r"[{ ]", l)[0] for l in lines if l and not l.startswith("#")}
assert helps == types == samples, (helps ^ types, types ^ samples)' "$OUT"
expect_rc 0 "metrics --pods 40" "$CTLDB" metrics --pods 40
check "the pools no longer fit" test "$(value ctldb_pool_sizing_ok)" = 0
expect_rc 3 "metrics without a server" env DB_PORT=1 "$CTLDB" metrics
check "ctldb_up 0 with the reason" grep -qx 'ctldb_up{reason="refused"} 0' "$OUT"
check "still the backups" grep -q '^ctldb_backup_newest_age_seconds' "$OUT"
check "and promtool is content" bash -c "'$PROMTOOL' check metrics <'$OUT'"
expect_rc 2 "a bad --listen" "$CTLDB" metrics serve --listen nowhere
expect_rc 2 "a bad --timeout" "$CTLDB" metrics --timeout 0

# --- serve, scraped by Prometheus ---------------------------------------------------------------
PORT=$(free_port)
"$CTLDB" metrics serve --listen "127.0.0.1:$PORT" 2>"$IT_TMP/serve.log" &
SERVE_PID=$!
check "serving" wait_for curl -sf "http://127.0.0.1:$PORT/healthz" -o /dev/null
run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing"
check "404 elsewhere" stdout_has 404
run curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics"
check "405 for POST" stdout_has 405
expect_rc 1 "a port in use" "$CTLDB" metrics serve --listen "127.0.0.1:$PORT"
check "says so" stderr_has "cannot listen on 127.0.0.1:$PORT"

PPORT=$(free_port)
cat >"$IT_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ctldb
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
"$PROMETHEUS" --config.file="$IT_TMP/prometheus.yml" --storage.tsdb.path="$IT_TMP/tsdb" \
    --web.listen-address="127.0.0.1:$PPORT" >"$IT_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
# query EXPR: the value of the first result of an instant query, or "".
query() {
    curl -s "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null
}
export -f query
export PPORT
check "Prometheus sees ctldb_up == 1" wait_for bash -c '[[ $(query "ctldb_up == 1") == 1 ]]'
check "and the backup age" wait_for bash -c '[[ -n $(query "ctldb_backup_newest_age_seconds") ]]'

"$CTLDB" -q local stop --dir "$SB" >/dev/null
run curl -s "http://127.0.0.1:$PORT/metrics"
check "the next scrape after the server stopped: ctldb_up 0" grep -qE '^ctldb_up\{reason="[a-z_]+"\} 0$' "$OUT"
check "Prometheus sees it" wait_for bash -c '[[ $(query "ctldb_up") == 0 ]]'
"$CTLDB" -q local start --dir "$SB" >/dev/null
run curl -s "http://127.0.0.1:$PORT/metrics"
check "back to 1 without restarting ctldb" bash -c "grep -qx 'ctldb_up 1' '$OUT' && kill -0 $SERVE_PID"
check "Prometheus sees 1 again" wait_for bash -c '[[ $(query "ctldb_up") == 1 ]]'

# --- 50 concurrent scrapes a second ------------------------------------------------------------
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
conns() { runuser -u postgres -- "$(pg_bindir)/psql" -X -q -At -h "$SB/socket" -p "$DB_PORT" -d postgres -U postgres -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'appuser'"; }
for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics"; done
RSS0=$(rss)
: >"$IT_TMP/codes"
for _ in $(seq 10); do
    for _ in $(seq 50); do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "http://127.0.0.1:$PORT/metrics" >>"$IT_TMP/codes" &
    done
    sleep 1
done
wait_for bash -c "[[ \$(wc -l <'$IT_TMP/codes') -ge 500 ]]" || true
sleep 1
check "500 scrapes, every one 200 ($(sort "$IT_TMP/codes" | uniq -c | tr '\n' ' '))" bash -c "[[ \$(grep -cx 200 '$IT_TMP/codes') == 500 ]]"
check "one server connection ($(conns))" test "$(conns)" -le 1
RSS1=$(rss)
check "memory did not grow (${RSS0} kB -> ${RSS1} kB)" test "$RSS1" -lt $((RSS0 + 4096))
check "Prometheus scraped without an error" bash -c '[[ $(query "up{job=\"ctldb\"}") == 1 ]]'

kill -TERM "$SERVE_PID"
set +e
wait "$SERVE_PID"
RC=$?
set -e
SERVE_PID=""
check "SIGTERM stops serve with 130" test "$RC" = 130

finish
