#!/usr/bin/env bash
# Every file bounded, every child connected exactly as ctldb is, every
# answer on time: special files where ctldb reads a file, a service file
# and PGPASSFILE around the children, slow and idle HTTP clients, a key
# given twice, a lock held by a migration.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
export PGPASSWORD
PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
su_sql() { SUPERUSER_DB=postgres superuser_psql -c "$1"; }
fresh_database it_hostile
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed generate --users 200 --random-seed 3 >/dev/null

# Special files: a FIFO, a directory, a socket, a 2 GiB sparse file.
S="$IT_TMP/special"
mkdir -p "$S/dir"
mkfifo "$S/fifo"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$S/socket"
truncate -s 2G "$S/sparse"
# within2 RC NAME CMD...: exit code RC, within 2 s, and the message names
# what the file is.
within2() {
    local want=$1 name=$2 start ms
    shift 2
    start=$(date +%s%N)
    run timeout 10 "$@"
    ms=$((($(date +%s%N) - start) / 1000000))
    if [[ "$RC" == "$want" && "$ms" -lt 2000 ]]; then
        pass "$name: exit $RC in $ms ms"
    else
        fail "$name: exit $RC in $ms ms (wanted $want within 2000 ms)"
    fi
}
what_of() {
    case $1 in
        fifo) echo "a FIFO" ;;
        dir) echo "directory" ;;
        socket) echo "a socket" ;;
        sparse) echo "bytes, more than" ;;
    esac
}
combos=0
for kind in fifo dir socket sparse; do
    f="$S/$kind"
    for var in DB_SSL_ROOT_CERT DB_SSL_CERT DB_SSL_KEY; do
        within2 2 "$var=$kind: wait --timeout 2" env "$var=$f" "$CTLDB" wait --timeout 2
        check "$var=$kind: named" stderr_has "$(what_of "$kind")"
        combos=$((combos + 1))
    done
    within2 2 "--config $kind: backup list" "$CTLDB" --config "$f" backup list --dir "$IT_TMP"
    check "--config $kind: named" stderr_has "$(what_of "$kind")"
    within2 2 "CTLDB_CONFIG=$kind: doctor" env CTLDB_CONFIG="$f" "$CTLDB" doctor
    check "CTLDB_CONFIG=$kind: named" stderr_has "$(what_of "$kind")"
    within2 2 "DB_PASSWORD_FILE=$kind: config check --offline" env DB_PASSWORD_FILE="$f" "$CTLDB" config check --offline
    combos=$((combos + 3))
done
for kind in fifo socket sparse; do
    within2 1 "check-ssl --ca $kind" "$CTLDB" check-ssl --ca "$S/$kind"
    check "check-ssl --ca $kind: named" stdout_has "$(what_of "$kind")"
    combos=$((combos + 1))
done
within2 1 "backup verify of a FIFO" "$CTLDB" backup verify "$S/fifo" --no-manifest
within2 1 "restore of a FIFO" "$CTLDB" restore "$S/fifo" --no-manifest --target-db it_hostile_x --create --yes
M="$IT_TMP/migs"
mkdir -p "$M"
mkfifo "$M/0001_init.sql"
within2 1 "migrate status --dir with a FIFO migration" "$CTLDB" migrate status --dir "$M"
check "the FIFO named" stderr_has "a FIFO"
combos=$((combos + 3))
check "at least 20 combinations ($combos)" test "$combos" -ge 20

# A backup directory with a FIFO named like a manifest.
B="$IT_TMP/backups"
mkdir -p "$B"
"$CTLDB" -q backup --dir "$B" -o json >"$OUT"
GOOD=$(json_get /path)
mkfifo "$B/backup-20260101-000000.json"
: >"$B/backup-20260101-000000.sql.gz"
mkfifo "$B/backup-20260102-000000.sql.gz"
within2 0 "backup list beside a FIFO manifest" "$CTLDB" backup list --dir "$B"
check "lists it as a bad manifest, a FIFO" stdout_has "bad manifest: it is a FIFO"
within2 0 "backup beside it" "$CTLDB" -q backup --dir "$B"
within2 0 "prune beside it" "$CTLDB" backup prune --dir "$B" --keep-last 5
within2 0 "restore latest beside it" "$CTLDB" -q restore latest --dir "$B" --target-db it_hostile_r --create --yes
within2 0 "doctor's backups beside it" "$CTLDB" doctor --checks backups --backup-dir "$B"
within2 0 "metrics beside it" "$CTLDB" metrics --backup-dir "$B"
check "the good backups counted" stdout_has 'ctldb_backups_usable{database="it_hostile"} 2'
su_sql "DROP DATABASE IF EXISTS it_hostile_r WITH (FORCE)" >/dev/null

