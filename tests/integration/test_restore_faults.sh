#!/usr/bin/env bash
# Restore against hostile backups, hostile names and SIGKILL: every refused
# file runs nothing and leaves every database as it was; a killed restore
# leaves the target complete or exactly as before, and no child behind.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
export PGPASSWORD
PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
count_in() { app_psql "$1" -c "SELECT count(*) FROM $2"; }
su_sql() { SUPERUSER_DB=postgres superuser_psql -c "$1"; }

fresh_database it_faults
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed generate --users 4000 --random-seed 11 >/dev/null
USERS=$(count_in it_faults users)
D="$IT_TMP/backups"
mkdir -p "$D"
"$CTLDB" -q backup --dir "$D" -o json >"$OUT"
F=$(json_get /path)
"$CTLDB" -q backup --dir "$D" --format custom -o json >"$OUT"
C=$(json_get /path)

# A database that no restore may touch, with known contents.
su_sql "DROP DATABASE IF EXISTS it_victim WITH (FORCE)" >/dev/null
su_sql "CREATE DATABASE it_victim OWNER appuser" >/dev/null
app_psql it_victim -c "CREATE TABLE precious (i int); INSERT INTO precious SELECT generate_series(1, 7)"
victim_ok() { [[ "$(count_in it_victim precious 2>/dev/null)" == 7 ]]; }
# The restore target: an existing database with its own contents.
reset_target() {
    su_sql "DROP DATABASE IF EXISTS it_target WITH (FORCE)" >/dev/null
    su_sql "CREATE DATABASE it_target OWNER appuser" >/dev/null
    app_psql it_target -c "CREATE TABLE keepme (i int); INSERT INTO keepme VALUES (1), (2), (3)"
}
# "before" when keepme holds its 3 rows and nothing of the dump is there;
# "complete" when keepme is gone and every user is there.
target_state() {
    # One session for all of it (this runs after each of 40 kills).
    local row k u nk nu
    row=$(app_psql it_target -c "
        SELECT k, u,
               CASE WHEN k THEN (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM public.keepme', false, true, '')))[1]::text END,
               CASE WHEN u THEN (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM public.users', false, true, '')))[1]::text END
        FROM (SELECT to_regclass('public.keepme') IS NOT NULL AS k, to_regclass('public.users') IS NOT NULL AS u) s" 2>/dev/null) || {
        echo unreachable
        return
    }
    IFS='|' read -r k u nk nu <<<"$row"
    if [[ "$k" == t && "$u" == f && "$nk" == 3 ]]; then
        echo before
    elif [[ "$k" == f && "$u" == t ]]; then
        echo "users=$nu"
    else
        echo "MIXED keepme=$k users=$u"
    fi
}

PLAIN="$IT_TMP/plain.sql"
gunzip -c "$F" >"$PLAIN"
# hostile NAME LINE: a copy of the genuine dump with LINE inserted after
# the settings at its top (before any table), no manifest.
hostile() {
    local out="$IT_TMP/h-$1.sql"
    awk -v ins="$2" '{ print } /^SET row_security = off;$/ && !done { print ins; done = 1 }' "$PLAIN" >"$out"
    echo "$out"
}
PWN="$IT_TMP/pwned"
declare -A CASES=(
    [shell]="\\! touch $PWN"
    [output]="\\o $PWN"
    [copy_program]="\\copy (SELECT 1) to program 'touch $PWN'"
    [include]="\\i /etc/passwd"
    [connect]="\\connect it_victim
DROP TABLE precious;"
    [connect_uri]="\\connect postgresql:///it_victim"
    [inline_meta]="SELECT 1 \\g $PWN"
    [setenv]="\\setenv PGDATABASE it_victim"
    [rollback]="ROLLBACK; DROP TABLE IF EXISTS keepme;"
    [commit_prepared]="COMMIT PREPARED 'x';"
    [savepoint]="SAVEPOINT s;"
    [server_copy]="COPY (SELECT 1) TO '$PWN';"
    [copy_program_sql]="COPY public.keepme FROM PROGRAM 'touch $PWN';"
)
for name in "${!CASES[@]}"; do
    h=$(hostile "$name" "${CASES[$name]}")
    reset_target
    expect_rc 1 "hostile dump ($name): verify refuses it" "$CTLDB" backup verify "$h" --no-manifest
    expect_rc 1 "hostile dump ($name): restore refuses it" "$CTLDB" restore "$h" --no-manifest --target-db it_target --clean --yes
    check "hostile dump ($name): nothing ran on this machine" test ! -e "$PWN"
    check "hostile dump ($name): target untouched" test "$(target_state)" = before
    check "hostile dump ($name): other database untouched" victim_ok
done
h=$(hostile shell "\\! touch $PWN")
run "$CTLDB" restore "$h" --no-manifest --target-db it_target --clean --yes
check "the refusal names the line and the command" stderr_has 'line [0-9]*: psql command \\!'

# A statement the server rejects: PostgreSQL's words reach the operator,
# with the position shown as psql shows it (the line and a caret).
h=$(hostile bad_column "CREATE VIEW public.v AS SELECT relname,
       nosuchcolumn FROM pg_class;")
reset_target
expect_rc 1 "a dump whose statement fails" "$CTLDB" restore "$h" --no-manifest --target-db it_target --clean --yes
check "the server's message" stderr_has 'column "nosuchcolumn" does not exist'
check "the line of the statement it is on" stderr_has "LINE 2:        nosuchcolumn FROM pg_class"
check "a caret under it" stderr_has "^ *\^$"
check "target untouched after the failure" test "$(target_state)" = before

# Appended after pg_dump's closing marker: SQL, a second gzip member,
# trailing bytes.
cp "$PLAIN" "$IT_TMP/appended.sql"
echo "DROP TABLE public.users CASCADE;" >>"$IT_TMP/appended.sql"
cp "$F" "$IT_TMP/member.sql.gz"
printf 'DROP TABLE public.users CASCADE;\n' | gzip >>"$IT_TMP/member.sql.gz"
cp "$F" "$IT_TMP/trailing.sql.gz"
printf 'garbage' >>"$IT_TMP/trailing.sql.gz"
for h in "$IT_TMP/appended.sql" "$IT_TMP/member.sql.gz" "$IT_TMP/trailing.sql.gz"; do
    reset_target
    n=$(basename "$h")
    expect_rc 1 "$n: verify refuses it" "$CTLDB" backup verify "$h" --no-manifest
    expect_rc 1 "$n: restore refuses it" "$CTLDB" restore "$h" --no-manifest --target-db it_target --clean --yes
    check "$n: target untouched" test "$(target_state)" = before
done
run "$CTLDB" backup verify "$IT_TMP/member.sql.gz" --no-manifest
check "a second gzip member is named as SQL after the marker" stderr_has "after pg_dump's closing marker"

# Replacing the file while it is restored changes nothing: the open file
# is what is checked and restored.
reset_target
big="$IT_TMP/swap.sql"
cp "$PLAIN" "$big"
( sleep 0.2; h=$(hostile shell2 "\\! touch $PWN"); mv -f "$h" "$big" ) &
expect_rc 0 "a file replaced during the restore: the original is restored" "$CTLDB" restore "$big" --no-manifest --target-db it_target --clean --yes
wait
check "nothing of the replacement ran" test ! -e "$PWN"

# Names are names: never another database, server or sslmode.
reset_target
for name in 'dbname=it_victim' 'host=127.0.0.2 port=1 dbname=it_victim sslmode=disable' \
    'postgresql://appuser@127.0.0.1/it_victim' "it_victim' OR '1" 'it victim'; do
    run "$CTLDB" restore "$F" --target-db "$name" --yes
    check "--target-db '$name' is a literal name (exit $RC)" bash -c "[[ $RC == 3 || $RC == 2 || $RC == 1 ]]"
    check "--target-db '$name': other database untouched" victim_ok
    check "--target-db '$name': no password in the output" output_lacks "$PGPASSWORD"
done
expect_rc 2 "--target-db with a newline" "$CTLDB" restore "$F" --target-db $'it_target\nx' --yes
expect_rc 2 "DB_NAME with a newline" env DB_NAME=$'it_faults\nhost=x' "$CTLDB" backup --dir "$D"
expect_rc 2 "a 64-byte database name" "$CTLDB" restore "$F" --target-db "$(printf 'a%.0s' {1..64})" --yes
run "$CTLDB" restore "$F" --target-db 'dbname=it_victim' --yes
check "the literal name is in the error" stderr_has 'database "dbname=it_victim" does not exist'
expect_rc 0 "a name with = and quotes restores literally" "$CTLDB" restore "$F" --target-db "it's=odd" --create --yes
check "into the database of that very name" test "$(su_sql "SELECT count(*) FROM pg_database WHERE datname = 'it''s=odd'")" = 1
su_sql "DROP DATABASE \"it's=odd\" WITH (FORCE)" >/dev/null

# running PID: the process exists and is not a zombie (an orphan whose
# parent was killed waits for init to reap it, which here may not be soon).
running() { [[ -r /proc/$1/stat ]] && [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]]; }

# SIGKILL at random points: complete or exactly as before; no child left.
kill_restore() {
    local label=$1 delay=$2
    shift 2
    reset_target
    "$CTLDB" -q restore "$@" --target-db it_target --clean --yes >/dev/null 2>&1 &
    local pid=$!
    sleep "$delay"
    # This run's pg_restore (its child), not another checkout's or a
    # benchmark's on the same machine.
    local kids
    kids=$(pgrep -x -P "$pid" pg_restore | tr '\n' ' ' || true)
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local state
    state=$(target_state)
    if [[ "$state" == before || "$state" == "users=$USERS" ]]; then
        pass "SIGKILL $label after ${delay}s: target $state"
    else
        fail "SIGKILL $label after ${delay}s: target $state"
    fi
    # PR_SET_PDEATHSIG kills it at once; allow the kernel a moment.
    local _ k alive
    for _ in 1 2 3 4 5; do
        alive=""
        for k in $kids; do running "$k" && alive="$alive $k"; done
        [[ -z "$alive" ]] && break
        sleep 0.1
    done
    if [[ -n "$alive" ]]; then
        fail "SIGKILL $label: a pg_restore outlived ctldb (pid$alive)"
    fi
}
# How long one restore takes, to spread the kill points over it.
reset_target
t0=$(date +%s%N)
"$CTLDB" -q restore "$F" --target-db it_target --clean --yes >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "an uninterrupted --clean restore is complete" test "$(target_state)" = "users=$USERS"
RANDOM=42
for i in $(seq 20); do
    kill_restore "plain --clean" "$(awk -v r=$RANDOM -v ms=$ms 'BEGIN { printf "%.3f", (r % 1000) / 1000 * ms / 1000 * 1.1 }')" "$F"
done
for i in $(seq 10); do
    kill_restore "custom --clean" "$(awk -v r=$RANDOM -v ms=$ms 'BEGIN { printf "%.3f", (r % 1000) / 1000 * ms / 1000 * 1.3 }')" "$C"
done
for i in $(seq 10); do
    kill_restore "custom --jobs 2" "$(awk -v r=$RANDOM -v ms=$ms 'BEGIN { printf "%.3f", (r % 1000) / 1000 * ms / 1000 * 1.5 }')" "$C" --jobs 2 --drop-previous
done
# SIGTERM: exit 130 after rolling back.
reset_target
"$CTLDB" -q restore "$F" --target-db it_target --clean --yes >/dev/null 2>"$IT_TMP/term.err" &
pid=$!
# The signal goes in while the restore's transaction is open (a fixed share
# of a measured run missed a restore that happened to finish sooner).
in_restore() {
    [[ "$(su_sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'it_target' AND application_name LIKE 'ctldb%' AND xact_start IS NOT NULL")" != 0 ]]
}
check "the restore is caught with its transaction open" wait_for in_restore
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
check "SIGTERM mid-restore exits 130 (got $rc)" test "$rc" = 130
check "SIGTERM mid-restore: target as before" test "$(target_state)" = before

# Leftovers of killed --jobs runs are named after the target.
for db in $(su_sql "SELECT datname FROM pg_database WHERE datname LIKE 'it_target_ctldb_restore_%' OR datname LIKE 'it_target_before_%'"); do
    su_sql "DROP DATABASE \"$db\" WITH (FORCE)" >/dev/null
done

# --jobs: atomic by swapping; the old database kept, sessions refused.
reset_target
# The backend of the restore killed above may still be rolling back; the
# swap (rightly) refuses a target with sessions, so wait for it to end.
for _ in $(seq 50); do
    [[ "$(su_sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'it_target'")" == 0 ]] && break
    sleep 0.2
done
expect_rc 0 "restore --jobs 2 of a custom archive" "$CTLDB" restore "$C" --target-db it_target --clean --yes --jobs 2 -o json
check "the target is complete" test "$(target_state)" = "users=$USERS"
PREV=$(json_get /previous_database)
check "the previous database is kept under a dated name" test "$(app_psql "$PREV" -c "SELECT count(*) FROM keepme")" = 3
su_sql "DROP DATABASE \"$PREV\" WITH (FORCE)" >/dev/null
reset_target
app_psql it_target -c "SELECT pg_sleep(30)" >/dev/null 2>&1 &
sleeper=$!
wait_for bash -c "[[ \$(SUPERUSER_DB=postgres superuser_psql -c \"SELECT count(*) FROM pg_stat_activity WHERE datname = 'it_target' AND query LIKE '%pg_sleep%'\") == 1 ]]"
expect_rc 1 "--jobs with a session on the target" "$CTLDB" restore "$C" --target-db it_target --clean --yes --jobs 2
check "says how to end the sessions" stderr_has "pg_terminate_backend"
kill "$sleeper" 2>/dev/null || true
wait "$sleeper" 2>/dev/null || true
check "target untouched" test "$(target_state)" = before
check "no temporary database left" test "$(su_sql "SELECT count(*) FROM pg_database WHERE datname LIKE 'it_target_ctldb_restore_%'")" = 0

finish
