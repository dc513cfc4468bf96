#!/usr/bin/env bash
# ctldb backup/restore against the guide's recipe and pigz, side by side on
# one sandbox with at least 1 GB of dump text (USERS generated users).
# Bars (issue 4): backup <= 0.5 x (pg_dump > f && gzip f) and <= 1.0 x
# (pg_dump | pigz -p CORES) at the same level; size <= 1.05 x gzip's;
# peak RSS < 64 MB; restore (with verification) <= 1.25 x
# (gunzip -c | psql --single-transaction).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-650000}
LEVEL=${LEVEL:-6}
CORES=$(nproc)
for p in pigz time; do dpkg -s "$p" >/dev/null 2>&1 || apt-get install -y -qq "$p" >/dev/null; done
W=/tmp/ctldb-bench-backup-files
BENCH_CLEANUP='rm -rf "$W"'
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-backup
export PGHOST=$DB_HOST PGPORT=$DB_PORT PGUSER=$DB_USER PGDATABASE=$DB_NAME PGSSLMODE=verify-full \
    PGSSLROOTCERT=$DB_SSL_ROOT_CERT
rm -rf "$W" && mkdir -p "$W/guide" "$W/pigz" "$W/ctldb"
"$CTLDB" -q migrate >/dev/null
echo "generating $USERS users..."
CTLDB_NO_PROGRESS=1 "$CTLDB" -q seed generate --users "$USERS" --random-seed 1 >/dev/null
now() { date +%s.%N; }

t0=$(now); "$BIN/pg_dump" >"$W/guide/b.sql" && gzip -"$LEVEL" "$W/guide/b.sql"; t1=$(now)
"$BIN/pg_dump" | pigz -p "$CORES" -"$LEVEL" >"$W/pigz/b.sql.gz"; t2=$(now)
/usr/bin/time -f %M -o "$W/rss" "$CTLDB" -q backup --dir "$W/ctldb" --compress-level "$LEVEL" --jobs "$CORES" >/dev/null; t3=$(now)
F=$(ls "$W"/ctldb/*.sql.gz)
text=$(gunzip -c "$W/guide/b.sql.gz" | wc -c)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v gs="$(stat -c %s "$W/guide/b.sql.gz")" \
    -v cs="$(stat -c %s "$F")" -v rss="$(cat "$W/rss")" -v text="$text" 'BEGIN {
    g = b - a; p = c - b; k = d - c;
    printf "dump text: %.0f MB\n", text / 1e6;
    printf "guide (pg_dump > f && gzip f): %6.2f s\n", g;
    printf "pg_dump | pigz -p '"$CORES"':         %6.2f s\n", p;
    printf "ctldb backup:                  %6.2f s  ratio vs guide %.2f (<= 0.5), vs pigz %.2f (<= 1.0)\n", k, k / g, k / p;
    printf "size: ctldb %.1f MB, gzip %.1f MB, ratio %.3f (<= 1.05)\n", cs / 1e6, gs / 1e6, cs / gs;
    printf "ctldb backup peak RSS: %.1f MB (< 64)\n", rss / 1024 }'

su_psql() { runuser -u postgres -- "$BIN/psql" -X -q -h "$SB/socket" -p "$DB_PORT" -d postgres "$@"; }
su_psql -c "CREATE DATABASE r_guide OWNER appuser"
t0=$(now); gunzip -c "$W/guide/b.sql.gz" | "$BIN/psql" -X -q -v ON_ERROR_STOP=1 --single-transaction -d r_guide >/dev/null; t1=$(now)
"$CTLDB" -q restore "$F" --target-db r_ctldb --create --yes >/dev/null; t2=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { g = b - a; k = c - b;
    printf "restore: gunzip -c | psql --single-transaction %6.2f s, ctldb restore (verify + restore + counts) %6.2f s, ratio %.2f (<= 1.25)\n", g, k, k / g }'
