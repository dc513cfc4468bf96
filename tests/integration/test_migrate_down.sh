#!/usr/bin/env bash
# migrate down as the production role, on tables holding rows: it shows what
# it destroys (tables, rows, dependents), asks on a terminal, needs --yes
# off one, is refused in production, and never destroys rows in a table the
# migration's up did not create.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
unset CTLDB_ENV
use_production_role it_down
tables_there() { [[ "$(sql "SELECT count(*) FROM pg_class WHERE relname IN ('users', 'refunds') AND relkind = 'r'")" == 2 ]]; }
history_count() { sql "SELECT count(*) FROM ctldb_schema_migrations"; }

"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed >/dev/null
USERS=$(sql "SELECT count(*) FROM users")
# The application's own view on a migration's table.
sql "CREATE VIEW active_users AS SELECT id, email FROM users" >/dev/null
sql "ALTER VIEW active_users OWNER TO ctldb_prod" >/dev/null

expect_rc 1 "down --to 0 --dry-run: the plan, and why it would be refused" "$CTLDB" migrate down --to 0 --dry-run
check "the users table and its rows" stdout_has "it drops users ($USERS rows)"
check "the view that depends on it" stdout_has "view active_users depends on it"
check "each table with its count" stdout_has "it drops refunds ([0-9]* rows\?)"
check "and the SQL" stdout_has "DROP TABLE IF EXISTS admin_audit_logs"
check "why: no CASCADE, PostgreSQL would refuse it" stderr_has "drops a table that other objects depend on, without CASCADE"
check "dry run: nothing changed" tables_there

# The view depends on users and the down file has no CASCADE: PostgreSQL
# would refuse the DROP after 0002 had been rolled back. Refused up front.
expect_rc 1 "--yes, but a view depends on the table" "$CTLDB" migrate down --to 0 --yes
check "names the view" stderr_has "drops users ($USERS rows); view active_users depends on it"
check "nothing was run, not even 0002" test "$(history_count),$(sql "SELECT count(*) FROM users")" = "2,$USERS"
sql "DROP VIEW active_users" >/dev/null

expect_rc 0 "down --dry-run -o json" "$CTLDB" migrate down --to 0 --dry-run -o json
check "JSON: destroyed tables with rows as numbers" bash -c "'$CTLDB_JSON_TOOL' get /destroyed <'$OUT' | grep -q '\"rows\":$USERS'"
check "dry run again: nothing changed" tables_there

expect_rc 2 "off a terminal, tables holding rows need --yes" "$CTLDB" migrate down --to 0
check "says what and how to confirm" stderr_has "destroys .* table(s) holding rows or depended on (listed above); nothing was changed"
check "the listing came first" stderr_has "warning: .*drops users ($USERS rows)"
check "hint: --yes" stderr_has "hint: pass --yes to confirm"
check "nothing rolled back" test "$(history_count)" = 2

# On a terminal it asks; "n" leaves everything as it was.
set +e
printf 'n\n' | script -qec "$CTLDB migrate down --to 0" /dev/null >"$OUT" 2>&1
RC=$?
set -e
check "on a terminal it asks (answer n: exit 1, got $RC)" test "$RC" = 1
check "the question names what it destroys" stdout_has "holding rows or depended on (listed above). Go ahead?"
check "after n: tables and history intact" test "$(history_count),$(sql "SELECT count(*) FROM users")" = "2,$USERS"

expect_rc 2 "NODE_ENV=production refuses it, --yes or not" env NODE_ENV=production "$CTLDB" migrate down --to 0 --yes
check "names the marker" stderr_has "refusing to roll back migrations in production (NODE_ENV=production"
check "still intact" test "$(history_count)" = 2

expect_rc 0 "--yes" "$CTLDB" migrate down --to 0 --yes -o json
check "JSON lists what was destroyed" bash -c "'$CTLDB_JSON_TOOL' get /destroyed <'$OUT' | grep -q '\"table\":\"users\"'"
check "tables gone" test "$(sql "SELECT to_regclass('users') IS NULL")" = t

# A down file that drops a table its up never created.
use_production_role it_down_foreign
M="$IT_TMP/m"
mkdir -p "$M"
printf 'CREATE TABLE orders (id int PRIMARY KEY);\nINSERT INTO orders SELECT generate_series(1, 3);\n' >"$M/0001_orders.sql"
printf 'DROP TABLE orders;\n' >"$M/0001_orders.down.sql"
printf 'CREATE TABLE notes (id int);\n' >"$M/0002_notes.sql"
printf 'DROP TABLE IF EXISTS notes, orders CASCADE;\n' >"$M/0002_notes.down.sql"
"$CTLDB" -q migrate --dir "$M" >/dev/null
expect_rc 1 "a down that drops a non-empty table its up did not create" "$CTLDB" migrate down --dir "$M" --yes --force
check "names the table and the reason" stderr_has "0002_notes.down.sql drops orders (3 rows), which its up migration does not create"
check "orders keeps its rows" test "$(sql "SELECT count(*) FROM orders")" = 3
check "notes still there, history intact" test "$(sql "SELECT to_regclass('notes') IS NOT NULL"),$(history_count)" = "t,2"
printf 'DROP TABLE IF EXISTS notes;\n' >"$M/0002_notes.down.sql"
expect_rc 0 "a down that drops only its own empty table needs no --yes" "$CTLDB" migrate down --dir "$M"
check "notes gone, orders kept" test "$(sql "SELECT to_regclass('notes') IS NULL"),$(sql "SELECT count(*) FROM orders")" = "t,3"

finish
