#!/usr/bin/env bash
# DATABASE_URL, --url and libpq services against a real server: parsed by
# libpq, each part at its place in the precedence order, the password never
# shown, and children (pg_dump) connecting the same way.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
PW=$(cat "$DB_PASSWORD_FILE")
PW_FILE=$DB_PASSWORD_FILE
CA=$DB_SSL_ROOT_CERT
PORT=$DB_PORT
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
# Nothing of the sandbox's DB_* settings: only what each case gives.
bare() { env -u DB_HOST -u DB_PORT -u DB_NAME -u DB_USER -u DB_PASSWORD_FILE -u DB_SSL_MODE \
    -u DB_SSL_ROOT_CERT -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER -u PGPASSWORD "$@"; }
URL_NOPW="postgresql://appuser@localhost:$PORT/cloudtolocalllm?sslmode=verify-full&sslrootcert=$(urlencode "$CA")"
URL_PW="postgresql://appuser:$(urlencode "$PW")@localhost:$PORT/cloudtolocalllm?sslmode=verify-full&sslrootcert=$(urlencode "$CA")"

expect_rc 0 "DATABASE_URL with the password" bare DATABASE_URL="$URL_PW" "$CTLDB" config check
check "connected as its user to its database" stdout_has "appuser on database cloudtolocalllm"
check "the password is in neither stream" output_lacks "$PW"
expect_rc 0 "config show says where each part came from" bare DATABASE_URL="$URL_PW" "$CTLDB" config show -o json
check "host from DATABASE_URL" json_is /settings/host/source DATABASE_URL
check "its origin is the environment" json_is /settings/host/origin environment
check "the URL itself is a secret" json_is /settings/url/value '********'
check "the password from it is a secret" json_is /settings/password/value '********'
check "never shown" output_lacks "$PW"
expect_rc 0 "DB_NAME beats the URL's database at the same level" bare DATABASE_URL="$URL_PW" DB_NAME=postgres "$CTLDB" config show -o json
check "dbname from DB_NAME" json_is /settings/dbname/value postgres

expect_rc 0 "DATABASE_URL without a password, DB_PASSWORD_FILE beside it" bare DATABASE_URL="$URL_NOPW" DB_PASSWORD_FILE="$PW_FILE" "$CTLDB" config check
expect_rc 0 "--url without a password" bare DB_PASSWORD_FILE="$PW_FILE" "$CTLDB" config check --url "$URL_NOPW"
expect_rc 0 "a key=value string works as well" bare DB_PASSWORD_FILE="$PW_FILE" "$CTLDB" config check --url "host=localhost port=$PORT dbname=cloudtolocalllm user=appuser sslmode=verify-full sslrootcert=$CA"
expect_rc 2 "--url with a password is refused" bare "$CTLDB" config check --url "$URL_PW"
check "says to use the environment" stderr_has "--url holds a password.*DATABASE_URL"
check "without echoing it" output_lacks "$PW"
expect_rc 2 "a string libpq cannot read" bare DATABASE_URL="host=localhost password=$PW oops" "$CTLDB" config check
check "says what it should be" stderr_has "DATABASE_URL is not a libpq connection string"
check "and quotes none of it" output_lacks "$PW"
expect_rc 0 "a migration step with only DATABASE_URL" bare DATABASE_URL="$URL_PW" "$CTLDB" migrate status

# A service file, as psql reads it.
SVC="$IT_TMP/pg_service.conf"
cat >"$SVC" <<EOF
[admincenter]
host=localhost
port=$PORT
dbname=cloudtolocalllm
user=appuser
sslmode=verify-full
sslrootcert=$CA
EOF
expect_rc 0 "PGSERVICE with a service file" bare PGSERVICEFILE="$SVC" PGSERVICE=admincenter DB_PASSWORD_FILE="$PW_FILE" "$CTLDB" config check
check "connected through the service" stdout_has "appuser on database cloudtolocalllm"
check "TLS verified as the service says" stdout_has "tls .*ok"
expect_rc 0 "config show names the service" bare PGSERVICEFILE="$SVC" PGSERVICE=admincenter "$CTLDB" config show -o json
check "service from PGSERVICE" json_is /settings/service/value admincenter
mkdir -p "$IT_TMP/bk"
expect_rc 0 "pg_dump gets the service too (backup)" bare PGSERVICEFILE="$SVC" PGSERVICE=admincenter DB_PASSWORD_FILE="$PW_FILE" "$CTLDB" backup --dir "$IT_TMP/bk" --no-space-check
check "the manifest names the service's database" bash -c "grep -q '\"database\": \"cloudtolocalllm\"' '$IT_TMP'/bk/*.json"
expect_rc 0 "backup list through the service" bare PGSERVICEFILE="$SVC" PGSERVICE=admincenter "$CTLDB" backup list --dir "$IT_TMP/bk"
check "lists it under its database" stdout_has "cloudtolocalllm"
expect_rc 3 "a service that does not exist: cannot connect, with libpq's reason" bare PGSERVICEFILE="$SVC" PGSERVICE=nosuch DB_PASSWORD_FILE="$PW_FILE" "$CTLDB" config check
check "libpq names the service" bash -c "grep -q 'nosuch' '$OUT' '$ERR'"

expect_rc 2 "nothing set at all" bare "$CTLDB" config check
check "the error names every way to set the host" stderr_has "host is not set: set DB_HOST, PGHOST, DATABASE_URL or PGSERVICE, pass --host or --url"

finish
