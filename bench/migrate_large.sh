#!/usr/bin/env bash
# One migration file of many statements (issue: 10k statements took 1.2 s to
# parse, 40k 18 s, 200k never finished, all under the migration lock).
#
# 1. Parsing alone (`migrate lint`, which reads every statement with
#    PostgreSQL's parser) at 10k, 40k and 200k statements: time per
#    statement must stay flat (linear). Bar: 200k statements < 10 s.
# 2. Applying the 200k-statement file with `ctldb migrate --dir`, side by
#    side with the anchor `psql --single-transaction -f` on the same file,
#    in one run; the ratio is ctldb / psql.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-migrate-large
W=$(mktemp -d /tmp/ctldb-bench-ml.XXXXXX)
BENCH_CLEANUP='rm -rf "$W"'
SU="runuser -u postgres -- $BIN/psql -X -q -h $SB/socket -p $DB_PORT -d postgres"

make_set() { # make_set N DIR
    mkdir -p "$2"
    awk -v n="$1" 'BEGIN {
        print "CREATE TABLE big (id int PRIMARY KEY, v text, t timestamptz DEFAULT now());"
        for (i = 0; i < n; i++) printf "INSERT INTO big (id, v) VALUES (%d, $$row;%d$$);\n", i, i
    }' >"$2/0001_big.sql"
}

now_ms() { date +%s%3N; }

echo "== parsing (migrate lint): time per statement should not grow"
for n in 10000 40000 200000; do
    make_set "$n" "$W/s$n"
    t0=$(now_ms)
    "$CTLDB" -q migrate lint --dir "$W/s$n" >/dev/null
    ms=$(($(now_ms) - t0))
    printf '%7d statements: %6d ms  (%.2f us per statement)\n' "$n" "$ms" "$(echo "$ms * 1000 / $n" | bc -l)"
done

echo "== applying 200k statements: ctldb migrate vs psql --single-transaction"
fresh() { $SU -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 OWNER appuser" >/dev/null; }
fresh bench_ml_ctldb
t0=$(now_ms)
DB_NAME=bench_ml_ctldb "$CTLDB" -q migrate --dir "$W/s200000"
ctldb_ms=$(($(now_ms) - t0))
fresh bench_ml_psql
CONN="host=localhost port=$DB_PORT dbname=bench_ml_psql user=appuser sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT"
t0=$(now_ms)
"$BIN/psql" -X -q --single-transaction -v ON_ERROR_STOP=1 -f "$W/s200000/0001_big.sql" "$CONN" >/dev/null
psql_ms=$(($(now_ms) - t0))
rows=$($SU -d bench_ml_ctldb -At -c "SELECT count(*) FROM big")
echo "ctldb migrate: $ctldb_ms ms ($rows rows)"
echo "psql -1 -f:    $psql_ms ms"
printf 'ratio ctldb / psql: %.2f (bar: the whole ctldb run < 10 s)\n' "$(echo "$ctldb_ms / $psql_ms" | bc -l)"
$SU -c "DROP DATABASE bench_ml_ctldb" -c "DROP DATABASE bench_ml_psql" >/dev/null
