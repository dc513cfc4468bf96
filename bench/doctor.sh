#!/usr/bin/env bash
# ctldb doctor on the demo database (migrated, seeded with 20k users, a
# backup in the backup directory): issue 13's bar is the run beyond the
# connection under 1 s. Reported from doctor's own JSON over 20 runs:
# connect_ms and duration_ms - connect_ms (mean, worst), for the sandbox's
# appuser and for a least-privileged role that owns only its database; and,
# side by side in the same run, the anchor: the guide's troubleshooting SQL
# pasted into one psql session (the queries doctor replaces).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-doctor
W=$(mktemp -d /tmp/ctldb-bench-doctor.XXXXXX)
BENCH_CLEANUP='rm -rf "$W"'
export CTLDB_BACKUP_DIR=$W/backups
mkdir -p "$CTLDB_BACKUP_DIR"
"$CTLDB" -q migrate
"$CTLDB" -q seed generate --users 20000 --random-seed 1
"$CTLDB" -q backup

runs() { # runs LABEL: 20 doctor runs, beyond-the-connection figures
    local label=$1 i sum=0 worst=0 csum=0
    for i in $(seq 20); do
        "$CTLDB" doctor -o json >"$W/d.json" || true
        read -r c d < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(int(j["connect_ms"] or 0), int(j["duration_ms"]))' "$W/d.json")
        local beyond=$((d - c))
        sum=$((sum + beyond))
        csum=$((csum + c))
        ((beyond > worst)) && worst=$beyond
    done
    printf '%-22s beyond the connection: mean %4d ms, worst %4d ms; connecting: mean %3d ms (%s checks, %s findings)\n' \
        "$label" $((sum / 20)) "$worst" $((csum / 20)) \
        "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(len(j["runs"]))' "$W/d.json")" \
        "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(len(j["checks"]))' "$W/d.json")"
}

echo "== ctldb doctor on the demo database (20k users), 20 runs each"
runs "appuser"
SU="runuser -u postgres -- $BIN/psql -X -q -h $SB/socket -p $DB_PORT -d postgres"
PW="Bench-Least-$(date +%s)-Priv!"
$SU -c "CREATE ROLE bench_least LOGIN PASSWORD '$PW'" -c "CREATE DATABASE bench_least OWNER bench_least" >/dev/null
printf '%s' "$PW" >"$W/least.pw"
(
    export DB_USER=bench_least DB_NAME=bench_least DB_PASSWORD_FILE=$W/least.pw
    "$CTLDB" -q migrate >/dev/null
    "$CTLDB" -q backup >/dev/null
    runs "least-privileged role"
)

echo "== anchor: the guide's troubleshooting queries in one psql session"
cat >"$W/guide.sql" <<'SQL'
SELECT count(*) FROM pg_stat_activity;
SHOW max_connections;
SHOW ssl;
SELECT pid, now() - pg_stat_activity.query_start AS duration, query FROM pg_stat_activity WHERE state = 'active' ORDER BY duration DESC;
SELECT schemaname, tablename, pg_size_pretty(pg_total_relation_size(schemaname||'.'||tablename)) AS size FROM pg_tables WHERE schemaname = 'public' ORDER BY pg_total_relation_size(schemaname||'.'||tablename) DESC;
SQL
CONN="host=localhost port=$DB_PORT dbname=$DB_NAME user=$DB_USER sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT"
t0=$(date +%s%3N)
for i in $(seq 20); do "$BIN/psql" -X -q -f "$W/guide.sql" "$CONN" >/dev/null; done
psql_ms=$((($(date +%s%3N) - t0) / 20))
t0=$(date +%s%3N)
for i in $(seq 20); do "$CTLDB" doctor >/dev/null || true; done
doctor_ms=$((($(date +%s%3N) - t0) / 20))
echo "psql, the guide's 5 queries (no decisions): $psql_ms ms per run, connection included"
echo "ctldb doctor, 13 checks with decisions:     $doctor_ms ms per run, connection included"
echo "ratio doctor / psql: $(echo "scale=2; $doctor_ms / $psql_ms" | bc)"
