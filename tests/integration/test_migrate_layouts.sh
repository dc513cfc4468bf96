#!/usr/bin/env bash
# Migration folders as other tools write them (numbered with _ and -, any
# width; golang-migrate; dbmate; Flyway), applied with migrate up, adopted
# from that tool's own history table with baseline --from, and extended with
# migrate create in the folder's own style. As the production role.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
unset CTLDB_ENV
history_rows() { sql "SELECT count(*) FROM ctldb_schema_migrations"; }
no_history() { [[ "$(sql "SELECT to_regclass('ctldb_schema_migrations') IS NULL")" == t ]]; }

# --- numbered, as the Admin Center's repository has it ------------------------------
N="$IT_TMP/numbered"
mkdir -p "$N"
printf 'CREATE TABLE accounts (id int PRIMARY KEY, email text);\n' >"$N/001_init.sql"
printf 'CREATE TABLE activity (id int, account_id int REFERENCES accounts (id));\n' >"$N/003-user-activity-tracking.sql"
printf 'CREATE INDEX idx_activity_account ON activity (account_id);\n' >"$N/0018_add_index.sql"
printf 'DROP INDEX idx_activity_account;\n' >"$N/0018_add_index.down.sql"
printf 'module.exports = {};\n' >"$N/run-migration.js"
printf '# migrations\n' >"$N/README.md"

use_production_role it_layout_numbered
expect_rc 0 "status of a numbered folder with _ and -, widths and gaps" "$CTLDB" migrate status --dir "$N" -v
check "three pending" stdout_has "3 pending"
check "versions as the files write them" stdout_has "^003 .*user-activity-tracking"
check "other files listed at -v" stderr_has "not migrations, ignored: .*run-migration.js"
expect_rc 1 "lint reads it too (and flags the plain CREATE INDEX)" "$CTLDB" migrate lint --dir "$N"
check "the rule, on 0018" stdout_has "0018_add_index.sql .*index-not-concurrent"
expect_rc 0 "migrate up" "$CTLDB" migrate up --dir "$N"
check "all three applied" test "$(history_rows)" = 3
expect_rc 0 "validate: files, checksums, schema" "$CTLDB" migrate validate --dir "$N"
expect_rc 0 "down --to 3 (a label)" "$CTLDB" migrate down --dir "$N" --to 3
check "0018 rolled back" test "$(history_rows)" = 2
expect_rc 0 "create follows the last file's width and separator" "$CTLDB" migrate create "add notes" --dir "$N" -o json
check "0019_add_notes.sql" test -f "$N/0019_add_notes.sql"
rm "$N/0019_add_notes.sql"
printf 'SELECT 1;\n' >"$N/12 oops.sql"
expect_rc 1 "a name that looks like a migration but does not parse" "$CTLDB" migrate status --dir "$N"
check "names the file" stderr_has "12 oops.sql: looks like a migration"
check "and shows the accepted forms" stderr_has "NNN_name.sql or NNN-name.sql"
rm "$N/12 oops.sql"

# The node scripts applied 001 and 003 and kept their own record.
use_production_role it_layout_node
prod_psql -f "$N/001_init.sql" -f "$N/003-user-activity-tracking.sql"
prod_psql -c "CREATE TABLE schema_migrations (id serial PRIMARY KEY, filename text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())" \
    -c "INSERT INTO schema_migrations (filename, applied_at) VALUES ('001_init.sql', '2025-06-01 10:00:00+00'), ('003-user-activity-tracking.sql', '2025-07-01 10:00:00+00')"
expect_rc 0 "baseline --from node --dry-run shows the plan" "$CTLDB" migrate baseline --from node --dir "$N" --dry-run
check "both files with their times" bash -c "grep -q '001_init.sql .*2025-06-01T10:00:00Z' '$OUT' && grep -q '003-user-activity-tracking.sql .*2025-07-01T10:00:00Z' '$OUT'"
check "nothing recorded by the dry run" no_history
expect_rc 0 "baseline --from auto picks the node table" "$CTLDB" migrate baseline --from auto --dir "$N"
check "recorded, adopted from node" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE applied_by LIKE 'adopted from node, schema_migrations by ctldb_prod@%'")" = 2
check "with the times the node scripts recorded" test "$(sql "SELECT to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM ctldb_schema_migrations WHERE version = 3")" = 2025-07-01
expect_rc 0 "then migrate up applies only 0018" "$CTLDB" migrate up --dir "$N" -o json
check "one applied" json_is /applied/0/version 18

