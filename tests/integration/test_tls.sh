#!/usr/bin/env bash
# gen-certs and check-ssl against real servers: certificates PostgreSQL
# loads and verify-full accepts by every SAN, expiry, wrong names, ssl=off,
# non-TLS clients, CA rotation.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_server_binaries
unset DB_PASSWORD CTLDB_CONFIG || true
BIN=$(pg_bindir)
G="$IT_TMP/certs"

expect_rc 0 "gen-certs" "$CTLDB" gen-certs --out "$G" --san localhost --ip 127.0.0.1 --san 10.9.8.7 -o json
for f in ca.crt ca.key server.crt server.key; do check "$f written" test -f "$G/$f"; done
check "ca.key 0600" test "$(stat -c %a "$G/ca.key")" = 600
check "server.key 0600" test "$(stat -c %a "$G/server.key")" = 600
check "server.crt 0644" test "$(stat -c %a "$G/server.crt")" = 644
if command -v openssl >/dev/null; then
    check "openssl verify -CAfile ca.crt server.crt" openssl verify -CAfile "$G/ca.crt" "$G/server.crt"
    TEXT=$(openssl x509 -in "$G/server.crt" -noout -text)
    for n in "DNS:postgres," "DNS:postgres.cloudtolocalllm," "DNS:postgres.cloudtolocalllm.svc," \
        "DNS:postgres.cloudtolocalllm.svc.cluster.local" "DNS:localhost" "IP Address:127.0.0.1" "IP Address:10.9.8.7"; do
        check "SAN $n" grep -qF "$n" <<<"$TEXT"
    done
    check "an IP given as --san is not a DNS name" bash -c "! grep -qF 'DNS:10.9.8.7' <<<'$TEXT'"
    check "CN is the full service name" grep -q "Subject: CN *= *postgres.cloudtolocalllm.svc.cluster.local" <<<"$TEXT"
    check "CA:FALSE, serverAuth" bash -c "grep -q 'CA:FALSE' <<<'$TEXT' && grep -q 'TLS Web Server Authentication' <<<'$TEXT'"
    check "SHA-256 signature" grep -q "ecdsa-with-SHA256" <<<"$TEXT"
    CATEXT=$(openssl x509 -in "$G/ca.crt" -noout -text)
    check "CA: CA:TRUE, pathlen 0" grep -q "CA:TRUE, pathlen:0" <<<"$CATEXT"
    check "CA key usage" grep -q "Certificate Sign, CRL Sign" <<<"$CATEXT"
fi
before=$(sha256sum "$G/server.key")
expect_rc 2 "existing files are not overwritten" "$CTLDB" gen-certs --out "$G"
check "untouched" test "$(sha256sum "$G/server.key")" = "$before"
echo not-a-dir >"$IT_TMP/plainfile"
expect_rc 2 "--out naming a regular file" "$CTLDB" gen-certs --out "$IT_TMP/plainfile"
check "says it is not a directory" stderr_has "is not a directory"
check "and leaves the file alone" test "$(cat "$IT_TMP/plainfile")" = not-a-dir
expect_rc 2 "--days over 366" "$CTLDB" gen-certs --out "$IT_TMP/x1" --days 400
expect_rc 2 "--ip that is not an address" "$CTLDB" gen-certs --out "$IT_TMP/x2" --ip not-an-ip
expect_rc 2 "--san that is not a name" "$CTLDB" gen-certs --out "$IT_TMP/x3" --san 'bad name!'
expect_rc 2 "--ca-cert without --ca-key" "$CTLDB" gen-certs --out "$IT_TMP/x4" --ca-cert "$G/ca.crt"
expect_rc 2 "--ca-key that does not match" "$CTLDB" gen-certs --out "$IT_TMP/x5" --ca-cert "$G/ca.crt" --ca-key "$G/server.key"
check "nothing written for bad input" test ! -e "$IT_TMP/x1/server.crt"
expect_rc 0 "rsa, client certificates, Kubernetes secret" "$CTLDB" gen-certs --out "$IT_TMP/rsa" --key-type rsa --client appuser --k8s-secret postgres-ssl
check "client certificate for appuser" test -f "$IT_TMP/rsa/client-appuser.crt"
if command -v openssl >/dev/null; then
    check "client CN=appuser with clientAuth" bash -c "openssl x509 -in '$IT_TMP/rsa/client-appuser.crt' -noout -text | grep -q 'TLS Web Client Authentication' && openssl x509 -in '$IT_TMP/rsa/client-appuser.crt' -noout -subject | grep -q 'CN *= *appuser'"
    check "RSA 2048 leaf" bash -c "openssl x509 -in '$IT_TMP/rsa/server.crt' -noout -text | grep -q '2048 bit'"
