#!/usr/bin/env bash
# indexes, vacuum and pool-stats against a real server with real load.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
BIN=$(pg_bindir)
export PGPASSWORD
PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
fresh_database it_maint
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed generate --users 500 --random-seed 3 >/dev/null
APP="host=$DB_HOST port=$DB_PORT dbname=it_maint user=appuser sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT"
app_sql() { "$BIN/psql" -X -q -At "$APP" -c "$1"; }

# --- indexes -------------------------------------------------------------------
expect_rc 0 "indexes check on the migrated schema" "$CTLDB" indexes check -o json
check "all ten required present" test "$(grep -c '"state": "present"' "$OUT")" = 10

app_sql "DROP INDEX idx_subscriptions_tier"
expect_rc 1 "a dropped guide index is reported" "$CTLDB" indexes -o json
check "state missing" grep -q '"state": "missing"' "$OUT"
expect_rc 0 "ensure --dry-run" "$CTLDB" indexes ensure --dry-run
check "prints the exact SQL" stdout_has "^CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_subscriptions_tier ON subscriptions (tier);"
check "dry run changed nothing" test "$(app_sql "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_subscriptions_tier'")" = 0
expect_rc 0 "ensure recreates it" "$CTLDB" indexes ensure
check "back, valid" test "$(app_sql "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_subscriptions_tier'::regclass")" = t

app_sql "CREATE TABLE dupt (v int); INSERT INTO dupt VALUES (1), (1), (2)"
"$BIN/psql" -X -q "$APP" -c "CREATE UNIQUE INDEX CONCURRENTLY dupt_v_unique ON dupt (v)" >/dev/null 2>&1 || true
check "a failed CREATE UNIQUE INDEX CONCURRENTLY left an invalid index" test "$(app_sql "SELECT indisvalid FROM pg_index WHERE indexrelid = 'dupt_v_unique'::regclass")" = f
expect_rc 1 "the invalid index is reported" "$CTLDB" indexes -o json
check "listed under invalid" bash -c "'$CTLDB_JSON_TOOL' get /invalid/0/index <'$OUT' | grep -q dupt_v_unique"
expect_rc 1 "ensure over the duplicate values fails" "$CTLDB" indexes ensure
check "with PostgreSQL's DETAIL naming the duplicated key" stderr_has 'DETAIL: Key (v)=(1) is duplicated'
app_sql "DELETE FROM dupt WHERE ctid = (SELECT max(ctid) FROM dupt WHERE v = 1)"
expect_rc 0 "ensure rebuilds it" "$CTLDB" indexes ensure
check "valid and unique now" test "$(app_sql "SELECT indisvalid AND indisunique FROM pg_index WHERE indexrelid = 'dupt_v_unique'::regclass")" = t

app_sql "CREATE INDEX idx_dup_status ON subscriptions (status)"
app_sql "CREATE INDEX idx_tx_method_status ON payment_transactions (payment_method_id, status)"
expect_rc 0 "duplicates are warnings" "$CTLDB" indexes -o json
sed -n '/"duplicates"/,/^  \]/p' "$OUT" >"$IT_TMP/dups"
check "the duplicate is flagged, not the guide's index" bash -c "grep -q '\"index\": \"public.idx_dup_status\"' '$IT_TMP/dups' && ! grep -q '\"index\": \"public.idx_subscriptions_status\"' '$IT_TMP/dups'"
check "the covered one is flagged" bash -c "grep -q '\"covered_by\": \"public.idx_tx_method_status\"' '$IT_TMP/dups' && grep -q 'idx_payment_transactions_payment_method_id' '$IT_TMP/dups'"
check "primary keys and the guide's indexes never flagged" bash -c "! grep -qE '\"index\": \"public.([a-z_]*_pkey|idx_payment_transactions_user_id)\"' '$IT_TMP/dups'"
check "unused indexes listed with the reset time" bash -c "grep -q '\"stats_reset\"' '$OUT' && grep -q '\"unused\"' '$OUT'"
app_sql "CREATE TABLE fkt (id int PRIMARY KEY, user_id uuid REFERENCES users (id))"
expect_rc 0 "foreign key without an index" "$CTLDB" indexes -o json
check "reported" grep -q '"constraint": "fkt_user_id_fkey"' "$OUT"