# --- golang-migrate ----------------------------------------------------------------------
G="$IT_TMP/golang"
mkdir -p "$G"
printf 'BEGIN;\nCREATE TABLE orders (id int PRIMARY KEY, total numeric);\nCOMMIT;\n' >"$G/000001_orders.up.sql"
printf 'DROP TABLE orders;\n' >"$G/000001_orders.down.sql"
printf 'CREATE INDEX CONCURRENTLY idx_orders_total ON orders (total);\n' >"$G/000002_orders_total.up.sql"
printf 'DROP INDEX CONCURRENTLY idx_orders_total;\n' >"$G/000002_orders_total.down.sql"
use_production_role it_layout_golang
expect_rc 0 "golang-migrate folder: migrate up (BEGIN/COMMIT files, a lone CONCURRENTLY)" "$CTLDB" migrate up --dir "$G"
check "the concurrent index is valid" test "$(sql "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_orders_total'::regclass")" = t
expect_rc 0 "and down again" "$CTLDB" migrate down --dir "$G" --to 0
check "both rolled back" test "$(history_rows),$(sql "SELECT to_regclass('orders') IS NULL")" = "0,t"
use_production_role it_layout_golang_dirty
prod_psql -c "CREATE TABLE orders (id int PRIMARY KEY, total numeric)" \
    -c "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)" \
    -c "INSERT INTO schema_migrations VALUES (2, true)"
expect_rc 1 "a dirty golang-migrate history is refused" "$CTLDB" migrate baseline --from golang-migrate --dir "$G"
check "says it is dirty, what to do" stderr_has "golang-migrate left version 2 dirty"
check "nothing recorded" no_history
prod_psql -c "UPDATE schema_migrations SET version = 1, dirty = false"
expect_rc 0 "a clean one is adopted (up to its version)" "$CTLDB" migrate baseline --from auto --dir "$G"
check "version 1 recorded" test "$(sql "SELECT string_agg(version::text, ',') FROM ctldb_schema_migrations")" = 1
expect_rc 0 "then 000002 applies" "$CTLDB" migrate up --dir "$G"
expect_rc 0 "create: an up and a down file, same width" "$CTLDB" migrate create add_status --dir "$G"
check "000003_add_status.up.sql and .down.sql" bash -c "test -f '$G/000003_add_status.up.sql' && test -f '$G/000003_add_status.down.sql'"

# --- dbmate ----------------------------------------------------------------------------------
B="$IT_TMP/dbmate"
mkdir -p "$B"
printf -- '-- migrate:up\nCREATE TABLE invoices (id int PRIMARY KEY, amount numeric);\n\n-- migrate:down\nDROP TABLE invoices;\n' >"$B/20251116020000_invoices.sql"
printf -- '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY idx_invoices_amount ON invoices (amount);\n\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY idx_invoices_amount;\n' >"$B/20251117020000_invoices_amount.sql"
use_production_role it_layout_dbmate
expect_rc 0 "dbmate folder: migrate up, transaction:false honoured" "$CTLDB" migrate up --dir "$B"
check "the concurrent index is valid" test "$(sql "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_invoices_amount'::regclass")" = t
check "recorded as no-transaction" test "$(sql "SELECT no_transaction FROM ctldb_schema_migrations WHERE version = 20251117020000")" = t
expect_rc 0 "down uses the migrate:down section" "$CTLDB" migrate down --dir "$B"
check "the index is gone" test "$(sql "SELECT to_regclass('idx_invoices_amount') IS NULL")" = t
use_production_role it_layout_dbmate_adopt
prod_psql -c "CREATE TABLE invoices (id int PRIMARY KEY, amount numeric)" \
    -c "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)" \
    -c "INSERT INTO schema_migrations VALUES ('20251116020000')"
expect_rc 0 "baseline --from dbmate" "$CTLDB" migrate baseline --from dbmate --dir "$B"
check "the one dbmate applied" test "$(sql "SELECT string_agg(version::text, ',') FROM ctldb_schema_migrations")" = 20251116020000
expect_rc 1 "status --check: the other is pending" "$CTLDB" migrate status --dir "$B" --check
expect_rc 0 "create: a timestamped file with both sections" "$CTLDB" migrate create add_due --dir "$B" -o json
check "YYYYMMDDHHMMSS_add_due.sql" bash -c "'$CTLDB_JSON_TOOL' get /file <'$OUT' | grep -qE '/[0-9]{14}_add_due\\.sql$'"
check "with -- migrate:up and -- migrate:down" bash -c "f=\$('$CTLDB_JSON_TOOL' get /file <'$OUT'); grep -q -- '-- migrate:up' \"\$f\" && grep -q -- '-- migrate:down' \"\$f\""