fi
check "secret manifest with the server, CA and client secrets" test "$(grep -c '^kind: Secret' "$IT_TMP/rsa/postgres-ssl.yaml")" = 3
check "the client's Secret" grep -q '^  name: postgres-ssl-client-appuser$' "$IT_TMP/rsa/postgres-ssl.yaml"
check "prints the working mount" stdout_has "defaultMode: 0440"
check "prints client settings" stdout_has "DB_SSL_MODE=verify-full"

# A real server with gen-certs' key and certificate as produced.
use_private_server sb
install_server_cert() {
    cp "$1/server.crt" "$SB/tls/server.crt"
    cp "$1/server.key" "$SB/tls/server.key"
    cp "$1/ca.crt" "$SB/tls/ca.crt"
    if [[ $EUID == 0 ]]; then chown postgres "$SB/tls/server.key"; fi
}
install_server_cert "$G"
expect_rc 0 "the server restarts with gen-certs' certificate" "$CTLDB" local stop --dir "$SB"
expect_rc 0 "started" "$CTLDB" local start --dir "$SB"
export DB_SSL_ROOT_CERT="$G/ca.crt" DB_SSL_MODE=verify-full
for name in postgres postgres.cloudtolocalllm postgres.cloudtolocalllm.svc postgres.cloudtolocalllm.svc.cluster.local localhost; do
    expect_rc 0 "verify-full through $name" "$CTLDB" config check --host "$name" --hostaddr 127.0.0.1
done
expect_rc 0 "verify-full through the IP SAN" "$CTLDB" config check --host 127.0.0.1

expect_rc 0 "check-ssl on a healthy server" "$CTLDB" check-ssl -o json
check "JSON has days_left" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /days_left <'$OUT') -ge 364 ]]"
check "non_ssl_connections 0" json_is /non_ssl_connections 0
check "chain verified" bash -c "grep -q 'verified against' '$OUT'"
if command -v openssl >/dev/null; then
    S_CLIENT=$(echo | openssl s_client -starttls postgres -connect "127.0.0.1:$DB_PORT" 2>/dev/null | openssl x509 -noout -fingerprint -sha256 -enddate)
    check "fingerprint matches openssl s_client" grep -qF "Fingerprint=$(json_get /fingerprint_sha256)" <<<"$S_CLIENT"
    END=$(sed -n 's/notAfter=//p' <<<"$S_CLIENT")
    check "expiry matches openssl s_client" test "$(date -u -d "$END" +%Y-%m-%dT%H:%M:%SZ)" = "$(json_get /certificate/not_after)"
fi
expect_rc 1 "--warn-days beyond the expiry fails" "$CTLDB" check-ssl --warn-days 400
check "says within --warn-days" stdout_has "within --warn-days 400"

expect_rc 1 "wrong host name: check-ssl reports it (exit 1)" "$CTLDB" check-ssl --host wrong.example.com --hostaddr 127.0.0.1
check "host name fails" stdout_has "does NOT match"
expect_rc 3 "wrong host name: verify-full refuses (exit 3)" "$CTLDB" config check --host wrong.example.com --hostaddr 127.0.0.1
expect_rc 1 "a CA that did not sign it" "$CTLDB" check-ssl --ca "$IT_TMP/rsa/ca.crt"
check "chain fails" stdout_has "^chain *fail"

