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

# bench_pg_env: psql and the anchors' tools connect as ctldb does (the
# sandbox's host, port, user, verify-full TLS).
bench_pg_env() {
    export PGHOST=$DB_HOST PGPORT=$DB_PORT PGUSER=$DB_USER PGSSLMODE=verify-full \
        PGSSLROOTCERT=$DB_SSL_ROOT_CERT
}

# su_psql ARGS: psql as the sandbox's superuser over its socket.
su_psql() { runuser -u postgres -- "$BIN/psql" -X -q -h "$SB/socket" -p "$DB_PORT" -d postgres "$@"; }
# fresh DB: an empty database DB owned by appuser.
fresh() { su_psql -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 OWNER appuser"; }
now() { date +%s.%N; }
# timed NAME CMD...: CMD's seconds appended to $W/NAME.s and its peak RSS
# (KB) to $W/NAME.rss (one line per run: medians over rounds).
timed() {
    local name=$1 t0
    shift
    sync
    t0=$(now)
    /usr/bin/time -f %M -o "$W/rss.tmp" "$@" >/dev/null
    echo "$(now) - $t0" | bc -l >>"$W/$name.s"
    cat "$W/rss.tmp" >>"$W/$name.rss"
}

# median FILE / max FILE: of the numbers in $W/FILE, one per line (timed's
# rounds).
median() { sort -g "$W/$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
max() { sort -g "$W/$1" | tail -1; }