# --- Flyway ---------------------------------------------------------------------------------
F="$IT_TMP/flyway"
mkdir -p "$F"
printf 'CREATE TABLE plans (id int PRIMARY KEY);\n' >"$F/V1__plans.sql"
printf 'ALTER TABLE plans ADD COLUMN price numeric;\n' >"$F/V1.1__plan_price.sql"
printf 'ALTER TABLE plans ADD COLUMN tier text;\n' >"$F/V1.2__plan_tier.sql"
use_production_role it_layout_flyway
expect_rc 0 "Flyway folder: migrate up in version order (1, 1.1, 1.2)" "$CTLDB" migrate up --dir "$F"
expect_rc 0 "status shows Flyway's versions" "$CTLDB" migrate status --dir "$F"
check "1.1 as written" stdout_has "^1.1 .*plan_price"
expect_rc 0 "migrate up --to 1.1 on a fresh database" env DB_NAME=it_layout_flyway "$CTLDB" migrate status --dir "$F"
use_production_role it_layout_flyway_adopt
prod_psql -f "$F/V1__plans.sql" -f "$F/V1.1__plan_price.sql"
prod_psql <<'SQL'
CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
    type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
    installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL);
INSERT INTO flyway_schema_history VALUES
    (1, '1', 'plans', 'SQL', 'V1__plans.sql', 1, 'app', '2025-05-01 09:00:00', 5, true),
    (2, '1.1', 'plan price', 'SQL', 'V1.1__plan_price.sql', 2, 'app', '2025-05-02 09:00:00', 5, true),
    (3, '1.2', 'plan tier', 'SQL', 'V1.2__plan_tier.sql', 3, 'app', '2025-05-03 09:00:00', 5, false);
SQL
expect_rc 1 "a Flyway history with a failed row is refused" "$CTLDB" migrate baseline --from flyway --dir "$F"
check "names the failed version" stderr_has "Flyway recorded a failed migration (version 1.2"
check "nothing recorded" no_history
prod_psql -c "DELETE FROM flyway_schema_history WHERE success = false"
expect_rc 0 "the repaired history is adopted" "$CTLDB" migrate baseline --from flyway --dir "$F" -o json
check "two recorded" json_is /recorded 2
check "the schema was compared and matches" json_is /schema/matches true
expect_rc 0 "then 1.2 applies" "$CTLDB" migrate up --dir "$F" -o json
check "1.2 applied" bash -c "'$CTLDB_JSON_TOOL' get /applied <'$OUT' | grep -q plan_tier"
expect_rc 0 "create: V1.3__, the next version" "$CTLDB" migrate create add_notes --dir "$F"
check "V1.3__add_notes.sql" test -f "$F/V1.3__add_notes.sql"
printf 'CREATE VIEW v AS SELECT 1;\n' >"$F/R__views.sql"
expect_rc 1 "a repeatable R__ file is refused, named" "$CTLDB" migrate status --dir "$F"
check "says repeatable migrations are not run" stderr_has "R__views.sql: a Flyway repeatable migration"
rm "$F/R__views.sql"

# A history that names files the folder does not have.
use_production_role it_layout_unmatched
prod_psql -c "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)" \
    -c "INSERT INTO schema_migrations VALUES ('20251116020000'), ('20240101000000')"
prod_psql -c "CREATE TABLE invoices (id int PRIMARY KEY, amount numeric)"
expect_rc 1 "records without a file are refused" "$CTLDB" migrate baseline --from dbmate --dir "$B"
check "lists them" stderr_has "20240101000000"
check "nothing recorded" no_history
expect_rc 2 "a layout that does not exist" "$CTLDB" migrate status --dir "$B" --layout liquibase
check "named as the flag" stderr_has "^ctldb: error: --layout liquibase is not a layout"
run env CTLDB_MIGRATIONS_LAYOUT=liquibase "$CTLDB" migrate status --dir "$B"
check "from the environment: exit 2 (got $RC)" test "$RC" = 2
check "named as the variable, not as a flag never given" stderr_has "^ctldb: error: CTLDB_MIGRATIONS_LAYOUT liquibase is not a layout"
expect_rc 2 "a tool that does not exist" "$CTLDB" migrate baseline --from liquibase --dir "$B"
expect_rc 2 "both a version and --from" "$CTLDB" migrate baseline 1 --from auto --dir "$N"

finish
