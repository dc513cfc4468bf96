#!/usr/bin/env bash
# ctldb seed and seed generate against a real server: idempotence,
# referential consistency, determinism, production refusal.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
fresh_database it_seed

expect_rc 1 "seed before migrate says what to do" "$CTLDB" seed
check "hint: migrate first" stderr_has "run 'ctldb migrate' first"
"$CTLDB" -q migrate >/dev/null

expect_rc 2 "seed refused in production" env CTLDB_ENV=production "$CTLDB" seed
check "says nothing was changed" stderr_has "nothing was changed"
check "really nothing" test "$(sql "SELECT count(*) FROM users")" = 0
expect_rc 2 "seed generate refused in production" env CTLDB_ENV=production "$CTLDB" seed generate --users 10
check "still nothing" test "$(sql "SELECT count(*) FROM users")" = 0
# The team's own production marker: NODE_ENV, in their ConfigMap or the pod.
cat >"$IT_TMP/configmap.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: cloudtolocalllm-config
data:
  NODE_ENV: "production"
  DB_POOL_MAX: "50"
YAML
# (the sandbox's environment sets CTLDB_ENV=development, which would win)
expect_rc 2 "seed refused with NODE_ENV=production in the ConfigMap" env -u CTLDB_ENV "$CTLDB" --config "$IT_TMP/configmap.yaml" seed
check "names NODE_ENV and the file" stderr_has "configmap.yaml: data.NODE_ENV=production"
check "no unknown-key warning for NODE_ENV" bash -c "! grep -q \"unknown key 'NODE_ENV'\" '$ERR'"
expect_rc 2 "seed generate refused with NODE_ENV=production in the environment" env -u CTLDB_ENV NODE_ENV=production "$CTLDB" seed generate --users 10
check "names NODE_ENV" stderr_has "NODE_ENV=production, environment"
check "nothing inserted under NODE_ENV" test "$(sql "SELECT count(*) FROM users")" = 0
expect_rc 0 "config show says where the name came from" env -u CTLDB_ENV NODE_ENV=production "$CTLDB" config show -o json
check "env from NODE_ENV in config show" json_is /settings/env/source NODE_ENV
expect_rc 0 "CTLDB_ENV overrides NODE_ENV" env NODE_ENV=production CTLDB_ENV=development "$CTLDB" config show -o json
check "env is CTLDB_ENV's" json_is /settings/env/value development

expect_rc 0 "seed" "$CTLDB" seed -o json
check "rows inserted" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /rows_inserted <'$OUT') -gt 20 ]]"
snapshot() { sql "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT row(u.*)::text AS t FROM users u UNION ALL SELECT row(s.*)::text FROM subscriptions s UNION ALL SELECT row(a.*)::text FROM admin_roles a UNION ALL SELECT row(p.*)::text FROM payment_transactions p UNION ALL SELECT row(r.*)::text FROM refunds r UNION ALL SELECT row(l.*)::text FROM admin_audit_logs l) x"; }
before=$(snapshot)
expect_rc 0 "seed again" "$CTLDB" seed -o json
check "second run inserts nothing" json_is /rows_inserted 0
check "and changes nothing" test "$(snapshot)" = "$before"
check "one admin per role" test "$(sql "SELECT string_agg(role, ',' ORDER BY role) FROM admin_roles")" = "finance_admin,super_admin,support_admin"
check "every tier has a customer" test "$(sql "SELECT count(DISTINCT tier) FROM subscriptions")" = 3

