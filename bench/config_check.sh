#!/usr/bin/env bash
# `ctldb config check` (validate, connect with verify-full, 1 query) against
# the anchor `psql -c 'SELECT 1'` with the same settings, on the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build >/dev/null
CTLDB=$PWD/build/ctldb
"$CTLDB" local start --dir /tmp/ctldb-bench-sandbox --port 0 >/dev/null
eval "$("$CTLDB" local env --dir /tmp/ctldb-bench-sandbox)"
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
export PGPASSWORD
PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
CONN="host=$DB_HOST port=$DB_PORT dbname=$DB_NAME user=$DB_USER sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT"
hyperfine -N --warmup 5 --runs 50 \
    "$CTLDB config check" \
    "$PSQL -X -q -c 'SELECT 1' '$CONN'"
# A refused port must be reported at once, far within the timeout.
hyperfine -N -i --runs 20 "$CTLDB config check --port 1"
"$CTLDB" local destroy --yes --dir /tmp/ctldb-bench-sandbox >/dev/null
