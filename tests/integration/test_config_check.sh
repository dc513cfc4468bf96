#!/usr/bin/env bash
# `ctldb config check` against the real server: every sslmode, the failure
# kinds of the guide's troubleshooting section, secrets never shown.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
PASSWORD=$(cat "$DB_PASSWORD_FILE")

expect_rc 0 "verify-full through the sandbox's CA" "$CTLDB" config check -o json
check "JSON document" stdout_is_json
check "TLS in use" json_is /tls/in_use true
check "TLS 1.2 or newer" bash -c "grep -q '\"protocol\": \"TLSv1\.[23]\"' '$OUT'"
check "server version reported" bash -c "grep -q '\"version_num\": 15' '$OUT'"
check "identity is appuser" json_is /server/user appuser
check "password absent from output" output_lacks "$PASSWORD"

for mode in require verify-ca prefer; do
    expect_rc 0 "sslmode $mode" "$CTLDB" config check --sslmode "$mode" -o json
    check "$mode: TLS in use" json_is /tls/in_use true
done
# allow tries without TLS first, and the server (like the postgres image)
# accepts that: libpq's behaviour, passed through exactly.
expect_rc 0 "sslmode allow" "$CTLDB" config check --sslmode allow -o json
check "allow: TLS not in use" json_is /tls/in_use false
expect_rc 0 "sslmode disable" "$CTLDB" config check --sslmode disable -o json
check "disable: TLS not in use" json_is /tls/in_use false
check "disable: sslmode warning" json_is /checks/2/status warn
expect_rc 0 "text output" "$CTLDB" config check
check "aligned table" stdout_has "^connection  *ok  *localhost:"

start=$(date +%s%N)
expect_rc 3 "refused port" "$CTLDB" config check --port 1
elapsed=$((($(date +%s%N) - start) / 1000000))
check "refused reported quickly (${elapsed} ms)" test "$elapsed" -lt 2000
check "hint for refused" stderr_has "hint: is PostgreSQL running"

expect_rc 3 "wrong password" env -u DB_PASSWORD_FILE DB_PASSWORD='Wrong-Password-123!x' "$CTLDB" config check
check "auth hint" stderr_has "hint: check the password"
check "wrong password not echoed" output_lacks "Wrong-Password-123!x"

expect_rc 3 "host name mismatch under verify-full" "$CTLDB" config check --host wrong.example.com --hostaddr 127.0.0.1
check "mismatch named" stderr_has "does not match host name"
check "gen-certs hint" stderr_has "hint: the certificate does not name the host"
expect_rc 0 "same mismatch is fine under verify-ca" "$CTLDB" config check --host wrong.example.com --hostaddr 127.0.0.1 --sslmode verify-ca

expect_rc 3 "certificate not signed by the given CA" "$CTLDB" config check --sslrootcert "$IT_SANDBOX/tls/server.crt"
check "chain hint" stderr_has "not signed by the CA"

expect_rc 3 "unknown host" "$CTLDB" config check --host nonexistent.invalid
check "DNS hint" stderr_has "does not resolve"

expect_rc 3 "unknown database" "$CTLDB" config check --dbname no_such_db
check "database named" stderr_has "no_such_db"

printf '%s\n' "$PASSWORD" >"$IT_TMP/pw-newline"
expect_rc 0 "DB_PASSWORD_FILE with a trailing newline" env DB_PASSWORD_FILE="$IT_TMP/pw-newline" "$CTLDB" config check
expect_rc 2 "DB_PASSWORD_FILE missing" env DB_PASSWORD_FILE="$IT_TMP/none" "$CTLDB" config check
expect_rc 2 "DB_PASSWORD and DB_PASSWORD_FILE both set" env DB_PASSWORD=x "$CTLDB" config check

# Passwords with spaces, quotes and backslashes reach the server intact.
HARD="a b'c\\d\"e f=g"
superuser_psql -c "DROP ROLE IF EXISTS quoting_test" >/dev/null 2>&1
echo "CREATE ROLE quoting_test LOGIN PASSWORD :'pw'" | superuser_psql -v pw="$HARD" >/dev/null
expect_rc 0 "password with spaces, quotes, backslashes" env -u DB_PASSWORD_FILE DB_USER=quoting_test DB_PASSWORD="$HARD" "$CTLDB" config check -o json
check "connected as quoting_test" json_is /server/user quoting_test
check "the weak password is warned about" json_is /checks/1/status warn

