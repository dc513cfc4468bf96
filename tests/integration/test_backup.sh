#!/usr/bin/env bash
# ctldb backup and restore against a real server: runbook compatibility,
# round trips, damaged files refused, atomic failures, retention, formats.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
BIN=$(pg_bindir)
export PGPASSWORD
PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
count_in() { app_psql "$1" -c "SELECT count(*) FROM $2"; }

fresh_database it_backup
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed >/dev/null
"$CTLDB" -q seed generate --users 300 --random-seed 5 >/dev/null
USERS=$(count_in it_backup users)

D="$IT_TMP/backups"
mkdir -p "$D"
expect_rc 2 "backup into a missing directory" "$CTLDB" backup --dir "$IT_TMP/none"
expect_rc 2 "pg_dump not found" env CTLDB_PG_BINDIR=/nonexistent "$CTLDB" backup --dir "$D"
check "nothing written" test -z "$(ls -A "$D")"

expect_rc 0 "backup" "$CTLDB" backup --dir "$D" -o json
F=$(json_get /path)
check "named backup-YYYYmmdd-HHMMSS.sql.gz" bash -c "[[ '$F' =~ /backup-[0-9]{8}-[0-9]{6}\.sql\.gz$ ]]"
check "manifest next to it" test -f "${F%.sql.gz}.json"
check "no partial file left" test -z "$(ls "$D" | grep partial || true)"
check "backup readable only by its owner" test "$(stat -c %a "$F")" = 600
check "valid gzip" gunzip -t "$F"
check "manifest row count for users" bash -c "grep -q '\"public.users\": $USERS' '${F%.sql.gz}.json'"
check "password not in the manifest" bash -c "! grep -qF '$PGPASSWORD' '${F%.sql.gz}.json'"

# The guide's runbook: gunzip -c f | psql
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_runbook WITH (FORCE)" >/dev/null 2>&1
SUPERUSER_DB=postgres superuser_psql -c "CREATE DATABASE it_runbook OWNER appuser" >/dev/null
check "runbook restore: gunzip -c f | psql" bash -c "gunzip -c '$F' | '$BIN/psql' -X -q -v ON_ERROR_STOP=1 'host=$DB_HOST port=$DB_PORT dbname=it_runbook user=appuser sslmode=require' >/dev/null"
check "runbook restore has every user" test "$(count_in it_runbook users)" = "$USERS"

expect_rc 0 "verify" "$CTLDB" backup verify "$F"
run "$CTLDB" restore "${F%.sql.gz}.json" --target-db it_never --create --yes
check "restore of a backup's manifest instead of its data: exit 2 (got $RC)" test "$RC" = 2
check "said as such, naming the data file" stderr_has "is the manifest of a backup, not the backup"
check "and nothing created" test -z "$(SUPERUSER_DB=postgres superuser_psql -Atc "SELECT 1 FROM pg_database WHERE datname = 'it_never'")"

