#!/usr/bin/env bash
# A hand-written node runner's project as it grows (issue: "the team's own
# project is the source of truth"): a folder where numbers are shared by two
# and three files, rollback twins, files without a number, a gap and a base
# schema file; its history written by a replay of that runner (name order,
# key = digits before the first _ or the file name, recorded keys skipped,
# one failure recorded with success = false). Then ctldb reads the folder
# as the runner does, adopts the history, validates, applies what comes
# next and shows what a down with CASCADE destroys. As the production role.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
unset CTLDB_ENV

N="$IT_TMP/node"
mkdir -p "$N"
cat >"$N/000_base_schema.sql" <<'SQL'
CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END $$;
CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL,
    name text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
SQL
# Later files call the function schema-qualified, as many hand-written ones do.
cat >"$N/001_subscriptions.sql" <<'SQL'
CREATE TABLE subscriptions (
    id serial PRIMARY KEY,
    user_id int NOT NULL REFERENCES users (id),
    plan text NOT NULL DEFAULT 'free',
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER update_subscriptions_updated_at BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
SQL
cat >"$N/002_payments.sql" <<'SQL'
CREATE TABLE payments (
    id serial PRIMARY KEY,
    user_id int NOT NULL REFERENCES users (id),
    amount_cents int NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER update_payments_updated_at BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();
SQL
echo 'DROP TABLE payments;' >"$N/002_payments_rollback.sql"
echo 'CREATE INDEX idx_users_email ON users (email);' >"$N/003_a_email_index.sql"
echo 'ALTER TABLE users ADD COLUMN notes text;' >"$N/003_b_user_notes.sql"
echo 'ALTER TABLE subscriptions ADD COLUMN trial_ends_at timestamptz;' >"$N/003_c_trials.sql"
echo 'DROP TABLE old_things;' >"$N/004_old_things_rollback.sql"
echo 'CREATE TABLE audit_log (id bigserial PRIMARY KEY, action text NOT NULL);' >"$N/005_audit.sql"
echo 'DROP TABLE audit_log;' >"$N/005_audit_rollback.sql"
echo 'ALTER TABLE audit_log ADD COLUMN actor text;' >"$N/005_z_audit_actor.sql"
echo 'ALTER TABLE missing_table ADD COLUMN x int;' >"$N/006_broken.sql"
echo 'ALTER TABLE payments ADD COLUMN refunded boolean NOT NULL DEFAULT false;' >"$N/billing-fixes.sql"
echo 'module.exports = {};' >"$N/run-migrations.js"

# replay_node_runner DIR: what the team's runner does, step by step.
replay_node_runner() {
    local dir=$1 base key ok
    prod_psql -c "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), execution_time_ms INTEGER NOT NULL DEFAULT 0, success BOOLEAN NOT NULL DEFAULT true)"
    while IFS= read -r base; do
        case $base in *_rollback.sql | *_down.sql | *.down.sql) continue ;; esac
        if [[ $base =~ ^([0-9]+)_ ]]; then key=${BASH_REMATCH[1]}; else key=$base; fi
        [[ -z "$(prod_psql -c "SELECT 1 FROM schema_migrations WHERE version = '$key'")" ]] || continue
        ok=true
        prod_psql --single-transaction -f "$dir/$base" >/dev/null 2>&1 || ok=false
        prod_psql -c "INSERT INTO schema_migrations (version, name, checksum, execution_time_ms, success) VALUES ('$key', '$base', '$(md5sum <"$dir/$base" | cut -c1-32)', 7, $ok)"
    done < <(find "$dir" -maxdepth 1 -name '*.sql' -printf '%f\n' | LC_ALL=C sort)
}

use_production_role it_node_runner
replay_node_runner "$N"
check "the replay applied 000..005 and billing-fixes, and recorded 006 as failed" \
    test "$(prod_psql -c "SELECT string_agg(version || ':' || success, ' ' ORDER BY version) FROM schema_migrations")" = \
    "000:true 001:true 002:true 003:true 005:true 006:false billing-fixes.sql:true"

# --- the folder as the runner reads it ----------------------------------------------------
expect_rc 0 "status reads the folder (auto: rollback twins say node)" \
    "$CTLDB" migrate status --dir "$N"
check "every .sql file is a row" test "$(grep -c "\.sql" "$OUT")" = 13
check "003_b is shadowed by 003_a" stdout_has "^003_b_user_notes.sql  *003  *shadowed  *by 003_a_email_index.sql: never applied by the runner (--include 003_b_user_notes.sql"
check "003_c too" stdout_has "^003_c_trials.sql  *003  *shadowed  *by 003_a_email_index.sql"
check "rollback twins named with their file" stdout_has "^005_audit_rollback.sql  *005  *rollback  *of 005_audit.sql"
check "said once: the table lists it, no warning beside it" bash -c "! grep -q 004_old_things '$ERR'"
check "a rollback without its file" stdout_has "^004_old_things_rollback.sql .*not in the folder; never applied"
check "the unnumbered file is a migration keyed by its name" stdout_has "^billing-fixes.sql *billing-fixes.sql *pending"
expect_rc 0 "status -o json" "$CTLDB" migrate status --dir "$N" -o json
check "layout node" json_is /layout node
check "three shadowed: 003 by two files, 005 by one" json_is /shadowed 3
check "005_z shadowed by 005_audit" bash -c "grep -q '\"shadowed_by\": \"005_audit.sql\"' '$OUT'"

# --- adopting the runner's history -------------------------------------------------------
expect_rc 0 "baseline --from node --dry-run" "$CTLDB" migrate baseline --from node --dir "$N" --dry-run -o json
check "seven records, the failed one left out: six adopted" test "$(grep -c "\"file\":" "$OUT")" = 6
check "the failed row is named" bash -c "grep -q '\"006 (006_broken.sql) at ' '$OUT'"
check "billing-fixes.sql mapped by its name" bash -c "grep -q '\"file\": *\"billing-fixes.sql\"' '$OUT'"
check "003 mapped to the first file of the key" bash -c "grep -q '\"file\": *\"003_a_email_index.sql\"' '$OUT'"
check "nothing recorded by the dry run" test "$(sql "SELECT to_regclass('ctldb_schema_migrations') IS NULL")" = t
expect_rc 0 "baseline --from node" "$CTLDB" migrate baseline --from node --dir "$N"
check "the failed row named at normal verbosity" stderr_has "recorded it as failed: 006 (006_broken.sql)"
check "six rows" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations")" = 6
expect_rc 0 "status after adoption" "$CTLDB" migrate status --dir "$N"
check "000 applied" stdout_has "^000_base_schema.sql *000 *applied"
check "billing-fixes applied" stdout_has "^billing-fixes.sql .*applied"
check "006 pending (it failed for the runner)" stdout_has "^006_broken.sql *006 *pending"
check "shadowed still shadowed" stdout_has "^003_b_user_notes.sql .*shadowed"