S="$IT_TMP/seeds"
mkdir -p "$S"
printf "INSERT INTO users (email) VALUES ('x@example.com');\nINSERT INTO users (email) VALUES (NULL);\n" >"$S/0001_bad.sql"
expect_rc 1 "a failing seed file" "$CTLDB" seed --dir "$S"
check "names file and line" stderr_has "0001_bad.sql:2:"
check "rolled back whole" test "$(sql "SELECT count(*) FROM users WHERE email = 'x@example.com'")" = 0
printf "INSERT INTO users (email) VALUES ('y@example.com');\nCOMMIT;\nSELECT 1;\n" >"$S/0001_bad.sql"
expect_rc 1 "a COMMIT in a seed file is refused" "$CTLDB" seed --dir "$S"
check "says why, with file and line" stderr_has "0001_bad.sql:2: explicit transaction control"
check "the insert before the COMMIT did not stick" test "$(sql "SELECT count(*) FROM users WHERE email = 'y@example.com'")" = 0
printf "INSERT INTO users (email) VALUES ('z@example.com');\nCOPY users (email) FROM STDIN;\n" >"$S/0001_bad.sql"
expect_rc 1 "COPY FROM STDIN in a seed file is refused, not waited on" timeout -k 5 30 "$CTLDB" seed --dir "$S"
check "names the line and why" stderr_has "0001_bad.sql:2: COPY FROM STDIN / TO STDOUT needs a data stream"
check "the insert before it did not stick" test "$(sql "SELECT count(*) FROM users WHERE email = 'z@example.com'")" = 0
printf "VACUUM users;\n" >"$S/0001_bad.sql"
expect_rc 1 "VACUUM in a seed file is refused" "$CTLDB" seed --dir "$S"
check "says it cannot run in a transaction" stderr_has "cannot run inside a transaction"

# The team's own seed folder needs only the tables its files use, never
# ctldb's schema; a final summary SELECT is not counted as seeded rows.
fresh_database it_seed_team
T="$IT_TMP/team-seeds"
mkdir -p "$T"
cat >"$T/01_teams.sql" <<'SQL'
INSERT INTO teams (name) VALUES ('core'), ('billing') ON CONFLICT (name) DO NOTHING;
WITH x AS (SELECT name FROM teams) UPDATE teams SET active = true WHERE name IN (SELECT name FROM x) AND NOT active;
CREATE TEMP TABLE seed_scratch AS SELECT name FROM teams;
SELECT name, active FROM teams ORDER BY name;
SQL
expect_rc 1 "seed --dir where its tables are missing" "$CTLDB" seed --dir "$T"
check "names the missing table and where it is used" stderr_has "teams (first used at 01_teams.sql:1)"
check "never suggests ctldb's own schema" bash -c "! grep -q \"run 'ctldb migrate' first\" '$ERR'"
check "only that one: the file's own temp table is not missing" bash -c "! grep -q seed_scratch '$ERR'"
check "nothing created" test "$(sql "SELECT to_regclass('users') IS NULL")" = t
sql "CREATE TABLE teams (name text PRIMARY KEY, active boolean NOT NULL DEFAULT false); ALTER TABLE teams OWNER TO appuser" >/dev/null
expect_rc 0 "seed --dir on the team's schema, without ctldb's" "$CTLDB" seed --dir "$T" -o json
check "two inserted" json_is /rows_inserted 2
check "two updated" json_is /rows_updated 2
check "the SELECTs' rows are not counted" json_is /files/0/rows_changed 4
expect_rc 0 "seed --dir again" "$CTLDB" seed --dir "$T"
check "nothing changed the second time (the SELECT returns 2 rows)" stdout_has "seed data already present; nothing changed"
export DB_NAME=it_seed SUPERUSER_DB=it_seed

