#!/usr/bin/env bash
# Configuration errors: exit 2 before any connection, naming the variable
# and its origin; JSON stays one document; global options work anywhere.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# A listener that never answers: a command that tried to connect would hang
# on it, so a quick exit 2 proves the check came before any connection.
"$CTLDB_BLACKHOLE" 30 >"$IT_TMP/bh.port" &
BH_PID=$!
at_exit 'kill $BH_PID 2>/dev/null'
for _ in $(seq 50); do [[ -s "$IT_TMP/bh.port" ]] && break; sleep 0.1; done
BH_PORT=$(cat "$IT_TMP/bh.port")

export DB_HOST=127.0.0.1 DB_PORT=$BH_PORT DB_NAME=app DB_USER=appuser
export DB_POOL_CONNECTION_TIMEOUT=20000
unset DB_PASSWORD DB_PASSWORD_FILE DB_SSL_MODE DB_SSL_ROOT_CERT CTLDB_CONFIG PGHOST PGPORT || true

for bad in "DB_PORT=abc" "DB_SSL_MODE=bogus" "DB_TYPE=mysql" "DB_POOL_MAX=-1" "DB_POOL_MAX=0" \
    "DB_POOL_IDLE_TIMEOUT=-5" "DB_POOL_CONNECTION_TIMEOUT=soon" "CTLDB_ENV=prod"; do
    var=${bad%%=*}
    start=$(date +%s%N)
    expect_rc 2 "config check with $bad" env "$bad" "$CTLDB" config check
    elapsed=$((($(date +%s%N) - start) / 1000000))
    check "$bad is reported before connecting (${elapsed} ms)" test "$elapsed" -lt 5000
    check "$bad: message names $var and its origin" stderr_has "$var (environment)"
done

# A hostaddr that is not an address, a client certificate without its key:
# configuration errors (exit 2), not connection failures (exit 3).
expect_rc 2 "DB_HOSTADDR=notanip" env DB_HOSTADDR=notanip "$CTLDB" config check
check "names DB_HOSTADDR and what it expects" stderr_has "DB_HOSTADDR (environment): invalid hostaddr 'notanip'"
expect_rc 0 "DB_HOSTADDR=127.0.0.1 is fine" env DB_HOSTADDR=127.0.0.1 "$CTLDB" config show
expect_rc 0 "DB_HOSTADDR=::1 is fine" env DB_HOSTADDR=::1 "$CTLDB" config show
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=c -days 1 \
    -keyout "$IT_TMP/c.key" -out "$IT_TMP/c.crt" >/dev/null 2>&1
expect_rc 2 "DB_SSL_CERT without DB_SSL_KEY" env DB_SSL_CERT="$IT_TMP/c.crt" "$CTLDB" config check
check "says both are needed" stderr_has "needs both the certificate and its key"
expect_rc 2 "DB_SSL_KEY without DB_SSL_CERT" env DB_SSL_KEY="$IT_TMP/c.key" "$CTLDB" config check
check "names DB_SSL_CERT as missing" stderr_has "DB_SSL_CERT is not"

# Files that exist but are not what they should be: named before connecting,
# not as a misleading TLS failure afterwards.
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$IT_TMP/not-a-cert"
expect_rc 2 "DB_SSL_ROOT_CERT that holds no certificate" env DB_SSL_MODE=verify-full DB_SSL_ROOT_CERT="$IT_TMP/not-a-cert" "$CTLDB" config check
check "says it holds no PEM certificate" stderr_has "holds no PEM certificate"
expect_rc 2 "DB_SSL_ROOT_CERT naming a directory" env DB_SSL_MODE=verify-full DB_SSL_ROOT_CERT="$IT_TMP" "$CTLDB" config check
check "says it is a directory" stderr_has "sslrootcert file .* is a directory"
expect_rc 2 "PGSSLKEY that holds no key" env PGSSLKEY="$IT_TMP/not-a-cert" "$CTLDB" config check
check "says it holds no private key" stderr_has "holds no PEM private key"
expect_rc 2 "DB_PASSWORD_FILE naming a directory" env DB_PASSWORD_FILE="$IT_TMP" "$CTLDB" config check
check "says it is a directory, not empty" stderr_has "DB_PASSWORD_FILE=.*: is a directory"

# A password file that is not a password: refused at once, never read whole
# (a 266 MB file once took ten minutes in SCRAM), never waited on (a FIFO).
truncate -s 100M "$IT_TMP/huge-pw"
start=$(date +%s%N)
expect_rc 2 "a 100 MB DB_PASSWORD_FILE" env DB_PASSWORD_FILE="$IT_TMP/huge-pw" "$CTLDB" config check
elapsed=$((($(date +%s%N) - start) / 1000000))
check "refused at once (${elapsed} ms)" test "$elapsed" -lt 2000
check "says how big and the limit" stderr_has "is 104857600 bytes; a password file holds at most 64 KiB"
mkfifo "$IT_TMP/pw-fifo"
start=$(date +%s%N)
expect_rc 2 "a FIFO as DB_PASSWORD_FILE" timeout 10 env DB_PASSWORD_FILE="$IT_TMP/pw-fifo" "$CTLDB" config check
elapsed=$((($(date +%s%N) - start) / 1000000))
check "refused without waiting for a writer (${elapsed} ms)" test "$elapsed" -lt 2000
check "names the FIFO" stderr_has "is not a regular file (a FIFO)"
expect_rc 2 "a device as DB_PASSWORD_FILE" env DB_PASSWORD_FILE=/dev/zero "$CTLDB" config check
check "names the device" stderr_has "is not a regular file (a device)"