# --- validate: no false drift from schema-qualified calls ---------------------------------
expect_rc 0 "validate on the replayed database" "$CTLDB" migrate validate --dir "$N"
check "no drift" stdout_lacks "drift"
check "each shadowed file said, with its choice" stdout_has "003_c_trials.sql.*shadowed: its key 003 is 003_a_email_index.sql's"
check "the rollback without its file" stdout_has "004_old_things_rollback.sql.*not in the folder"
check "the schema matches" stdout_has "schema"

# --- what comes next: the fixed 006, a new file, the shadowed ones -------------------------
echo 'CREATE TABLE feature_flags (name text PRIMARY KEY, enabled boolean NOT NULL DEFAULT false);' >"$N/006_broken.sql"
echo 'CREATE TABLE api_keys (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users (id));' >"$N/007_api_keys.sql"
expect_rc 0 "up --dry-run lists the shadowed files with their choices" "$CTLDB" migrate up --dir "$N" --dry-run
check "006 and 007 would apply" bash -c "grep -q '^-- 006_broken.sql' '$OUT' && grep -q '^-- 007_api_keys.sql' '$OUT'"
check "003_b not applied, with --include" stderr_has "003_b_user_notes.sql not applied: its key 003 is 003_a_email_index.sql's.*--include 003_b_user_notes.sql, or leave it"
check "003_c too" stderr_has "003_c_trials.sql not applied"
expect_rc 0 "up applies what the runner would apply next" "$CTLDB" migrate up --dir "$N" -o json
check "006 then 007" test "$(json_get /applied/0/file) $(json_get /applied/1/file)" = "006_broken.sql 007_api_keys.sql"
check "shadowed listed in the result" json_is /shadowed/0/choices/0 "--include 003_b_user_notes.sql"
check "nothing of 003_b ran" test "$(sql "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'notes'")" = 0
expect_rc 2 "--include of a file that is not shadowed" "$CTLDB" migrate up --dir "$N" --include 005_audit.sql
check "says so" stderr_has "not a shadowed file"
expect_rc 0 "up --include 003_b_user_notes.sql" "$CTLDB" migrate up --dir "$N" --include 003_b_user_notes.sql -o json
check "applied under its own name" json_is /applied/0/file 003_b_user_notes.sql
check "the column is there" test "$(sql "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'notes'")" = 1
check "003_c still left" json_is /shadowed/0/file 003_c_trials.sql
# Two runners at once, both told to include the same shadowed file: the
# migration lock lets one apply it; the other finds it applied.
"$CTLDB" migrate up --dir "$N" --include 005_z_audit_actor.sql -o json >"$IT_TMP/r1.json" 2>"$IT_TMP/r1.err" &
p1=$!
"$CTLDB" migrate up --dir "$N" --include 005_z_audit_actor.sql -o json >"$IT_TMP/r2.json" 2>"$IT_TMP/r2.err" &
p2=$!
rc1=0; rc2=0
wait "$p1" || rc1=$?
wait "$p2" || rc2=$?
check "both runners exit 0" test "$rc1$rc2" = 00
check "applied exactly once" test "$(cat "$IT_TMP/r1.json" "$IT_TMP/r2.json" | grep -c '"file": "005_z_audit_actor.sql"')" = 1
check "one history row for it" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE name = 'z_audit_actor'")" = 1
check "the column once" test "$(sql "SELECT count(*) FROM information_schema.columns WHERE table_name = 'audit_log' AND column_name = 'actor'")" = 1
expect_rc 0 "status shows it included" "$CTLDB" migrate status --dir "$N"
check "included under its own name" stdout_has "^003_b_user_notes.sql .*applied .*included under its own name; key 003 is 003_a_email_index.sql's"
check "up to date but one shadowed" stdout_has "up to date; 1 shadowed"
expect_rc 0 "validate after all that" "$CTLDB" migrate validate --dir "$N"
expect_rc 0 "create names the next number after the highest" "$CTLDB" migrate create "add invoices" --dir "$N" -o json
check "008_add_invoices.sql" test -f "$N/008_add_invoices.sql"
rm "$N/008_add_invoices.sql"