# Children connect exactly as ctldb: a service file naming another port,
# then one turning TLS off, with PGSERVICE set; ctldb is configured for
# verify-full. Every connection of backup and restore --jobs is logged.
LOG="$IT_SANDBOX/log/server.log"
su_sql "ALTER SYSTEM SET log_connections = on" >/dev/null
su_sql "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
printf '[elsewhere]\nhost=127.0.0.1\nport=1\n\n[plain]\nsslmode=disable\n' >"$IT_TMP/pg_service.conf"
mkdir -p "$IT_TMP/svc" "$IT_TMP/pass"
expect_rc 0 "backup with PGSERVICE naming another port" \
    env PGSERVICEFILE="$IT_TMP/pg_service.conf" PGSERVICE=elsewhere DB_SSL_MODE=verify-full "$CTLDB" -q backup --dir "$IT_TMP/svc"
before=$(wc -l <"$LOG")
mkdir -p "$IT_TMP/svc2"
expect_rc 0 "backup --format custom with PGSERVICE turning TLS off" \
    env PGSERVICEFILE="$IT_TMP/pg_service.conf" PGSERVICE=plain DB_SSL_MODE=verify-full "$CTLDB" backup --dir "$IT_TMP/svc2" --format custom -o json
CU=$(json_get /path)
su_sql "DROP DATABASE IF EXISTS it_hostile_j WITH (FORCE)" >/dev/null
expect_rc 0 "restore --jobs 2 with PGSERVICE turning TLS off" \
    env PGSERVICEFILE="$IT_TMP/pg_service.conf" PGSERVICE=plain DB_SSL_MODE=verify-full "$CTLDB" -q restore "$CU" --target-db it_hostile_j --create --yes --jobs 2
sleep 0.5
tail -n +"$((before + 1))" "$LOG" | grep "connection authorized" | grep -E "application_name=ctldb (backup|restore)" >"$IT_TMP/conns" || true
check "pg_dump and pg_restore connected ($(wc -l <"$IT_TMP/conns") logged)" test "$(wc -l <"$IT_TMP/conns")" -ge 3
check "every one of them with TLS" bash -c "! grep -v 'SSL enabled' '$IT_TMP/conns'"
su_sql "ALTER SYSTEM RESET log_connections" >/dev/null
su_sql "SELECT pg_reload_conf()" >/dev/null
su_sql "DROP DATABASE IF EXISTS it_hostile_j WITH (FORCE)" >/dev/null
# PGPASSFILE alone: ctldb's connection and pg_dump's both use it.
echo "*:*:*:$DB_USER:$(cat "$DB_PASSWORD_FILE")" >"$IT_TMP/pgpass"
chmod 600 "$IT_TMP/pgpass"
expect_rc 0 "backup with PGPASSFILE and no password setting" \
    env -u DB_PASSWORD_FILE PGPASSFILE="$IT_TMP/pgpass" "$CTLDB" -q backup --dir "$IT_TMP/pass"
# The server binaries from /usr/lib/postgresql/N/bin with a plain PATH.
expect_rc 0 "env -i PATH=/usr/bin:/bin ctldb local start" \
    env -i PATH=/usr/bin:/bin "$CTLDB" local start --dir "$IT_TMP/sb2" --port 0
"$CTLDB" local destroy --dir "$IT_TMP/sb2" --yes >/dev/null 2>&1 || true

# A key given twice: exit 2 naming both lines, in a ConfigMap and in
# ctldb's own file.
cat >"$IT_TMP/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: db
data:
  NODE_ENV: production
  DB_SSL_MODE: verify-full
  NODE_ENV: development
