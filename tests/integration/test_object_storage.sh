#!/usr/bin/env bash
# Backups in S3-compatible object storage, against a real Ceph radosgw over
# HTTPS: streamed up with no local file, listed, verified, restored; killed
# and stopped at random points of the upload; the service gone for seconds;
# a wrong secret; objects of half a backup; encrypted backups in the bucket.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
start_radosgw
export CTLDB_S3_ENDPOINT="$S3_HTTPS" CTLDB_S3_CA_FILE="$S3_CA"
S3="s3://$S3_BUCKET/prod/db"

fresh_database it_s3
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed generate --users 2000 --random-seed 5 >/dev/null
users=$(superuser_psql -Atc "SELECT count(*) FROM users")

# --- backup, list, verify, restore ---------------------------------------------
expect_rc 0 "backup to s3:// over HTTPS" "$CTLDB" backup --dir "$S3"
check "the backup says where it went" stdout_has "s3://$S3_BUCKET/prod/db/backup-"
keys=$(s3_keys prod/db/)
check "one data object and one manifest in the bucket" test "$(echo "$keys" | wc -l)" = 2
check "no incomplete upload left" test -z "$(s3_uploads prod/)"
run "$CTLDB" -o json backup list --dir "$S3"
check "backup list reads the bucket (exit $RC)" test "$RC" = 0
check "the backup is listed as usable" json_is /backups/0/usable true
data=$(json_get /backups/0/path)
expect_rc 0 "backup verify reads it from the bucket" "$CTLDB" backup verify "$data"
check "verify checked the content" stdout_has "complete and intact"
run "$CTLDB" backup verify "${data%.sql.gz}.json"
check "verify of the manifest object instead of the data: exit 2 (got $RC)" test "$RC" = 2
check "said as such" stderr_has "is the manifest of a backup, not the backup"
run "$CTLDB" -o json backup list --dir "$S3"
check "the verification is recorded in the bucket's manifest" test "$(json_get /backups/0/verified_at)" != null

fresh_database it_s3_restored
expect_rc 0 "restore latest from s3://" env DB_NAME=it_s3 "$CTLDB" restore latest --dir "$S3" --target-db it_s3_restored --yes
check "the restored database has every row" test "$(superuser_psql -Atc 'SELECT count(*) FROM users')" = "$users"
export DB_NAME=it_s3 SUPERUSER_DB=it_s3
# A prefix with a space, '=', a quote and non-ASCII: signed and listed as named.
Q="s3://$S3_BUCKET/we ird=pre'fix/é"
expect_rc 0 "a backup under a prefix with a space, '=', a quote and é" "$CTLDB" -q backup --dir "$Q"
run "$CTLDB" -o json backup list --dir "$Q"
check "listed under that prefix, usable" json_is /backups/0/usable true
run "$CTLDB" backup list --dir "s3://$S3_BUCKET/we ird=pre'fix"
check "and not one level up" stdout_lacks "backup-"

