#!/usr/bin/env bash
# Issue 15's bars, side by side in one run on the same server (the demo
# database: migrated, 20k users, a backup): ctldb metrics serve against
# Debian's prometheus-postgres-exporter (0.11, default collectors), both
# connected as the sandbox's appuser (pg_monitor).
# - mean scrape latency over N sequential scrapes each (after 5 warm-up
#   scrapes), and the ratio ctldb / postgres_exporter (bar: <= 0.5);
# - resident memory (VmRSS) after the scrapes, and the ratio (bar: <= 1.0);
# - how many metric samples each page holds;
# - then 50 concurrent scrapes a second for 60 s against ctldb: errors,
#   server connections and RSS before and after (bar: none, no growth).
# Usage: bench/metrics.sh [N] [LOAD_SECONDS]   (default 200 and 60)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
N=${1:-200}
LOAD=${2:-60}
EXPORTER=$(command -v prometheus-postgres-exporter || true)
[[ -n "$EXPORTER" ]] || { echo "install prometheus-postgres-exporter (scripts/install-deps)"; exit 1; }
bench_sandbox /tmp/ctldb-bench-metrics
W=$(mktemp -d /tmp/ctldb-bench-metrics.XXXXXX)
PIDS=()
BENCH_CLEANUP='for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"'
export CTLDB_BACKUP_DIR=$W/backups
mkdir -p "$CTLDB_BACKUP_DIR"
"$CTLDB" -q migrate
"$CTLDB" -q seed generate --users 20000 --random-seed 1
"$CTLDB" -q backup
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

CPORT=$(free_port)
"$CTLDB" metrics serve --listen "127.0.0.1:$CPORT" 2>"$W/ctldb.log" &
PIDS+=($!)
CPID=$!
EPORT=$(free_port)
# postgres_exporter takes the password in its data source name; the URL is
# in its environment only.
DATA_SOURCE_NAME="postgresql://appuser:$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PGPASSWORD")@localhost:$DB_PORT/$DB_NAME?sslmode=verify-full&sslrootcert=$DB_SSL_ROOT_CERT" \
    "$EXPORTER" --web.listen-address="127.0.0.1:$EPORT" >"$W/exporter.log" 2>&1 &
PIDS+=($!)
EPID=$!
for port in "$CPORT" "$EPORT"; do
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.1; done
done

# mean_ms PORT: mean of N sequential scrapes, in ms (curl's total time).
mean_ms() {
    local port=$1 i
    for i in $(seq 5); do curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; done
    for i in $(seq "$N"); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"; done |
        awk '{s += $1} END {printf "%.2f", s / NR * 1000}'
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
samples() { curl -s "http://127.0.0.1:$1/metrics" | grep -vc '^#'; }

echo "== one server, $N sequential scrapes each (after 5 warm-up scrapes)"
C_MS=$(mean_ms "$CPORT")
E_MS=$(mean_ms "$EPORT")
C_RSS=$(rss_kb "$CPID")
E_RSS=$(rss_kb "$EPID")
printf '%-24s mean scrape %7s ms   RSS %6s kB   %5s samples\n' "ctldb metrics serve" "$C_MS" "$C_RSS" "$(samples "$CPORT")"
printf '%-24s mean scrape %7s ms   RSS %6s kB   %5s samples\n' "postgres_exporter 0.11" "$E_MS" "$E_RSS" "$(samples "$EPORT")"
python3 -c 'import sys; c, e, cr, er = map(float, sys.argv[1:]); print(f"ratio ctldb / postgres_exporter: latency {c / e:.2f} (bar <= 0.5), RSS {cr / er:.2f} (bar <= 1.0)")' \
    "$C_MS" "$E_MS" "$C_RSS" "$E_RSS"

echo "== 50 concurrent scrapes a second for $LOAD s against ctldb"
conns() { runuser -u postgres -- "$BIN/psql" -X -q -At -h "$SB/socket" -p "$DB_PORT" -d postgres -U postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ctldb'"; }
RSS0=$(rss_kb "$CPID")
CONN0=$(conns)
: >"$W/codes"
for _ in $(seq "$LOAD"); do
    for _ in $(seq 50); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 "http://127.0.0.1:$CPORT/metrics" >>"$W/codes" &
    done
    sleep 1
done
wait_n=0
while [[ $(wc -l <"$W/codes") -lt $((LOAD * 50)) && $wait_n -lt 100 ]]; do sleep 0.1; wait_n=$((wait_n + 1)); done
RSS1=$(rss_kb "$CPID")
CONN1=$(conns)
awk -v want=$((LOAD * 50)) '{n++; if ($1 == 200) ok++; s += $2; if ($2 > m) m = $2}
    END {printf "requests %d of %d, 200: %d, errors: %d; latency mean %.1f ms, worst %.1f ms\n", n, want, ok, n - ok, s / n * 1000, m * 1000}' "$W/codes"
echo "ctldb's server connections: $CONN0 before, $CONN1 after; RSS: $RSS0 kB before, $RSS1 kB after"