YAML
expect_rc 2 "a ConfigMap with NODE_ENV twice" "$CTLDB" --config "$IT_TMP/cm.yaml" backup list --dir "$IT_TMP"
check "names the key and both lines" stderr_has "key 'NODE_ENV' is given twice, on line 6 and line 8"
printf 'database:\n  sslmode: verify-full\n  sslmode: disable\n' >"$IT_TMP/own.yaml"
expect_rc 2 "ctldb's own file with sslmode twice" "$CTLDB" --config "$IT_TMP/own.yaml" doctor
check "names the key and both lines" stderr_has "key 'sslmode' is given twice, on line 2 and line 3"
expect_rc 2 "config show says so too" "$CTLDB" --config "$IT_TMP/own.yaml" config show

# doctor while a migration holds ACCESS EXCLUSIVE on one table: an invalid
# index on another table is still found, and fails the run.
app_psql it_hostile -c "CREATE TABLE other_t (x int); CREATE INDEX other_x ON other_t (x)"
sql "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.other_x'::regclass" >/dev/null
hold_session it_hostile 30 "BEGIN;" "LOCK TABLE users IN ACCESS EXCLUSIVE MODE;" "SELECT 'migrating';"
locked() { [[ -n "$(sql "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'users' AND l.mode = 'AccessExclusiveLock' AND l.granted")" ]]; }
check "a session holds users in ACCESS EXCLUSIVE mode" wait_for locked
start=$(date +%s%N)
expect_rc 1 "doctor during the migration" "$CTLDB" doctor --checks indexes,migrations
check "in under 5 s" test $((($(date +%s%N) - start) / 1000000)) -lt 5000
check "the invalid index on the other table is reported" stdout_has "public.other_x .*INVALID"
check "the locked table is named, not the whole check lost" stdout_has "locked tables.*public.users"
check "the schema compared except users" stdout_has "not compared, held in ACCESS EXCLUSIVE mode .*users"
check "indexes were checked" bash -c "! grep -q 'nothing was checked' '$OUT'"
end_sessions

# metrics serve under 64 slow clients and 200 idle connections.
"$CTLDB" metrics serve --listen 127.0.0.1:0 >"$IT_TMP/serve.out" 2>"$IT_TMP/serve.err" &
SERVE=$!
wait_for grep -q "serving http://127.0.0.1:" "$IT_TMP/serve.err"
PORT=$(grep -o '127.0.0.1:[0-9]*' "$IT_TMP/serve.err" | head -1 | cut -d: -f2)
curl -fsS "http://127.0.0.1:$PORT/metrics" >/dev/null
fds_idle=$(ls "/proc/$SERVE/fd" | wc -l)
threads_idle=$(ls "/proc/$SERVE/task" | wc -l)
python3 - "$PORT" >"$OUT" <<'PY'
import socket, sys, threading, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
slow = []
for _ in range(64):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
    slow.append(s)
stop = time.time() + 8
def drip():
    n = 0
    while time.time() < stop:
        time.sleep(1)
        n += 1
        for s in slow:
            try:
                s.sendall(b"X-Slow-%d: 1\r\n" % n)
            except OSError:
                pass
threading.Thread(target=drip, daemon=True).start()
def get(path, bare_lf=False):
    t = time.time()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    eol = b"\n" if bare_lf else b"\r\n"
    s.sendall(b"GET " + path + b" HTTP/1.1" + eol + b"Host: x" + eol + eol)
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    s.close()
    return data.split(b" ")[1].decode(), (time.time() - t) * 1000
worst_h = worst_m = 0.0
codes = set()
while time.time() < stop:
    c, ms = get(b"/healthz"); worst_h = max(worst_h, ms); codes.add("healthz=" + c)
    c, ms = get(b"/metrics"); worst_m = max(worst_m, ms); codes.add("metrics=" + c)
    time.sleep(0.2)
c, ms = get(b"/healthz", bare_lf=True)
print("healthz_worst_ms %d" % worst_h)
print("metrics_worst_ms %d" % worst_m)
print("codes " + ",".join(sorted(codes)))
print("bare_lf %s %d" % (c, ms))
PY
check "/healthz under 100 ms throughout ($(grep healthz_worst "$OUT"))" awk '/healthz_worst_ms/ { exit !($2 < 100) }' "$OUT"
check "/healthz and /metrics always 200" stdout_has "^codes healthz=200,metrics=200$"
check "a request ending in a bare LF answered at once ($(grep bare_lf "$OUT"))" awk '/bare_lf/ { exit !($2 == 200 && $3 < 1000) }' "$OUT"
sleep 6  # the slow clients' heads time out (5 s) and are closed
check "descriptors back to the idle count ($fds_idle)" test "$(ls "/proc/$SERVE/fd" | wc -l)" -le "$fds_idle"
check "threads back to the idle count ($threads_idle)" test "$(ls "/proc/$SERVE/task" | wc -l)" -le "$threads_idle"
kill -TERM "$SERVE"
wait "$SERVE" || true