superuser_psql -c "DROP ROLE IF EXISTS limited" >/dev/null 2>&1
superuser_psql -c "CREATE ROLE limited LOGIN PASSWORD 'Limited-Password-123' CONNECTION LIMIT 0" >/dev/null
expect_rc 3 "too many connections" env -u DB_PASSWORD_FILE DB_USER=limited DB_PASSWORD='Limited-Password-123' "$CTLDB" config check
check "max_connections hint" stderr_has "hint: the server reached max_connections"

# The guide's ConfigMap, as is, plus the secret from a mounted file.
cat >"$IT_TMP/configmap.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: cloudtolocalllm-config
  namespace: cloudtolocalllm
data:
  DB_TYPE: "postgresql"
  DB_HOST: "localhost"
  DB_PORT: "$DB_PORT"
  DB_NAME: "cloudtolocalllm"
  DB_USER: "appuser"
  DB_POOL_MAX: "50"
  DB_POOL_IDLE_TIMEOUT: "600000"
  DB_POOL_CONNECTION_TIMEOUT: "30000"
YAML
expect_rc 0 "ConfigMap manifest as config file" env -u DB_HOST -u DB_PORT -u DB_NAME -u DB_USER \
    "$CTLDB" --config "$IT_TMP/configmap.yaml" config check
expect_rc 0 "ConfigMap sources shown" env -u DB_HOST -u DB_PORT "$CTLDB" config show --config "$IT_TMP/configmap.yaml" -o json
check "host from data.DB_HOST" json_is /settings/host/source "$IT_TMP/configmap.yaml: data.DB_HOST"
expect_rc 0 "environment beats the ConfigMap" env DB_PORT="$DB_PORT" "$CTLDB" config check --config "$IT_TMP/configmap.yaml"

# Connect timeout and interruption against a listener that never answers.
"$CTLDB_BLACKHOLE" 30 >"$IT_TMP/bh.port" &
BH_PID=$!
for _ in $(seq 50); do [[ -s "$IT_TMP/bh.port" ]] && break; sleep 0.1; done
BH_PORT=$(cat "$IT_TMP/bh.port")
start=$(date +%s%N)
expect_rc 3 "connect timeout" env DB_POOL_CONNECTION_TIMEOUT=1200 "$CTLDB" config check --host 127.0.0.1 --port "$BH_PORT" --sslmode require
elapsed=$((($(date +%s%N) - start) / 1000000))
check "timed out after ~1.2 s (${elapsed} ms)" bash -c "(( $elapsed >= 1100 && $elapsed < 3000 ))"
check "timeout hint" stderr_has "within 1200 ms"

"$CTLDB" config check --host 127.0.0.1 --port "$BH_PORT" --sslmode require >"$OUT" 2>"$ERR" &
CPID=$!
sleep 0.5
signal_and_wait INT $CPID
check "SIGINT while connecting exits 130 (got $RC)" test "$RC" = 130
check "promptly (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -lt 1000
check "says it was interrupted" stderr_has "interrupted by SIGINT"
kill $BH_PID 2>/dev/null || true