expect_rc 0 "seed generate" "$CTLDB" seed generate --users 300 --random-seed 42 -o json
check "300 users plus 3 admins" test "$(sql "SELECT count(*) FROM users WHERE email LIKE '%.42.%@example.com' OR email LIKE 'admin%.s42@example.com'")" = 303
check "every user has a subscription" test "$(sql "SELECT count(*) FROM users u WHERE email LIKE '%.42.%' AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id)")" = 0
check "1 to 3 payment methods each" test "$(sql "SELECT min(n) >= 1 AND max(n) <= 3 FROM (SELECT count(*) n FROM payment_methods p JOIN users u ON u.id = p.user_id WHERE u.email LIKE '%.42.%' GROUP BY u.id) x")" = t
check "one default payment method each" test "$(sql "SELECT count(*) FROM payment_methods p JOIN users u ON u.id = p.user_id WHERE u.email LIKE '%.42.%' AND p.is_default")" = 300
check "transactions reference the user's own methods, added before the payment" test "$(sql "SELECT count(*) FROM payment_transactions t JOIN payment_methods m ON m.id = t.payment_method_id WHERE m.user_id <> t.user_id OR m.created_at > t.created_at")" = 0
check "refunds exist and match their transaction" test "$(sql "SELECT count(*) > 0 AND bool_and(r.amount = t.amount) FROM refunds r JOIN payment_transactions t ON t.id = r.transaction_id WHERE t.status = 'refunded'")" = t
check "audit entries" test "$(sql "SELECT count(*) >= 300 FROM admin_audit_logs a JOIN users u ON u.id = a.affected_user_id WHERE u.email LIKE '%.42.%'")" = t
check "optional columns filled like real rows" test "$(sql "SELECT count(*) FROM users WHERE email LIKE '%.42.%' AND (picture_url IS NULL OR locale IS NULL OR given_name IS NULL OR family_name IS NULL)")" = 0
check "succeeded and refunded payments have a charge and a receipt" test "$(sql "SELECT count(*) FROM payment_transactions WHERE stripe_payment_intent_id LIKE 'pi_gen_42_%' AND status IN ('succeeded', 'refunded') AND (receipt_url NOT LIKE 'https://pay.stripe.com/receipts/%' OR stripe_charge_id IS NULL)")" = 0
check "failed payments say why, others do not" test "$(sql "SELECT count(*) FROM payment_transactions WHERE stripe_payment_intent_id LIKE 'pi_gen_42_%' AND (status = 'failed') <> (failure_code IS NOT NULL AND failure_message IS NOT NULL)")" = 0
check "canceled subscriptions have canceled_at, trials a trial period" test "$(sql "SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE u.email LIKE '%.42.%' AND ((s.status = 'canceled') <> (s.canceled_at IS NOT NULL) OR (s.status = 'trialing') <> (s.trial_end > s.trial_start))")" = 0
check "billing details carry the user's own name and email" test "$(sql "SELECT count(*) FROM payment_methods p JOIN users u ON u.id = p.user_id WHERE u.email LIKE '%.42.%' AND (p.billing_details->>'email' <> u.email OR p.billing_details->>'name' <> u.name)")" = 0
check "refunds come with a reason text and a Stripe id" test "$(sql "SELECT count(*) FROM refunds WHERE stripe_refund_id LIKE 're_gen_42_%' AND reason_details IS NOT NULL")" = "$(sql "SELECT count(*) FROM payment_transactions WHERE stripe_payment_intent_id LIKE 'pi_gen_42_%' AND status = 'refunded'")"
check "nothing happens before sign-up or after 2026-01-01" test "$(sql "SELECT count(*) FROM payment_transactions t JOIN users u ON u.id = t.user_id WHERE u.email LIKE '%.42.%' AND (t.created_at < u.created_at OR t.created_at >= '2026-01-01' OR t.updated_at < t.created_at)") $(sql "SELECT count(*) FROM admin_audit_logs a JOIN users u ON u.id = a.affected_user_id WHERE u.email LIKE '%.42.%' AND (a.created_at < u.created_at OR a.created_at >= '2026-01-01')") $(sql "SELECT count(*) FROM users WHERE email LIKE '%.42.%' AND (updated_at < created_at OR last_login_at < created_at OR created_at >= '2026-01-01')")" = "0 0 0"
check "constraints and indexes all back, valid" test "$(sql "SELECT count(*) FROM pg_constraint WHERE conrelid = 'payment_transactions'::regclass AND contype = 'f' AND convalidated")" = 3
check "guide's indexes still there" test "$(sql "SELECT count(*) FROM pg_indexes WHERE indexname IN ('idx_users_email', 'idx_payment_transactions_created_at', 'idx_admin_audit_logs_created_at')")" = 3
check "no invalid index" test "$(sql "SELECT count(*) FROM pg_index WHERE NOT indisvalid")" = 0