# --- a down with CASCADE shows every trigger it takes with it -----------------------------
cat >"$N/009_touch.sql" <<'SQL'
CREATE FUNCTION touch_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION touch_row();
CREATE TRIGGER subscriptions_touch BEFORE INSERT ON subscriptions FOR EACH ROW EXECUTE FUNCTION touch_row();
CREATE TRIGGER payments_touch BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION touch_row();
SQL
echo 'DROP FUNCTION touch_row() CASCADE;' >"$N/009_touch_rollback.sql"
expect_rc 0 "up 009" "$CTLDB" migrate up --dir "$N"
prod_psql -c "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')"
expect_rc 0 "down --dry-run lists what CASCADE takes" "$CTLDB" migrate down --dir "$N" --dry-run
for t in users subscriptions payments; do
    check "trigger ${t}_touch on $t, not named by the file" stdout_has "it drops trigger ${t}_touch on public.$t, which the down file does not name"
done
check "and the function it names" stdout_has "it drops function public.touch_row()$"
check "the dry run changed nothing" test "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_touch'")" = 3
check "the history is untouched" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE version = 9")" = 1
expect_rc 0 "-o json too" "$CTLDB" migrate down --dir "$N" --dry-run -o json
check "rehearsed" json_is /rehearsal/rehearsed true
check "four objects" test "$(grep -c '"down_file": "009_touch_rollback.sql"' "$OUT")" -ge 4
expect_rc 2 "off a terminal, the real run asks for --yes" "$CTLDB" migrate down --dir "$N" </dev/null
check "and names every trigger" stderr_has "009_touch_rollback.sql drops trigger payments_touch on public.payments"
check "nothing was changed" test "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_touch'")" = 3
expect_rc 0 "with --yes" "$CTLDB" migrate down --dir "$N" --yes
check "the triggers are gone" test "$(sql "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_touch'")" = 0
check "009 is pending again" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations WHERE version = 9")" = 0
# A down that moves a sequence is not run to see: a rollback would not undo it.
echo "SELECT setval('users_id_seq', 1); DROP FUNCTION touch_row() CASCADE;" >"$N/009_touch_rollback.sql"
expect_rc 0 "up 009 again" "$CTLDB" migrate up --dir "$N"
before_seq=$(sql "SELECT last_value FROM users_id_seq")
expect_rc 0 "down --dry-run of a down file with setval" "$CTLDB" migrate down --dir "$N" --dry-run
check "says it was not rehearsed, and why" stdout_has "holds a call of setval(), which a rollback would not undo"
check "the sequence did not move" test "$(sql "SELECT last_value FROM users_id_seq")" = "$before_seq"
# A down file that fails is found before anything runs.
echo 'DROP FUNCTION no_such_function();' >"$N/009_touch_rollback.sql"
expect_rc 1 "down --dry-run of a down file that fails" "$CTLDB" migrate down --dir "$N" --dry-run
check "names the failure" stderr_has "fails when rehearsed"
check "with the server's words" stderr_has "no_such_function"
rm "$N/009_touch.sql" "$N/009_touch_rollback.sql"
sql "DROP FUNCTION touch_row() CASCADE; DELETE FROM ctldb_schema_migrations WHERE version = 9" >/dev/null

