#!/usr/bin/env bash
# Backups in object storage against the aws CLI, side by side on one sandbox
# and one radosgw (tests/integration/lib.sh's harness, over HTTPS).
# Bars (object storage issue): backup to S3 <= 0.6 x
# `pg_dump | gzip | aws s3 cp - s3://...`; restore of an encrypted backup
# from S3 <= 1.0 x `aws s3 cp s3://... - | age -d | gunzip |
# psql --single-transaction`; peak RSS of ctldb <= 64 MB. ROUNDS rounds,
# order alternated, medians.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-150000}
ROUNDS=${ROUNDS:-3}
for p in time bc awscli age; do dpkg -s "$p" >/dev/null 2>&1 || apt-get install -y -qq "$p" >/dev/null; done
AWS=/usr/bin/aws
W=/tmp/ctldb-bench-s3-files
./scripts/build >/dev/null
export CTLDB=$PWD/build/ctldb
source tests/integration/lib.sh  # start_radosgw, s3_curl (its EXIT trap is replaced below)
BENCH_CLEANUP='run_cleanups; rm -rf "$W" "$IT_TMP"'
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-s3
bench_pg_env
rm -rf "$W" && mkdir -p "$W"
bench_restore_data "$USERS"
start_radosgw
export CTLDB_S3_ENDPOINT=$S3_HTTPS CTLDB_S3_CA_FILE=$S3_CA AWS_DEFAULT_REGION=us-east-1
aws_s3() { "$AWS" --endpoint-url "$S3_HTTPS" --ca-bundle "$S3_CA" s3 "$@"; }
age-keygen -o "$W/key" 2>/dev/null
RCPT=$(age-keygen -y "$W/key")

backup_anchor() {
    timed anchor_backup bash -c "set -o pipefail; '$BIN/pg_dump' -d '$DB_NAME' | gzip | $AWS --endpoint-url '$S3_HTTPS' --ca-bundle '$S3_CA' s3 cp - s3://$S3_BUCKET/anchor/dump-\$RANDOM.sql.gz"
}
backup_ctldb() { timed ctldb_backup "$CTLDB" -q backup --dir "s3://$S3_BUCKET/ctldb"; sleep 1; }
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then backup_anchor; backup_ctldb; else backup_ctldb; backup_anchor; fi
done
"$CTLDB" -q backup --dir "s3://$S3_BUCKET/enc" --encrypt-to "$RCPT"
ENC=$(s3_keys enc/ | grep '\.age$')
text=$(s3_curl "$S3_HTTP/$S3_BUCKET/$ENC" | age -d -i "$W/key" | gunzip | wc -c)
restore_anchor() {
    fresh r_anchor
    timed anchor_restore bash -c "set -o pipefail; $AWS --endpoint-url '$S3_HTTPS' --ca-bundle '$S3_CA' s3 cp 's3://$S3_BUCKET/$ENC' - | age -d -i '$W/key' | gunzip | '$BIN/psql' -X -q -v ON_ERROR_STOP=1 --single-transaction -d r_anchor"
}
restore_ctldb() {
    fresh r_ctldb
    timed ctldb_restore "$CTLDB" -q restore "s3://$S3_BUCKET/$ENC" --identity "$W/key" --target-db r_ctldb --yes
}
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then restore_anchor; restore_ctldb; else restore_ctldb; restore_anchor; fi
done

printf 'dump text: %.0f MB; %s rounds, medians\n' "$(echo "$text / 1000000" | bc -l)" "$ROUNDS"
awk -v ab="$(median anchor_backup.s)" -v cb="$(median ctldb_backup.s)" \
    -v ar="$(median anchor_restore.s)" -v cr="$(median ctldb_restore.s)" \
    -v rb="$(max ctldb_backup.rss)" -v rr="$(max ctldb_restore.rss)" 'BEGIN {
    printf "backup:  pg_dump | gzip | aws s3 cp   %6.2f s\n", ab
    printf "         ctldb backup --dir s3://     %6.2f s   ratio %.2f (bar 0.6)   peak RSS %.1f MB\n", cb, cb / ab, rb / 1024
    printf "restore: aws s3 cp | age -d | gunzip | psql -1   %6.2f s\n", ar
    printf "         ctldb restore s3://... --identity      %6.2f s   ratio %.2f (bar 1.0)   peak RSS %.1f MB\n", cr, cr / ar, rr / 1024
}'