# --- vacuum ---------------------------------------------------------------------
# Keep autovacuum away from this table so the dead tuples stay until we vacuum.
app_sql "ALTER TABLE payment_transactions SET (autovacuum_enabled = false)"
app_sql "UPDATE payment_transactions SET currency = 'USD'"
wait_for bash -c "[[ \$('$BIN/psql' -X -At '$APP' -c \"SELECT n_dead_tup > 0 FROM pg_stat_user_tables WHERE relname = 'payment_transactions'\") == t ]]"
expect_rc 1 "vacuum status flags the table" "$CTLDB" vacuum status -o json
check "needs_vacuum" bash -c "grep -B12 '\"table\": \"public.payment_transactions\"' '$OUT' | grep -q '\"needs_vacuum\": true'"
expect_rc 0 "vacuum one table" "$CTLDB" vacuum --table payment_transactions -o json
BEFORE=$(json_get /tables/0/dead_tuples_before)
AFTER=$(json_get /tables/0/dead_tuples_after)
check "dead tuples reduced ($BEFORE -> $AFTER)" bash -c "(( $BEFORE > 0 && $AFTER < $BEFORE ))"
expect_rc 0 "vacuum status clean again" "$CTLDB" vacuum status
expect_rc 0 "vacuum all, two jobs" "$CTLDB" vacuum --jobs 2 -o json
check "biggest table first" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /tables/0/table <'$OUT') == public.payment_transactions || \$('$CTLDB_JSON_TOOL' get /tables/0/table <'$OUT') == public.admin_audit_logs ]]"
expect_rc 0 "analyze only" "$CTLDB" vacuum --analyze-only --table users
for hostile in "users; DROP TABLE users" 'Robert"); DROP TABLE users;--' "no_such_table" "pg_catalog.pg_class_x"; do
    expect_rc 2 "hostile or unknown table name: $hostile" "$CTLDB" vacuum --table users --table "$hostile"
done
check "users still there" test "$(app_sql "SELECT to_regclass('users') IS NOT NULL")" = t
expect_rc 2 "--full without --yes" "$CTLDB" vacuum --full --table refunds
expect_rc 0 "--full --yes" "$CTLDB" vacuum --full --yes --table refunds
check "warns about exclusive locks" stderr_has "ACCESS EXCLUSIVE\|exclusively"

# A table held by ACCESS EXCLUSIVE (a migration's ALTER TABLE, say):
# --skip-locked passes it by and says so, without waiting for it; indexes
# check skips only that table's definitions and checks the rest.
{ echo "BEGIN; LOCK TABLE refunds IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20);"; } 2>/dev/null | "$BIN/psql" -X -q "$APP" >/dev/null 2>&1 &
LOCKER=$!
wait_for bash -c "[[ \$('$BIN/psql' -X -At '$APP' -c \"SELECT count(*) FROM pg_locks WHERE relation = 'refunds'::regclass AND mode = 'AccessExclusiveLock' AND granted\") == 1 ]]"
start=$(date +%s%N)
expect_rc 0 "vacuum --skip-locked beside a locked table" "$CTLDB" vacuum --skip-locked -o json
elapsed=$((($(date +%s%N) - start) / 1000000))
check "did not wait for the lock (${elapsed} ms)" test "$elapsed" -lt 5000
check "the locked table is reported as skipped" bash -c "grep -A8 '\"table\": \"public.refunds\"' '$OUT' | grep -q 'skipped: locked by another session' || grep -B8 '\"table\": \"public.refunds\"' '$OUT' | grep -q 'skipped: locked by another session'"
start=$(date +%s%N)
expect_rc 0 "indexes check beside the locked table" "$CTLDB" indexes check
check "without waiting for it" test $((($(date +%s%N) - start) / 1000000)) -lt 5000
check "names the locked table and its holder" stdout_has "locked tables .*public.refunds (pid [0-9]*"
check "and checks the others" stdout_has "idx_users_email .*ok"
sql "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE relation = 'refunds'::regclass AND mode = 'AccessExclusiveLock'" >/dev/null
wait "$LOCKER" 2>/dev/null || true
wait_for bash -c "[[ \$('$BIN/psql' -X -At '$APP' -c \"SELECT count(*) FROM pg_locks WHERE relation = 'refunds'::regclass AND mode = 'AccessExclusiveLock'\") == 0 ]]"

expect_rc 0 "autovacuum as the guide wants" "$CTLDB" vacuum autovacuum
superuser_psql -c "ALTER SYSTEM SET autovacuum_naptime = '5min'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
expect_rc 1 "naptime differs from the guide" "$CTLDB" vacuum autovacuum
expect_rc 1 "--apply without superuser" "$CTLDB" vacuum autovacuum --apply
check "says superuser is needed" stderr_has "superuser"
expect_rc 0 "--apply as superuser over the local socket" env -u DB_SSL_ROOT_CERT -u DB_PASSWORD_FILE DB_HOST="$IT_SANDBOX/socket" DB_USER=postgres DB_SSL_MODE=disable "$CTLDB" vacuum autovacuum --apply
sleep 0.3
check "naptime back to 1min" test "$(app_sql "SHOW autovacuum_naptime")" = 1min