# --- doctor, metrics and seed judge it by the team's folder, never ctldb's own ----------------
expect_rc 0 "doctor without a migrations folder" "$CTLDB" doctor --checks migrations
check "not compared, said as info" stdout_has "not compared: the history records migrations ctldb does not ship"
check "never pending against ctldb's own schema" stdout_lacks "pending"
expect_rc 0 "metrics without a migrations folder" "$CTLDB" metrics
check "not compared" stdout_has "^ctldb_migrations_compared 0"
check "no pending gauge to alert on" stdout_lacks "ctldb_migrations_pending"
expect_rc 2 "metrics --layout that is not one, before connecting" "$CTLDB" metrics --layout liquibase
check "says which" stderr_has "--layout liquibase is not a migration layout"
expect_rc 2 "metrics --migrations-dir that is not a directory" "$CTLDB" metrics --migrations-dir "$IT_TMP/none"
expect_rc 2 "metrics serve too" timeout -k 5 20 "$CTLDB" metrics serve --listen 127.0.0.1:0 --layout liquibase
export CTLDB_MIGRATIONS_DIR="$N" CTLDB_MIGRATIONS_LAYOUT=node
expect_rc 0 "config show names the folder and where it came from" "$CTLDB" config show
check "migrations_dir from CTLDB_MIGRATIONS_DIR" stdout_has "^migrations_dir .*CTLDB_MIGRATIONS_DIR (environment)"
expect_rc 0 "doctor with CTLDB_MIGRATIONS_DIR" "$CTLDB" doctor --checks migrations
check "the history matches the team's files" stdout_has "applied, files unchanged"
check "shadowed files said as info, not pending" stdout_has "info *migrations/shadowed *1 file(s) whose number an earlier file took.*003_c_trials.sql"
check "the schema matches" stdout_lacks "drift"
expect_rc 0 "metrics with CTLDB_MIGRATIONS_DIR" "$CTLDB" metrics
check "compared" stdout_has "^ctldb_migrations_compared 1"
check "nothing pending" stdout_has "^ctldb_migrations_pending 0"
expect_rc 0 "migrate status reads the setting too (no --dir)" "$CTLDB" migrate status
check "file by file" stdout_has "^003_c_trials.sql .*shadowed"
echo "INSERT INTO nope (x) VALUES (1);" >"$IT_TMP/seed-nope.sql"
mkdir -p "$IT_TMP/seeds" && mv "$IT_TMP/seed-nope.sql" "$IT_TMP/seeds/"
expect_rc 1 "seed --dir with a table missing names the team's folder" "$CTLDB" seed --dir "$IT_TMP/seeds"
check "the missing table" stderr_has "nope (first used at seed-nope.sql:1)"
check "the hint names the folder" stderr_has "ctldb migrate (the folder $N)"
echo "INSERT INTO feature_flags (name) VALUES ('beta') ON CONFLICT DO NOTHING; SELECT * FROM feature_flags;" >"$IT_TMP/seeds/seed-nope.sql"
expect_rc 0 "seed --dir on the team's schema" "$CTLDB" seed --dir "$IT_TMP/seeds" -o json
check "one row" json_is /rows_changed 1
unset CTLDB_MIGRATIONS_DIR CTLDB_MIGRATIONS_LAYOUT