# --- restore drills ---------------------------------------------------------------------
drill_dbs() { SUPERUSER_DB=postgres superuser_psql -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE 'ctldb_drill_%'"; }
run "$CTLDB" doctor --checks backups --backup-dir "$S3"
check "before any drill, doctor says none is recorded" stdout_has "no restore drill recorded"
run "$CTLDB" -o json restore latest --drill --dir "$S3"
check "a restore drill of the newest backup in the bucket (exit $RC)" test "$RC" = 0
check "it compared every row" test "$(json_get /drill/rows)" -ge "$users"
check "the drill's database is gone again" test "$(drill_dbs)" = 0
drill_object() { s3_keys prod/db/ | grep -q '\.drill\.json$'; }
check "the drill is recorded by the backup, in the bucket" drill_object
run "$CTLDB" restore latest --drill --dir "$S3" --target-db elsewhere
check "--drill with --target-db: exit 2 (got $RC)" test "$RC" = 2
run "$CTLDB" doctor --checks backups --backup-dir "$S3"
check "doctor finds the newest backup in the bucket (exit $RC)" test "$RC" = 0
check "and names it" stdout_has "backup-"
check "doctor shows the last drill" stdout_has "rows matched its manifest"
run "$CTLDB" metrics --backup-dir "$S3"
check "metrics read the bucket (exit $RC)" test "$RC" = 0
check "and report the backup's age" stdout_has "ctldb_backup_newest_age_seconds{.*database=\"it_s3\""
check "and the last drill's age" stdout_has "ctldb_backup_last_drill_age_seconds{.*database=\"it_s3\""
sleep 1
expect_rc 0 "a second backup" "$CTLDB" -q backup --dir "$S3"
run "$CTLDB" -o json backup prune --dir "$S3" --keep-last 1 --dry-run
check "prune --dry-run in the bucket would delete the older one (exit $RC)" test "$(json_get /deleted/0)" != null
check "and deletes nothing" test "$(s3_keys prod/db/ | wc -l)" = 5
expect_rc 0 "prune --keep-last 1 in the bucket" "$CTLDB" -q backup prune --dir "$S3" --keep-last 1
check "one backup left: its data and manifest; the drilled one went with its drill record" test "$(s3_keys prod/db/ | wc -l)" = 2

# --- encrypted in the bucket ---------------------------------------------------------
E="s3://$S3_BUCKET/enc"
AK="$IT_TMP/keys"
mkdir -p "$AK"
age-keygen -o "$AK/one.key" 2>/dev/null
age-keygen -o "$AK/two.key" 2>/dev/null
expect_rc 0 "an encrypted backup to two recipients in the bucket" "$CTLDB" -q backup --dir "$E" \
    --encrypt-to "$(age-keygen -y "$AK/one.key")" --encrypt-to "$(age-keygen -y "$AK/two.key")"
ekey=$(s3_keys enc/ | grep '\.age$')
s3_curl -o "$IT_TMP/stored.age" "$S3_HTTP/$S3_BUCKET/$ekey"
check "the bytes in the bucket are an age file" test "$(head -c 21 "$IT_TMP/stored.age")" = "age-encryption.org/v1"
check "and hold no dump text, compressed or not" bash -c "! gunzip -c <'$IT_TMP/stored.age' 2>/dev/null | grep -q 'PostgreSQL database dump' && ! grep -aq 'CREATE TABLE' '$IT_TMP/stored.age'"
for k in one two; do
    check "age -d -i ($k's identity) opens what is in the bucket" bash -c "age -d -i '$AK/$k.key' <'$IT_TMP/stored.age' | gunzip | grep -q 'PostgreSQL database dump complete'"
done
fresh_database it_s3_enc
run env DB_NAME=it_s3 "$CTLDB" restore latest --dir "$E" --target-db it_s3_enc --yes
check "without an identity, restore from the bucket exits 2 (got $RC)" test "$RC" = 2
run env DB_NAME=it_s3 "$CTLDB" restore latest --dir "$E" --drill
check "a drill without the identity: exit 2 (got $RC), nothing left" test "$RC" = 2 -a "$(drill_dbs)" = 0
check "before touching the target" test "$(superuser_psql -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0
expect_rc 0 "with either identity, ctldb restores it" env DB_NAME=it_s3 "$CTLDB" restore latest --dir "$E" --target-db it_s3_enc --yes --identity "$AK/two.key"
check "every row is back" test "$(superuser_psql -Atc 'SELECT count(*) FROM users')" = "$users"
# A file the age tool made, put in the bucket by another tool.
export DB_NAME=it_s3 SUPERUSER_DB=it_s3
"$CTLDB" -q backup --dir "$IT_TMP" >/dev/null
plain=$(ls "$IT_TMP"/backup-*.sql.gz | head -1)
expect_rc 0 "a drill of a backup in a directory" "$CTLDB" -q restore latest --drill --dir "$IT_TMP"
check "recorded next to its manifest" test -s "${plain%.sql.gz}.drill.json"
age -r "$(age-keygen -y "$AK/one.key")" <"$plain" >"$IT_TMP/nightly.sql.gz.age"
s3_curl -X PUT --data-binary "@$IT_TMP/nightly.sql.gz.age" "$S3_HTTP/$S3_BUCKET/foreign/nightly.sql.gz.age" >/dev/null
fresh_database it_s3_foreign
expect_rc 0 "a file age -r wrote, in the bucket, restores with ctldb" env DB_NAME=it_s3_foreign "$CTLDB" restore "s3://$S3_BUCKET/foreign/nightly.sql.gz.age" --no-manifest --identity "$AK/one.key" --yes
check "every row of it" test "$(superuser_psql -Atc 'SELECT count(*) FROM users')" = "$users"
export DB_NAME=it_s3 SUPERUSER_DB=it_s3

# --- what a half backup leaves is never usable ------------------------------------
H="s3://$S3_BUCKET/half"
expect_rc 0 "a backup to take apart" "$CTLDB" -q backup --dir "$H"
key=$(s3_keys half/ | grep '\.sql\.gz$')
s3_curl -X DELETE "$S3_HTTP/$S3_BUCKET/$key" >/dev/null
s3_curl -X PUT --data-binary "not a dump" "$S3_HTTP/$S3_BUCKET/half/backup-20200101-000000.sql.gz" >/dev/null
run "$CTLDB" -o json backup list --dir "$H"
check "a manifest without its data is not listed" test "$(json_get /backups/0/path)" = "s3://$S3_BUCKET/half/backup-20200101-000000.sql.gz"
check "data without its manifest is not usable" json_is /backups/0/usable false
check "and there is nothing else" test "$(json_get /backups/1/path 2>/dev/null || echo none)" = none
expect_rc 1 "restore latest finds no usable backup there" "$CTLDB" restore latest --dir "$H" --target-db it_s3_never --create --yes
check "and creates nothing" test -z "$(SUPERUSER_DB=postgres superuser_psql -Atc "SELECT 1 FROM pg_database WHERE datname = 'it_s3_never'")"

# --- locations that are not what they look like -----------------------------------
# "S3://" or "gs://" taken as a path would be a local directory where an
# offsite copy was meant; "." and ".." would be steps to a proxy.
run "$CTLDB" backup --dir "S3://$S3_BUCKET/prod/db"
check "S3:// in upper case: exit 2 (got $RC)" test "$RC" = 2
check "naming how object storage is written" stderr_has "s3://bucket/prefix, in lower case"
run "$CTLDB" doctor --checks backups --backup-dir "gs://$S3_BUCKET/prod/db"
check "doctor fails the backups check for gs:// (exit $RC)" test "$RC" = 1
# Keys written into the endpoint, as some MinIO examples do: refused, and
# the secret never shown, not even by config show or in the metrics.
run env CTLDB_S3_ENDPOINT="https://$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY@${S3_HTTPS#https://}" "$CTLDB" backup --dir "$S3"
check "keys in CTLDB_S3_ENDPOINT: exit 2 (got $RC)" test "$RC" = 2
check "the secret is in no output" output_lacks "$AWS_SECRET_ACCESS_KEY"
run env CTLDB_S3_ENDPOINT="https://$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY@${S3_HTTPS#https://}" "$CTLDB" config show
check "config show hides it" output_lacks "$AWS_SECRET_ACCESS_KEY"
run "$CTLDB" metrics --backup-dir "s3://$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY@$S3_BUCKET/x"
check "a location with keys in it: the metrics hide them" output_lacks "$AWS_SECRET_ACCESS_KEY"
run "$CTLDB" restore latest --dir "s3://$S3_BUCKET/prod/../prod/db" --yes
check "a '..' step in the prefix: exit 2 (got $RC)" test "$RC" = 2
check "said as such" stderr_has "has a '.' or '..' part"

# --- refused credentials, an untrusted certificate ----------------------------------
run env AWS_SECRET_ACCESS_KEY=wrong-secret-value "$CTLDB" backup --dir "$S3"
check "a wrong secret: exit 3 (got $RC)" test "$RC" = 3
check "the S3 error code is said" stderr_has "SignatureDoesNotMatch"
check "no secret in any output" output_lacks "wrong-secret-value"
check "and no secret of the real key either" output_lacks "$AWS_SECRET_ACCESS_KEY"
run env CTLDB_S3_CA_FILE= "$CTLDB" backup list --dir "$S3"
check "a certificate the system does not trust: exit 3 (got $RC)" test "$RC" = 3
check "it says so" stderr_has "not trusted"
check "and names CTLDB_S3_CA_FILE, the system having CAs" stderr_has "give its CA with CTLDB_S3_CA_FILE"
# A system without any CA certificates (the stock postgres image has no
# ca-certificates package): the hint says that, not only "give its CA".
mkdir -p "$IT_TMP/no-cas"
run env CTLDB_S3_CA_FILE= SSL_CERT_FILE="$IT_TMP/no-cas/none.pem" SSL_CERT_DIR="$IT_TMP/no-cas" \
    "$CTLDB" backup list --dir "$S3"
check "no CA certificates on the system: exit 3 (got $RC)" test "$RC" = 3
check "it says the system has none and how to get them" stderr_has "this system has no CA certificates"
check "naming the package and the setting" stderr_has "install the ca-certificates package, or give the CA bundle with CTLDB_S3_CA_FILE"
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$IT_TMP" "$CTLDB" backup list --dir "$S3"
check "no credentials at all: exit 2 (got $RC)" test "$RC" = 2
printf '%s' "$AWS_SECRET_ACCESS_KEY" >"$IT_TMP/secret"
run env -u AWS_SECRET_ACCESS_KEY AWS_SECRET_ACCESS_KEY_FILE="$IT_TMP/secret" "$CTLDB" backup list --dir "$S3"
check "the secret from a mounted file (exit $RC)" test "$RC" = 0
# An endpoint nobody listens on, and one that answers with something that
# is not HTTP: retried, then exit 3 with what went wrong, nothing written.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run env CTLDB_S3_ENDPOINT="http://127.0.0.1:$closed" "$CTLDB" backup --dir "$S3"
check "an endpoint nobody listens on: exit 3 (got $RC)" test "$RC" = 3
check "it says it could not connect, after retrying" stderr_has "after 6 attempts"
run env CTLDB_S3_ENDPOINT="http://127.0.0.1:$closed" "$CTLDB" doctor --checks backups --backup-dir "$S3"
check "doctor: backups it cannot reach fail the check (exit $RC)" test "$RC" = 1
check "and it says why" stdout_has "cannot list"
run env CTLDB_S3_ENDPOINT="http://127.0.0.1:$closed" "$CTLDB" metrics --backup-dir "$S3"
check "metrics: the location is reported absent" stdout_has "ctldb_backup_directory_present{.*} 0"
python3 - "$IT_TMP/junk.port" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(30)
try:
    while True:
        c, _ = s.accept()
        c.recv(65536)
        c.sendall(b"SSH-2.0-not-http\r\n\r\n")
        c.close()
except OSError:
    pass
PY
junk=$!
at_exit "kill $junk 2>/dev/null"
wait_for test -s "$IT_TMP/junk.port"
run env CTLDB_S3_ENDPOINT="http://127.0.0.1:$(cat "$IT_TMP/junk.port")" "$CTLDB" backup list --dir "$S3"
check "an endpoint that is not HTTP: exit 3 (got $RC)" test "$RC" = 3
check "it says so" stderr_has "not an HTTP response"
kill "$junk" 2>/dev/null || true
run "$CTLDB" backup --dir "s3://$S3_BUCKET/x" --format custom
check "a custom archive to s3:// is refused (exit $RC)" test "$RC" = 2

# --- killed, stopped, the service gone ----------------------------------------------
# A table of 21 MB of text: a compressed dump of several 8 MiB parts.
app_psql it_s3 -c "CREATE TABLE blob AS SELECT g, md5(g::text) || md5((g * 7)::text) AS t FROM generate_series(1, 300000) g" >/dev/null
K="s3://$S3_BUCKET/faults"
every_listed_backup_verifies() {
    local p ok=0
    "$CTLDB" -o json backup list --dir "${1:-$K}" >"$IT_TMP/list.json" || return 1
    for p in $("$CTLDB_JSON_TOOL" get /backups <"$IT_TMP/list.json" | grep -o '"path": *"[^"]*"' | sed 's/.*"\(s3:[^"]*\)"/\1/'); do
        "$CTLDB" -q backup verify "$p" >/dev/null 2>&1 || { echo "unusable: $p" >&2; ok=1; }
    done
    return $ok
}
for sig in KILL TERM; do
    bad=0
    for i in $(seq 10); do
        "$CTLDB" -q backup --dir "$K" --compress-level 1 >/dev/null 2>&1 &
        pid=$!
        sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
        kill "-$sig" "$pid" 2>/dev/null || true  # it may have finished
        set +e
        wait "$pid"
        RC=$?
        set -e
        if [[ $sig == TERM && $RC != 130 && $RC != 0 ]]; then echo "SIGTERM gave $RC" >&2; bad=1; fi
        # SIGTERM: the run aborts its own upload before it exits.
        if [[ $sig == TERM && -n "$(s3_uploads faults/)" ]]; then echo "SIGTERM left an upload" >&2; bad=1; fi
        every_listed_backup_verifies || bad=1
    done
    check "SIG$sig at random points of 10 uploads: every listed backup is whole" test "$bad" = 0
    expect_rc 0 "after SIG$sig, the next backup" "$CTLDB" -q backup --dir "$K" --compress-level 1
    check "after SIG$sig and the next run, no incomplete upload is left" test -z "$(s3_uploads faults/)"
done

# radosgw gone for 3 seconds in the middle of an upload: retried, completed.
# The dump is made slower than the network (gzip level 9 on one thread), so
# the upload is under way, parts still to come, when radosgw goes.
"$CTLDB" -v backup --dir "$K" --compress-level 9 --jobs 1 >"$OUT" 2>"$ERR" &
pid=$!
upload_started() { [[ -n "$(s3_uploads faults/)" ]]; }
wait_for upload_started || echo "# the upload was never seen under way"
radosgw_gone_while "$pid"
check "radosgw stopped for 3 s mid-upload: the backup completes (exit $RC)" test "$RC" = 0
check "by retrying" stderr_has "retrying"
check "every listed backup is whole afterwards" every_listed_backup_verifies

# --- two runs into one prefix under one name -------------------------------------------
# S3 has no exclusive create of a multipart object, so two runs that began in
# the same second upload under the same name. The manifest decides: it is
# created only where none is (If-None-Match), and the run that finds another
# run's manifest steps back. Here "the other run" is a manifest put while the
# upload is under way: the run must fail, abort its upload and leave that
# manifest as it is, never replace it.
R="s3://$S3_BUCKET/race"
"$CTLDB" backup --dir "$R" --compress-level 9 --jobs 1 >"$OUT" 2>"$ERR" &
pid=$!
race_upload() { [[ -n "$(s3_uploads race/)" ]]; }
wait_for race_upload || echo "# the upload was never seen under way"
key=$(s3_curl "$S3_HTTP/$S3_BUCKET?prefix=race%2F&uploads=" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' | head -1)
stem=${key%.sql.gz}
printf '{"other":"run"}' >"$IT_TMP/other.json"
s3_curl -X PUT --data-binary @"$IT_TMP/other.json" "$S3_HTTP/$S3_BUCKET/$stem.json" >/dev/null
set +e
wait "$pid"
RC=$?
set -e
check "a run whose name another run published meanwhile fails (exit $RC)" test "$RC" = 1
check "it says why" stderr_has "another backup run published"
check "the other run's manifest is left as it was" test "$(s3_curl "$S3_HTTP/$S3_BUCKET/$stem.json")" = '{"other":"run"}'
check "this run's upload is aborted" test -z "$(s3_uploads race/)"
check "and no data object appeared under that name" test -z "$(s3_keys "$key")"
s3_curl -X DELETE "$S3_HTTP/$S3_BUCKET/$stem.json" >/dev/null
# Four runs at once into one prefix: whatever each says, a run that said
# "made" has its backup listed and whole, and every listed backup is whole.
pids=()
for i in 1 2 3 4; do
    "$CTLDB" -o json backup --dir "$R" --compress-level 1 >"$IT_TMP/race$i.json" 2>"$IT_TMP/race$i.err" &
    pids+=("$!")
done
made=0 lost=0
for i in 1 2 3 4; do
    set +e
    wait "${pids[$((i - 1))]}"
    rc=$?
    set -e
    [[ $rc == 0 ]] || continue
    made=$((made + 1))
    p=$("$CTLDB_JSON_TOOL" get /path <"$IT_TMP/race$i.json")
    "$CTLDB" -q backup verify "$p" >/dev/null 2>&1 || { echo "reported made, not whole: $p" >&2; lost=1; }
done
check "four runs at once: every backup reported made is there and whole ($made made)" test "$lost" = 0
check "every listed backup of the race is whole" every_listed_backup_verifies "$R"
expect_rc 0 "the next run into that prefix" "$CTLDB" -q backup --dir "$R" --compress-level 1
check "and no incomplete upload is left" test -z "$(s3_uploads race/)"
app_psql it_s3 -c "DROP TABLE blob" >/dev/null

# --- over 100 MB of dump text, streamed: nothing written locally ---------------------
# The working directory is read-only and TMPDIR a 2 MiB tmpfs: a backup
# that staged its dump in either would fail.
fresh_database it_s3_big
app_psql it_s3_big -c "CREATE TABLE big AS SELECT g, md5(g::text) || md5((g * 3)::text) AS t FROM generate_series(1, 1450000) g" >/dev/null
B="s3://$S3_BUCKET/big"
wrap=()
if [[ $EUID == 0 ]] && mkdir -p "$IT_TMP/ro" "$IT_TMP/smalltmp" &&
    mount -t tmpfs -o size=2m tmpfs "$IT_TMP/smalltmp" 2>/dev/null; then
    at_exit "umount '$IT_TMP/smalltmp'"
    mount -t tmpfs -o ro,size=1m tmpfs "$IT_TMP/ro" && at_exit "umount '$IT_TMP/ro'"
    wrap=(env TMPDIR="$IT_TMP/smalltmp")
    cd "$IT_TMP/ro"
else
    echo "# not root or no tmpfs: the 100 MB backup runs without the read-only directory"
fi
run "${wrap[@]}" "$CTLDB" -o json backup --dir "$B" --compress-level 1
cd "$IT_TMP"
check "a backup of over 100 MB of dump text to s3:// (exit $RC)" test "$RC" = 0
check "it was over 100 MB of dump text" test "$(json_get /dump_bytes)" -gt 100000000
check "nothing was written in TMPDIR" test -z "$(ls -A "$IT_TMP/smalltmp" 2>/dev/null)"
fresh_database it_s3_big_back
# radosgw gone for 3 s while the restore reads: it resumes where it stopped.
env DB_NAME=it_s3_big "$CTLDB" -v restore latest --dir "$B" --target-db it_s3_big_back --yes >"$OUT" 2>"$ERR" &
pid=$!
copying() { [[ "$(SUPERUSER_DB=postgres superuser_psql -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = 'it_s3_big_back' AND query LIKE 'COPY%'")" != 0 ]]; }
wait_for copying || echo "# the restore was never seen copying"
radosgw_gone_while "$pid"
check "restored from the bucket with radosgw gone for 3 s mid-read (exit $RC)" test "$RC" = 0
check "the read resumed where it broke off" stderr_has "resuming at byte"
check "every row of it" test "$(superuser_psql -Atc 'SELECT count(*) FROM big')" = 1450000

finish
