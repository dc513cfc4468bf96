#!/usr/bin/env bash
# Adopting a database ctldb did not make, as its production role: baseline
# and validate compare the schema itself (built from the migrations in a
# scratch schema that is rolled back), not just file checksums.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
scratch_schemas() { sql "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ctldb_scratch_%'"; }
no_history() { [[ "$(sql "SELECT to_regclass('ctldb_schema_migrations') IS NULL")" == t ]]; }

# The embedded migrations' SQL, as the old node scripts would have left it:
# auth0_id is jwt_id, the trigger on users has another name, the one on
# refunds is missing; some rows in users.
"$CTLDB" migrate --dry-run -o json >"$OUT"
UP1=$(json_get /plan/0/sql)
UP2=$(json_get /plan/1/sql)
node_schema() {
    sed 's/auth0_id/jwt_id/g' <<<"$UP1" | prod_psql >/dev/null
    sed -e 's/trg_users_updated_at/update_users_updated_at/' \
        -e '/trg_refunds_updated_at/,+1d' <<<"$UP2" | prod_psql >/dev/null
    prod_psql -c "INSERT INTO users (email, jwt_id) SELECT 'u' || g || '@example.com', 'j' || g FROM generate_series(1, 5) g" >/dev/null
}

use_production_role it_adopt_node
node_schema
expect_rc 1 "migrate over the node scripts' schema" "$CTLDB" migrate
check "the hint does not call it this schema" stderr_has "hint: the database has objects of the same names, but not the schema these migrations create"
check "nor suggests adopting it" bash -c "! grep -q \"adopt it with\" '$ERR'"
check "no history table was left" no_history

expect_rc 1 "baseline 2 of a foreign schema is refused" "$CTLDB" migrate baseline 2
check "says why" stderr_has "the database does not hold what migrations 0001..0002 create"
check "lists the missing column" stderr_has "column users.auth0_id: missing"
check "lists the column it has instead" stderr_has "column users.jwt_id: not created by the migrations"
check "lists the missing trigger" stderr_has "trigger refunds.trg_refunds_updated_at: missing"
check "lists the trigger of another name" stderr_has "trigger users.update_users_updated_at: not created by the migrations"
check "lists the index that differs" stderr_has "index users.idx_users_auth0_id: missing"
check "nothing recorded: no history table" no_history
check "the scratch schema is gone" test "$(scratch_schemas)" = 0
check "their rows are untouched" test "$(sql "SELECT count(*) FROM users")" = 5

expect_rc 1 "baseline --dry-run -o json says the same" "$CTLDB" migrate baseline 2 --dry-run -o json
check "one JSON document" stdout_is_json
check "schema compared" json_is /schema/compared true
check "does not match" json_is /schema/matches false
check "differences as objects" bash -c "'$CTLDB_JSON_TOOL' get /schema/differences <'$OUT' | grep -q '\"object\":\"column users.jwt_id\"'"
check "still nothing recorded" no_history

expect_rc 0 "baseline 2 --force records it anyway" "$CTLDB" migrate baseline 2 --force
check "warns with the differences" stderr_has "column users.auth0_id: missing"
check "the history says it was forced, and why" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE applied_by LIKE 'baseline --force (% schema differences) by ctldb_prod@%'")" = 2
expect_rc 0 "status --check counts it as applied" "$CTLDB" migrate status --check
expect_rc 1 "validate finds the drift" "$CTLDB" migrate validate
check "validate lists the schema drift" stdout_has "schema drift .*column users.jwt_id: not created by the migrations"
expect_rc 0 "validate --no-schema-check compares checksums only" "$CTLDB" migrate validate --no-schema-check

# The same schema made by hand (ctldb's own SQL): adopted, and proven.
use_production_role it_adopt_same
prod_psql <<<"$UP1" >/dev/null
prod_psql <<<"$UP2" >/dev/null
expect_rc 1 "migrate over ctldb's schema made by hand" "$CTLDB" migrate
check "the hint names baseline 2 after comparing" stderr_has "already holds exactly what migrations up to 2 create (compared object by object).*'ctldb migrate baseline 2'"
expect_rc 1 "baseline 1 when it also holds 0002's triggers" "$CTLDB" migrate baseline 1
check "the extra triggers are the difference" stderr_has "trigger users.trg_users_updated_at: not created by the migrations"
expect_rc 0 "baseline 2 --dry-run" "$CTLDB" migrate baseline 2 --dry-run
check "would record, nothing recorded" bash -c "grep -q 'would record 2' '$OUT' && grep -q 'nothing was recorded' '$OUT'"
check "dry run left no history table" no_history
expect_rc 0 "baseline 2" "$CTLDB" migrate baseline 2
check "says the schema matches" stdout_has "the schema matches them"
expect_rc 0 "validate: files, checksums and schema" "$CTLDB" migrate validate
check "says so" stdout_has "schema .*ok .*holds exactly what the 2 applied migration(s) create"

