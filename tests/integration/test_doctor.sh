#!/usr/bin/env bash
# ctldb doctor on a real server: each failing finding provoked as it
# happens in production (a session left idle in a transaction, a lock chain
# of three, dead tuples, an invalid index, a pending migration, a stale
# backup, a superuser application role, an expiring certificate) and read
# back with its severity and the exit code, in text and JSON; run as the
# least-privileged role, every check runs or names its grant.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
fresh_database it_doctor
BK=$IT_TMP/backups
mkdir -p "$BK"
export CTLDB_BACKUP_DIR=$BK

# has_finding STATUS LABEL: the text report has a line "STATUS LABEL ...".
has_finding() { grep -qE "^$1 +$2 " "$OUT"; }
# json_finding STATUS CHECK NAME: the JSON has that finding.
json_finding() {
    "$CTLDB_JSON_TOOL" check <"$OUT" &&
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(f["status"]==sys.argv[2] and f["check"]==sys.argv[3] and f["name"]==sys.argv[4] for f in d["checks"]) else 1)' "$OUT" "$1" "$2" "$3"
}
hold() { hold_session it_doctor "$@"; }
pid_of() { sql "SELECT pid FROM pg_stat_activity WHERE datname = 'it_doctor' AND query LIKE '%$1%' AND pid <> pg_backend_pid() ORDER BY backend_start LIMIT 1"; }

# --- a healthy database ---------------------------------------------------------
expect_rc 0 "migrate" "$CTLDB" -q migrate
expect_rc 0 "backup" "$CTLDB" -q backup
expect_rc 0 "doctor on a migrated, backed-up database" "$CTLDB" doctor --skip security
check "connection first among the ok" has_finding ok connection
check "every check but the skipped one ran" stdout_has "12 check(s) in"
expect_rc 0 "JSON" "$CTLDB" doctor --skip security -o json
check "findings, runs and a summary" bash -c "'$CTLDB_JSON_TOOL' get /summary/fail <'$OUT' | grep -qx 0 && '$CTLDB_JSON_TOOL' get /runs/0/name <'$OUT' | grep -qx config"
check "the unverified backup is a warning" json_finding warn backups "backup verified"

# --- a session idle in a transaction ------------------------------------------------
hold 60 "BEGIN;" "SELECT 'doctor-idle-marker';"
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE '%doctor-idle-marker%'\") == 1 ]]"
IDLE=$(pid_of doctor-idle-marker)
sleep 1.2
expect_rc 0 "doctor --checks sessions: idle in transaction is a warning" "$CTLDB" doctor --checks sessions --idle-in-transaction 1s
check "names the session and its last statement" stdout_has "^warn *sessions/idle in transaction *pid $IDLE (appuser.*doctor-idle-marker"
check "with pg_terminate_backend as the hint" stdout_has "pg_terminate_backend"
expect_rc 0 "below the threshold it is fine" "$CTLDB" doctor --checks sessions
check "ok" has_finding ok "sessions/idle in transaction"
run "$CTLDB" doctor --checks sessions --idle-in-transaction 1s -o json
check "JSON: warn sessions/idle in transaction" json_finding warn sessions "idle in transaction"
kill -- "-${IT_BG[-1]}" 2>/dev/null || true
sql "SELECT pg_terminate_backend($IDLE)" >/dev/null

# --- a lock chain of three sessions ----------------------------------------------------
app_psql it_doctor -c "CREATE TABLE locked (id int)" >/dev/null
hold 60 "BEGIN;" "LOCK TABLE locked IN ACCESS EXCLUSIVE MODE; SELECT 'doctor-a-marker';"
wait_for bash -c "[[ -n \$(sql \"SELECT pid FROM pg_stat_activity WHERE query LIKE '%doctor-a-marker%' AND state LIKE 'idle in%'\") ]]"
A=$(pid_of doctor-a-marker)
hold 60 "ALTER TABLE locked /* doctor-b-marker */ ADD COLUMN b int;"
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%doctor-b-marker%'\") == 1 ]]"
B=$(pid_of doctor-b-marker)
hold 60 "SELECT count(*) /* doctor-c-marker */ FROM locked;"
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%doctor-c-marker%'\") == 1 ]]"
C=$(pid_of doctor-c-marker)
expect_rc 0 "a fresh lock chain is a warning" "$CTLDB" doctor --checks locks
# Waiters are listed in pid order (pids wrap, so B's may be the higher).
if ((B < C)); then TREE="$A -> {$B -> $C, $C}"; else TREE="$A -> {$C, $B -> $C}"; fi
check "the blocker is the root, with both waiters" stdout_has "^warn *locks/lock tree *pid $A (appuser.*blocks 2 session(s), 3 deep.*: $TREE"
sleep 1.2
expect_rc 1 "waiting beyond --lock-wait fails" "$CTLDB" doctor --checks locks --lock-wait 1s
check "fail, with the tree" stdout_has "^fail *locks/lock tree .*$TREE"
run "$CTLDB" doctor --checks locks --lock-wait 1s -o json
check "JSON: exit_code 1" json_is /exit_code 1
check "JSON: the finding" json_finding fail locks "lock tree"
for p in "$A" "$B" "$C"; do sql "SELECT pg_terminate_backend($p)" >/dev/null; done

