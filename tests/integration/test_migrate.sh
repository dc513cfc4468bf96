#!/usr/bin/env bash
# ctldb migrate against a real server: the embedded schema, failures that
# leave nothing behind, the no-transaction path, drift, concurrency, locks,
# signals, baseline, create, down and lint.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
fresh_database it_migrate
LOCK_KEY=7166472085452975463

expect_rc 1 "status --check on an empty database" "$CTLDB" migrate status --check
check "both embedded migrations pending" stdout_has "2 pending"

expect_rc 0 "dry run" "$CTLDB" migrate --dry-run
check "dry run prints the SQL" stdout_has "CREATE TABLE users"
check "dry run changed nothing" test "$(sql "SELECT count(*) FROM pg_class WHERE relname IN ('users', 'ctldb_schema_migrations')")" = 0

expect_rc 0 "migrate applies the embedded set" "$CTLDB" migrate -o json
check "JSON lists 2 applied" test "$(json_get /applied/1/version)" = 2
for t in users subscriptions payment_transactions payment_methods refunds admin_roles admin_audit_logs; do
    check "table $t exists" test "$(sql "SELECT to_regclass('public.$t') IS NOT NULL")" = t
done
for i in idx_users_email idx_users_auth0_id idx_subscriptions_user_id idx_subscriptions_status \
    idx_subscriptions_tier idx_payment_transactions_user_id idx_payment_transactions_status \
    idx_payment_transactions_created_at idx_admin_audit_logs_admin_user_id idx_admin_audit_logs_created_at; do
    check "index $i exists" test "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname = '$i'")" = 1
done
check "created_at indexes are DESC" test "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%created_at' AND indexdef LIKE '%DESC%'")" = 2
check "history: version, name, checksum, applied_by, execution_ms" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE length(checksum) = 64 AND applied_by LIKE 'appuser@%' AND execution_ms >= 0")" = 2
check "updated_at trigger works" bash -c "[[ \$(echo \"INSERT INTO users (id, email, updated_at) VALUES ('00000000-0000-0000-0000-00000000abcd', 't@example.com', '2000-01-01'); UPDATE users SET name = 'x' WHERE email = 't@example.com'; SELECT updated_at > '2001-01-01' FROM users WHERE email = 't@example.com'; DELETE FROM users WHERE email = 't@example.com';\" | SUPERUSER_DB=it_migrate superuser_psql | grep -c t) -ge 1 ]]"

expect_rc 0 "second run is a no-op" "$CTLDB" migrate -o json
check "nothing applied" json_is /applied "[]"
expect_rc 0 "status --check when up to date" "$CTLDB" migrate status --check
expect_rc 0 "validate" "$CTLDB" migrate validate
expect_rc 0 "lint of the embedded set" "$CTLDB" migrate lint

# --- a directory of our own -------------------------------------------------
fresh_database it_migrate_dir
M="$IT_TMP/m"
mkdir -p "$M"
printf 'CREATE TABLE t1 (id int PRIMARY KEY, v text);\n' >"$M/0001_t1.sql"
printf 'CREATE TABLE t2 (id int);\nINSERT INTO t1 VALUES (1, 1/0);\n' >"$M/0002_fails.sql"
expect_rc 1 "a failing migration" "$CTLDB" migrate --dir "$M"
check "error names file, line and column" stderr_has "0002_fails.sql:2:"
check "PostgreSQL's message" stderr_has "division by zero"
check "says it was rolled back" stderr_has "rolled back"
check "0002 left nothing: t2 absent" test "$(sql "SELECT to_regclass('t2') IS NULL")" = t
check "0001 stays applied" test "$(sql "SELECT string_agg(version::text, ',') FROM ctldb_schema_migrations")" = 1
printf 'CREATE TABLE t2 (id int);\nINSERT INTO t1 VALUES (1, 1);\n' >"$M/0002_fails.sql"
expect_rc 0 "the next run retries it (no dirty state)" "$CTLDB" migrate --dir "$M"
check "t2 exists now" test "$(sql "SELECT to_regclass('t2') IS NOT NULL")" = t

