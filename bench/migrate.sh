#!/usr/bin/env bash
# Applying the embedded migrations to an empty database (bar: < 1 s) and
# `migrate status` on an up-to-date one (bar: < 100 ms), with hyperfine.
# Anchor: psql running the same SQL files with --single-transaction.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-migrate
SU="runuser -u postgres -- $BIN/psql -X -q -h $SB/socket -p $DB_PORT -d postgres"
CONN="host=localhost port=$DB_PORT dbname=bench_m user=appuser sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT"
FILES=$(ls migrations/*.sql | grep -v down | sed 's/^/-f /' | tr '\n' ' ')
hyperfine --runs 10 \
    --prepare "$SU -c 'DROP DATABASE IF EXISTS bench_m' -c 'CREATE DATABASE bench_m OWNER appuser'" \
    "DB_NAME=bench_m $CTLDB -q migrate" \
    "$BIN/psql -X -q --single-transaction -v ON_ERROR_STOP=1 $FILES '$CONN'"
DB_NAME=bench_m "$CTLDB" -q migrate >/dev/null || true
hyperfine -N --warmup 3 --runs 30 "env DB_NAME=bench_m $CTLDB migrate status"
