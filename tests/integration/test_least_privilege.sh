#!/usr/bin/env bash
# Every command as the production role of the guide's deployment: the owner
# of its database and tables, with no superuser, pg_monitor,
# pg_read_all_settings or CREATEDB. Each works, or says exactly which grant
# it lacks; none aborts a whole report for one unreadable setting.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
use_production_role it_prod
check "the role is neither superuser nor CREATEDB nor CREATEROLE" test "$(sql "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = 'ctldb_prod'")" = f
check "nor a member of pg_monitor or pg_read_all_settings" test "$(sql "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = 'ctldb_prod'")" = 0

expect_rc 0 "config check" "$CTLDB" config check
check "connected as the production role" stdout_has "ctldb_prod on database it_prod"

# --- schema: migrate, seed -------------------------------------------------------
expect_rc 0 "migrate" "$CTLDB" migrate
expect_rc 0 "migrate status --check" "$CTLDB" migrate status --check
expect_rc 0 "migrate validate" "$CTLDB" migrate validate
expect_rc 0 "migrate lint" "$CTLDB" migrate lint
expect_rc 0 "seed" "$CTLDB" seed
expect_rc 0 "seed generate" "$CTLDB" seed generate --users 300 --random-seed 3
check "rows of the production role's own" test "$(sql "SELECT count(*) FROM users")" -ge 300

# --- maintenance ---------------------------------------------------------------------
expect_rc 0 "indexes check" "$CTLDB" indexes
sql "DROP INDEX idx_users_email" >/dev/null
expect_rc 0 "indexes ensure rebuilds a missing index" "$CTLDB" indexes ensure
check "the index is back" test "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_users_email'")" = 1
expect_rc 0 "vacuum" "$CTLDB" vacuum
expect_rc 0 "vacuum --analyze-only" "$CTLDB" vacuum --analyze-only
expect_rc 0 "vacuum --full --yes on its own tables" "$CTLDB" vacuum --full --yes --table refunds
expect_rc 0 "vacuum status" "$CTLDB" vacuum status
expect_rc 0 "vacuum autovacuum (a report)" "$CTLDB" vacuum autovacuum
SUPERUSER_DB=postgres superuser_psql -c "ALTER SYSTEM SET autovacuum_naptime = '5min'" -c "SELECT pg_reload_conf()" >/dev/null
wait_for bash -c "[[ \$(SUPERUSER_DB=postgres superuser_psql -c 'SHOW autovacuum_naptime') == 5min ]]"
expect_rc 1 "vacuum autovacuum --apply without the grants" "$CTLDB" vacuum autovacuum --apply
check "names the exact grants it lacks" stderr_has "GRANT ALTER SYSTEM ON PARAMETER autovacuum_naptime TO ctldb_prod"
check "and pg_reload_conf" stderr_has "GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO ctldb_prod"
check "nothing was changed" test "$(SUPERUSER_DB=postgres superuser_psql -c 'SHOW autovacuum_naptime')" = 5min
SUPERUSER_DB=postgres superuser_psql -c "ALTER SYSTEM RESET autovacuum_naptime" -c "SELECT pg_reload_conf()" >/dev/null

# --- queries, tables, roles, settings ------------------------------------------------------
expect_rc 0 "tables" "$CTLDB" tables
expect_rc 0 "queries" "$CTLDB" queries --state all
expect_rc 0 "roles" "$CTLDB" roles
expect_rc 0 "roles check (owner of its database only: nothing to fail)" "$CTLDB" roles check
expect_rc 0 "settings (a report)" "$CTLDB" settings
check "the hidden setting names its grant" grep -qE "^ssl_min_protocol_version .*not checked: not visible to role ctldb_prod: needs pg_read_all_settings" "$OUT"
expect_rc 1 "settings apply without the grants" "$CTLDB" settings apply --yes
check "names the grants and the superuser that can" bash -c "grep -q 'GRANT ALTER SYSTEM ON PARAMETER log_statement TO ctldb_prod' '$ERR' && grep -q 'run it as a superuser (postgres)' '$ERR'"
check "nothing was changed" test "$(SUPERUSER_DB=postgres superuser_psql -c 'SHOW log_statement')" = none
expect_rc 0 "metrics" "$CTLDB" metrics
check "up, and other roles' sessions counted as hidden" bash -c "grep -qx 'ctldb_up 1' '$OUT' && grep -qE '^ctldb_connections_hidden [0-9]+$' '$OUT'"
if command -v promtool >/dev/null; then check "promtool is content" bash -c "promtool check metrics <'$OUT'"; fi
expect_rc 1 "roles create-readonly without CREATEROLE" "$CTLDB" roles create-readonly it_prod_reader
check "says so, before anything changes" bash -c "grep -q 'may not create or alter roles' '$ERR' && [[ -z \$(sql \"SELECT 1 FROM pg_roles WHERE rolname = 'it_prod_reader'\") ]]"