printf 'INSERT INTO t1 VALUES (2, 2), (3, 2), (4, 4);\n' >"$M/0003_rows.sql"
printf -- '-- ctldb:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t1_v ON t1 (v);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t2_id ON t2 (id);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t1_vid ON t1 (v, id);\n' >"$M/0004_concurrent.sql"
expect_rc 0 "no-transaction file with several CONCURRENTLY statements" "$CTLDB" migrate --dir "$M"
check "three valid indexes" test "$(sql "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('idx_t1_v', 'idx_t2_id', 'idx_t1_vid') AND i.indisvalid")" = 3

printf 'CREATE INDEX CONCURRENTLY idx_bad ON t1 (id);\n' >"$M/0005_needs_marker.sql"
expect_rc 1 "CONCURRENTLY in a transactional file is refused" "$CTLDB" migrate --dir "$M"
check "names file and line, suggests the marker" stderr_has "0005_needs_marker.sql:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction"
check "nothing ran" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations")" = 4
rm "$M/0005_needs_marker.sql"

printf 'CREATE TABLE t5 (id int);\nCOPY t5 FROM STDIN;\n' >"$M/0005_copy.sql"
expect_rc 1 "COPY FROM STDIN in a migration is refused before anything runs (never waited on)" timeout -k 5 30 "$CTLDB" migrate --dir "$M"
check "names file, line and why" stderr_has "0005_copy.sql:2: COPY FROM STDIN / TO STDOUT needs a data stream"
check "t5 not created by it" test "$(sql "SELECT to_regclass('t5') IS NULL")" = t
rm "$M/0005_copy.sql"

printf 'CREATE TABLE t5 (id int);\nSELEC 1;\n' >"$M/0005_syntax.sql"
expect_rc 1 "syntax error found before anything runs" "$CTLDB" migrate --dir "$M"
check "file:line:column" stderr_has "0005_syntax.sql:2:1: syntax error"
check "t5 not created" test "$(sql "SELECT to_regclass('t5') IS NULL")" = t
rm "$M/0005_syntax.sql"

# A no-transaction file that fails midway: what ran, what failed, and the
# invalid index a failed concurrent build leaves; the next run repairs it.
printf -- '-- ctldb:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t1_id2 ON t1 (id);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_t1_v_unique ON t1 (v);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t2_id2 ON t2 (id);\n' >"$M/0005_unique.sql"
expect_rc 1 "no-transaction failure midway" "$CTLDB" migrate --dir "$M"
check "says which statement failed" stderr_has "statement 2 of 3 failed"
check "lists what already ran" stderr_has "already ran: line 2"
check "reports the invalid index" stderr_has "invalid index left behind: public.idx_t1_v_unique"
check "the index really is invalid" test "$(sql "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_t1_v_unique'::regclass")" = f
check "not recorded as applied" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE version = 5")" = 0
sql "DELETE FROM t1 WHERE id = 3" >/dev/null
expect_rc 0 "the next run drops and rebuilds the invalid index" "$CTLDB" migrate --dir "$M"
check "warned about it" stderr_has "dropping invalid index public.idx_t1_v_unique"
check "index now valid" test "$(sql "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_t1_v_unique'::regclass")" = t

# --- drift, missing and out-of-order files ----------------------------------
cp "$M/0003_rows.sql" "$IT_TMP/0003.bak"
printf -- '-- edited after it was applied\n' >>"$M/0003_rows.sql"
expect_rc 1 "status shows drift" "$CTLDB" migrate status --dir "$M"
check "modified" stdout_has "modified"
expect_rc 1 "validate fails on drift" "$CTLDB" migrate validate --dir "$M"
printf 'CREATE TABLE t6 (id int);\n' >"$M/0006_t6.sql"
expect_rc 1 "up refuses to run over drift" "$CTLDB" migrate --dir "$M"
check "t6 not created" test "$(sql "SELECT to_regclass('t6') IS NULL")" = t
cp "$IT_TMP/0003.bak" "$M/0003_rows.sql"
mv "$M/0004_concurrent.sql" "$IT_TMP/"
expect_rc 1 "a missing applied file" "$CTLDB" migrate status --dir "$M" -o json
check "JSON state missing" json_is /migrations/3/state missing
mv "$IT_TMP/0004_concurrent.sql" "$M/"
printf 'CREATE TABLE t0 (id int);\n' >"$M/0000_early.sql"
expect_rc 1 "out-of-order file refused" "$CTLDB" migrate --dir "$M"
check "says out of order" stderr_has "out of order"
expect_rc 0 "--allow-out-of-order applies it" "$CTLDB" migrate --dir "$M" --allow-out-of-order
check "t0 and t6 exist" test "$(sql "SELECT count(*) FROM pg_class WHERE relname IN ('t0', 't6')")" = 2

