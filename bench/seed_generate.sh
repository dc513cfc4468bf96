#!/usr/bin/env bash
# `ctldb seed generate` against the anchor `pgbench -i` (client-side COPY),
# side by side on the same sandbox server, in MB of table data per second
# (pg_table_size of the tables each one fills, over its wall time).
# Bar (issue 3): ctldb >= 0.6 x pgbench.
# For context it also restores the same generated rows with pg_restore, once in
# one transaction (-1, the same guarantee ctldb gives) and once with -j 2: the
# same work (COPY, then keys, indexes and foreign keys) done by the standard tool.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-100000}
SCALE=${SCALE:-10}
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-seed
su_psql() { runuser -u postgres -- "$BIN/psql" -X -q -At -h "$SB/socket" -p "$DB_PORT" -d postgres "$@"; }
app_psql() { "$BIN/psql" -X -q -At "host=localhost port=$DB_PORT dbname=$1 user=appuser sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT" -c "$2"; }
now() { date +%s.%N; }

su_psql -c "CREATE DATABASE bench_pgbench OWNER appuser" -c "CREATE DATABASE bench_ctldb OWNER appuser"
DB_NAME=bench_ctldb "$CTLDB" -q migrate >/dev/null

conninfo() { echo "host=localhost port=$DB_PORT dbname=$1 user=appuser sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT"; }
t0=$(now)
"$BIN/pgbench" -i -q -s "$SCALE" "$(conninfo bench_pgbench)" 2>"$SB/pgbench.log" >/dev/null
t1=$(now)
CTLDB_NO_PROGRESS=1 DB_NAME=bench_ctldb "$CTLDB" seed generate --users "$USERS" --random-seed 1 >"$SB/ctldb.log"
t2=$(now)
echo "pgbench: $(grep '^done in' "$SB/pgbench.log")"
echo "ctldb:   $(cat "$SB/ctldb.log")"

# The same rows through pg_restore (no compression, so it measures the load).
"$BIN/pg_dump" -Fc -Z0 -f "$SB/rows.dump" "$(conninfo bench_ctldb)"
restore_secs() {
    su_psql -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS bench_restore" -c "CREATE DATABASE bench_restore OWNER appuser"
    local a b
    a=$(now)
    "$BIN/pg_restore" "$@" --no-owner -d "$(conninfo bench_restore)" "$SB/rows.dump"
    b=$(now)
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }'
}
r1=$(restore_secs -1)
rj=$(restore_secs -j 2)
rm -f "$SB/rows.dump"

pg_bytes=$(app_psql bench_pgbench "SELECT sum(pg_table_size(oid)) FROM pg_class WHERE relname LIKE 'pgbench_%' AND relkind = 'r'")
ct_bytes=$(app_psql bench_ctldb "SELECT sum(pg_table_size(oid)) FROM pg_class WHERE relname IN ('users', 'subscriptions', 'payment_methods', 'payment_transactions', 'refunds', 'admin_roles', 'admin_audit_logs')")
awk -v r1="$r1" -v rj="$rj" -v pb="$pg_bytes" -v cb="$ct_bytes" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    ps = b - a; cs = c - b; pr = pb / 1e6 / ps; cr = cb / 1e6 / cs;
    printf "pgbench -i -s '"$SCALE"':          %7.1f MB in %5.2f s = %6.1f MB/s\n", pb / 1e6, ps, pr;
    printf "ctldb seed generate (%d users): %7.1f MB in %5.2f s = %6.1f MB/s\n", '"$USERS"', cb / 1e6, cs, cr;
    printf "ratio ctldb/pgbench: %.2f (bar: >= 0.60)\n", cr / pr;
    printf "same rows: pg_restore -1 %.2f s, pg_restore -j 2 %.2f s; ctldb speed / theirs: %.2f, %.2f\n", r1, rj, r1 / cs, rj / cs }'