# A column added behind the migrations' back, and the objects of the
# application's own that they do not touch.
sql "ALTER TABLE users ADD COLUMN nickname text" >/dev/null
sql "CREATE TABLE app_sessions (id int)" >/dev/null
expect_rc 1 "validate finds a column added by hand" "$CTLDB" migrate validate -o json
check "names it" bash -c "'$CTLDB_JSON_TOOL' get /schema/differences <'$OUT' | grep -q 'column users.nickname'"
check "other tables are reported, not drift" bash -c "'$CTLDB_JSON_TOOL' get /schema/other_objects <'$OUT' | grep -q 'table app_sessions'"
sql "ALTER TABLE users DROP COLUMN nickname" >/dev/null
sql "ALTER TABLE users ALTER COLUMN email TYPE varchar(100)" >/dev/null
expect_rc 1 "validate finds a changed column type" "$CTLDB" migrate validate
check "with both definitions" stdout_has "column users.email: differs; expected: text NOT NULL; found: character varying(100) NOT NULL"
sql "ALTER TABLE users ALTER COLUMN email TYPE text" >/dev/null
expect_rc 0 "validate once it is put back" "$CTLDB" migrate validate
check "no scratch schema left behind" test "$(scratch_schemas)" = 0

# A no-transaction file that groups statements with BEGIN/COMMIT: building it
# in the scratch schema must not commit anything (a COMMIT there once made
# the scratch schema and its tables permanent, from a --dry-run).
use_production_role it_adopt_commit
N="$IT_TMP/nt"
mkdir -p "$N"
printf -- '-- ctldb:no-transaction\nCREATE TABLE keep_out (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE after_commit (id int);\nCOMMIT;\n' >"$N/0001_nt.sql"
expect_rc 1 "baseline --dry-run of a file with COMMIT in it" "$CTLDB" migrate baseline 1 --dry-run --dir "$N"
check "compared: both tables missing from the database" stderr_has "table keep_out: missing"
check "nothing of the scratch build stayed" test "$(scratch_schemas),$(sql "SELECT count(*) FROM pg_class WHERE relname IN ('keep_out', 'after_commit')")" = "0,0"
prod_psql -c "CREATE TABLE keep_out (id int); CREATE TABLE after_commit (id int)" >/dev/null
expect_rc 0 "and once the database has them, it matches" "$CTLDB" migrate baseline 1 --dry-run --dir "$N"

# SIGKILL in the middle of building the scratch schema: the server rolls the
# transaction back when the session dies; nothing is recorded or left.
printf 'CREATE TABLE slow (id int);\nSELECT pg_sleep(3);\n' >"$N/0002_slow.sql"
"$CTLDB" migrate baseline 2 --dir "$N" >"$OUT" 2>"$ERR" &
KPID=$!
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND usename = 'ctldb_prod'\") == 1 ]]"
kill -KILL $KPID
wait $KPID 2>/dev/null || true
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_stat_activity WHERE usename = 'ctldb_prod'\") == 0 ]]"
check "SIGKILL mid-build: no history table" no_history
check "no scratch schema, no table of the build" test "$(scratch_schemas),$(sql "SELECT count(*) FROM pg_class WHERE relname = 'slow'")" = "0,0"
rm "$N/0002_slow.sql"

# A role that may not create the scratch schema: no comparison, no guess.
use_production_role it_adopt_nocreate
prod_psql <<<"$UP1" >/dev/null
SUPERUSER_DB=postgres superuser_psql -c "REVOKE CREATE ON DATABASE it_adopt_nocreate FROM ctldb_prod" >/dev/null
expect_rc 1 "baseline without CREATE on the database is refused" "$CTLDB" migrate baseline 1
check "says which privilege the comparison needs" stderr_has "needs CREATE on the database"
check "nothing recorded" no_history
expect_rc 0 "baseline --force records it, noting the schema was not compared" "$CTLDB" migrate baseline 1 --force
check "noted in the history" test "$(sql "SELECT applied_by LIKE 'baseline --force (schema not compared) by %' FROM ctldb_schema_migrations")" = t
expect_rc 0 "validate warns that it could not compare (not a failure)" "$CTLDB" migrate validate
check "the warning names the privilege" stdout_has "schema .*warn .*not compared: .*needs CREATE on the database"

finish
