#!/usr/bin/env bash
# pool-stats and indexes check with 80 open client connections on the
# generated data set: time beyond connecting (bar: < 100 ms), measured as
# the difference to `ctldb config check` (connect + one query) in one
# hyperfine run. And `ctldb vacuum --jobs 2` against `vacuumdb -j 2 -z` on
# the same tables with the same dead tuples (bar: no slower).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-50000}
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
PIDS=()
BENCH_CLEANUP='kill "${PIDS[@]}" 2>/dev/null || true'
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-maint
CONN="host=$DB_HOST port=$DB_PORT dbname=$DB_NAME user=$DB_USER sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT"
"$CTLDB" -q migrate >/dev/null
CTLDB_NO_PROGRESS=1 "$CTLDB" -q seed generate --users "$USERS" --random-seed 1 >/dev/null
for i in $(seq 80); do
    (sleep 600) | "$BIN/psql" -X -q "$CONN" >/dev/null 2>&1 &
    PIDS+=($!)
done
sleep 3
echo "client connections: $("$BIN/psql" -X -At "$CONN" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")"
hyperfine -N --warmup 3 --runs 30 --export-json /tmp/ctldb-bench-maint.json \
    "$CTLDB config check" "$CTLDB pool-stats" "$CTLDB indexes check"
python3 - <<'PY' 2>/dev/null || true
import json
r = [x["mean"] * 1000 for x in json.load(open("/tmp/ctldb-bench-maint.json"))["results"]]
base = r[0]
for name, v in (("pool-stats", r[1]), ("indexes check", r[2])):
    print(f"{name}: {v:.1f} ms, beyond connecting (config check {base:.1f} ms): {v - base:.1f} ms (bar < 100 ms)")
PY
kill "${PIDS[@]}" 2>/dev/null || true
DIRTY="$BIN/psql -X -q '$CONN' -c 'UPDATE payment_transactions SET currency = currency' -c 'UPDATE admin_audit_logs SET action = action' -c 'UPDATE users SET locale = locale'"
hyperfine --runs 5 --prepare "$DIRTY" \
    "$CTLDB -q vacuum --jobs 2" \
    "$BIN/vacuumdb -q -j 2 -z -d '$CONN'"