# --- pool-stats -------------------------------------------------------------------
PIDS=()
# Sessions that stay open while the checks run: idle, idle in transaction,
# one holding a lock and (below) one waiting for it.
{ sleep 15; } 2>/dev/null | "$BIN/psql" -X -q "$APP" >/dev/null 2>&1 & PIDS+=($!)
{ echo "BEGIN; SELECT 1;"; sleep 15; } 2>/dev/null | "$BIN/psql" -X -q "$APP" >/dev/null 2>&1 & PIDS+=($!)
{ echo "BEGIN; LOCK TABLE refunds IN ACCESS EXCLUSIVE MODE;"; sleep 15; } 2>/dev/null | "$BIN/psql" -X -q "$APP" >/dev/null 2>&1 & PIDS+=($!)
wait_for bash -c "[[ \$('$BIN/psql' -X -At '$APP' -c \"SELECT count(*) FROM pg_locks WHERE relation = 'refunds'::regclass AND mode = 'AccessExclusiveLock' AND granted\") == 1 ]]"
{ echo "SELECT count(*) FROM refunds;"; sleep 15; } 2>/dev/null | "$BIN/psql" -X -q "$APP" >/dev/null 2>&1 & PIDS+=($!)
wait_for bash -c "[[ \$('$BIN/psql' -X -At '$APP' -c \"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'\") -ge 1 ]]"
expect_rc 0 "pool-stats with real sessions" "$CTLDB" pool-stats -o json
check "max_connections in JSON" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /max_connections <'$OUT') -ge 20 ]]"
check "idle sessions counted" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /idle <'$OUT') -ge 1 ]]"
check "idle in transaction counted" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /idle_in_transaction <'$OUT') -ge 2 ]]"
check "lock waiter with its blocker" bash -c "[[ -n \$('$CTLDB_JSON_TOOL' get /waiting_on_locks/0/blocked_by <'$OUT') ]]"
check "active key present" bash -c "'$CTLDB_JSON_TOOL' get /active <'$OUT' >/dev/null"
check "idle_in_transaction_aborted key present" bash -c "'$CTLDB_JSON_TOOL' get /idle_in_transaction_aborted <'$OUT' >/dev/null"
expect_rc 0 "prometheus output" "$CTLDB" pool-stats -o prometheus
check "every sample line parses" bash -c "grep -v '^#' '$OUT' | grep -vqE '^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\\})? -?[0-9.eE+-]+$' && exit 1 || exit 0"
check "HELP and TYPE lines" bash -c "grep -q '^# TYPE pg_stat_activity_count gauge' '$OUT' && grep -q '^# HELP pg_settings_max_connections' '$OUT'"
check "idle in transaction sample" grep -q 'pg_stat_activity_count{datname="it_maint",state="idle in transaction"}' "$OUT"
# A role without pg_monitor sees other roles' sessions only by name: they are
# counted as hidden (and in use), with a warning and the grant to make.
sql "SET client_min_messages = warning; DROP ROLE IF EXISTS it_watcher" >/dev/null
sql "CREATE ROLE it_watcher LOGIN PASSWORD 'Watch-er-pass-42'" >/dev/null
printf 'Watch-er-pass-42' >"$IT_TMP/watcher.pw"
chmod 600 "$IT_TMP/watcher.pw"
expect_rc 0 "pool-stats as a role without pg_monitor" env DB_USER=it_watcher DB_PASSWORD_FILE="$IT_TMP/watcher.pw" "$CTLDB" pool-stats -o json
check "appuser's four sessions counted as hidden" bash -c "(( \$('$CTLDB_JSON_TOOL' get /hidden <'$OUT') >= 4 ))"
check "and in use" bash -c "(( \$('$CTLDB_JSON_TOOL' get /in_use <'$OUT') >= 5 ))"
check "warns and names the grant" bash -c "grep -q 'hidden from it_watcher' '$ERR' && grep -q 'GRANT pg_monitor TO it_watcher' '$ERR'"
expect_rc 1 "vacuum by a role that owns nothing" env DB_USER=it_watcher DB_PASSWORD_FILE="$IT_TMP/watcher.pw" "$CTLDB" vacuum --table users
check "says it was skipped and why" bash -c "grep -q 'skipped: only the table owner' '$OUT'"
expect_rc 0 "with pg_monitor nothing is hidden" "$CTLDB" pool-stats -o json
check "hidden 0" json_is /hidden 0
expect_rc 1 "oversubscribed pools exit 1" env DB_POOL_MAX=50 "$CTLDB" pool-stats --pods 3 -o json
check "pool not ok" json_is /pool/ok false
check "recommends a smaller pool" bash -c "(( \$('$CTLDB_JSON_TOOL' get /pool/recommended_pool_max <'$OUT') <= 30 ))"
expect_rc 0 "the guide's 5 pods x 10 fits" env DB_POOL_MAX=10 "$CTLDB" pool-stats --pods 5
set +e
"$CTLDB" pool-stats --watch 1 >"$OUT" 2>"$ERR" &
WPID=$!
sleep 2.5
kill -INT $WPID
wait $WPID
RC=$?
set -e
check "--watch runs until interrupted (exit $RC)" test "$RC" = 130
check "--watch printed several snapshots" bash -c "(( \$(grep -c '^max_connections' '$OUT') >= 2 ))"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true

finish
