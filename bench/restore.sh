#!/usr/bin/env bash
# ctldb restore against the guide's runbook and pg_restore, side by side on
# one sandbox with at least 700 MB of dump text (USERS generated users).
# Bars (restore issue): plain gzip restore with all verification <= 1.0 x
# (gunzip -c | psql --single-transaction) (moonshot 0.9), zstd <= 0.95 x;
# restore --jobs 2 of a custom archive <= 0.8 x the runbook and <= 1.1 x
# pg_restore -j 2 (not atomic); peak RSS of restore < 64 MB. ROUNDS rounds
# (default 1), medians.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-450000}
ROUNDS=${ROUNDS:-1}
for p in time bc; do dpkg -s "$p" >/dev/null 2>&1 || apt-get install -y -qq "$p" >/dev/null; done
W=/tmp/ctldb-bench-restore-files
BENCH_CLEANUP='rm -rf "$W"'
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-restore
bench_pg_env
rm -rf "$W" && mkdir -p "$W"
bench_restore_data "$USERS"
"$CTLDB" -q backup --dir "$W" >/dev/null
sleep 1
"$CTLDB" -q backup --dir "$W" --compression zstd >/dev/null
sleep 1
"$CTLDB" -q backup --dir "$W" --format custom >/dev/null
GZ=$(ls "$W"/*.sql.gz)
ZS=$(ls "$W"/*.sql.zst)
CU=$(ls "$W"/*.dump)
text=$(gunzip -c "$GZ" | wc -c)
printf 'dump text: %.0f MB (gzip %.0f MB, zstd %.0f MB, custom %.0f MB)\n' "$(echo "$text / 1000000" | bc -l)" \
    "$(echo "$(stat -c %s "$GZ") / 1000000" | bc -l)" "$(echo "$(stat -c %s "$ZS") / 1000000" | bc -l)" \
    "$(echo "$(stat -c %s "$CU") / 1000000" | bc -l)"

guide() {
    fresh r_guide
    timed guide bash -c "gunzip -c '$GZ' | '$BIN/psql' -X -q -v ON_ERROR_STOP=1 --single-transaction -d r_guide"
}
ctldb_gz() {
    fresh r_gz
    timed ctldb_gz "$CTLDB" -q restore "$GZ" --target-db r_gz --yes
}
# ROUNDS rounds, the runbook and the gzip restore alternating which goes
# first (the machine's drift between runs is larger than the gap measured).
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then guide; ctldb_gz; else ctldb_gz; guide; fi
    fresh r_zst
    timed ctldb_zst "$CTLDB" -q restore "$ZS" --target-db r_zst --yes
    fresh r_pgr
    timed pg_restore_j2 "$BIN/pg_restore" -j 2 --exit-on-error -d r_pgr "$CU"
    su_psql -c "DROP DATABASE IF EXISTS r_jobs"
    timed ctldb_j2 "$CTLDB" -q restore "$CU" --target-db r_jobs --create --yes --jobs 2
    fresh r_cu1
    timed ctldb_custom1 "$CTLDB" -q restore "$CU" --target-db r_cu1 --yes
done
echo "$ROUNDS round(s), medians"

s() { median "$1.s"; }
mb() { echo "$(max "$1.rss") / 1024" | bc -l; }
awk -v g="$(s guide)" -v gz="$(s ctldb_gz)" -v zs="$(s ctldb_zst)" -v pr="$(s pg_restore_j2)" \
    -v j2="$(s ctldb_j2)" -v c1="$(s ctldb_custom1)" -v rgz="$(mb ctldb_gz)" -v rzs="$(mb ctldb_zst)" \
    -v rj2="$(mb ctldb_j2)" -v rc1="$(mb ctldb_custom1)" 'BEGIN {
    printf "gunzip -c | psql --single-transaction:   %7.2f s\n", g;
    printf "ctldb restore .sql.gz (verify+restore):  %7.2f s  ratio %.2f (<= 1.0, moonshot 0.9)  peak RSS %.1f MB\n", gz, gz / g, rgz;
    printf "ctldb restore .sql.zst:                  %7.2f s  ratio %.2f (<= 0.95)  peak RSS %.1f MB\n", zs, zs / g, rzs;
    printf "pg_restore -j 2 (not atomic):            %7.2f s\n", pr;
    printf "ctldb restore --jobs 2 (custom, swap):   %7.2f s  vs runbook %.2f (<= 0.8), vs pg_restore -j 2 %.2f (<= 1.1)  peak RSS %.1f MB\n", j2, j2 / g, j2 / pr, rj2;
    printf "ctldb restore custom, one transaction:   %7.2f s  vs runbook %.2f  peak RSS %.1f MB\n", c1, c1 / g, rc1 }'