# A process holding the password is not dumpable: as an unprivileged user,
# another process of the same user cannot read its memory or environment.
cp "$DB_PASSWORD_FILE" "$IT_TMP/pw.postgres"
chown postgres "$IT_TMP/pw.postgres"
runuser -u postgres -- env DB_PASSWORD_FILE="$IT_TMP/pw.postgres" "$CTLDB" metrics serve --listen 127.0.0.1:0 \
    >/dev/null 2>"$IT_TMP/serve2.err" &
wait_for grep -q "serving http" "$IT_TMP/serve2.err"
pid=$(pgrep -u postgres -f "ctldb metrics serve" | head -1)
check "metrics serve runs as postgres (pid $pid)" test -n "$pid"
check "its environment is not readable by its own user" bash -c "! runuser -u postgres -- cat /proc/$pid/environ >/dev/null 2>&1"
kill -TERM "$pid" 2>/dev/null || true
# The smaller ones.
# gen-certs under umask 000: new parent directories are 0755, not 0777.
(umask 000 && "$CTLDB" -q gen-certs --out "$IT_TMP/um/a/b" --cn db.example >/dev/null)
check "umask 000: a new parent directory is 0755" test "$(stat -c %a "$IT_TMP/um/a")" = 755
check "and the output directory too" test "$(stat -c %a "$IT_TMP/um/a/b")" = 755
# verify where the stamp cannot be written: the data's verdict stands.
V="$IT_TMP/verify"
mkdir -p "$V"
"$CTLDB" -q backup --dir "$V" -o json >"$OUT"
VB=$(json_get /path)
mkdir "${VB%.sql.gz}.json.partial"  # the manifest's temporary name is taken
expect_rc 0 "backup verify of an intact backup whose manifest cannot be rewritten" "$CTLDB" backup verify "$VB"
check "says it is intact" stdout_has "complete and intact"
check "and that the verification was not recorded" stderr_has "could not record the verification"
rmdir "${VB%.sql.gz}.json.partial"
# A file name with a newline cannot forge a row of backup list.
cp "$VB" "$V/x
backup-29990101-000000.sql.gz FORGED"
expect_rc 0 "backup list with a newline in a file name" "$CTLDB" backup list --dir "$V"
check "no line starts with the forged text" bash -c "! grep -q '^backup-29990101' '$OUT'"
check "the name shown escaped" stdout_has 'x\\nbackup-29990101'
# Escape sequences from a dump reach the terminal escaped.
gunzip -c "$VB" | awk '{ print } /^SET row_security = off;$/ && !d { printf "SELECT 1 /* \033[2J\033[1;1HFAKE */, pg_read_file(\047x\047);\n"; d = 1 }' >"$IT_TMP/esc.sql"
expect_rc 1 "a dump with escape sequences in a refused statement" "$CTLDB" backup verify "$IT_TMP/esc.sql" --no-manifest
check "no raw ESC byte on stderr" bash -c "! grep -q $'\x1b' '$ERR'"
check "shown as \\x1b" stderr_has 'x1b\[2J'
# A prune killed between a backup's data and its manifest left the
# manifest: the next prune removes it; a data file without its manifest is
# never removed.
python3 - "${VB%.sql.gz}.json" "$V/backup-20200101-000000.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["file"] = "backup-20200101-000000.sql.gz"
open(sys.argv[2], "w").write(json.dumps(m))
PY
cp "$VB" "$V/backup-20200102-000000.sql.gz"
expect_rc 0 "prune after a killed prune" "$CTLDB" backup prune --dir "$V" --keep-last 5
check "the manifest without data is gone" test ! -e "$V/backup-20200101-000000.json"
check "the data without a manifest is kept" test -e "$V/backup-20200102-000000.sql.gz"
# wait's message has units.
expect_rc 3 "wait for a port nobody listens on" "$CTLDB" wait --timeout 1 --host 127.0.0.1 --port 1
check "within a duration with its unit" stderr_has "within 1 s"

finish