# --- the names the team's own deployments use ----------------------------------------
# The backup CronJob on the postgres image sets POSTGRES_*; the application
# says TLS with a boolean DB_SSL. No DB_* at all.
# As the production role, into a database of its own.
use_production_role it_cronjob
prod_psql -c "CREATE TABLE jobs (id int PRIMARY KEY); INSERT INTO jobs VALUES (1), (2)"
cronjob() {
    env -u DB_HOST -u DB_PORT -u DB_NAME -u DB_USER -u DB_PASSWORD -u DB_PASSWORD_FILE \
        -u DB_SSL_MODE -u DB_SSL_ROOT_CERT -u DB_TYPE -u CTLDB_CONFIG \
        POSTGRES_HOST=localhost POSTGRES_PORT="$DB_PORT" POSTGRES_USER=ctldb_prod \
        POSTGRES_DB=it_cronjob POSTGRES_PASSWORD_FILE="$IT_ROOT/prod.password" DB_SSL=true "$@"
}
expect_rc 0 "config check with the CronJob's POSTGRES_* and DB_SSL=true" cronjob "$CTLDB" config check -o json
check "connected as POSTGRES_USER" json_is /server/user ctldb_prod
check "TLS in use (DB_SSL=true: require)" json_is /tls/in_use true
mkdir -p "$IT_TMP/cron-backups"
expect_rc 0 "the CronJob's backup, with nothing but POSTGRES_* and DB_SSL" cronjob "$CTLDB" backup --dir "$IT_TMP/cron-backups" -o json
check "a backup of it_cronjob" test "$(ls "$IT_TMP/cron-backups" | grep -c '\.sql\.gz$')" = 1
check "its manifest names the database" bash -c "grep -q '\"database\": *\"it_cronjob\"' '$IT_TMP'/cron-backups/*.json"
expect_rc 2 "POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE together, as the image refuses them" cronjob env POSTGRES_PASSWORD=x "$CTLDB" config check
check "names both" stderr_has "POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are both set"
expect_rc 0 "config show names every origin" cronjob "$CTLDB" config show -o json
check "host from POSTGRES_HOST" json_is /settings/host/source POSTGRES_HOST
check "dbname from POSTGRES_DB" json_is /settings/dbname/source POSTGRES_DB
check "sslmode from DB_SSL" json_is /settings/sslmode/source DB_SSL
check "password not shown" output_lacks "$(cat "$IT_ROOT/prod.password")"
expect_rc 0 "DB_SSL=false warns that the password goes in clear" cronjob env DB_SSL=false "$CTLDB" config check -o json
check "TLS not in use" json_is /tls/in_use false
check "the warning" stderr_has "DB_SSL=false: sslmode disable, so the password and every row cross the network in clear"
expect_rc 2 "DB_SSL that is not a boolean" cronjob env DB_SSL=sometimes "$CTLDB" config check
check "says what it expects" stderr_has "DB_SSL='sometimes': expected true or false"
expect_rc 0 "DB_* beats POSTGRES_*" cronjob env DB_HOST=127.0.0.1 "$CTLDB" config show -o json
check "host from DB_HOST" json_is /settings/host/value 127.0.0.1

# A base ConfigMap and its environment's overlay, layered (the production
# role's own database).
cat >"$IT_TMP/base.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: cloudtolocalllm-config
data:
  DB_HOST: db.invalid
  DB_PORT: "$DB_PORT"
  DB_NAME: "$DB_NAME"
  DB_POOL_MAX: "50"
YAML
cat >"$IT_TMP/overlay.yaml" <<'YAML'
database:
  host: localhost
pool:
  max: 20
YAML
expect_rc 0 "--config base --config overlay" env -u DB_HOST -u DB_PORT -u DB_NAME -u DB_POOL_MAX "$CTLDB" --config "$IT_TMP/base.yaml" --config "$IT_TMP/overlay.yaml" config check -o json
check "connected through the overlay's host" json_is /server/user ctldb_prod
expect_rc 0 "config show: each value names its file" env -u DB_HOST -u DB_PORT -u DB_NAME -u DB_POOL_MAX "$CTLDB" --config "$IT_TMP/base.yaml" --config "$IT_TMP/overlay.yaml" config show
check "host from the overlay" stdout_has "^host  *localhost  *.*overlay.yaml: database.host"
check "dbname from the base" stdout_has "^dbname .*base.yaml: data.DB_NAME"
check "both files named" stdout_has "^config file: .*base.yaml, .*overlay.yaml"
expect_rc 0 "CTLDB_CONFIG as a list, in the same order" env -u DB_HOST -u DB_PORT -u DB_NAME -u DB_POOL_MAX CTLDB_CONFIG="$IT_TMP/base.yaml:$IT_TMP/overlay.yaml" "$CTLDB" config show -o json
check "the overlay wins" json_is /settings/host/value localhost
expect_rc 2 "a missing overlay stops every command" env -u DB_HOST "$CTLDB" --config "$IT_TMP/base.yaml" --config "$IT_TMP/nope.yaml" tables
check "names it" stderr_has "nope.yaml: cannot read config file"

# The backup CronJob's location, checked before the night it runs: S3:// (a
# local path in disguise), a bucket that cannot exist, a '..' step.
for bad in "S3://acme-backups/prod" "s3://Acme_Backups/prod" "s3://acme-backups/../prod"; do
    run env CTLDB_BACKUP_DIR="$bad" "$CTLDB" config check --offline
    check "config check refuses CTLDB_BACKUP_DIR=$bad (exit $RC)" test "$RC" = 2
    check "naming the setting" stderr_has "invalid configuration: CTLDB_BACKUP_DIR"
done
expect_rc 0 "a well-formed s3:// location passes (nothing is contacted)" env CTLDB_BACKUP_DIR=s3://acme-backups/prod "$CTLDB" config check --offline

finish