# --- big files: many statements per round trip --------------------------------
# The first failure is still exact (line, PostgreSQL's DETAIL) and leaves
# nothing; a statement returning many rows amid others cannot stall the
# connection; SIGTERM is noticed while a big file is being read.
fresh_database it_migrate_big
B="$IT_TMP/big"
mkdir -p "$B"
awk 'BEGIN { print "CREATE TABLE b (id int PRIMARY KEY, v text);"
    for (i = 1; i <= 3000; i++) {
        if (i == 2500) print "INSERT INTO b VALUES (1, $$dup$$);"
        else printf "INSERT INTO b VALUES (%d, $$v;%d$$);\n", i, i } }' >"$B/0001_b.sql"
expect_rc 1 "a failure deep in a 3001-statement file" "$CTLDB" migrate --dir "$B"
check "names the exact line" stderr_has "0001_b.sql:2501:"
check "with PostgreSQL's DETAIL" stderr_has "Key (id)=(1) already exists"
check "nothing of it applied" test "$(sql "SELECT to_regclass('b') IS NULL")" = t
awk 'BEGIN { print "CREATE TABLE b (id int, pad text);"
    print "SELECT g, repeat($$x$$, 100) FROM generate_series(1, 200000) g;"
    for (i = 1; i <= 2000; i++) printf "INSERT INTO b VALUES (%d, repeat($$y$$, 1000) || $$%0900d$$);\n", i, i }' >"$B/0001_b.sql"
expect_rc 0 "20 MB of results while 2 MB of SQL is still being sent" timeout 60 "$CTLDB" migrate --dir "$B"
check "every row inserted" test "$(sql "SELECT count(*) FROM b")" = 2000
awk 'BEGIN { for (i = 1; i <= 200000; i++) printf "INSERT INTO b VALUES (%d, $$z$$);\n", i }' >"$B/0002_many.sql"
"$CTLDB" migrate --dir "$B" >"$OUT" 2>"$ERR" &
MPID=$!
sleep 0.5
signal_and_wait TERM $MPID
check "SIGTERM while a 200k-statement file is read or run exits 130 (got $RC)" test "$RC" = 130
check "promptly (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -lt 2000
check "none of its rows stayed" test "$(sql "SELECT count(*) FROM b")" = 2000
check "not recorded" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE version = 2")" = 0

# --- concurrency --------------------------------------------------------------
fresh_database it_migrate_race
R="$IT_TMP/race"
mkdir -p "$R"
printf 'CREATE TABLE r1 (id int);\nSELECT pg_sleep(1);\n' >"$R/0001_slow.sql"
printf 'CREATE TABLE r2 (id int);\n' >"$R/0002_r2.sql"
printf -- '-- ctldb:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_r2 ON r2 (id);\n' >"$R/0003_idx.sql"
pids=()
for i in 1 2 3 4; do
    "$CTLDB" migrate --dir "$R" >"$IT_TMP/race$i.out" 2>"$IT_TMP/race$i.err" &
    pids+=($!)
done
rcs=""
for p in "${pids[@]}"; do
    set +e; wait "$p"; rcs+="$? "; set -e
done
check "four concurrent runners all exit 0 ($rcs)" test "$rcs" = "0 0 0 0 "
check "every migration applied exactly once" test "$(sql "SELECT string_agg(version::text, ',' ORDER BY version) FROM ctldb_schema_migrations")" = "1,2,3"
check "some runner waited for the lock" bash -c "cat '$IT_TMP'/race*.err | grep -q 'waiting up to 60 s for the migration lock held by pid'"