expect_rc 2 "missing host" env -u DB_HOST "$CTLDB" config check
check "missing host names every way to set it" stderr_has "host is not set: set DB_HOST, PGHOST, DATABASE_URL or PGSERVICE, pass --host or --url"

expect_rc 2 "several problems at once" env DB_PORT=abc DB_SSL_MODE=bogus "$CTLDB" config check
check "both problems listed" bash -c "grep -q DB_PORT '$ERR' && grep -q DB_SSL_MODE '$ERR'"
check "a hint follows" stderr_has "^hint: "

expect_rc 2 "bad value as a flag" "$CTLDB" config check --port 0
check "flag origin named" stderr_has "\-\-port (flag)"

expect_rc 2 "JSON output on a config error" env DB_PORT=abc "$CTLDB" config check -o json
check "stdout is one JSON document" stdout_is_json
check "JSON has exit_code 2" json_is /exit_code 2
check "JSON has ok false" json_is /ok false

printf 'database:\n  host: [oops\n' >"$IT_TMP/bad.yaml"
expect_rc 2 "invalid YAML config" "$CTLDB" --config "$IT_TMP/bad.yaml" config check
check "names the file and line" stderr_has "bad.yaml:[0-9]*:[0-9]*: invalid YAML"
expect_rc 2 "missing config file" "$CTLDB" --config "$IT_TMP/none.yaml" config show
expect_rc 2 "CTLDB_CONFIG pointing nowhere" env CTLDB_CONFIG=/nonexistent.yaml "$CTLDB" config show
check "names CTLDB_CONFIG" stderr_has "CTLDB_CONFIG=/nonexistent.yaml"

printf 'database:\n  hots: typo\n' >"$IT_TMP/typo.yaml"
expect_rc 0 "unknown key is only a warning" "$CTLDB" --config "$IT_TMP/typo.yaml" config show
check "warning names the key" stderr_has "unknown key 'database.hots'"
# The team's ConfigMap also holds the application's keys: not warnings, one
# line at -v.
cat >"$IT_TMP/app-cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
data:
  DB_HOST: "db.example"
  NODE_ENV: "development"
  AUTH0_DOMAIN: "x.auth0.com"
  STRIPE_PUBLISHABLE_KEY: "pk_test"
  LOG_LEVEL: "info"
  FEATURE_ADMIN_CENTER: "true"
YAML
expect_rc 0 "a ConfigMap with the application's keys" "$CTLDB" --config "$IT_TMP/app-cm.yaml" config show
check "no warning for them" bash -c "! grep -q 'warning' '$ERR'"
expect_rc 0 "the same with -v" "$CTLDB" -v --config "$IT_TMP/app-cm.yaml" config show
check "one summary line names them" stderr_has "4 ConfigMap key(s) not used by ctldb: AUTH0_DOMAIN, STRIPE_PUBLISHABLE_KEY, LOG_LEVEL, FEATURE_ADMIN_CENTER"
check "and only one" test "$(grep -c 'not used by ctldb' "$ERR")" = 1
expect_rc 0 "-q hides warnings" "$CTLDB" -q --config "$IT_TMP/typo.yaml" config show
check "no warning with -q" bash -c "! grep -q warning '$ERR'"
expect_rc 0 "--log-format json" "$CTLDB" --log-format json --config "$IT_TMP/typo.yaml" config show
check "stderr lines are JSON" bash -c "head -1 '$ERR' | '$CTLDB_JSON_TOOL' check"

expect_rc 2 "unknown option" "$CTLDB" config show --frobnicate
check "says so" stderr_has "frobnicate"
expect_rc 2 "unknown command" "$CTLDB" frobnicate
expect_rc 2 "no command" "$CTLDB"
# With -o json, a command-line error is a JSON document on stdout too.
for args in "-o json config show --frobnicate" "--output=json frobnicate" "-ojson migrate down --check" \
    "config show --password hunter2 -o json" "-o json backup list --keep-last 1"; do
    # shellcheck disable=SC2086
    expect_rc 2 "usage error with JSON asked: $args" "$CTLDB" $args
    check "stdout is one JSON document ($args)" stdout_is_json
    check "exit_code 2 in it ($args)" json_is /exit_code 2
    check "ok false in it ($args)" json_is /ok false
done
check "the mistaken password is in neither stream" output_lacks hunter2
expect_rc 2 "bad --output" "$CTLDB" --output yaml config show
expect_rc 2 "prometheus output is only for pool-stats" "$CTLDB" config show -o prometheus
expect_rc 0 "--help" "$CTLDB" --help
check "help lists commands" stdout_has "config"
expect_rc 0 "--version" "$CTLDB" --version
check "version line" stdout_has "^ctldb [0-9]"
expect_rc 0 "version -o json" "$CTLDB" version -o json
check "version JSON" stdout_is_json

# Global options after the command name, and flag > env precedence.
expect_rc 0 "global options after the command" "$CTLDB" config show --port 6000 -o json
check "port 6000 from --port" json_is /settings/port/value 6000
check "origin flag" json_is /settings/port/origin flag
expect_rc 0 "env origin" "$CTLDB" config show -o json
check "DB_PORT from environment" json_is /settings/port/source DB_PORT

# The password is never shown.
SECRET='Sup3r-Secret_Value!42'
expect_rc 0 "config show with a password" env DB_PASSWORD="$SECRET" "$CTLDB" config show
check "text shows ********" stdout_has '\*\*\*\*\*\*\*\*'
check "text never shows the password" output_lacks "$SECRET"
expect_rc 0 "config show JSON with a password" env DB_PASSWORD="$SECRET" "$CTLDB" config show -o json
check "JSON never shows the password" output_lacks "$SECRET"
check "JSON marks it secret" json_is /settings/password/secret true
expect_rc 2 "password flag does not exist" "$CTLDB" config show --password x

finish
