#!/usr/bin/env bash
# ctldb roles on a real server: the listing and the least-privilege check
# (CREATEDB, superuser, PUBLIC's CREATE on schema public, expiry, rotation
# age); create-readonly, after which a table the application creates later
# is readable by the new role and not writable, idempotent, refused for a
# role without CREATEROLE; rotate-password as the application role itself
# with log_statement = 'all': the new password logs in, the old one fails,
# neither appears in the server log, the Secret parses and both files are
# 0600; SIGKILL at random points never loses the password in force.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
# Roles are the cluster's: remove what an earlier run left.
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_roles_rot WITH (FORCE)" >/dev/null
fresh_database it_roles
SUPERUSER_DB=postgres superuser_psql -c 'DROP ROLE IF EXISTS reporter, "re""port er", powerful, rot_app' >/dev/null
app_psql it_roles -c "CREATE TABLE early (id int); INSERT INTO early VALUES (1)" >/dev/null
SOCKET_ENV=(env DB_HOST="$IT_SANDBOX/socket" DB_USER=postgres DB_SSL_MODE=disable DB_PASSWORD_FILE=)
# as_role ROLE PASSWORD ARGS...: psql into it_roles as ROLE over TLS.
as_role() {
    PGPASSWORD=$2 "$(pg_bindir)/psql" -X -q -At -v ON_ERROR_STOP=1 \
        "host=$DB_HOST port=$DB_PORT dbname=${ROLE_DB:-it_roles} user=$1 sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT" "${@:3}"
}
export -f as_role

# --- the listing and the check ------------------------------------------------------------
expect_rc 0 "roles" "$CTLDB" roles
check "appuser: owner, reads and writes its table" grep -qE "^appuser +yes +no +no +yes +pg_monitor .*owner, create schemas, read 1/1, write 1/1" "$OUT"
check "the superuser" grep -qE "^postgres +yes +yes .*everything \(superuser\)" "$OUT"
expect_rc 0 "roles -o json" "$CTLDB" roles -o json
check "JSON: per role, what it may do here" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = {x["name"]: x for x in d["roles"]}
assert r["appuser"]["create_db"] is True and r["appuser"]["database"]["tables_writable"] == 1
assert r["ctldb_prod"]["database"]["tables_readable"] == 0 and r["ctldb_prod"]["valid_until"] is None
assert not any(n.startswith("pg_") for n in r)' "$OUT"
expect_rc 1 "roles check: appuser has CREATEDB" "$CTLDB" roles check
check "fails on the attribute, with the ALTER ROLE" grep -qE '^role attributes +fail +role appuser has CREATEDB' "$OUT"

use_production_role it_roles_prod
expect_rc 0 "roles check as the production role" "$CTLDB" roles check
check "its age is unknown until ctldb rotates it" grep -qE "^password age +info" "$OUT"
sql "GRANT CREATE ON SCHEMA public TO PUBLIC" >/dev/null
expect_rc 1 "PUBLIC may create in schema public" "$CTLDB" roles check -o json
check "fails schema public, with the REVOKE" bash -c "grep -q 'REVOKE CREATE ON SCHEMA public FROM PUBLIC' '$OUT'"
sql "REVOKE CREATE ON SCHEMA public FROM PUBLIC" >/dev/null
sql "ALTER ROLE ctldb_prod VALID UNTIL '$(date -u -d '+5 days' +%Y-%m-%dT%H:%M:%SZ)'" >/dev/null
expect_rc 0 "a password expiring in 5 days" "$CTLDB" roles check
check "is a warning" grep -qE "^password expiry +warn +the password of ctldb_prod expires at" "$OUT"
sql "ALTER ROLE ctldb_prod VALID UNTIL 'infinity'" >/dev/null