# Another role's session that this one may not see in full.
(PGPASSWORD=$(cat "$IT_SANDBOX/password") "$(pg_bindir)/psql" -X -q "host=localhost port=$DB_PORT dbname=it_prod user=appuser sslmode=require" -c "SELECT pg_sleep(8)" >/dev/null 2>&1) &
OTHER=$!
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_stat_activity WHERE usename = 'appuser' AND query LIKE '%pg_sleep(8)%'\") == 1 ]]"
expect_rc 0 "pool-stats" "$CTLDB" pool-stats
check "counts the sessions it cannot see, naming the grant" stderr_has "pg_monitor"
expect_rc 0 "pool-stats -o json" "$CTLDB" pool-stats -o json
check "pool-stats JSON" stdout_is_json
expect_rc 0 "pool-stats -o prometheus" "$CTLDB" pool-stats -o prometheus
check "prometheus has samples" stdout_has "^ctldb_pool_available [0-9]"

# --- TLS -------------------------------------------------------------------------------
expect_rc 0 "check-ssl on the TLS server" "$CTLDB" check-ssl
check "reports the setting it cannot read, naming the grant" stdout_has "ssl_min_protocol_version is not visible to role ctldb_prod: needs pg_read_all_settings"
check "still reports the certificate" stdout_has "chain .* ok .*verified against"
check "and says other roles' sessions are hidden from it" stdout_has "not visible (needs pg_read_all_stats)\|not visible to this one"
expect_rc 0 "check-ssl -o json" "$CTLDB" check-ssl -o json
check "JSON: the unreadable setting is null" json_is /server/ssl_min_protocol_version null
check "JSON: and listed" json_is /server/unreadable/0 ssl_min_protocol_version
wait $OTHER || true

# --- backup and restore ----------------------------------------------------------------
BK="$IT_TMP/backups"
mkdir -p "$BK"
expect_rc 0 "backup (plain)" "$CTLDB" backup --dir "$BK"
expect_rc 0 "backup (custom)" "$CTLDB" backup --dir "$BK" --format custom
expect_rc 0 "backup list" "$CTLDB" backup list --dir "$BK"
PLAIN=$(ls "$BK"/*.sql.gz)
expect_rc 0 "backup verify" "$CTLDB" backup verify "$PLAIN"
USERS=$(sql "SELECT count(*) FROM users")
expect_rc 0 "restore --clean into its own database" "$CTLDB" restore "$PLAIN" --clean --yes
check "every user back" test "$(sql "SELECT count(*) FROM users")" = "$USERS"
expect_rc 0 "restore a custom archive (one transaction)" "$CTLDB" restore "$(ls "$BK"/*.dump)" --clean --yes
expect_rc 1 "restore --create without CREATEDB" "$CTLDB" restore "$PLAIN" --target-db it_prod_copy --create --yes
check "names CREATEDB and what to do instead" stderr_has "needs the CREATEDB privilege, which role ctldb_prod does not have"
check "no database was made" test "$(sql "SELECT count(*) FROM pg_database WHERE datname = 'it_prod_copy'")" = 0
# The other role's session (pg_sleep above) must be over: the swap refuses
# a target with sessions before it gets to the privilege.
wait "$OTHER" 2>/dev/null || true
expect_rc 1 "restore --jobs 2 without CREATEDB" "$CTLDB" restore "$(ls "$BK"/*.dump)" --jobs 2 --clean --yes
check "names CREATEDB" stderr_has "grant CREATEDB to the role, or restore with --jobs 1"
check "the target still whole" test "$(sql "SELECT count(*) FROM users")" = "$USERS"
expect_rc 0 "backup prune" "$CTLDB" backup prune --dir "$BK" --keep-last 1
expect_rc 0 "wait" "$CTLDB" wait --timeout 10s

# --- a server with ssl = off ----------------------------------------------------------
private_server plain-sandbox
PLAINSB=$SB
PPORT=$("$CTLDB" local env --dir "$PLAINSB" -o json | sed -n 's/.*"DB_PORT": "\([0-9]*\)".*/\1/p')
runuser -u postgres -- "$(pg_bindir)/psql" -X -q -h "$PLAINSB/socket" -p "$PPORT" -U postgres -d postgres \
    -v pw="$(cat "$IT_ROOT/prod.password")" >/dev/null <<'SQL'
CREATE ROLE ctldb_prod LOGIN PASSWORD :'pw';
CREATE DATABASE it_prod OWNER ctldb_prod;
ALTER SYSTEM SET ssl = off;
SELECT pg_reload_conf();
SQL
export DB_PORT=$PPORT
wait_for bash -c "! '$CTLDB' -q config check --sslmode require >/dev/null 2>&1"
expect_rc 1 "check-ssl on a server with ssl = off" "$CTLDB" check-ssl --sslmode prefer
check "the server's ssl = off is a finding" stdout_has "server ssl .*fail .*ssl = off"
check "its own plain connection counts as a non-TLS client" stdout_has "non-ssl clients .*fail .*1 client connection(s) over TCP without TLS (ctldb's own connection among them)"
check "the unreadable setting is a finding, not an abort" stdout_has "server min protocol .*warn"
expect_rc 3 "sslmode require against ssl = off: cannot connect, with the reason" "$CTLDB" check-ssl --sslmode require
check "the hint names ssl=off" stderr_has "the server has ssl=off"

finish