# --- the guide's indexes, as far as they fit the team's schema ------------------------------
# users has no auth0_id; the team's idx_users_email (not unique) sits beside
# the unique constraint users_email_key.
sql "ALTER TABLE users DROP COLUMN IF EXISTS auth0_id" >/dev/null
expect_rc 1 "indexes check (subscriptions.user_id has no index: a real finding)" "$CTLDB" indexes check
check "idx_users_auth0_id not applicable, as info" stdout_has "^idx_users_auth0_id *info *not applicable: users has no column auth0_id"
check "a guide table that is not there: not applicable" stdout_has "^idx_admin_audit_logs_created_at *info *not applicable: this database has no table admin_audit_logs"
check "idx_users_email, a twin of the unique constraint's index, is redundant" stdout_has "^public.idx_users_email *warn *duplicate of public.users_email_key"
expect_rc 1 "indexes check -o json" "$CTLDB" indexes check -o json
check "state not applicable" bash -c "grep -A4 '\"name\": \"idx_users_auth0_id\"' '$OUT' | grep -q '\"state\": \"not applicable\"' || grep -B4 '\"name\": \"idx_users_auth0_id\"' '$OUT' | grep -q '\"state\": \"not applicable\"'"
expect_rc 0 "indexes ensure --dry-run" "$CTLDB" indexes ensure --dry-run
check "proposes the missing one" stdout_has "idx_subscriptions_user_id ON subscriptions (user_id)"
check "never the not applicable one" stdout_lacks "auth0_id"
expect_rc 0 "indexes ensure" "$CTLDB" indexes ensure
check "nothing of auth0_id" test "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_users_auth0_id'")" = 0
check "the missing one built" test "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_subscriptions_user_id'")" = 1
expect_rc 0 "doctor's index check" "$CTLDB" doctor --checks indexes
check "not applicable in one info line" stdout_has "guide indexes.*not applicable.*idx_users_auth0_id"
check "not a failure" stdout_lacks "auth0_id (missing"
check "the duplicate named" stdout_has "duplicate of public.users_email_key"
expect_rc 0 "metrics" "$CTLDB" metrics
check "nothing missing" stdout_has "^ctldb_guide_indexes_missing 0"
check "eight not applicable" stdout_has "^ctldb_guide_indexes_not_applicable 8"
sql "DROP INDEX idx_subscriptions_user_id" >/dev/null