# --- a table with dead tuples ------------------------------------------------------------
app_psql it_doctor -c "CREATE TABLE churn (id int, pad text) WITH (autovacuum_enabled = off)" \
    -c "INSERT INTO churn SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g" \
    -c "DELETE FROM churn WHERE id > 100" >/dev/null
wait_for bash -c "[[ \$(sql \"SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'churn'\") -gt 1000 ]]"
expect_rc 0 "dead tuples are a warning" "$CTLDB" doctor --checks storage
check "names the table, its dead tuples and the vacuum to run" stdout_has "^warn *storage/public.churn *19900 dead tuples.*"
check "hint: ctldb vacuum --table" stdout_has "ctldb vacuum --table public.churn "
run "$CTLDB" doctor --checks storage -o json
check "JSON: warn storage/public.churn" json_finding warn storage public.churn
# A hostile table name (a newline and a terminal escape) is shown escaped.
EVIL="evil$(printf '\033')[2J
name"
app_psql it_doctor -c "CREATE TABLE \"$EVIL\" (id int) WITH (autovacuum_enabled = off)" \
    -c "INSERT INTO \"$EVIL\" SELECT generate_series(1, 500)" -c "DELETE FROM \"$EVIL\"" >/dev/null
wait_for bash -c "[[ \$(sql \"SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname LIKE 'evil%'\") -ge 500 ]]"
expect_rc 0 "a table with a hostile name" "$CTLDB" doctor --checks storage
check "its name is shown escaped" stdout_has 'public."evil\\x1b\[2J\\nname" *500 dead tuples'
check "and quoted for the shell in the hint" stdout_has "ctldb vacuum --table 'public.\"evil"
check "no terminal escape reaches the output" bash -c "! grep -q \$'\\033' '$OUT'"
run "$CTLDB" doctor --checks storage -o json
check "JSON keeps the name exactly" bash -c "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(\"evil\\x1b[2J\\nname\" in f[\"name\"] for f in d[\"checks\"]) else 1)' '$OUT'"
app_psql it_doctor -c "DROP TABLE \"$EVIL\"" >/dev/null
expect_rc 0 "vacuum it" "$CTLDB" -q vacuum --table churn
expect_rc 0 "then it is fine" "$CTLDB" doctor --checks storage
check "dead tuples ok" has_finding ok "storage/dead tuples"

# --- an invalid index ------------------------------------------------------------------
app_psql it_doctor -c "CREATE TABLE dup (v int)" -c "INSERT INTO dup VALUES (1), (1)" >/dev/null
app_psql it_doctor -c "CREATE UNIQUE INDEX CONCURRENTLY dup_v ON dup (v)" >/dev/null 2>&1 || true
check "the failed build left an invalid index" test "$(sql "SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indexrelid = 'dup_v'::regclass")" = 1
expect_rc 1 "an invalid index fails" "$CTLDB" doctor --checks indexes
check "named, with the rebuild" stdout_has "^fail *indexes/public.dup_v *INVALID index"
run "$CTLDB" doctor --checks indexes -o json
check "JSON: fail indexes/public.dup_v" json_finding fail indexes public.dup_v
app_psql it_doctor -c "DROP INDEX dup_v" >/dev/null
# Behind a lock (a REINDEX left open holds its indexes exclusively): the
# check gives up within doctor's bound and says why.
app_psql it_doctor -c "CREATE INDEX dup_plain ON dup (v)" >/dev/null
hold 60 "BEGIN;" "REINDEX TABLE dup; SELECT 'doctor-lock-marker';"
wait_for bash -c "[[ -n \$(sql \"SELECT pid FROM pg_stat_activity WHERE query LIKE '%doctor-lock-marker%' AND state LIKE 'idle in%'\") ]]"
START=$(date +%s%N)
expect_rc 0 "doctor behind an exclusive lock does not hang" "$CTLDB" doctor --checks indexes --timeout 1s
check "it gave up within seconds" test $((($(date +%s%N) - START) / 1000000)) -lt 5000
check "and says the table is locked" stdout_has "^warn *indexes/locked .*locked by another session"
kill -- "-${IT_BG[-1]}" 2>/dev/null || true
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%doctor-lock-marker%' AND pid <> pg_backend_pid()" >/dev/null