# Encrypted backups (age): the job holds public keys only; the age tool and
# ctldb read each other's files; without the identity nothing is touched.
AK="$IT_TMP/age"
E="$IT_TMP/encrypted"
mkdir -p "$AK" "$E"
age-keygen -o "$AK/one.key" 2>/dev/null
age-keygen -o "$AK/two.key" 2>/dev/null
age-keygen -o "$AK/other.key" 2>/dev/null
R1=$(age-keygen -y "$AK/one.key")
age-keygen -y "$AK/two.key" >"$AK/recipients"
not_created() { test "$(SUPERUSER_DB=postgres superuser_psql -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 0; }
expect_rc 0 "backup encrypted to two recipients" "$CTLDB" backup --dir "$E" --encrypt-to "$R1" --encrypt-to "$AK/recipients" -o json
EF=$(json_get /path)
EM="${EF%.sql.gz.age}.json"
check "named .sql.gz.age, with its manifest" bash -c "[[ '$EF' == *.sql.gz.age && -f '$EM' ]]"
check "no dump text in the stored bytes" bash -c "! grep -qa 'PostgreSQL database dump' '$EF' && ! grep -qa 'COPY public' '$EF'"
check "the manifest names both recipients and holds no key" bash -c "grep -q '$R1' '$EM' && grep -q \"\$(cat '$AK/recipients')\" '$EM' && ! grep -qi 'secret-key' '$EM'"
check "age -d with the first identity gives the complete dump" bash -c "age -d -i '$AK/one.key' '$EF' | gunzip -c | tail -c 200 | grep -q 'PostgreSQL database dump complete'"
check "age -d with the second identity too" bash -c "age -d -i '$AK/two.key' '$EF' | gunzip -t"
expect_rc 0 "verify without an identity: the stored bytes" "$CTLDB" backup verify "$EF" -o json
check "said so: content not checked" json_is /content_checked false
expect_rc 0 "verify with an identity" "$CTLDB" backup verify "$EF" --identity "$AK/two.key" -o json
check "content checked" json_is /content_checked true
expect_rc 0 "backup list shows it" "$CTLDB" backup list --dir "$E" -o json
check "listed as an age-encrypted gzip dump, usable" bash -c "grep -q 'age-encrypted' '$OUT' && grep -q '\"usable\": true' '$OUT'"
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_enc WITH (FORCE)" >/dev/null 2>&1
expect_rc 2 "restore without an identity: exit 2" "$CTLDB" restore "$EF" --target-db it_enc --create --yes
check "the hint names --identity" stderr_has "--identity"
check "nothing created" not_created it_enc
expect_rc 2 "restore with another identity: exit 2" "$CTLDB" restore "$EF" --target-db it_enc --create --yes --identity "$AK/other.key"
check "still nothing created" not_created it_enc
expect_rc 2 "restore with an identity file that is not there: exit 2" "$CTLDB" restore "$EF" --target-db it_enc --create --yes --identity "$AK/missing.key"
check "and a FIFO as the identity: exit 2, no hang" bash -c "mkfifo '$AK/fifo.key' && timeout 10 '$CTLDB' restore '$EF' --target-db it_enc --create --yes --identity '$AK/fifo.key' 2>/dev/null; test \$? = 2"
check "nothing created by either" not_created it_enc
check "no key in any message" bash -c "! grep -qi 'AGE-SECRET-KEY' '$ERR' '$OUT'"
expect_rc 0 "restore with the identity from CTLDB_AGE_IDENTITY_FILE" env CTLDB_AGE_IDENTITY_FILE="$AK/one.key" "$CTLDB" restore "$EF" --target-db it_enc --create --yes
check "every user restored from the encrypted backup" test "$(count_in it_enc users)" = "$USERS"
age -r "$R1" -o "$E/cron.sql.gz.age" "$F"
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_enc2 WITH (FORCE)" >/dev/null 2>&1
expect_rc 0 "a file age -r wrote restores (--no-manifest --identity)" "$CTLDB" restore "$E/cron.sql.gz.age" --target-db it_enc2 --create --yes --no-manifest --identity "$AK/one.key"
check "every user restored from age's file" test "$(count_in it_enc2 users)" = "$USERS"
# An age file edited in the middle (one byte of the payload): its chunk's tag
# fails; nothing of it is committed, with or without a manifest.
size=$(stat -c %s "$E/cron.sql.gz.age")
cp "$E/cron.sql.gz.age" "$IT_TMP/edited.sql.gz.age"
printf 'X' | dd of="$IT_TMP/edited.sql.gz.age" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_enc3 WITH (FORCE)" >/dev/null 2>&1
expect_rc 1 "an edited age file is refused" "$CTLDB" restore "$IT_TMP/edited.sql.gz.age" --target-db it_enc3 --create --yes --no-manifest --identity "$AK/one.key"
check "nothing of it is left (the created database dropped again)" not_created it_enc3
cp "$EF" "$IT_TMP/keep.age"
size=$(stat -c %s "$EF")
printf 'X' | dd of="$EF" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_rc 1 "verify of an edited encrypted backup without an identity: the checksum fails" "$CTLDB" backup verify "$EF"
expect_rc 1 "and with one" "$CTLDB" backup verify "$EF" --identity "$AK/one.key"
cp "$IT_TMP/keep.age" "$EF"
expect_rc 2 "--encrypt-to with --format custom" "$CTLDB" backup --dir "$E" --format custom --encrypt-to "$R1"
expect_rc 2 "--encrypt-to a bad recipient" "$CTLDB" backup --dir "$E" --encrypt-to age1notakey
expect_rc 2 "--encrypt-to an identity file by mistake" "$CTLDB" backup --dir "$E" --encrypt-to "$AK/one.key"
check "its secret key is not repeated" bash -c "! grep -q 'AGE-SECRET-KEY' '$ERR' '$OUT'"
check "nothing more written" test "$(ls "$E" | wc -l)" = 3
expect_rc 0 "list" "$CTLDB" backup list --dir "$D" -o json
check "listed as usable and verified" bash -c "'$CTLDB_JSON_TOOL' get /backups/0/verified_at <'$OUT' | grep -q T"

SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_restored WITH (FORCE)" >/dev/null 2>&1
expect_rc 0 "restore into a new database" "$CTLDB" restore "$F" --target-db it_restored --create --yes -o json
check "row counts match" json_is /ok true
check "users restored" test "$(count_in it_restored users)" = "$USERS"
check "indexes restored" test "$(app_psql it_restored -c "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_payment_transactions_created_at'")" = 1

expect_rc 1 "non-empty target refused" "$CTLDB" restore "$F" --target-db it_restored --yes
check "says so" stderr_has "is not empty"
check "target untouched" test "$(count_in it_restored users)" = "$USERS"
app_psql it_restored -c "DELETE FROM admin_audit_logs; CREATE TABLE extra (i int)"
expect_rc 2 "--clean without --yes and no terminal" "$CTLDB" restore "$F" --target-db it_restored --clean
expect_rc 0 "--clean --yes replaces the contents" "$CTLDB" restore "$F" --target-db it_restored --clean --yes
check "extra table gone, audit logs back" test "$(app_psql it_restored -c "SELECT to_regclass('extra') IS NULL AND (SELECT count(*) > 0 FROM admin_audit_logs)")" = t
expect_rc 0 "restore latest" "$CTLDB" restore latest --dir "$D" --target-db it_restored --clean --yes

# Damaged backups are refused before anything is touched.
B="$IT_TMP/bad"
mkdir -p "$B"
T="$B/backup-20200101-000000.sql.gz"
head -c $(($(stat -c %s "$F") / 2)) "$F" >"$T"
sed "s/$(basename "$F")/$(basename "$T")/" "${F%.sql.gz}.json" >"${T%.sql.gz}.json"
expect_rc 1 "truncated backup: verify fails" "$CTLDB" backup verify "$T"
expect_rc 1 "truncated backup: restore refused" "$CTLDB" restore "$T" --target-db it_never --create --yes
check "target never created" test "$(SUPERUSER_DB=postgres superuser_psql -c "SELECT count(*) FROM pg_database WHERE datname = 'it_never'")" = 0
check "refused by its size before connecting" stderr_has "truncated or replaced; nothing was changed"
X="$B/backup-20200101-000001.sql.gz"
cp "$F" "$X"
sed "s/$(basename "$F")/$(basename "$X")/" "${F%.sql.gz}.json" >"${X%.sql.gz}.json"
printf '\xff' | dd of="$X" bs=1 seek=$(($(stat -c %s "$X") / 2)) conv=notrunc 2>/dev/null
expect_rc 1 "bit-flipped backup: verify fails" "$CTLDB" backup verify "$X"
check "names the damage" stderr_has "damaged\|SHA-256"
expect_rc 1 "bit-flipped backup: restore refused" "$CTLDB" restore "$X" --target-db it_restored --clean --yes
check "target untouched" test "$(count_in it_restored users)" = "$USERS"
# A gzip stream that decompresses but lost pg_dump's ending (manifest rewritten to match).
E="$B/backup-20200101-000002.sql.gz"
(gunzip -c "$F" 2>/dev/null || true) | head -n 50 | gzip >"$E"
sed -e "s/$(basename "$F")/$(basename "$E")/" -e "s/\"sha256\": \"[0-9a-f]*\"/\"sha256\": \"$(sha256sum "$E" | cut -c1-64)\"/" \
    -e "s/\"size_bytes\": [0-9]*/\"size_bytes\": $(stat -c %s "$E")/" "${F%.sql.gz}.json" >"${E%.sql.gz}.json"
expect_rc 1 "incomplete dump: verify fails" "$CTLDB" backup verify "$E"
check "closing marker missing" stderr_has "closing marker"
rm -f "$B"/backup-20200101-00000[12].*
expect_rc 1 "a backup without a manifest cannot be verified" bash -c "rm '${T%.sql.gz}.json'; '$CTLDB' backup verify '$T'"

# Failures leave no final file and no child process.
expect_rc 3 "backup of a database that does not exist" env DB_NAME=no_such_db "$CTLDB" backup --dir "$B"
check "no backup written" test -z "$(ls "$B" | grep -v 20200101 || true)"

# A table big enough that the dump streams for a few seconds at level 9 on
# one thread, so it can be interrupted and cut off midway.
sql "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || repeat('y', 300) AS pad FROM generate_series(1, 400000) g" >/dev/null
sql "ALTER TABLE bulk OWNER TO appuser" >/dev/null
# This run's pg_dump, the child of its ctldb (other suites and benchmarks on
# the machine run pg_dump too); gone_pid PID: that process has ended.
dump_child() { pgrep -x -P "$1" pg_dump | head -1; }
gone_pid() { [[ -n "$1" ]] && wait_for bash -c "! kill -0 $1 2>/dev/null"; }
set +e
"$CTLDB" backup --dir "$B" --compress-level 9 --jobs 1 >"$OUT" 2>"$ERR" &
BPID=$!
wait_for bash -c "pgrep -x -P $BPID pg_dump >/dev/null"
DUMP_PID=$(dump_child $BPID)
sleep 0.5
kill -TERM $BPID
wait $BPID
RC=$?
set -e
check "SIGTERM mid-backup exits 130 (got $RC)" test "$RC" = 130
check "pg_dump was running (pid $DUMP_PID)" test -n "$DUMP_PID"
check "pg_dump stopped too" gone_pid "$DUMP_PID"
check "no final file and no partial" test -z "$(ls "$B" | grep -v 20200101 || true)"

set +e
"$CTLDB" backup --dir "$B" --compress-level 9 --jobs 1 >"$OUT" 2>"$ERR" &
BPID=$!
wait_for bash -c "[[ \$(SUPERUSER_DB=it_backup superuser_psql -c \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ctldb backup' AND query LIKE 'COPY%'\") -ge 1 ]]"
DUMP_PID=$(dump_child $BPID)
SUPERUSER_DB=it_backup superuser_psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ctldb backup'" >/dev/null
wait $BPID
RC=$?
set -e
check "connection lost mid-dump exits 1 (got $RC)" test "$RC" = 1
check "pg_dump's error reported" stderr_has "pg_dump failed"
check "still no backup files" test -z "$(ls "$B" | grep -v 20200101 || true)"
check "no pg_dump left running" gone_pid "$DUMP_PID"
sql "DROP TABLE bulk" >/dev/null

# The server itself stopped mid-dump (fast shutdown of a sandbox of our own).
SB2="$IT_TMP/sb-stop"
(
    unset DB_PASSWORD_FILE DB_HOST DB_PORT DB_NAME DB_USER DB_SSL_MODE DB_SSL_ROOT_CERT
    "$CTLDB" -q local start --dir "$SB2" --port 0 >/dev/null
    eval "$("$CTLDB" local env --dir "$SB2")"
    PORT2=$DB_PORT
    runuser -u postgres -- "$BIN/psql" -X -q -h "$SB2/socket" -p "$PORT2" -d cloudtolocalllm -c \
        "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || repeat('y', 300) AS pad FROM generate_series(1, 400000) g; ALTER TABLE bulk OWNER TO appuser" >/dev/null
    set +e
    "$CTLDB" backup --dir "$B" --compress-level 9 --jobs 1 >"$OUT" 2>"$ERR" &
    BPID=$!
    wait_for bash -c "pgrep -x -P $BPID pg_dump >/dev/null"
    dump_child $BPID >"$IT_TMP/stop.dump_pid"
    sleep 0.5
    "$CTLDB" local stop --dir "$SB2" >/dev/null 2>&1
    wait $BPID
    echo $? >"$IT_TMP/stop.rc"
    set -e
    "$CTLDB" local destroy --yes --dir "$SB2" >/dev/null 2>&1 || true
)
check "server stopped mid-dump exits 1 (got $(cat "$IT_TMP/stop.rc"))" test "$(cat "$IT_TMP/stop.rc")" = 1
check "pg_dump's failure reported" stderr_has "pg_dump failed"
check "no backup file after the server stopped" test -z "$(ls "$B" | grep -v 20200101 || true)"
check "no pg_dump left" gone_pid "$(cat "$IT_TMP/stop.dump_pid")"

# Retention, per database: the newest N usable backups of the database stay;
# damaged ones never count; files ctldb cannot identify (no manifest, like
# the guide's CronJob dumps) and other databases' backups are never touched.
R="$IT_TMP/retention"
mkdir -p "$R"
touch "$R/backup-20000101-000000.sql.gz"   # no manifest: not ctldb's to delete
OTHER_DB=$(env DB_NAME=it_runbook "$CTLDB" backup --dir "$R" -o json | "$CTLDB_JSON_TOOL" get /path)
for i in 1 2 3; do
    "$CTLDB" -q backup --dir "$R" >/dev/null   # same second: waits for the next
done
check "three backups, another database's and the stray file" test "$(ls "$R"/*.sql.gz | wc -l)" = 5
expect_rc 0 "prune --dry-run" "$CTLDB" backup prune --dir "$R" --keep-last 1 --dry-run
check "dry run deletes nothing" test "$(ls "$R"/*.sql.gz | wc -l)" = 5
NEWEST=$(ls "$R"/*.sql.gz | sort | tail -1)
expect_rc 0 "backup with --keep-last 2" "$CTLDB" backup --dir "$R" --keep-last 2 -o json
JUST_MADE=$(json_get /path)
check "the backup's JSON names its manifest file" test "$(json_get /manifest)" = "${JUST_MADE%.sql.gz}.json"
expect_rc 0 "verify -o json" "$CTLDB" backup verify "$JUST_MADE" -o json
check "verified against its manifest" json_is /manifest true
check "two of this database remain, the new one among them" bash -c "[[ \$(ls '$R'/*.sql.gz | wc -l) == 4 && -f '$JUST_MADE' && -f '$NEWEST' ]]"
check "the manifest-less file is left alone" test -e "$R/backup-20000101-000000.sql.gz"
check "the other database's backup is left alone" test -e "$OTHER_DB"
check "manifests of pruned backups gone too" test "$(ls "$R"/*.json | wc -l)" = 3
expect_rc 0 "prune --keep-last 1: per database" "$CTLDB" backup prune --dir "$R" --keep-last 1
check "one of each database and the stray file" bash -c "[[ \$(ls '$R'/*.sql.gz | wc -l) == 3 && -f '$JUST_MADE' && -f '$OTHER_DB' ]]"
expect_rc 0 "backup list names each backup's database" "$CTLDB" backup list --dir "$R"
check "database column, and the way to restore the manifest-less one" bash -c "grep -q 'it_runbook' '$OUT' && grep -q 'it_backup' '$OUT' && grep -q 'restore --no-manifest can take it' '$OUT'"
expect_rc 2 "prune needs a rule" "$CTLDB" backup prune --dir "$R"

# Calendar retention over 400 simulated days (copies of one real backup,
# each named by its time with a manifest naming it; gaps, second backups of
# a day, one damaged, one dated in the future, one without a manifest): the
# set kept is exactly what calendar_backups.py computes on its own.
CAL="$IT_TMP/calendar"
mkdir -p "$CAL"
DAMAGED=$(python3 "$(dirname "$0")/calendar_backups.py" make "$CAL" "$JUST_MADE" "${JUST_MADE%.sql.gz}.json")
ALL=$(ls "$CAL"/*.sql.gz | wc -l)
RULES=(--keep-last 2 --keep-daily 7 --keep-weekly 5 --keep-monthly 13)
python3 "$(dirname "$0")/calendar_backups.py" expect "$CAL" 2 7 5 13 >"$IT_TMP/cal.expected"
expect_rc 0 "prune by calendar --dry-run" "$CTLDB" backup prune --dir "$CAL" "${RULES[@]}" --dry-run -o json
check "dry run: nothing deleted" test "$(ls "$CAL"/*.sql.gz | wc -l)" = "$ALL"
check "dry run: as many to delete as the independent count" test "$("$CTLDB_JSON_TOOL" get /deleted <"$OUT" | grep -o "sql.gz" | wc -l)" = "$((ALL - $(wc -l <"$IT_TMP/cal.expected")))"
check "dry run: the damaged one goes, saying so" bash -c "grep -q '$DAMAGED' '$OUT' && grep -q 'damaged (size differs' '$OUT'"
expect_rc 0 "prune by calendar, text" "$CTLDB" backup prune --dir "$CAL" "${RULES[@]}" --dry-run
check "text says which rule keeps each" bash -c "grep -q '^keep .*: newest usable, last 2, daily ' '$OUT' && grep -q 'monthly ' '$OUT' && grep -q '^would delete .*kept by no rule (--keep-last 2 --keep-daily 7 --keep-weekly 5 --keep-monthly 13)' '$OUT'"
expect_rc 0 "prune by calendar" "$CTLDB" backup prune --dir "$CAL" "${RULES[@]}"
ls "$CAL"/*.sql.gz | sort >"$IT_TMP/cal.kept"
check "exactly the expected set kept ($(wc -l <"$IT_TMP/cal.expected") of $ALL)" diff "$IT_TMP/cal.expected" "$IT_TMP/cal.kept"
check "no manifest left without its backup" bash -c "for m in '$CAL'/*.json; do test -f \"\${m%.json}.sql.gz\" || exit 1; done"
check "the future-dated and the manifest-less ones untouched" bash -c "ls '$CAL' | grep -q 20200101 && test \$(ls '$CAL'/*.sql.gz | awk -F/ '{print \$NF}' | sort | tail -1) '>' backup-\$(date -u +%Y%m%d)"
expect_rc 0 "prune again: nothing more goes" "$CTLDB" backup prune --dir "$CAL" "${RULES[@]}" -o json
check "second run deletes nothing" test "$("$CTLDB_JSON_TOOL" get /deleted <"$OUT")" = "[]"

# Other formats.
expect_rc 0 "custom format" "$CTLDB" backup --dir "$D" --format custom -o json
C=$(json_get /path)
check "named .dump" bash -c "[[ '$C' == *.dump ]]"
check "pg_restore reads it" "$BIN/pg_restore" --list "$C"
expect_rc 0 "verify custom" "$CTLDB" backup verify "$C"
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_custom WITH (FORCE)" >/dev/null 2>&1
expect_rc 0 "restore custom" "$CTLDB" restore "$C" --target-db it_custom --create --yes
check "users restored from custom" test "$(count_in it_custom users)" = "$USERS"
expect_rc 0 "zstd" "$CTLDB" backup --dir "$D" --compression zstd -o json
Z=$(json_get /path)
check "named .sql.zst" bash -c "[[ '$Z' == *.sql.zst ]]"
expect_rc 0 "verify zstd" "$CTLDB" backup verify "$Z"
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_zstd WITH (FORCE)" >/dev/null 2>&1
expect_rc 0 "restore zstd" "$CTLDB" restore "$Z" --target-db it_zstd --create --yes
check "users restored from zstd" test "$(count_in it_zstd users)" = "$USERS"
check "same second as the custom one: its own name, both manifests kept" bash -c "[[ '$Z' != '${C%.dump}.sql.zst' && -f '${C%.dump}.json' && -f '${Z%.sql.zst}.json' ]]"

# A table the backup role cannot read: refused with the grant to make, no file.
sql "CREATE TABLE it_private (x int)" >/dev/null
P="$IT_TMP/private"
mkdir -p "$P"
expect_rc 1 "a table the role cannot read" "$CTLDB" backup --dir "$P"
check "names the table and the fix" bash -c "grep -q 'permission denied for table it_private' '$ERR' && grep -q 'pg_read_all_data' '$ERR'"
check "nothing written" test -z "$(ls -A "$P")"
sql "DROP TABLE it_private" >/dev/null

# Large objects: plain dumps commit them on their own; the backup says so.
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_lo WITH (FORCE)" >/dev/null 2>&1
SUPERUSER_DB=postgres superuser_psql -c "CREATE DATABASE it_lo OWNER appuser" >/dev/null
app_psql it_lo -c "SELECT lo_from_bytea(0, 'hello')" >/dev/null
L="$IT_TMP/lo"
mkdir -p "$L"
expect_rc 0 "plain backup of a database with large objects" env DB_NAME=it_lo "$CTLDB" backup --dir "$L"
check "warns that its restore is not one transaction" stderr_has "large objects: .* not one transaction"
expect_rc 0 "custom backup of it" env DB_NAME=it_lo "$CTLDB" backup --dir "$L" --format custom
check "no such warning for custom" bash -c "! grep -q 'large objects' '$ERR'"

# Dumps made without ctldb: the guide's CronJob (pg_dump > backup-DATE-TIME.sql;
# gzip) and its manual recipe (backup-DATE.sql.gz), and a custom archive.
G="$IT_TMP/guide"
mkdir -p "$G"
APPDB="host=$DB_HOST port=$DB_PORT dbname=it_backup user=appuser sslmode=require"
"$BIN/pg_dump" "$APPDB" >"$G/backup-20251116-020000.sql" && gzip "$G/backup-20251116-020000.sql"
"$BIN/pg_dump" "$APPDB" | gzip >"$G/backup-20251116.sql.gz"
"$BIN/pg_dump" -Fc "$APPDB" >"$G/nightly.dump"
head -c 20000 "$G/backup-20251116.sql.gz" >"$G/cut.sql.gz"
gunzip -c "$G/backup-20251116.sql.gz" | head -n 200 >"$G/cut.sql" || true  # gunzip gets SIGPIPE
# Undated names are dated by their modification time: older than the CronJob's.
touch -d '2025-11-01 00:00:00 UTC' "$G/nightly.dump" "$G/cut.sql.gz" "$G/cut.sql"
expect_rc 1 "a CronJob dump is refused without --no-manifest" "$CTLDB" restore "$G/backup-20251116-020000.sql.gz" --target-db it_guide1 --create --yes
check "the hint names --no-manifest" stderr_has "pass --no-manifest"
expect_rc 1 "so is 'latest' among them" "$CTLDB" restore latest --dir "$G" --target-db it_guide1 --create --yes
check "and says how to take them" stderr_has "pass --no-manifest"
check "nothing created" test "$(SUPERUSER_DB=postgres superuser_psql -c "SELECT count(*) FROM pg_database WHERE datname = 'it_guide1'")" = 0
expect_rc 0 "verify --no-manifest: a complete gzip dump" "$CTLDB" backup verify "$G/backup-20251116.sql.gz" --no-manifest -o json
check "reported as having no manifest" json_is /manifest false
expect_rc 0 "restore latest --no-manifest picks the CronJob's" "$CTLDB" restore latest --dir "$G" --target-db it_guide1 --create --yes --no-manifest -o json
check "it was the CronJob's file" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /path <'$OUT') == *backup-20251116-020000.sql.gz ]]"
check "every user back" test "$(count_in it_guide1 users)" = "$USERS"
check "warned that counts cannot be compared" stderr_has "row counts cannot be checked"
expect_rc 0 "the manual recipe's file (any name)" "$CTLDB" restore "$G/backup-20251116.sql.gz" --target-db it_guide2 --create --yes --no-manifest
check "every user back (manual)" test "$(count_in it_guide2 users)" = "$USERS"
expect_rc 0 "--jobs with a plain dump" "$CTLDB" restore "$G/backup-20251116.sql.gz" --target-db it_guide5 --create --yes --no-manifest --jobs 2
check "says --jobs does not apply" stderr_has "jobs applies to custom archives"
expect_rc 0 "a custom archive by name only" "$CTLDB" restore "$G/nightly.dump" --target-db it_guide3 --create --yes --no-manifest
check "every user back (custom)" test "$(count_in it_guide3 users)" = "$USERS"
expect_rc 1 "a truncated foreign gzip" "$CTLDB" restore "$G/cut.sql.gz" --target-db it_guide4 --create --yes --no-manifest
check "says truncated" stderr_has "truncated"
expect_rc 1 "a plain dump cut short" "$CTLDB" restore "$G/cut.sql" --target-db it_guide4 --create --yes --no-manifest
check "says incomplete" stderr_has "dump is incomplete"
check "target never created" test "$(SUPERUSER_DB=postgres superuser_psql -c "SELECT count(*) FROM pg_database WHERE datname = 'it_guide4'")" = 0

# A small volume: the estimate refuses before anything is written; a backup
# forced onto it that runs out of room leaves nothing; once a backup exists
# its size is the estimate.
SMALL="$IT_TMP/small"
mkdir -p "$SMALL"
if [[ $EUID == 0 ]] && mount -t tmpfs -o size=64k tmpfs "$SMALL" 2>/dev/null; then
    at_exit 'umount "$SMALL" 2>/dev/null'
    expect_rc 1 "too little room: refused up front" "$CTLDB" backup --dir "$SMALL"
    check "says how much it needs, nothing written" bash -c "grep -q 'the backup needs about' '$ERR' && [[ -z \$(ls -A '$SMALL') ]]"
    expect_rc 1 "--no-space-check onto a full volume" "$CTLDB" backup --dir "$SMALL" --no-space-check
    check "no space left named" stderr_has "No space left on device"
    check "no partial file left" test -z "$(ls -A "$SMALL")"
    umount "$SMALL"
    SIZE=$(du -k "$JUST_MADE" | cut -f1)
    mount -t tmpfs -o size=$((SIZE * 3 + 1024))k tmpfs "$SMALL"
    expect_rc 0 "first backup with --no-space-check" "$CTLDB" backup --dir "$SMALL" --no-space-check
    expect_rc 0 "the next one is estimated from it, fits" "$CTLDB" backup --dir "$SMALL"
    umount "$SMALL"
else
    echo "ok - # SKIP small-volume checks need root and tmpfs"
fi

# Names with dots: the manifest keys row counts by schema.table as written;
# restore finds "a.b"."c.d" whole instead of splitting it at the first dot.
fresh_database it_dots
sql 'CREATE SCHEMA "a.b"; CREATE TABLE "a.b"."c.d" (id int); INSERT INTO "a.b"."c.d" SELECT generate_series(1, 7); CREATE TABLE "a.b.c" (id int); INSERT INTO "a.b.c" VALUES (1)' >/dev/null
sql 'ALTER SCHEMA "a.b" OWNER TO appuser; ALTER TABLE "a.b"."c.d" OWNER TO appuser; ALTER TABLE "a.b.c" OWNER TO appuser' >/dev/null
DOTS=$IT_TMP/dots
mkdir -p "$DOTS"
expect_rc 0 "backup of tables whose names hold dots" "$CTLDB" -q backup --dir "$DOTS"
expect_rc 0 "restored with their row counts compared" "$CTLDB" restore latest --dir "$DOTS" --target-db it_dots_copy --create --yes -o json
check "both tables counted" bash -c "grep -q '\"a.b.c.d\"' '$OUT' && grep -q '\"public.a.b.c\"' '$OUT'"
check "7 rows came back" test "$(SUPERUSER_DB=it_dots_copy superuser_psql -c 'SELECT count(*) FROM "a.b"."c.d"')" = 7
SUPERUSER_DB=postgres superuser_psql -c "DROP DATABASE IF EXISTS it_dots_copy" >/dev/null
export DB_NAME=it_backup SUPERUSER_DB=it_backup

expect_rc 2 "gzip level out of range" "$CTLDB" backup --dir "$D" --compress-level 12
expect_rc 2 "unknown format" "$CTLDB" backup --dir "$D" --format tar

finish