# --- a database the runner built, which ctldb has not adopted ------------------------------
use_production_role it_node_unadopted
replay_node_runner "$N"
expect_rc 0 "doctor without a folder: migrated by another tool, not compared" "$CTLDB" doctor --checks migrations
check "says so" stdout_has "not compared: migrated by another tool (its history is schema_migrations)"
check "no pending" stdout_lacks "pending"
expect_rc 1 "doctor with the folder: pending, and the adoption named" env CTLDB_MIGRATIONS_DIR="$N" CTLDB_MIGRATIONS_LAYOUT=node "$CTLDB" doctor --checks migrations
check "names the runner's history to adopt" stdout_has "baseline --from node"
expect_rc 1 "up on it fails on the first existing object" "$CTLDB" migrate up --dir "$N"
check "the hint names the baseline that matches the history" stderr_has "migrated by node, which recorded 8 migration(s) in schema_migrations.*baseline --from node --dir"
check "nothing recorded" test "$(sql "SELECT to_regclass('ctldb_schema_migrations') IS NULL")" = t
expect_rc 1 "plain ctldb migrate (its built-in schema) on the runner's database" "$CTLDB" migrate
check "the hint points at the folder the runner ran" stderr_has "point ctldb at the folder node ran (--dir, or CTLDB_MIGRATIONS_DIR with CTLDB_MIGRATIONS_LAYOUT=node)"
check "nothing of ctldb's schema stayed" test "$(sql "SELECT to_regclass('ctldb_schema_migrations') IS NULL AND to_regclass('admin_roles') IS NULL")" = t

# --- backups of two databases in one directory: each counts its own ------------------------
B="$IT_TMP/backups"
mkdir -p "$B"
expect_rc 0 "a backup of it_node_runner" env DB_NAME=it_node_runner "$CTLDB" backup --dir "$B"
mine=$(cd "$B" && ls *.gz)
sleep 1.1
expect_rc 0 "a later backup of it_node_unadopted" env DB_NAME=it_node_unadopted "$CTLDB" backup --dir "$B"
theirs=$(cd "$B" && ls *.gz | grep -v "^$mine\$")
expect_rc 0 "doctor of it_node_runner" env DB_NAME=it_node_runner "$CTLDB" doctor --checks backups --backup-dir "$B"
check "its own newest backup, not the other database's later one" stdout_has "newest backup *$mine"
check "never the other's" stdout_lacks "$theirs"
expect_rc 0 "metrics" env DB_NAME=it_node_runner "$CTLDB" metrics --backup-dir "$B"
check "one usable backup of each" bash -c "grep -q '^ctldb_backups_usable{database=\"it_node_runner\"} 1' '$OUT' && grep -q '^ctldb_backups_usable{database=\"it_node_unadopted\"} 1' '$OUT'"
check "each its own newest" test "$(grep -c '^ctldb_backup_newest_timestamp_seconds{database=' "$OUT")" = 2
rm "$B/$mine" "$B/${mine%.sql.gz}.json"
expect_rc 1 "without a backup of its own, doctor fails for it" env DB_NAME=it_node_runner "$CTLDB" doctor --checks backups --backup-dir "$B"
check "no usable backup of it_node_runner" stdout_has "no usable backup of it_node_runner"