printf 'CREATE TABLE r4 (id int);\n' >"$R/0004_r4.sql"
(echo "SELECT pg_advisory_lock($LOCK_KEY); SELECT pg_sleep(4);" | superuser_psql >/dev/null 2>&1) &
HOLDER=$!
wait_for bash -c "[[ \$(SUPERUSER_DB=it_migrate_race superuser_psql -c \"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = ($LOCK_KEY & 4294967295)::oid\") == 1 ]]"
start=$(date +%s%N)
expect_rc 4 "lock held elsewhere: exit 4 after --lock-timeout" "$CTLDB" migrate --dir "$R" --lock-timeout 1
elapsed=$((($(date +%s%N) - start) / 1000000))
check "gave up after about a second (${elapsed} ms)" bash -c "(( $elapsed >= 900 && $elapsed < 3000 ))"
check "names the holder's pid and application" stderr_has "held by pid [0-9]* (psql"
check "r4 not created" test "$(sql "SELECT to_regclass('r4') IS NULL")" = t
wait $HOLDER || true

# DDL queued behind a long transaction gives up after --ddl-lock-timeout.
(echo "BEGIN; LOCK TABLE r2 IN ACCESS SHARE MODE; SELECT pg_sleep(4); COMMIT;" | superuser_psql >/dev/null 2>&1) &
HOLDER=$!
wait_for bash -c "[[ \$(SUPERUSER_DB=it_migrate_race superuser_psql -c \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'r2' AND l.mode = 'AccessShareLock' AND l.granted\") -ge 1 ]]"
printf 'ALTER TABLE r2 ADD COLUMN note text;\n' >"$R/0004_r4.sql"
expect_rc 4 "DDL blocked by a long transaction: lock_timeout, exit 4" "$CTLDB" migrate --dir "$R" --ddl-lock-timeout 500ms
check "lock_timeout hint" stderr_has "hint: a lock on the table could not be taken"
wait $HOLDER || true
expect_rc 0 "then it goes through" "$CTLDB" migrate --dir "$R"
expect_rc 2 "bad --ddl-lock-timeout" "$CTLDB" migrate --dir "$R" --ddl-lock-timeout soon
mkdir -p "$IT_TMP/no-sql" && touch "$IT_TMP/no-sql/001_init.js"
expect_rc 2 "a --dir without migration files (say, the node scripts' folder)" "$CTLDB" migrate up --dir "$IT_TMP/no-sql"
check "says so instead of reporting drift" stderr_has "no migration files in"

# --- SIGTERM mid-migration ------------------------------------------------------
printf 'CREATE TABLE s1 (id int);\nSELECT pg_sleep(30);\n' >"$R/0005_slow.sql"
"$CTLDB" migrate --dir "$R" >"$OUT" 2>"$ERR" &
MPID=$!
wait_for grep -q "applying 0005_slow.sql" "$ERR"
sleep 0.3
signal_and_wait TERM $MPID
check "SIGTERM mid-migration exits 130 (got $RC)" test "$RC" = 130
check "promptly (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -lt 2000
check "s1 rolled back" test "$(sql "SELECT to_regclass('s1') IS NULL")" = t
check "not recorded" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE version = 5")" = 0
check "no session left behind" test "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ctldb'")" = 0
check "the lock was released" test "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0
printf 'CREATE TABLE s1 (id int);\n' >"$R/0005_slow.sql"
expect_rc 0 "the next run applies it" "$CTLDB" migrate --dir "$R"