# --- create-readonly ----------------------------------------------------------------------
export DB_NAME=it_roles SUPERUSER_DB=it_roles DB_USER=appuser
export DB_PASSWORD_FILE=$IT_SANDBOX/password
RO_PW=$IT_TMP/reporter.pw
printf 'Rep0rter-Passw0rd!-%s\n' "$RANDOM$RANDOM" >"$RO_PW"
expect_rc 1 "create-readonly without CREATEROLE" "$CTLDB" roles create-readonly reporter --password-file "$RO_PW"
check "says which role may not, and nothing changed" bash -c "grep -q 'may not create or alter roles' '$ERR' && [[ -z \$(sql \"SELECT 1 FROM pg_roles WHERE rolname = 'reporter'\") ]]"
expect_rc 0 "--dry-run prints the SQL" "$CTLDB" roles create-readonly reporter --password-file "$RO_PW" --dry-run
check "with the password hidden" bash -c "grep -q \"CREATE ROLE \\\"reporter\\\" .* PASSWORD '\\*\\*\\*\\*\\*\\*\\*\\*'\" '$OUT' && ! grep -qF \"\$(cat '$RO_PW')\" '$OUT'"
check "and the default privileges for the application role" stdout_has 'ALTER DEFAULT PRIVILEGES FOR ROLE "appuser" IN SCHEMA "public" GRANT SELECT ON TABLES'
check "creating nothing" test -z "$(sql "SELECT 1 FROM pg_roles WHERE rolname = 'reporter'")"
printf 'short\n' >"$IT_TMP/weak.pw"
expect_rc 2 "a password against the policy" "${SOCKET_ENV[@]}" "$CTLDB" roles create-readonly reporter --password-file "$IT_TMP/weak.pw"
expect_rc 0 "create-readonly as a superuser" "${SOCKET_ENV[@]}" "$CTLDB" roles create-readonly reporter --password-file "$RO_PW"
check "the early table is readable" test "$(as_role reporter "$(cat "$RO_PW")" -c 'SELECT count(*) FROM early')" = 1
app_psql it_roles -c "CREATE TABLE later (id int); INSERT INTO later VALUES (7)" >/dev/null
check "a table the application creates later is readable" test "$(as_role reporter "$(cat "$RO_PW")" -c 'SELECT id FROM later')" = 7
check "and not writable, even in a read-write transaction" bash -c "! as_role reporter \"\$(cat '$RO_PW')\" -c 'BEGIN READ WRITE; INSERT INTO later VALUES (8); COMMIT' 2>'$IT_TMP/w.err' && grep -q 'permission denied for table later' '$IT_TMP/w.err'"
check "the password never reached the server log" bash -c "! grep -qF \"\$(cat '$RO_PW')\" '$IT_SANDBOX/log/server.log'"
sql 'CREATE SCHEMA "we""ird\sch"; CREATE TABLE "we""ird\sch".t (x int); ALTER SCHEMA "we""ird\sch" OWNER TO appuser; ALTER TABLE "we""ird\sch".t OWNER TO appuser' >/dev/null
expect_rc 0 "create-readonly again is idempotent" "${SOCKET_ENV[@]}" "$CTLDB" roles create-readonly reporter
check "still one role, still reading" test "$(as_role reporter "$(cat "$RO_PW")" -c 'SELECT count(*) FROM later')" = 1
check "a schema named with a quote and a backslash is granted too" test "$(as_role reporter "$(cat "$RO_PW")" -c 'SELECT count(*) FROM "we""ird\sch".t')" = 0
expect_rc 0 "a name with a quote and a space" "${SOCKET_ENV[@]}" "$CTLDB" roles create-readonly 're"port er' -o json
check "is that role exactly" test "$(sql "SELECT count(*) FROM pg_roles WHERE rolname = 're\"port er'")" = 1
sql "CREATE ROLE powerful LOGIN CREATEDB" >/dev/null
expect_rc 1 "an existing role with CREATEDB is not made read-only" "${SOCKET_ENV[@]}" "$CTLDB" roles create-readonly powerful

# --- rotate-password --------------------------------------------------------------------------
OLD="Old-Passw0rd!-$RANDOM$RANDOM"
sql "CREATE ROLE rot_app LOGIN PASSWORD '$OLD'" >/dev/null
SUPERUSER_DB=postgres sql "CREATE DATABASE it_roles_rot OWNER rot_app" >/dev/null
SUPERUSER_DB=postgres sql "ALTER DATABASE it_roles_rot SET log_statement = 'all'" >/dev/null
printf '%s' "$OLD" >"$IT_TMP/rot.pw"
export DB_NAME=it_roles_rot DB_USER=rot_app DB_PASSWORD_FILE=$IT_TMP/rot.pw ROLE_DB=it_roles_rot
SEC=$IT_TMP/out/secret.yaml
PWF=$IT_TMP/out/password
mkdir -p "$IT_TMP/out"
expect_rc 2 "rotate-password with nowhere to write" "$CTLDB" roles rotate-password rot_app --yes
check "says so" stderr_has "ctldb never prints a password"
expect_rc 2 "without --yes off a terminal" "$CTLDB" roles rotate-password rot_app --out-secret "$SEC"
check "the old password still works" test "$(as_role rot_app "$OLD" -c 'SELECT 1')" = 1
check "and no file is left" test ! -e "$SEC" -a ! -e "$SEC.new"
expect_rc 0 "--dry-run" "$CTLDB" roles rotate-password rot_app --out-secret "$SEC" --dry-run
check "changes nothing" bash -c "[[ \$(as_role rot_app '$OLD' -c 'SELECT 1') == 1 && ! -e '$SEC' ]]"
expect_rc 1 "another role's password, without CREATEROLE" "$CTLDB" roles rotate-password appuser --out-secret "$SEC" --yes
check "is refused, naming what would allow it" stderr_has "may not change the password of appuser"