gen_snapshot() {
    sql "SELECT md5(string_agg(row(u.*, s.*)::text, ',' ORDER BY u.email)) FROM users u JOIN subscriptions s ON s.user_id = u.id WHERE u.email LIKE '%.$1.%'"
    sql "SELECT md5(string_agg(row(t.*)::text, ',' ORDER BY t.stripe_payment_intent_id)) FROM payment_transactions t WHERE t.stripe_payment_intent_id LIKE 'pi_gen_$1_%'"
    sql "SELECT md5(string_agg(row(a.*)::text, ',' ORDER BY a.id)) FROM admin_audit_logs a JOIN users u ON u.id = a.affected_user_id WHERE u.email LIKE '%.$1.%'"
}
first=$(gen_snapshot 42)
expect_rc 1 "the same seed twice is refused" "$CTLDB" seed generate --users 300 --random-seed 42
check "says so" stderr_has "already in the database"
fresh_database it_seed2
"$CTLDB" -q migrate >/dev/null
expect_rc 0 "same seed in another database, other batch size" "$CTLDB" seed generate --users 300 --random-seed 42 --batch-users 7
check "deterministic: identical data" test "$(gen_snapshot 42)" = "$first"
expect_rc 0 "--keep-indexes path" "$CTLDB" seed generate --users 50 --random-seed 43 --keep-indexes
check "50 more users" test "$(sql "SELECT count(*) FROM users WHERE email LIKE '%.43.%'")" = 50
expect_rc 2 "--users 0" "$CTLDB" seed generate --users 0
expect_rc 2 "--users missing" "$CTLDB" seed generate
expect_rc 2 "--users abc" "$CTLDB" seed generate --users abc
for bad in -1 18446744073709551616 +5 0x10 ""; do
    expect_rc 2 "--random-seed '$bad' (no wrap-around)" "$CTLDB" seed generate --users 10 --random-seed "$bad"
done
expect_rc 2 "--batch-users over 50000 (memory)" "$CTLDB" seed generate --users 10 --batch-users 1000000

# A long transaction reading users: seed generate gives up on its locks after
# --lock-timeout instead of queueing (and stalling everyone behind it).
(echo "BEGIN; SELECT count(*) FROM users; SELECT pg_sleep(4); COMMIT;" | SUPERUSER_DB=it_seed2 superuser_psql >/dev/null 2>&1) &
HOLDER=$!
wait_for bash -c "[[ \$(SUPERUSER_DB=it_seed2 superuser_psql -c \"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'users' AND l.mode = 'AccessShareLock' AND l.granted AND l.pid <> pg_backend_pid()\") -ge 1 ]]"
start=$(date +%s%N)
expect_rc 4 "tables in use: exit 4 after --lock-timeout" "$CTLDB" seed generate --users 20 --random-seed 45 --lock-timeout 500ms
elapsed=$((($(date +%s%N) - start) / 1000000))
check "gave up after about half a second (${elapsed} ms)" bash -c "(( $elapsed >= 400 && $elapsed < 2500 ))"
check "says the tables are in use" stderr_has "tables are in use"
check "nothing generated" test "$(sql "SELECT count(*) FROM users WHERE email LIKE '%.45.%'")" = 0
expect_rc 0 "--keep-indexes only needs ROW EXCLUSIVE: goes ahead beside the reader" "$CTLDB" seed generate --users 20 --random-seed 46 --keep-indexes --lock-timeout 500ms
wait $HOLDER || true
expect_rc 0 "then it goes through" "$CTLDB" seed generate --users 20 --random-seed 45
expect_rc 2 "bad --lock-timeout" "$CTLDB" seed generate --users 20 --lock-timeout soon

# SIGTERM during generate leaves nothing half-made.
set +e
CTLDB_NO_PROGRESS=1 "$CTLDB" seed generate --users 400000 --random-seed 44 >"$OUT" 2>"$ERR" &
GPID=$!
sleep 1
kill -TERM $GPID
wait $GPID
RC=$?
set -e
check "SIGTERM during generate exits 130 (got $RC)" test "$RC" = 130
check "no generated rows remain" test "$(sql "SELECT count(*) FROM users WHERE email LIKE '%.44.%'")" = 0
check "constraints back after the interruption" test "$(sql "SELECT count(*) FROM pg_constraint WHERE conrelid = 'payment_transactions'::regclass AND contype = 'f'")" = 3

finish