# --- baseline, create, down, lint ------------------------------------------------
fresh_database it_migrate_baseline
"$CTLDB" migrate --dry-run -o json | "$CTLDB_JSON_TOOL" get /plan/0/sql | SUPERUSER_DB=it_migrate_baseline superuser_psql >/dev/null
sql "ALTER TABLE users OWNER TO appuser" >/dev/null
for t in subscriptions payment_transactions payment_methods refunds admin_roles admin_audit_logs; do sql "ALTER TABLE $t OWNER TO appuser" >/dev/null; done
expect_rc 1 "migrate over a schema made by the old scripts" "$CTLDB" migrate
check "points at baseline 1, after comparing" stderr_has "hint: the database already holds exactly what migrations up to 1 create (compared object by object).*'ctldb migrate baseline 1'"
check "and left no history table" test "$(sql "SELECT to_regclass('ctldb_schema_migrations') IS NULL")" = t
expect_rc 0 "baseline 1 adopts a database made by the old scripts" "$CTLDB" migrate baseline 1
check "nothing run, 1 recorded" stdout_has "recorded 1 migration"
expect_rc 0 "then migrate applies only 0002" "$CTLDB" migrate -o json
check "only version 2 applied" test "$(json_get /applied/0/version),$(json_get /applied/1/version 2>/dev/null || echo none)" = "2,none"
expect_rc 1 "baseline again is refused" "$CTLDB" migrate baseline 1
expect_rc 2 "baseline of an unknown version" "$CTLDB" migrate baseline 99

TRIGGERS=$(sql "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'trg_%'")
expect_rc 0 "down --dry-run shows the plan" "$CTLDB" migrate down --dry-run
check "with the down file's SQL" stdout_has "would roll back 0002 updated_at_triggers"
check "down --dry-run changed nothing: triggers" test "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'trg_%'")" = "$TRIGGERS"
check "down --dry-run changed nothing: history" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations")" = 2
expect_rc 0 "down --dry-run in production is allowed (it changes nothing)" env CTLDB_ENV=production "$CTLDB" migrate down --dry-run -o json
check "JSON plan" json_is /dry_run true
expect_rc 0 "down rolls back the last migration" "$CTLDB" migrate down
check "triggers gone" test "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'trg_%'")" = 0
check "history shortened" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations")" = 1
expect_rc 2 "down in production is refused" env CTLDB_ENV=production "$CTLDB" migrate down --to 0
check "users still there" test "$(sql "SELECT to_regclass('users') IS NOT NULL")" = t
expect_rc 0 "down --to 0" "$CTLDB" migrate down --to 0
check "tables gone" test "$(sql "SELECT to_regclass('users') IS NULL")" = t
check "history empty" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations")" = 0
expect_rc 1 "down without a down file is refused" env DB_NAME=it_migrate_dir "$CTLDB" migrate down --dir "$M"
check "names the missing down file" stderr_has "has no down file"

C="$IT_TMP/create"
mkdir -p "$C"
printf 'SELECT 1;\n' >"$C/0007_first.sql"
expect_rc 0 "create the next file" "$CTLDB" migrate create "Add invoices" --dir "$C"
check "0008_add_invoices.sql" test -f "$C/0008_add_invoices.sql"
expect_rc 0 "create a no-transaction file" "$CTLDB" migrate create add_index --no-transaction --dir "$C"
check "starts with the marker" bash -c "head -1 '$C/0009_add_index.sql' | grep -qx -- '-- ctldb:no-transaction'"
expect_rc 2 "create with a hostile name" "$CTLDB" migrate create "../../etc/x" --dir "$C"
expect_rc 2 "create in a missing directory" "$CTLDB" migrate create x --dir "$IT_TMP/nope"

L="$IT_TMP/lint"
mkdir -p "$L"
printf 'CREATE INDEX idx ON users (email);\nALTER TABLE users ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();\nALTER TABLE users ALTER COLUMN name TYPE varchar(10);\nALTER TABLE users ADD CONSTRAINT c CHECK (name <> '"''"');\n' >"$L/0001_risky.sql"
expect_rc 1 "lint finds risky statements" "$CTLDB" migrate lint --dir "$L" -o json
for rule in index-not-concurrent add-column-volatile-default alter-column-type constraint-validated-at-once; do
    check "lint rule $rule" stdout_has "\"rule\": \"$rule\""
done
expect_rc 2 "a --dir that does not exist" "$CTLDB" migrate status --dir "$IT_TMP/none"
printf 'SELECT 1;\n' >"$L/0001_dup.sql"
expect_rc 1 "duplicate versions are refused" "$CTLDB" migrate lint --dir "$L"
check "names both files" stderr_has "0001_risky.sql"
check "and the layout where the first file of a number wins" stderr_has "first file of a number winning: --layout node"

finish