# Rotation: a new server certificate from the same CA, expiring soon;
# clients holding the old ca.crt keep working.
G2="$IT_TMP/certs2"
expect_rc 0 "re-issue from the existing CA" "$CTLDB" gen-certs --out "$G2" --san localhost --ip 127.0.0.1 --days 10 --ca-cert "$G/ca.crt" --ca-key "$G/ca.key"
check "no new CA key written" test ! -e "$G2/ca.key"
install_server_cert "$G2"
superuser_psql_sb() { runuser -u postgres -- "$BIN/psql" -X -q -At -h "$SB/socket" -p "$DB_PORT" -d postgres "$@"; }
superuser_psql_sb -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
expect_rc 0 "clients with the old ca.crt still connect verify-full" "$CTLDB" config check
expect_rc 1 "expiring certificate fails check-ssl" "$CTLDB" check-ssl -o json
check "days_left about 10" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /days_left <'$OUT') -le 10 ]]"
expect_rc 1 "critical within --critical-days" "$CTLDB" check-ssl --critical-days 20
check "says critical" stdout_has "critical"

# A client without TLS is found.
("$BIN/psql" -X -q "host=127.0.0.1 port=$DB_PORT dbname=cloudtolocalllm user=appuser sslmode=disable password=$(cat "$DB_PASSWORD_FILE")" -c "SELECT pg_sleep(6)" >/dev/null 2>&1 &)
wait_for bash -c "[[ \$(runuser -u postgres -- '$BIN/psql' -X -At -h '$SB/socket' -p '$DB_PORT' -d postgres -c \"SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE NOT s.ssl AND a.client_addr IS NOT NULL\") -ge 1 ]]"
expect_rc 1 "a non-TLS client connected" "$CTLDB" check-ssl --warn-days 1 --critical-days 1 -o json
check "non_ssl_connections 1" json_is /non_ssl_connections 1

# Over the Unix socket TLS does not apply: said so, not "sslmode verify-full".
expect_rc 1 "check-ssl over the Unix socket" env DB_HOST="$SB/socket" "$CTLDB" check-ssl
check "says TLS does not apply there" stdout_has "Unix socket .* TLS does not apply"

# ssl = off on the server.
superuser_psql_sb -c "ALTER SYSTEM SET ssl = off" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
expect_rc 3 "ssl=off under require: cannot connect" "$CTLDB" check-ssl --sslmode require
check "hint about ssl=off" stderr_has "ssl=off"
expect_rc 1 "ssl=off under prefer: connects, TLS not in use" "$CTLDB" check-ssl --sslmode prefer -o json
check "tls.in_use false" json_is /tls/in_use false
check "server ssl off reported" bash -c "grep -q '\"ssl\": \"off\"' '$OUT'"

# gen-certs --force killed at any moment: every key on disk matches its
# certificate (old pair or new, never a new key beside an old certificate),
# and a later run cleans the staging a killed one left.
ROT="$IT_TMP/rotate"
"$CTLDB" -q gen-certs --out "$ROT/tls" --cn db.example --client appuser >/dev/null
pair_matches() {
    local d=$1 n
    for n in server client-appuser ca; do
        [[ "$(openssl x509 -noout -pubkey -in "$d/$n.crt" 2>/dev/null)" == \
            "$(openssl pkey -pubout -in "$d/$n.key" 2>/dev/null)" ]] || return 1
    done
    openssl verify -CAfile "$d/ca.crt" "$d/server.crt" >/dev/null 2>&1
}
check "the first pair matches" pair_matches "$ROT/tls"
mismatch=0
killed=0
for i in $(seq 60); do
    kt=ec
    ((i % 3 == 0)) && kt=rsa
    "$CTLDB" -q gen-certs --out "$ROT/tls" --cn db.example --client appuser --key-type "$kt" --force >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
    wait "$pid" 2>/dev/null || true
    pair_matches "$ROT/tls" || { mismatch=$((mismatch + 1)); ls -la "$ROT/tls" >&2; }
done
check "60 rotations killed at random moments ($killed killed): every pair matches" test "$mismatch" = 0
expect_rc 0 "a rotation after the kills" "$CTLDB" gen-certs --out "$ROT/tls" --cn db.example --client appuser --force
check "its pair matches" pair_matches "$ROT/tls"
check "no staging left beside it" test -z "$(ls -A "$ROT" | grep -v '^tls$')"
check "modes kept" test "$(stat -c %a "$ROT/tls/server.key")$(stat -c %a "$ROT/tls/server.crt")" = 600644

finish
