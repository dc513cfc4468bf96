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
