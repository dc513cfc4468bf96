#!/usr/bin/env bash
# This build's restore against another ctldb binary (BASELINE=path, e.g. a
# build of the previous release), side by side on the same files, runs
# alternated: what a change to restore costs. USERS generated users (default
# 200000), ROUNDS alternations (default 2); prints each time and the ratio
# of the medians (this build / baseline) for a plain gzip restore and a
# --jobs 2 restore of a custom archive.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BASELINE:?set BASELINE to the ctldb binary to compare with}"
USERS=${USERS:-200000}
ROUNDS=${ROUNDS:-4}
for p in bc; do dpkg -s "$p" >/dev/null 2>&1 || apt-get install -y -qq "$p" >/dev/null; done
W=/tmp/ctldb-bench-restore-ab
BENCH_CLEANUP='rm -rf "$W"'
source bench/lib.sh
bench_sandbox /tmp/ctldb-bench-restore-ab-sb
rm -rf "$W" && mkdir -p "$W"
bench_restore_data "$USERS"
"$CTLDB" -q backup --dir "$W" >/dev/null
sleep 1
"$CTLDB" -q backup --dir "$W" --format custom >/dev/null
GZ=$(ls "$W"/*.sql.gz)
CU=$(ls "$W"/*.dump)
su_psql() { runuser -u postgres -- env -u PGUSER "$BIN/psql" -X -q -U postgres -h "$SB/socket" -p "$DB_PORT" -d postgres "$@"; }
now() { date +%s.%N; }
# one NAME BINARY ARGS...: seconds appended to $W/NAME
one() {
    local name=$1 bin=$2 t0
    shift 2
    su_psql -c "DROP DATABASE IF EXISTS r_ab WITH (FORCE)" >/dev/null 2>&1
    sync
    t0=$(now)
    "$bin" -q restore "$@" --target-db r_ab --create --yes >/dev/null
    echo "$(now) - $t0" | bc -l >>"$W/$name"
}
# Which binary runs first alternates too: the first run after a restore
# pays for the previous one's checkpoint.
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then
        one base_gz "$BASELINE" "$GZ"
        one new_gz "$CTLDB" "$GZ"
        one base_jobs "$BASELINE" "$CU" --jobs 2
        one new_jobs "$CTLDB" "$CU" --jobs 2
    else
        one new_gz "$CTLDB" "$GZ"
        one base_gz "$BASELINE" "$GZ"
        one new_jobs "$CTLDB" "$CU" --jobs 2
        one base_jobs "$BASELINE" "$CU" --jobs 2
    fi
done
for k in gz jobs; do
    printf '%-5s baseline: %s   this build: %s   ratio %.3f\n' "$k" \
        "$(tr '\n' ' ' <"$W/base_$k")" "$(tr '\n' ' ' <"$W/new_$k")" \
        "$(echo "$(median "new_$k") / $(median "base_$k")" | bc -l)"
done
