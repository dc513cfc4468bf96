#!/usr/bin/env bash
# ctldb settings on a throwaway server of its own: the guide's settings
# read with source and pending restart; check fails on what differs; apply
# refused for a role that may not (naming the superuser), refused for TLS
# files the server could not start with (missing, or a key of another
# certificate), --dry-run and a "no" change nothing; apply as superuser sets
# audit logging in effect at once, max_connections for a restart, new TLS
# files; and the server starts again afterwards.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_server_binaries
use_private_server sb
SUPER=(env -u DB_SSL_ROOT_CERT -u DB_PASSWORD_FILE DB_HOST="$SB/socket" DB_USER=postgres DB_SSL_MODE=disable)
show() { runuser -u postgres -- "$(pg_bindir)/psql" -X -q -At -h "$SB/socket" -p "$DB_PORT" -d postgres -U postgres -c "SHOW $1"; }
export -f show
export SB

expect_rc 0 "settings" "$CTLDB" settings
check "log_statement differs from the guide, with its source" bash -c "grep -qE '^log_statement +none +default +all +fail' '$OUT'"
check "max_connections is enough for one pod" bash -c "grep -qE '^max_connections +100 +configuration file +>= 68 +ok' '$OUT'"
expect_rc 1 "settings check" "$CTLDB" settings check
expect_rc 0 "settings check --only ssl,autovacuum" "$CTLDB" settings check --only ssl,autovacuum
expect_rc 2 "--only a setting that is not the guide's" "$CTLDB" settings check --only work_mem
expect_rc 1 "settings check --pods 3: 100 connections are too few" "$CTLDB" settings check --only max_connections --pods 3 -o json
check "JSON: at least 168, a restart to change" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["settings"][0]
assert s["name"] == "max_connections" and s["guide_value"] == "168" and s["guide_value_is_minimum"]
assert s["restart_to_change"] and s["status"] == "fail" and s["value"] == "100"' "$OUT"

# --- refused, and nothing changed ---------------------------------------------------------
expect_rc 1 "apply as a role that may not" "$CTLDB" settings apply --yes
check "names the superuser that can, and the grants" bash -c "grep -q 'run it as a superuser (postgres)' '$ERR' && grep -q 'GRANT ALTER SYSTEM ON PARAMETER log_statement TO appuser' '$ERR'"
check "nothing changed" test "$(show log_statement)" = none
expect_rc 0 "apply --dry-run as superuser" "${SUPER[@]}" "$CTLDB" settings apply --dry-run
check "shows the statements" stdout_has "would run ALTER SYSTEM SET log_statement = 'all'"
check "and changes nothing" test "$(show log_statement)" = none
expect_rc 2 "apply without --yes off a terminal" "${SUPER[@]}" "$CTLDB" settings apply
check "shows the plan" stderr_has "ALTER SYSTEM SET log_duration = 'on'"
check "and changes nothing" test "$(show log_duration)" = off
expect_rc 1 "TLS files that do not exist" "${SUPER[@]}" "$CTLDB" settings apply --yes --ssl-cert-file "$SB/tls/missing.crt"
check "refused: the server would not start" bash -c "grep -q 'refusing to turn on TLS' '$ERR' && grep -q 'cannot read $SB/tls/missing.crt' '$ERR'"
"$CTLDB" -q gen-certs --out "$IT_TMP/other" --san localhost --ip 127.0.0.1 >/dev/null
cp "$IT_TMP/other/server.crt" "$SB/tls/other.crt"
chmod 644 "$SB/tls/other.crt"
expect_rc 1 "a certificate that is not the key's" "${SUPER[@]}" "$CTLDB" settings apply --yes --ssl-cert-file "$SB/tls/other.crt"
check "refused: not the key of the certificate" stderr_has "is not the key of $SB/tls/other.crt"
check "ssl_cert_file unchanged, and nothing else either" bash -c "[[ \$(show ssl_cert_file) == '$SB/tls/server.crt' && \$(show log_statement) == none ]]"

# --- applied -----------------------------------------------------------------------------------
expect_rc 0 "apply --yes as superuser" "${SUPER[@]}" "$CTLDB" settings apply --yes
check "audit logging set and in effect" bash -c "grep -qE '^log_statement .*set and in effect' '$OUT' && grep -qE '^log_duration .*set and in effect' '$OUT'"
check "the server has it" bash -c "[[ \$(show log_statement) == all && \$(show log_duration) == on ]]"
expect_rc 0 "settings check now passes" "$CTLDB" settings check
expect_rc 0 "apply again: nothing to change" "${SUPER[@]}" "$CTLDB" settings apply --yes
check "says so" stdout_has "nothing to change"

expect_rc 0 "max_connections for 3 pods" "${SUPER[@]}" "$CTLDB" settings apply --only max_connections --pods 3 --yes
check "waits for a restart" bash -c "grep -qE '^max_connections .*takes effect at the next restart' '$OUT'"
expect_rc 0 "settings after it" "$CTLDB" settings --only max_connections -o json
check "pending restart shown" bash -c "'$CTLDB_JSON_TOOL' get /settings/0/pending_restart <'$OUT' | grep -qx true"

cp "$IT_TMP/other/server.crt" "$SB/tls/new.crt"
cp "$IT_TMP/other/server.key" "$SB/tls/new.key"
chmod 600 "$SB/tls/new.key"
if [[ $EUID == 0 ]]; then chown postgres "$SB/tls/new.key" "$SB/tls/new.crt"; fi
expect_rc 0 "a new certificate and its key" "${SUPER[@]}" "$CTLDB" settings apply --yes --only ssl_cert_file,ssl_key_file --ssl-cert-file "$SB/tls/new.crt" --ssl-key-file "$SB/tls/new.key"
check "in effect after the reload" test "$(show ssl_cert_file)" = "$SB/tls/new.crt"

# The server starts again with everything that was applied.
"$CTLDB" -q local stop --dir "$SB" >/dev/null
# The sandbox checks its server with its own CA file: the new one's.
cp "$IT_TMP/other/ca.crt" "$SB/tls/ca.crt"
expect_rc 0 "the server starts again" "$CTLDB" -q local start --dir "$SB"
check "with 168 connections" test "$(show max_connections)" = 168
expect_rc 0 "and the new certificate verifies (verify-full)" "$CTLDB" settings check --only ssl,log_statement

finish
