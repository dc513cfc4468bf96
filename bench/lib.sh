# Set-up shared by the bench scripts (source it from the repository root).
# bench_sandbox DIR: build ctldb, start a sandbox in DIR on a free port, load
# its settings and destroy it on exit, after running $BENCH_CLEANUP (if set).
# Sets CTLDB, SB, BIN (PostgreSQL's binaries) and exports PGPASSWORD.
bench_sandbox() {
    ./scripts/build >/dev/null
    CTLDB=$PWD/build/ctldb
    SB=$1
    "$CTLDB" local start --dir "$SB" --port 0 >/dev/null
    trap 'eval "${BENCH_CLEANUP:-}"; "$CTLDB" local destroy --yes --dir "$SB" >/dev/null 2>&1 || true' EXIT
    eval "$("$CTLDB" local env --dir "$SB")"
    BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    export PGPASSWORD
    PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
}

# bench_restore_data USERS: the schema and USERS generated users in the
# sandbox's database, without the pg_stat_statements the sandbox creates as
# the superuser (a runbook's psql as appuser would stop at its CREATE
# EXTENSION; compared like with like).
bench_restore_data() {
    "$CTLDB" -q migrate >/dev/null
    runuser -u postgres -- env -u PGUSER -u PGHOST -u PGPORT "$BIN/psql" -X -q -U postgres \
        -h "$SB/socket" -p "$DB_PORT" -d "$DB_NAME" -c "DROP EXTENSION IF EXISTS pg_stat_statements" >/dev/null
    echo "generating $1 users..."
    CTLDB_NO_PROGRESS=1 "$CTLDB" -q seed generate --users "$1" --random-seed 1 >/dev/null
}
