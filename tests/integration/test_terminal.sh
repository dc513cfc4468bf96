#!/usr/bin/env bash
# ctldb at a terminal and in a pod: progress bars in a pseudo-terminal
# (script(1)) for backup, restore, seed generate, vacuum and indexes ensure,
# and none with -q, TERM=dumb, a pipe or --log-format json; restore --create
# answered "n" creates nothing; --no-headers; -v and -vv; ctldb wait against
# a server that starts late (exit 0) and one that never does (exit 3);
# backup --jobs defaults to a cgroup's CPU quota.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_server_binaries
command -v script >/dev/null || {
    echo "script(1) missing: run scripts/install-deps" >&2
    exit 1
}
use_shared_server
fresh_database ctldb_terminal
# An extension only a superuser may create, as a DBA installs it: the
# backup carries CREATE EXTENSION, which appuser's restore must get past.
sql "CREATE EXTENSION pg_stat_statements" >/dev/null
"$CTLDB" -q migrate
"$CTLDB" -q seed
B=$IT_TMP/backups
mkdir -p "$B"
CG=""
at_exit '[[ -n "$CG" ]] && rmdir "$CG" 2>/dev/null'

# In a terminal: stderr is the pty, stdout a file.
in_tty() {
    local cmd=$1
    TERM=${TERM_FOR_TEST:-xterm} script -qefc "$cmd" /dev/null >"$ERR" 2>&1 </dev/null
}
has_bar() { grep -q $'\r'"$1" "$ERR"; }

in_tty "'$CTLDB' backup --dir '$B' >'$OUT'" || true
check "backup in a terminal: done" grep -q "backup-" "$OUT"
check "backup in a terminal: a progress bar with percent" bash -c "grep -a $'\r''backup \[' '$ERR' | grep -q '%'"
in_tty "'$CTLDB' -q backup --dir '$B' >'$OUT'" || true
check "backup -q: no bar" bash -c "! grep -q $'\r' '$ERR'"
TERM_FOR_TEST=dumb in_tty "'$CTLDB' backup --dir '$B' >'$OUT'" || true
check "backup with TERM=dumb: no bar" bash -c "! grep -q $'\r' '$ERR'"
in_tty "'$CTLDB' --log-format json backup --dir '$B' >'$OUT'" || true
check "backup --log-format json: no bar" bash -c "! grep -q $'\r' '$ERR'"
check "backup --log-format json: JSON lines only" bash -c "grep -v '^{' '$ERR' | grep -q . && exit 1 || exit 0"
"$CTLDB" backup --dir "$B" >"$OUT" 2>"$ERR"
check "backup piped: no bar" bash -c "! grep -q $'\r' '$ERR'"

sql "DROP DATABASE IF EXISTS ctldb_tty_copy" >/dev/null 2>&1
in_tty "'$CTLDB' restore latest --dir '$B' --target-db ctldb_tty_copy --create --yes >'$OUT'"
check "restore in a terminal: done, row counts match" grep -q "ctldb_tty_copy.*row counts match" "$OUT"
check "restore in a terminal: a progress bar with percent" bash -c "grep -a $'\r''restore \[' '$ERR' | grep -q '100%'"
check "restore as appuser leaves out the superuser's extension, with a warning" grep -q 'left out "CREATE EXTENSION IF NOT EXISTS pg_stat_statements' "$ERR"
check "and its comment" grep -q 'left out "COMMENT ON EXTENSION pg_stat_statements' "$ERR"
check "the result says so" grep -q "; 2 extension statement(s) the role may not run left out" "$OUT"
check "the users are all there" test "$(SUPERUSER_DB=ctldb_tty_copy superuser_psql -c 'SELECT count(*) FROM users')" = "$(sql 'SELECT count(*) FROM users')"
sql "DROP DATABASE ctldb_tty_copy" >/dev/null

# Asked before anything is created: "n" leaves no database behind.
RC=0
printf 'n\n' | TERM=xterm script -qefc "'$CTLDB' restore latest --dir '$B' --target-db ctldb_tty_no --create" /dev/null >"$ERR" 2>&1 || RC=$?
check "restore --create asks first" grep -q "Create database ctldb_tty_no" "$ERR"
check "answered n: exit 1" test "$RC" = 1
check "answered n: no database created" test -z "$(sql "SELECT 1 FROM pg_database WHERE datname = 'ctldb_tty_no'")"