expect_rc 0 "rotate-password" "$CTLDB" roles rotate-password rot_app --out-secret "$SEC" --out-password-file "$PWF" --yes -o json
NEW=$(cat "$PWF")
policy_ok() { [[ ${#NEW} -ge 16 && "$NEW" =~ [A-Z] && "$NEW" =~ [a-z] && "$NEW" =~ [0-9] ]]; }
check "a new password meeting the policy" policy_ok
check "reported proven, the old one refused" bash -c "'$CTLDB_JSON_TOOL' get /login_verified <'$OUT' | grep -qx true && '$CTLDB_JSON_TOOL' get /old_password_refused <'$OUT' | grep -qx true"
check "the new password logs in" test "$(as_role rot_app "$NEW" -c 'SELECT 1')" = 1
check "the old one fails" bash -c "! as_role rot_app '$OLD' -c 'SELECT 1' 2>/dev/null"
check "files are 0600" bash -c "[[ \$(stat -c %a '$SEC') == 600 && \$(stat -c %a '$PWF') == 600 ]]"
check "the Secret parses and holds the password" python3 -c '
import base64, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d["kind"] == "Secret" and d["metadata"]["name"] == "cloudtolocalllm-secrets"
assert d["metadata"]["namespace"] == "cloudtolocalllm" and d["type"] == "Opaque"
assert base64.b64decode(d["data"]["postgres-password"]).decode() == open(sys.argv[2]).read()' "$SEC" "$PWF"
check "no password on stdout or stderr" output_lacks "$NEW"
check "the statement was logged (log_statement = all) ..." grep -q "ALTER ROLE \"rot_app\" PASSWORD 'SCRAM-SHA-256" "$IT_SANDBOX/log/server.log"
check "... but neither password is in the server log" bash -c "! grep -qF -e '$NEW' -e '$OLD' '$IT_SANDBOX/log/server.log'"
cp "$PWF" "$IT_TMP/rot.pw"
expect_rc 0 "roles check after the rotation" "$CTLDB" roles check
check "knows when it was rotated" grep -qE "^password age +ok +rotated at" "$OUT"
sql "UPDATE ctldb_password_rotations SET rotated_at = now() - interval '100 days'" >/dev/null 2>&1 || SUPERUSER_DB=it_roles_rot sql "UPDATE ctldb_password_rotations SET rotated_at = now() - interval '100 days'" >/dev/null
expect_rc 0 "a rotation 100 days ago" "$CTLDB" roles check
check "is a warning" grep -qE "^password age +warn .*100 days ago" "$OUT"
touch "$SEC.new"
expect_rc 1 "a leftover .new from a stopped rotation" "$CTLDB" roles rotate-password rot_app --out-secret "$SEC" --yes
check "is refused: it may hold the password in force" stderr_has "may hold the password in force"
rm -f "$SEC.new"

# SIGKILL at random points: afterwards one of the passwords written down
# (the old one, the file, the staged .new) always logs in.
lost=0
for i in 1 2 3 4 5 6; do
    cur=$(cat "$IT_TMP/rot.pw")
    "$CTLDB" roles rotate-password rot_app --out-password-file "$PWF" --yes >/dev/null 2>&1 &
    sleep "0.$((RANDOM % 25))"
    kill -9 $! 2>/dev/null || true
    wait $! 2>/dev/null || true
    works=""
    for cand in "$cur" "$(cat "$PWF" 2>/dev/null)" "$(cat "$PWF.new" 2>/dev/null)"; do
        if [[ -n "$cand" ]] && as_role rot_app "$cand" -c 'SELECT 1' >/dev/null 2>&1; then works=$cand; break; fi
    done
    if [[ -z "$works" ]]; then lost=1; break; fi
    printf '%s' "$works" >"$IT_TMP/rot.pw"
    rm -f "$PWF.new"
done
check "SIGKILL never loses the password in force" test "$lost" = 0

finish
