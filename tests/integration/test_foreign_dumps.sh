#!/usr/bin/env bash
# Dumps made by other tools, by any name (the guide's CronJob, its README's
# recipe, a manual pg_dump): recognised by content, listed, verified and
# restored with `restore latest --no-manifest`; never deleted by retention.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
export PGPASSWORD
PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
fresh_database it_foreign
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed generate --users 300 --random-seed 5 >/dev/null
USERS=$(sql "SELECT count(*) FROM users")
CONN="host=$DB_HOST port=$DB_PORT dbname=it_foreign user=$DB_USER sslmode=verify-full sslrootcert=$DB_SSL_ROOT_CERT"
dump() { "$(pg_bindir)/pg_dump" "$@" "$CONN"; }

D="$IT_TMP/dumps"
mkdir -p "$D"
dump >"$D/dump-20251116-020000.sql"                         # their CronJob
dump >"$D/backup_20251117_020000.sql"                       # their README
dump | gzip >"$D/backup-20251118-020000.sql.gz"             # the guide's CronJob
dump | zstd -q >"$D/nightly.sql.zst"                        # no date in the name
touch -d '2025-11-01 02:00:00 UTC' "$D/nightly.sql.zst"
dump -Fc >"$D/cloudtolocalllm-2025-11-19T02-00-00.custom"   # custom archive, odd name
head -c 20000 "$D/dump-20251116-020000.sql" >"$D/inprogress-20251121-020000.sql"  # still being written
# Not dumps: left out of every list.
printf '# notes\n' >"$D/notes.md"
printf 'just some log lines\n' | gzip >"$D/app.log.gz"
"$(pg_bindir)/pg_dumpall" --globals-only -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" 2>/dev/null >"$D/dumpall-20251120.sql" || true
cp "$D/dump-20251116-020000.sql" "$IT_TMP/keep.sql"

expect_rc 0 "backup list sees every dump, whatever its name" "$CTLDB" backup list --dir "$D" -o json
check "six entries: five dumps and the one being written" test "$("$CTLDB_JSON_TOOL" get /backups <"$OUT" | grep -o '"path"' | wc -l)" = 6
check "newest first, by the time in the name" json_is /backups/0/path "$D/inprogress-20251121-020000.sql"
check "the one being written is incomplete" bash -c "'$CTLDB_JSON_TOOL' get /backups/0/problem <'$OUT' | grep -q 'incomplete: no closing marker'"
check "then the custom archive" json_is /backups/1/path "$D/cloudtolocalllm-2025-11-19T02-00-00.custom"
check "its kind, from its content" json_is /backups/1/kind "custom archive"
check "not made by ctldb" json_is /backups/1/made_by_ctldb false
check "the undated one last, by its modification time" json_is /backups/5/path "$D/nightly.sql.zst"
check "and says so" json_is "/backups/5/taken_at_from" "modification time"
check "a zstd dump" json_is /backups/5/kind "zstd-compressed SQL dump"
check "notes, logs and a cluster dump are not listed" bash -c "! grep -q 'notes.md\|app.log.gz\|dumpall' '$OUT'"
expect_rc 0 "backup list (text)" "$CTLDB" backup list --dir "$D"
check "marks them as without a manifest, says how to restore" stdout_has "backup-20251118-020000.sql.gz .*no ctldb manifest: a gzip-compressed SQL dump (restore --no-manifest can take it)"
check "whatever their names" stdout_has "backup_20251117_020000.sql .*no ctldb manifest: a SQL dump"
check "explains the starred age" stdout_has "age from the file's modification time"

for f in dump-20251116-020000.sql backup_20251117_020000.sql backup-20251118-020000.sql.gz nightly.sql.zst cloudtolocalllm-2025-11-19T02-00-00.custom; do
    expect_rc 0 "backup verify --no-manifest $f" "$CTLDB" backup verify "$D/$f" --no-manifest
done
expect_rc 1 "backup verify without --no-manifest names what it is" "$CTLDB" backup verify "$D/backup_20251117_020000.sql"
check "a SQL dump made without ctldb" stderr_has "is a SQL dump made without ctldb: it has no manifest"
check "and the flag" stderr_has "pass --no-manifest"
expect_rc 1 "the dump being written fails verification" "$CTLDB" backup verify "$D/inprogress-20251121-020000.sql" --no-manifest
expect_rc 1 "a file that is no dump" "$CTLDB" backup verify "$D/notes.md"
check "says so" stderr_has "neither a ctldb backup nor a pg_dump file"

expect_rc 0 "restore latest --no-manifest takes the newest complete one" "$CTLDB" restore latest --dir "$D" --no-manifest --target-db it_foreign_r --create --yes
check "the custom archive, not the one being written" stdout_has "cloudtolocalllm-2025-11-19T02-00-00.custom"
check "every user restored" test "$(SUPERUSER_DB=it_foreign_r superuser_psql -c "SELECT count(*) FROM users")" = "$USERS"
rm "$D/cloudtolocalllm-2025-11-19T02-00-00.custom"
expect_rc 0 "then the guide's gzip CronJob dump" "$CTLDB" restore latest --dir "$D" --no-manifest --target-db it_foreign_r --clean --yes
check "backup-20251118-020000.sql.gz" stdout_has "backup-20251118-020000.sql.gz"

# Retention deletes only what ctldb wrote and can identify.
"$CTLDB" -q backup --dir "$D" >/dev/null
sleep 1
"$CTLDB" -q backup --dir "$D" >/dev/null
expect_rc 0 "prune --keep-last 1 in a directory of other tools' dumps" "$CTLDB" backup prune --dir "$D" --keep-last 1
check "deleted one of ctldb's own" test "$(ls "$D"/backup-2026*.sql.gz "$D"/backup-2027*.sql.gz 2>/dev/null | wc -l)" = 1
for f in dump-20251116-020000.sql backup_20251117_020000.sql backup-20251118-020000.sql.gz nightly.sql.zst inprogress-20251121-020000.sql; do
    check "kept $f" test -f "$D/$f"
done
check "kept byte for byte" cmp -s "$D/dump-20251116-020000.sql" "$IT_TMP/keep.sql"

finish