in_tty "'$CTLDB' seed generate --users 3000 --random-seed 7 >'$OUT'"
check "seed generate in a terminal: a progress bar" bash -c "grep -a $'\r''seed generate \[' '$ERR' | grep -q 'users'"
in_tty "'$CTLDB' vacuum >'$OUT'"
check "vacuum in a terminal: a progress bar" grep -qa $'\r''vacuum' "$ERR"
sql "DROP INDEX idx_subscriptions_status" >/dev/null
in_tty "'$CTLDB' indexes ensure >'$OUT'"
check "indexes ensure in a terminal: a progress bar" grep -qa $'\r''indexes ensure \[' "$ERR"
check "indexes ensure: the index is back" grep -q "ran 1 statement" "$OUT"
"$CTLDB" vacuum >"$OUT" 2>"$ERR"
check "vacuum piped: no bar" bash -c "! grep -q $'\r' '$ERR'"

# Tables for awk: --no-headers drops the header line only.
run "$CTLDB" tables --limit 3
HEADED=$(wc -l <"$OUT")
check "tables has a header" stdout_has "^TABLE"
run "$CTLDB" tables --limit 3 --no-headers
check "--no-headers: no header line" bash -c "! grep -q '^TABLE' '$OUT'"
check "--no-headers: one line fewer" test "$(wc -l <"$OUT")" = $((HEADED - 1))

# -v details, -vv also how it connects.
run "$CTLDB" -v config check
check "-v: no debug lines" bash -c "! grep -q 'debug:' '$ERR'"
run "$CTLDB" -vv config check
check "-vv: where it connects" stderr_has "debug: connecting: host="
check "-vv: how it connected" stderr_has "debug: connected in .* ms to PostgreSQL"
check "-vv: never the password" output_lacks "$(cat "$DB_PASSWORD_FILE" 2>/dev/null || echo "${DB_PASSWORD:-no-password-set}")"
run "$CTLDB" version
check "without -v: no details" bash -c "! grep -q 'CPUs available' '$ERR'"
run "$CTLDB" -v version
check "-v: the details" stderr_has "CPUs available: [0-9]"

# ctldb wait: a server that is not there yet, then one that starts late.
use_private_server sb
"$CTLDB" -q local stop --dir "$SB" >/dev/null
T0=$(date +%s)
expect_rc 3 "wait for a server that never starts: exit 3" "$CTLDB" wait --timeout 2s
T1=$(date +%s)
check "after the timeout, not before" test $((T1 - T0)) -ge 2
check "it says why it waited" stderr_has "refused"
run "$CTLDB" wait --timeout 1s --interval 200ms -o json || true
check "wait -o json: ready false" json_is /ready false
check "wait -o json: the reason" json_is /reason refused
"$CTLDB" wait --timeout 90s >"$IT_TMP/wait.out" 2>"$IT_TMP/wait.err" &
WAIT_PID=$!
sleep 3
check "wait is still waiting while the server is down" kill -0 "$WAIT_PID"
"$CTLDB" -q local start --dir "$SB" >/dev/null
RC=0
wait "$WAIT_PID" || RC=$?
check "wait for a server started late: exit 0" test "$RC" = 0
check "it says it accepts connections" grep -q "accepts connections" "$IT_TMP/wait.out"
check "it said it was waiting" grep -q "waiting for" "$IT_TMP/wait.err"
expect_rc 2 "wait --timeout soon is a usage error" "$CTLDB" wait --timeout soon
use_shared_server

# --jobs follows the cgroup's CPU quota (a pod's CPU limit).
if [[ -w /sys/fs/cgroup/cpu ]] && [[ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]]; then
    CG=/sys/fs/cgroup/cpu/ctldb-test-$$
    mkdir "$CG"
    echo 100000 >"$CG/cpu.cfs_period_us"
    echo 100000 >"$CG/cpu.cfs_quota_us"
elif [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers && mkdir /sys/fs/cgroup/ctldb-test-$$ 2>/dev/null; then
    CG=/sys/fs/cgroup/ctldb-test-$$
    echo "100000 100000" >"$CG/cpu.max"
fi
if [[ -n "$CG" ]]; then
    in_cgroup() { bash -c 'echo $$ >"$1/cgroup.procs" 2>/dev/null || echo $$ >"$1/tasks"; shift; exec "$@"' _ "$CG" "$@"; }
    in_cgroup "$CTLDB" version -o json >"$OUT"
    check "under a 1-CPU quota: 1 CPU available" json_is /cpus 1
    check "the quota is the reason" bash -c "grep -q cgroup '$OUT'"
    in_cgroup "$CTLDB" -v backup --dir "$B" >"$OUT" 2>"$ERR"
    check "backup compresses on 1 thread there" stderr_has "compressing with 1 threads (cgroup"
    "$CTLDB" version -o json >"$OUT"
    check "outside it: every core ($(nproc))" json_is /cpus "$(nproc)"
else
    pass "SKIP: cannot make a cgroup with a CPU quota here"
fi
finish