# --- a pending migration ----------------------------------------------------------------
MG=$IT_TMP/migrations
mkdir -p "$MG"
cp "$CTLDB_SOURCE_DIR"/migrations/*.sql "$MG"/
N=$(ls "$MG" | wc -l)
printf 'CREATE TABLE notes (id int);\n' >"$MG/$(printf '%03d' $((N + 1)))_notes.sql"
expect_rc 1 "a pending migration fails" "$CTLDB" doctor --checks migrations --migrations-dir "$MG"
check "named by its file, with ctldb migrate" stdout_has "^fail *migrations/pending *1 migration(s) not applied: $(printf '%03d' $((N + 1)))_notes.sql"
run "$CTLDB" doctor --checks migrations --migrations-dir "$MG" -o json
check "JSON: fail migrations/pending" json_finding fail migrations pending
sql "ALTER TABLE users ADD COLUMN nickname text" >/dev/null
expect_rc 1 "schema drift fails" "$CTLDB" doctor --checks migrations
check "the drift is named" stdout_has "^fail *migrations/schema drift .*nickname"
sql "ALTER TABLE users DROP COLUMN nickname" >/dev/null
# A server that drops the connection in the middle of a check is a failure,
# not a warning: here an "applied" migration that ends its own session when
# the schema proof builds it.
KILL=$IT_TMP/kill
mkdir -p "$KILL"
cp "$CTLDB_SOURCE_DIR"/migrations/*.sql "$KILL"/
printf 'SELECT pg_terminate_backend(pg_backend_pid());\n' >"$KILL/$(printf '%03d' $((N + 1)))_kill.sql"
SUM=$(sha256sum "$KILL/$(printf '%03d' $((N + 1)))_kill.sql" | cut -d' ' -f1)
sql "INSERT INTO ctldb_schema_migrations (version, name, checksum, applied_at, applied_by, execution_ms, no_transaction) VALUES ($((N + 1)), 'kill', '$SUM', now(), 'test', 0, false)" >/dev/null
expect_rc 1 "a connection lost during a check fails" "$CTLDB" doctor --checks migrations --migrations-dir "$KILL" --jobs 1
check "named as such" stdout_has "^fail *migrations/connection lost"
sql "DELETE FROM ctldb_schema_migrations WHERE version = $((N + 1))" >/dev/null

# --- a stale backup ---------------------------------------------------------------------
sleep 1.1
expect_rc 1 "a backup older than --max-backup-age fails" "$CTLDB" doctor --checks backups --max-backup-age 1s
check "with its age and the limit" stdout_has "^fail *backups/newest backup *backup-.* ago (limit 1 s)"
run "$CTLDB" doctor --checks backups --max-backup-age 1s -o json
check "JSON: fail backups/newest backup" json_finding fail backups "newest backup"
expect_rc 1 "no backup at all fails" "$CTLDB" doctor --checks backups --backup-dir "$IT_TMP"
check "says so" stdout_has "no usable backup of it_doctor"
expect_rc 0 "backup verify" "$CTLDB" -q backup verify "$(ls "$BK"/backup-*.sql.gz | head -1)"
expect_rc 0 "then the backup is verified" "$CTLDB" doctor --checks backups
check "ok backups/backup verified" has_finding ok "backups/backup verified"

# --- a superuser application role -------------------------------------------------------
SUPERPW="Doctor-Super-$(date +%s)-Pw!x"
sql "DROP ROLE IF EXISTS doctor_super" >/dev/null
sql "CREATE ROLE doctor_super LOGIN SUPERUSER PASSWORD '$SUPERPW'" >/dev/null
run env DB_USER=doctor_super DB_PASSWORD="$SUPERPW" DB_PASSWORD_FILE= "$CTLDB" doctor --checks security
check "a superuser application role fails (exit 1)" test "$RC" = 1
check "named, with the guide's least privilege" stdout_has "^fail *security/superuser *the application role doctor_super is a superuser"
check "the password is never shown" output_lacks "$SUPERPW"
run env DB_USER=doctor_super DB_PASSWORD="$SUPERPW" DB_PASSWORD_FILE= "$CTLDB" doctor --checks security -o json
check "JSON: fail security/superuser" json_finding fail security superuser
sql "DROP ROLE doctor_super" >/dev/null

# --- the least-privileged production role -----------------------------------------------
hold 60 "SELECT 'doctor-other-role';"  # another role's session, hidden from it
use_production_role it_doctor_prod
expect_rc 0 "migrate as the production role" "$CTLDB" -q migrate
expect_rc 0 "backup as the production role" "$CTLDB" -q backup
run "$CTLDB" doctor -o json
check "doctor as the production role: no check fails (exit 0; an unverified backup warns)" test "$RC" = 0
check "every check ran" test "$("$CTLDB_JSON_TOOL" get /runs <"$OUT" | grep -o '"ran": *true' | wc -l)" = 13
check "what it may not read is listed with its grant: settings" bash -c "grep -q 'pg_read_all_settings' '$OUT'"
check "and other roles' sessions" bash -c "grep -q 'pg_read_all_stats' '$OUT'"
run "$CTLDB" doctor
check "text: the not-checked list names the grants" stdout_has "^  tls.*: setting ssl_min_protocol_version not visible; needs pg_read_all_settings"

# --- no server: the classified connection failure is the finding ----------------------------
run env DB_PORT=1 "$CTLDB" doctor
check "exit 3 without a server" test "$RC" = 3
check "the connection finding fails with its classification" stdout_has "^fail *connection *cannot connect to"
check "the server checks are listed as not run" stdout_has "needs a connection to the server"
check "the offline checks still ran" has_finding ok "config/configuration"

# --- over the Unix socket (kubectl exec into the server's pod) ---------------------------------
expect_rc 0 "over a Unix socket TLS does not apply, and is not a failure" \
    runuser -u postgres -- env DB_HOST="$IT_SANDBOX/socket" DB_USER=postgres DB_PASSWORD_FILE= \
    DB_SSL_MODE=disable "$CTLDB" doctor --checks config,tls
check "tls is info over the socket" stdout_has "^info *tls *connected over the Unix socket"
check "and sslmode disable is fine there" stdout_has "^ok *config/sslmode *disable (a Unix socket"

# --- bad input ------------------------------------------------------------------------------
expect_rc 2 "an unknown check" "$CTLDB" doctor --checks tls,nonsense
check "lists the checks" stderr_has "the checks: config, tls"
expect_rc 2 "a bad duration" "$CTLDB" doctor --long-query 5parsecs
expect_rc 2 "a zero timeout" "$CTLDB" doctor --timeout 0
expect_rc 2 "--checks and --skip leaving nothing" "$CTLDB" doctor --checks tls --skip tls
expect_rc 2 "a --migrations-dir that does not exist" "$CTLDB" doctor --migrations-dir "$IT_TMP/none"
expect_rc 2 "an unknown --layout" "$CTLDB" doctor --layout liquibase

# --- an expiring certificate, on a sandbox of its own ---------------------------------------
use_private_server sb
unset CTLDB_BACKUP_DIR
G=$IT_TMP/expiring
"$CTLDB" -q gen-certs --out "$G" --days 3 --san localhost --ip 127.0.0.1 >/dev/null
cp "$G/server.crt" "$SB/tls/server.crt"
cp "$G/server.key" "$SB/tls/server.key"
cp "$G/ca.crt" "$SB/tls/ca.crt"
if [[ $EUID == 0 ]]; then chown postgres "$SB/tls/server.key"; fi
"$CTLDB" -q local stop --dir "$SB" >/dev/null
"$CTLDB" -q local start --dir "$SB" >/dev/null
export DB_SSL_ROOT_CERT=$G/ca.crt
expect_rc 1 "a certificate expiring in 3 days fails" "$CTLDB" doctor --checks tls
check "critical, with the renewal" stdout_has "^fail *tls/expiry *critical: expires .* (2 days)\|^fail *tls/expiry *critical: expires .* (3 days)"
check "hint: gen-certs" stdout_has "ctldb gen-certs"
run "$CTLDB" doctor --checks tls -o json
check "JSON: fail tls/expiry" json_finding fail tls expiry
expect_rc 0 "within --warn-days but not critical: a warning" "$CTLDB" doctor --checks tls --critical-days 1 --warn-days 30
check "warn tls/expiry" has_finding warn "tls/expiry"

finish