# --- hostile folders, histories and interruptions ------------------------------------------
H="$IT_TMP/hostile"
mkdir -p "$H"
echo 'CREATE TABLE h1 (id int);' >"$H/001_a=b.sql"
echo 'CREATE TABLE h2 (id int);' >"$H/002_it's.sql"
echo 'CREATE TABLE h3 (id int);' >"$H/"$'003_new\nline.sql'
echo 'DROP TABLE h1;' >"$H/001_a=b_rollback.sql"
use_production_role it_node_hostile
expect_rc 0 "names with =, quotes and a newline" "$CTLDB" migrate status --dir "$H"
check "the newline is shown escaped, never raw" stdout_has '^003_new\\nline.sql'
check "the quote and = as they are" bash -c "grep -q \"^002_it's.sql\" '$OUT' && grep -q '^001_a=b.sql' '$OUT'"
expect_rc 0 "up applies them" "$CTLDB" migrate up --dir "$H"
check "the log names it escaped, on one line" bash -c "grep -qF 'applying 003_new\\nline.sql' '$ERR' && ! grep -q '^line.sql' '$ERR'"
check "three tables" test "$(sql "SELECT count(*) FROM pg_tables WHERE tablename IN ('h1', 'h2', 'h3')")" = 3
mkfifo "$H/004_fifo.sql"
expect_rc 1 "a FIFO in the folder is refused, not waited on" timeout -k 5 20 "$CTLDB" migrate status --dir "$H"
check "named" stderr_has "004_fifo.sql"
rm "$H/004_fifo.sql"
expect_rc 2 "--include with a path" "$CTLDB" migrate up --dir "$H" --include ../../etc/passwd.sql
expect_rc 2 "--include with a newline" "$CTLDB" migrate up --dir "$H" --include $'x\nctldb: fake.sql'
check "echoed escaped, never a forged line" bash -c "! grep -q '^ctldb: fake.sql' '$ERR'"
# A runner history with a key holding a newline, quotes and a NULL.
use_production_role it_node_hostile_history
replay_node_runner "$N" >/dev/null 2>&1 || true
prod_psql -c "ALTER TABLE schema_migrations ALTER COLUMN version DROP NOT NULL" 2>/dev/null || true
prod_psql -c "INSERT INTO schema_migrations (version, name, checksum) VALUES (E'0\n''; DROP TABLE users; --', 'evil.sql', 'x')"
expect_rc 1 "baseline --from node with a record no file has" "$CTLDB" migrate baseline --from node --dir "$N" --dry-run
check "the record named, escaped" grep -qF "0\\n'; DROP TABLE users; -- (evil.sql)" "$ERR"
check "users untouched" test "$(sql "SELECT to_regclass('users') IS NOT NULL")" = t
check "nothing recorded" test "$(sql "SELECT to_regclass('ctldb_schema_migrations') IS NULL")" = t
# A rehearsal killed while it waits for a lock leaves everything as it was.
K="$IT_TMP/kill"
mkdir -p "$K"
printf 'CREATE TABLE precious (id int);\nINSERT INTO precious SELECT generate_series(1, 3);\n' >"$K/001_precious.sql"
echo 'DROP TABLE precious CASCADE;' >"$K/001_precious.down.sql"
use_production_role it_node_kill
expect_rc 0 "up" "$CTLDB" migrate up --dir "$K"
setsid bash -c '{ echo "BEGIN; LOCK TABLE precious IN ACCESS SHARE MODE; SELECT pg_sleep(8);"; } | SUPERUSER_DB=it_node_kill superuser_psql' \
    </dev/null >/dev/null 2>&1 &
IT_BG+=($!)
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'precious' AND l.granted AND l.mode = 'AccessShareLock'\") -ge 1 ]]"
"$CTLDB" migrate down --dir "$K" --dry-run >"$OUT" 2>"$ERR" &
pid=$!
check "the rehearsal waits for the lock" wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'precious' AND NOT l.granted\") -ge 1 ]]"
signal_and_wait KILL "$pid"
check "killed" test "$RC" = 137
check "the table and its rows are still there" wait_for test "$(sql "SELECT count(*) FROM precious")" = 3
check "the history is untouched" test "$(sql "SELECT count(*) FROM ctldb_schema_migrations")" = 1
check "no session of the killed run keeps a lock" wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'precious' AND NOT l.granted\") == 0 ]]"
end_sessions
# A rehearsal that cannot get its lock in 5 s stops and says so; the dry run
# still answers (and the real run would wait its own --ddl-lock-timeout).
setsid bash -c '{ echo "BEGIN; LOCK TABLE precious IN ACCESS SHARE MODE; SELECT pg_sleep(12);"; } | SUPERUSER_DB=it_node_kill superuser_psql' \
    </dev/null >/dev/null 2>&1 &
IT_BG+=($!)
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'precious' AND l.granted AND l.mode = 'AccessShareLock'\") -ge 1 ]]"
expect_rc 0 "down --dry-run behind a lock" "$CTLDB" migrate down --dir "$K" --dry-run
check "not rehearsed, and why" stdout_has "waited more than 5 s for a lock another session holds"
check "still there" test "$(sql "SELECT count(*) FROM precious")" = 3
end_sessions

finish
