#!/usr/bin/env bash
# `ctldb local`: start, status, env, stop, restart, destroy, and its errors.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_server_binaries
unset DB_PASSWORD DB_PASSWORD_FILE CTLDB_CONFIG || true

SB="$IT_TMP/sb"
expect_rc 1 "status before creation" "$CTLDB" local status --dir "$SB"
check "absent" stdout_has "absent"
expect_rc 1 "env before creation" "$CTLDB" local env --dir "$SB"

expect_rc 0 "start creates the sandbox" "$CTLDB" local start --dir "$SB" --port 0 -o json
check "JSON document" stdout_is_json
check "created" json_is /created true
check "TLS proven" bash -c "grep -q '\"tls\": \"TLSv1\.[23]\"' '$OUT'"
PORT=$(json_get /port)

check "password file is 0600" test "$(stat -c %a "$SB/password")" = 600
check "server key is 0600" test "$(stat -c %a "$SB/tls/server.key")" = 600
check "CA key is 0600" test "$(stat -c %a "$SB/tls/ca.key")" = 600
check "data directory is 0700" test "$(stat -c %a "$SB/data")" = 700
if [[ $EUID == 0 ]]; then
    check "server runs as postgres, not root" test "$(stat -c %U "$SB/data")" = postgres
    check "postmaster not root" test "$(stat -c %U "/proc/$(head -1 "$SB/data/postmaster.pid")")" = postgres
fi
check "only 127.0.0.1 listens" grep -q "listen_addresses = '127.0.0.1'" "$SB/data/ctldb.conf"
check "guide's autovacuum naptime" grep -q "autovacuum_naptime = '1min'" "$SB/data/ctldb.conf"
PASSWORD=$(cat "$SB/password")
check "generated password is 16+ characters" test "${#PASSWORD}" -ge 16

expect_rc 0 "status running" "$CTLDB" local status --dir "$SB"
check "running" stdout_has "running"

expect_rc 0 "env" "$CTLDB" local env --dir "$SB"
check "exports every DB_* setting" bash -c "for v in DB_TYPE DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD_FILE DB_SSL_MODE DB_SSL_ROOT_CERT DB_POOL_MAX DB_POOL_IDLE_TIMEOUT DB_POOL_CONNECTION_TIMEOUT; do grep -q \"^export \$v=\" '$OUT' || exit 1; done"
check "verify-full" stdout_has "DB_SSL_MODE='verify-full'"
check "the password itself is not printed" output_lacks "$PASSWORD"
(
    eval "$(cat "$OUT")"
    expect_rc 0 "eval \$(local env) then config check" "$CTLDB" config check -o json
    check "as appuser on cloudtolocalllm" json_is /server/database cloudtolocalllm
    finish >/dev/null
) || IT_FAILED=$((IT_FAILED + 1))

expect_rc 0 "start again is a no-op" "$CTLDB" local start --dir "$SB" -o json
check "not created again" json_is /created false

# A second sandbox on the busy port: clear error, nothing left behind.
expect_rc 2 "busy port" "$CTLDB" local start --dir "$IT_TMP/sb2" --port "$PORT"
check "says the port is not available" stderr_has "port $PORT on 127.0.0.1 is not available"
expect_rc 2 "a privileged port (the server never runs as root)" "$CTLDB" local start --dir "$IT_TMP/sb80" --port 80
check "says why, before initdb" bash -c "grep -q 'port 80 is privileged' '$ERR' && [[ ! -e '$IT_TMP/sb80' ]]"
check "no directory left behind" test ! -e "$IT_TMP/sb2"

expect_rc 2 "missing server binaries" env CTLDB_PG_BINDIR=/nonexistent "$CTLDB" local start --dir "$IT_TMP/sb3" --port 0
check "names CTLDB_PG_BINDIR" stderr_has "CTLDB_PG_BINDIR"
check "nothing created" test ! -e "$IT_TMP/sb3"

mkdir -p "$IT_TMP/foreign/data"
expect_rc 2 "refuses a directory it did not make" "$CTLDB" local start --dir "$IT_TMP/foreign" --port 0
expect_rc 1 "destroy refuses a directory it did not make" "$CTLDB" local destroy --yes --dir "$IT_TMP/foreign"
check "foreign directory untouched" test -d "$IT_TMP/foreign/data"

expect_rc 0 "stop" "$CTLDB" local stop --dir "$SB"
expect_rc 1 "status after stop" "$CTLDB" local status --dir "$SB" -o json
check "stopped" json_is /state stopped
expect_rc 0 "stop again is fine" "$CTLDB" local stop --dir "$SB"
expect_rc 0 "restart keeps the data" "$CTLDB" local start --dir "$SB" -o json
check "same port" json_is /port "$PORT"
check "same password" test "$(cat "$SB/password")" = "$PASSWORD"

expect_rc 2 "destroy without --yes and no terminal" "$CTLDB" local destroy --dir "$SB"
check "still there" test -f "$SB/sandbox.json"
PM_PID=$(head -1 "$SB/data/postmaster.pid")
expect_rc 0 "destroy --yes" "$CTLDB" local destroy --yes --dir "$SB"
check "directory removed" test ! -e "$SB"
check "server process gone" bash -c "for _ in \$(seq 30); do [[ -e /proc/$PM_PID ]] || exit 0; sleep 0.1; done; exit 1"
expect_rc 1 "status after destroy" "$CTLDB" local status --dir "$SB"

finish
