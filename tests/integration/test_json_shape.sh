#!/usr/bin/env bash
# docs/json.md's one JSON shape, for every command path: "ok" and
# "exit_code" agreeing with the process's exit code, times in ISO 8601 UTC
# with Z (null, never "never"), durations and sizes named with their unit
# and numbers, JSON arrays (no PostgreSQL array literals), one document (one
# per line with --watch). Also the error documents: usage, connection.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
fresh_database it_shape

# shape DESCRIPTION CMD...: run CMD with -o json; check the document.
shape() {
    local desc=$1
    shift
    run "$@" -o json
    if "$CTLDB_JSON_TOOL" shape "$RC" <"$OUT" 2>"$IT_TMP/shape"; then
        pass "$desc: one JSON document of the shape (exit $RC)"
    else
        sed 's/^/  shape: /' "$IT_TMP/shape"
        fail "$desc: JSON shape (exit $RC)"
    fi
}

BK=$IT_TMP/backups
MG=$IT_TMP/migrations
mkdir -p "$BK" "$MG"
cp "$CTLDB_SOURCE_DIR"/migrations/*.sql "$MG"/

shape "version" "$CTLDB" version
shape "help" "$CTLDB" help
shape "help backup list" "$CTLDB" help backup list
shape "completion bash" "$CTLDB" completion bash
shape "man" "$CTLDB" man
shape "wait" "$CTLDB" wait --timeout 5s
shape "wait for nothing (exit 3)" env DB_PORT=1 "$CTLDB" wait --timeout 1s --interval 200ms
shape "config show" "$CTLDB" config show
shape "config check" "$CTLDB" config check
shape "config check --offline" "$CTLDB" config check --offline
shape "migrate status (all pending)" "$CTLDB" migrate status --check
shape "migrate --dry-run" "$CTLDB" migrate --dry-run
shape "migrate" "$CTLDB" migrate
shape "migrate up (nothing to do)" "$CTLDB" migrate up
shape "migrate status" "$CTLDB" migrate status
shape "migrate validate" "$CTLDB" migrate validate
shape "migrate lint" "$CTLDB" migrate lint
shape "migrate create" "$CTLDB" migrate create add_notes --dir "$MG"
shape "migrate baseline --dry-run (history exists)" "$CTLDB" migrate baseline 1 --dry-run
shape "migrate down --dry-run" "$CTLDB" migrate down --dry-run
shape "seed" "$CTLDB" seed
shape "seed generate" "$CTLDB" seed generate --users 40 --random-seed 7
shape "backup" "$CTLDB" backup --dir "$BK"
FILE=$(ls "$BK"/backup-*.sql.gz | head -1)
shape "backup list" "$CTLDB" backup list --dir "$BK"
shape "backup verify" "$CTLDB" backup verify "$FILE"
shape "backup prune --dry-run" "$CTLDB" backup prune --dir "$BK" --keep-last 1 --dry-run
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_shape_copy" >/dev/null
shape "restore --create" "$CTLDB" restore "$FILE" --target-db it_shape_copy --create --yes
shape "gen-certs" "$CTLDB" gen-certs --out "$IT_TMP/certs"
shape "check-ssl" "$CTLDB" check-ssl
shape "indexes" "$CTLDB" indexes
shape "indexes check" "$CTLDB" indexes check
shape "indexes ensure --dry-run" "$CTLDB" indexes ensure --dry-run
shape "indexes ensure" "$CTLDB" indexes ensure
shape "vacuum" "$CTLDB" vacuum --jobs 2
shape "vacuum status" "$CTLDB" vacuum status
shape "vacuum autovacuum" "$CTLDB" vacuum autovacuum
shape "pool-stats" "$CTLDB" pool-stats
shape "pool-stats --pods 40 (oversubscribed)" "$CTLDB" pool-stats --pods 40
shape "local status" "$CTLDB" local status --dir "$IT_SANDBOX"
shape "local env" "$CTLDB" local env --dir "$IT_SANDBOX"
shape "doctor" "$CTLDB" doctor --backup-dir "$BK"
shape "doctor (a failing check)" "$CTLDB" doctor --backup-dir "$IT_TMP/none"
shape "tables" "$CTLDB" tables
shape "queries" "$CTLDB" queries --state all
shape "queries top" "$CTLDB" queries top
shape "queries terminate --dry-run" "$CTLDB" queries terminate --older-than 1h --dry-run
shape "queries cancel of no session" "$CTLDB" queries cancel --yes 1
shape "roles" "$CTLDB" roles
shape "roles check" "$CTLDB" roles check
shape "roles create-readonly --dry-run" "$CTLDB" roles create-readonly shape_reader --dry-run
shape "roles rotate-password --dry-run" "$CTLDB" roles rotate-password appuser --out-secret "$IT_TMP/s.yaml" --dry-run
shape "roles rotate-password with nowhere to write" "$CTLDB" roles rotate-password appuser
shape "settings" "$CTLDB" settings
shape "settings check" "$CTLDB" settings check
shape "settings apply --dry-run" "$CTLDB" settings apply --dry-run
shape "settings apply refused (not superuser)" "$CTLDB" settings apply --yes
shape "metrics" "$CTLDB" metrics
shape "metrics without a server" env DB_PORT=1 "$CTLDB" metrics

# Errors are documents of the same shape.
shape "a command-line error" "$CTLDB" migrate --no-such-option
shape "an unknown doctor check" "$CTLDB" doctor --checks nonsense
shape "a refused connection" env DB_PORT=1 "$CTLDB" pool-stats
shape "doctor without a server" env DB_PORT=1 "$CTLDB" doctor --backup-dir "$BK"
check "doctor without a server exits 3" test "$RC" = 3
shape "a missing backup file" "$CTLDB" backup verify "$IT_TMP/nothing.sql.gz"

# --watch: one complete document per line, each with its own exit code.
"$CTLDB" pool-stats --watch 1 -o json >"$OUT" 2>"$ERR" &
PID=$!
sleep 2.5
signal_and_wait INT "$PID"
check "pool-stats --watch stops on SIGINT with 130" test "$RC" = 130
check "pool-stats --watch wrote at least two snapshots and the closing line" test "$(wc -l <"$OUT")" -ge 3
head -n -1 "$OUT" >"$IT_TMP/snapshots"
tail -n 1 "$OUT" >"$IT_TMP/closing"
check "the closing line is the interruption, as one line" \
    "$CTLDB_JSON_TOOL" shape 130 <"$IT_TMP/closing"
if "$CTLDB_JSON_TOOL" shape 0 --lines <"$IT_TMP/snapshots" 2>"$IT_TMP/shape"; then
    pass "pool-stats --watch: one document per line, each of the shape"
else
    sed 's/^/  shape: /' "$IT_TMP/shape"
    fail "pool-stats --watch: JSON lines"
fi

# The checker itself catches what it is for.
echo '{"ok": true, "exit_code": 0, "last_vacuum_at": "never", "blocked_by": "{31903}", "seconds": 3, "size_bytes": "8 kB"}' >"$OUT"
check "the shape checker refuses never, array literals, unitless and textual sizes" \
    bash -c "! '$CTLDB_JSON_TOOL' shape 0 <'$OUT' 2>'$IT_TMP/shape' && test \$(wc -l <'$IT_TMP/shape') = 5"
echo '{"ok": true, "exit_code": 1}' >"$OUT"
check "and an ok that disagrees with the exit code" bash -c "! '$CTLDB_JSON_TOOL' shape 1 <'$OUT' 2>/dev/null"

SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_shape_copy" >/dev/null
finish
