# Shared helpers for the integration suites. Each suite sources this file,
# calls `check ...` / `expect_rc ...`, and ends with `finish`, which prints
# "N passed, N failed" and exits non-zero on any failure.
: "${CTLDB:?set CTLDB to the ctldb binary}"

IT_PASSED=0
IT_FAILED=0
IT_TMP=$(mktemp -d /tmp/ctldb-suite.XXXXXX)
chmod 755 "$IT_TMP"
# Background sessions started by hold_session, ended at exit.
IT_BG=()
end_sessions() {
    for p in "${IT_BG[@]}"; do kill -- "-$p" 2>/dev/null || true; done
    IT_BG=()
}
# Work to undo at exit, registered with at_exit and run last first (a
# suite's own cluster, a mount, a background process); then the sessions
# and the suite's temporary directory. Suites never set their own EXIT trap.
IT_CLEANUPS=()
at_exit() { IT_CLEANUPS+=("$1"); }
run_cleanups() {
    local i
    for ((i = ${#IT_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${IT_CLEANUPS[i]}" || true; done
    IT_CLEANUPS=()
}
trap 'run_cleanups; end_sessions; rm -rf "$IT_TMP"' EXIT
OUT="$IT_TMP/stdout"
ERR="$IT_TMP/stderr"

pg_bindir() {
    if [[ -n "${CTLDB_PG_BINDIR:-}" ]]; then echo "$CTLDB_PG_BINDIR"; return; fi
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

# Exit 77 (ctest: skipped) when there is no PostgreSQL server to test with.
require_server_binaries() {
    local d
    d=$(pg_bindir)
    if [[ -z "$d" || ! -x "$d/initdb" ]]; then
        echo "SKIP: PostgreSQL server binaries not found"
        exit 77
    fi
}

# Load the shared server's location and export the sandbox's DB_* settings.
use_shared_server() {
    : "${CTLDB_IT_STATE:?}"
    source "$CTLDB_IT_STATE"
    export IT_SANDBOX IT_ROOT
    eval "$("$CTLDB" local env --dir "$IT_SANDBOX")"
}

# The opening of a suite that runs against the fixture's shared server.
suite_on_shared_server() {
    require_server_binaries
    use_shared_server
}

# private_server [DIR]: a cluster of the suite's own in $IT_TMP/DIR (default
# sb), started by ctldb local start on a free port and destroyed at exit;
# SB names its directory. For what the shared server must not see: its
# settings changed, its certificates replaced, stopped and started.
private_server() {
    SB=$IT_TMP/${1:-sb}
    "$CTLDB" -q local start --dir "$SB" --port 0 >/dev/null
    at_exit "\"\$CTLDB\" local destroy --yes --dir '$SB' >/dev/null 2>&1"
}

# use_private_server [DIR]: private_server, with DB_* pointing at it.
use_private_server() {
    private_server "$@"
    eval "$("$CTLDB" local env --dir "$SB")"
}

# Run as the local superuser over the sandbox's Unix socket.
superuser_psql() {
    local port
    port=$("$CTLDB" local env --dir "$IT_SANDBOX" -o json | sed -n 's/.*"DB_PORT": "\([0-9]*\)".*/\1/p')
    runuser -u postgres -- "$(pg_bindir)/psql" -X -q -At -h "$IT_SANDBOX/socket" -p "$port" \
        -d "${SUPERUSER_DB:-postgres}" -U postgres "$@"
}

pass() { IT_PASSED=$((IT_PASSED + 1)); echo "ok - $1"; }
fail() {
    IT_FAILED=$((IT_FAILED + 1))
    echo "FAIL - $1"
    if [[ -s "$OUT" ]]; then echo "  stdout:"; sed 's/^/    /' "$OUT" | head -40; fi
    if [[ -s "$ERR" ]]; then echo "  stderr:"; sed 's/^/    /' "$ERR" | head -40; fi
}

# run CMD...: run with stdout/stderr captured in $OUT/$ERR, exit code in $RC.
run() {
    set +e
    "$@" >"$OUT" 2>"$ERR" </dev/null
    RC=$?
    set -e
}

# expect_rc N DESCRIPTION CMD...
expect_rc() {
    local want=$1 desc=$2
    shift 2
    run "$@"
    if [[ "$RC" == "$want" ]]; then pass "$desc (exit $RC)"; else fail "$desc: exit $RC, expected $want"; fi
}

# check DESCRIPTION TEST-COMMAND...: a plain assertion.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# Assertions on the last run's output.
stdout_has() { grep -q -e "$1" "$OUT"; }
stderr_has() { grep -q -e "$1" "$ERR"; }
stdout_lacks() { ! grep -q -F -e "$1" "$OUT"; }
output_lacks() { ! grep -q -F -e "$1" "$OUT" "$ERR"; }
stdout_is_json() { "$CTLDB_JSON_TOOL" check <"$OUT"; }
# json_get POINTER: value at a JSON pointer in the last stdout.
json_get() { "$CTLDB_JSON_TOOL" get "$1" <"$OUT"; }
# json_is POINTER VALUE
json_is() { [[ "$(json_get "$1")" == "$2" ]]; }

finish() {
    echo "$IT_PASSED passed, $IT_FAILED failed"
    [[ "$IT_FAILED" == 0 ]]
}

# fresh_database NAME: (re)create database NAME owned by appuser and point
# DB_NAME (and superuser_psql) at it.
fresh_database() {
    SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1
    SUPERUSER_DB=postgres superuser_psql -c "CREATE DATABASE $1 OWNER appuser" >/dev/null
    export DB_NAME=$1 SUPERUSER_DB=$1
}

# use_production_role NAME: connect as the fixture's production-like role
# (owner of database NAME, which is created afresh, and of nothing else; no
# pg_monitor, pg_read_all_settings, CREATEDB or superuser).
use_production_role() {
    SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1
    SUPERUSER_DB=postgres superuser_psql -c "CREATE DATABASE $1 OWNER ctldb_prod" >/dev/null
    export DB_NAME=$1 SUPERUSER_DB=$1 DB_USER=ctldb_prod DB_PASSWORD_FILE=$IT_ROOT/prod.password
}

# prod_psql ARGS...: psql as the production role into $DB_NAME (verify-full).
prod_psql() {
    PGPASSWORD=$(cat "$IT_ROOT/prod.password") "$(pg_bindir)/psql" -X -q -At -v ON_ERROR_STOP=1 \
        "host=$DB_HOST port=$DB_PORT dbname=$DB_NAME user=ctldb_prod sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT" "$@"
}

# sql QUERY: one value from the current test database, as superuser.
sql() { superuser_psql -c "$1"; }

# app_psql DB ARGS...: psql as the sandbox's appuser (verify-full) into DB.
app_psql() {
    PGPASSWORD=$(cat "$DB_PASSWORD_FILE") "$(pg_bindir)/psql" -X -q -At \
        "host=$DB_HOST port=$DB_PORT dbname=$1 user=$DB_USER sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT" "${@:2}"
}

export -f pg_bindir superuser_psql sql app_psql

# signal_and_wait SIGNAL PID: send SIGNAL to PID (started in the background
# with stdout/stderr in $OUT/$ERR), wait for it; sets RC and ELAPSED_MS
# (from the signal to its exit).
signal_and_wait() {
    local start
    start=$(date +%s%N)
    kill "-$1" "$2"
    set +e
    wait "$2"
    RC=$?
    set -e
    ELAPSED_MS=$((($(date +%s%N) - start) / 1000000))
}

# wait_for COMMAND...: poll up to 10 s until COMMAND succeeds.
wait_for() {
    for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done
    return 1
}

# hold_session DB SECONDS SQL...: a psql session as appuser into DB that
# runs SQL and then stays connected (idle, or idle in the transaction SQL
# opened) for SECONDS. Each runs in a process group of its own (killed
# whole by end_sessions and at exit), with no descriptor of the suite's
# output, so nothing outlives the suite.
hold_session() {
    local db=$1 secs=$2 script=""
    shift 2
    for s in "$@"; do script+="$s"$'\n'; done
    setsid bash -c '{ printf "%s" "$1"; sleep "$2"; } | app_psql "$3"' _ "$script" "$secs" "$db" \
        </dev/null >/dev/null 2>&1 &
    IT_BG+=($!)
}

# --- object storage -----------------------------------------------------------
# start_radosgw: a throwaway Ceph cluster (one monitor, one memstore OSD,
# radosgw on 127.0.0.1 over HTTP and HTTPS) in $IT_TMP/ceph, an S3 user and
# the bucket $S3_BUCKET. Sets S3_HTTP (http://127.0.0.1:PORT), S3_HTTPS
# (https://127.0.0.1:PORT, certificate from ctldb gen-certs, CA in S3_CA)
# and exports AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. Skips the suite (77)
# when Ceph is not installed. radosgw_gone_while takes radosgw away for 3 s.
have_radosgw() { command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null; }
ports_free() {  # ports_free FIRST COUNT
    python3 - "$1" "$2" <<'PY'
import socket, sys
first, count = int(sys.argv[1]), int(sys.argv[2])
for p in range(first, first + count):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
}
start_radosgw() {
    have_radosgw || { echo "skip: radosgw, ceph-mon and ceph-osd are not installed (scripts/install-deps)"; exit 77; }
    local d="$IT_TMP/ceph" base fsid i
    for i in $(seq 20); do
        base=$((20000 + (RANDOM % 4000) * 10))
        ports_free "$base" 50 && break
    done
    rm -rf "$d"
    mkdir -p "$d"/{run,log,crash,mon,osd/ceph-0,rgw,certs}
    fsid=$(cat /proc/sys/kernel/random/uuid)
    S3_HTTP="http://127.0.0.1:$((base + 1))"
    S3_HTTPS="https://127.0.0.1:$((base + 2))"
    "$CTLDB" -q gen-certs --out "$d/certs" --cn 127.0.0.1 --ip 127.0.0.1 >/dev/null
    S3_CA="$d/certs/ca.crt"
    cat >"$d/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$base
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
ms bind port min = $((base + 10))
ms bind port max = $((base + 49))
ms mon client mode = crc
public addr = 127.0.0.1
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
osd crush chooseleaf type = 0
paxos propose interval = 0.05
paxos min wait = 0.01
run dir = $d/run
admin socket = $d/run/\$name.asok
log file = $d/log/\$name.log
mon cluster log file = $d/log/cluster.log
crash dir = $d/crash
mon data = $d/mon/\$cluster-\$id
osd data = $d/osd/\$cluster-\$id
keyring = $d/keyring
rgw data = $d/rgw
pid file = $d/run/\$name.pid
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$((base + 1)) ssl_endpoint=127.0.0.1:$((base + 2)) ssl_certificate=$d/certs/server.crt ssl_private_key=$d/certs/server.key
CONF
    CEPH_CONF="$d/ceph.conf"
    at_exit "stop_ceph"
    monmaptool --create --addv a "[v2:127.0.0.1:$base]" --fsid "$fsid" "$d/monmap" >/dev/null
    ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$d/monmap" 2>>"$d/log/setup.log"
    ceph-mon -c "$CEPH_CONF" -i a 2>>"$d/log/setup.log"
    ceph -c "$CEPH_CONF" osd create >/dev/null 2>>"$d/log/setup.log"
    ceph-osd -c "$CEPH_CONF" -i 0 --mkfs 2>>"$d/log/setup.log"
    ceph-osd -c "$CEPH_CONF" -i 0 2>>"$d/log/setup.log"
    radosgw -c "$CEPH_CONF" -n client.rgw.a 2>>"$d/log/setup.log"
    for i in $(seq 200); do
        curl -s -o /dev/null "$S3_HTTP/" && break
        sleep 0.1
    done
    export AWS_ACCESS_KEY_ID=CTLDBTESTACCESSKEY AWS_SECRET_ACCESS_KEY="ctldb-test-secret-$RANDOM$RANDOM"
    radosgw-admin -c "$CEPH_CONF" user create --uid ctldb --display-name ctldb \
        --access-key "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" >/dev/null 2>>"$d/log/setup.log"
    S3_BUCKET=ctldb-it
    s3_curl -X PUT "$S3_HTTP/$S3_BUCKET" >/dev/null
}
# s3_curl ARGS: curl signing with the test user's keys (never on argv:
# the keys come from a file curl reads).
s3_curl() {
    local cfg="$IT_TMP/ceph/curl.cfg"
    printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$cfg"
    chmod 600 "$cfg"
    curl -sS -K "$cfg" --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
# The keys under a prefix of the bucket (one per line), and the incomplete
# uploads (their ids). Query values are encoded as SigV4 signs them.
s3_keys() { s3_curl "$S3_HTTP/$S3_BUCKET?list-type=2&prefix=$(s3_enc "${1:-}")" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' || true; }
s3_uploads() { s3_curl "$S3_HTTP/$S3_BUCKET?prefix=$(s3_enc "${1:-}")&uploads=" | grep -o '<UploadId>[^<]*</UploadId>' | sed 's/<[^>]*>//g' || true; }
s3_enc() { printf '%s' "$1" | sed 's|/|%2F|g'; }
rgw_pid() { cat "$IT_TMP/ceph/run/client.rgw.a.pid" 2>/dev/null; }
# radosgw_gone_while PID: radosgw killed now and started again 3 s later,
# then PID (a ctldb in the background) waited for; RC is its exit code.
radosgw_gone_while() {
    kill "$(rgw_pid)"
    sleep 3
    radosgw -c "$CEPH_CONF" -n client.rgw.a 2>>"$IT_TMP/ceph/log/setup.log"
    set +e
    wait "$1"
    RC=$?
    set -e
}
stop_ceph() {
    local f
    for f in "$IT_TMP"/ceph/run/*.pid; do [[ -e "$f" ]] && kill "$(cat "$f")" 2>/dev/null; done
    sleep 0.2
    for f in "$IT_TMP"/ceph/run/*.pid; do [[ -e "$f" ]] && kill -9 "$(cat "$f")" 2>/dev/null; done
    return 0
}
