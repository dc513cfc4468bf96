#!/usr/bin/env bash
# Backups into one directory at once, killed while publishing, and on a
# volume that fills up at every write: never a final-named data file
# without its manifest, never another run's or another tool's file deleted.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server

fresh_database it_concurrent
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed generate --users 300 --random-seed 3 >/dev/null

# every_data_file_has_its_manifest DIR: each backup-*.{sql.gz,sql.zst,dump}
# has a manifest naming it, and verifies.
every_data_file_has_its_manifest() {
    local f m ok=0
    for f in "$1"/backup-*.sql.gz "$1"/backup-*.sql.zst "$1"/backup-*.dump; do
        [[ -e "$f" ]] || continue
        m="${f%.sql.gz}"; m="${m%.sql.zst}"; m="${m%.dump}.json"
        if [[ ! -f "$m" ]] || ! grep -q "\"file\": \"$(basename "$f")\"" "$m"; then
            echo "no manifest for $f" >&2
            ok=1
        fi
    done
    return $ok
}
no_partials() { [[ -z "$(ls "$1" | grep '\.partial$' || true)" ]]; }

for n in 2 4 8; do
    D="$IT_TMP/concurrent-$n"
    mkdir -p "$D"
    pids=()
    for i in $(seq "$n"); do
        fmt=plain
        [[ $((i % 2)) == 0 ]] && fmt=custom
        "$CTLDB" -q backup --dir "$D" --format "$fmt" >"$IT_TMP/c$n-$i.out" 2>&1 &
        pids+=($!)
    done
    failed=0
    for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
    check "$n concurrent backups into one directory all succeed" test "$failed" = 0
    check "$n concurrent backups: $n manifests" test "$(ls "$D"/*.json | wc -l)" = "$n"
    check "$n concurrent backups: each data file has its manifest" every_data_file_has_its_manifest "$D"
    check "$n concurrent backups: no partial left" no_partials "$D"
    allok=0
    for f in "$D"/backup-*.sql.gz "$D"/backup-*.dump; do
        [[ -e "$f" ]] || continue
        "$CTLDB" -q backup verify "$f" >/dev/null 2>&1 || allok=1
    done
    check "$n concurrent backups: every one verifies" test "$allok" = 0
done

# Encrypted backups at once, and one killed while it encrypts: each one
# complete, opening with the identity, or not there at all.
D="$IT_TMP/concurrent-age"
mkdir -p "$D"
age-keygen -o "$IT_TMP/age.key" 2>/dev/null
R=$(age-keygen -y "$IT_TMP/age.key")
pids=()
for i in 1 2 3; do
    "$CTLDB" -q backup --dir "$D" --encrypt-to "$R" >"$IT_TMP/age-$i.out" 2>&1 &
    pids+=($!)
done
"$CTLDB" -q backup --dir "$D" --encrypt-to "$R" --compress-level 9 --jobs 1 >/dev/null 2>&1 &
victim=$!
sleep 0.3
kill -KILL "$victim" 2>/dev/null || true
wait "$victim" 2>/dev/null || true
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
check "3 concurrent encrypted backups all succeed" test "$failed" = 0
allok=0
n=0
for f in "$D"/backup-*.sql.gz.age; do
    n=$((n + 1))
    "$CTLDB" -q backup verify "$f" --identity "$IT_TMP/age.key" >/dev/null 2>&1 || allok=1
done
check "each published one opens and verifies with the identity ($n of them)" test "$allok" = 0 -a "$n" -ge 3
expect_rc 0 "after the killed one, the next backup" "$CTLDB" -q backup --dir "$D" --encrypt-to "$R"
check "and nothing partial is left" no_partials "$D"

# Leftovers: a dead run's partials go, a live run's and other tools' stay.
D="$IT_TMP/leftovers"
mkdir -p "$D"
: >"$D/backup-20200101-000000.sql.gz.partial"
: >"$D/backup-20200101-000000.json.partial"
: >"$D/backup-20200101-000000.json.123-1.partial"
: >"$D/backup-20200101-000001.dump.partial"
: >"$D/backup-20200101-000001.json.partial"
: >"$D/notes.partial"
: >"$D/dump-20200101-000000.sql.partial"
# -o: the lock is flock's own (not the sleep's), so killing flock frees it.
flock -o "$D/backup-20200101-000001.json.partial" sleep 30 &
holder=$!
sleep 0.3
expect_rc 0 "a backup next to leftovers" "$CTLDB" backup --dir "$D"
check "a dead run's data partial removed" test ! -e "$D/backup-20200101-000000.sql.gz.partial"
check "a dead run's reservation removed" test ! -e "$D/backup-20200101-000000.json.partial"
check "a dead run's private reservation removed" test ! -e "$D/backup-20200101-000000.json.123-1.partial"
check "a live run's data partial kept" test -e "$D/backup-20200101-000001.dump.partial"
check "a live run's reservation kept" test -e "$D/backup-20200101-000001.json.partial"
check "another tool's .partial files kept" test -e "$D/notes.partial" -a -e "$D/dump-20200101-000000.sql.partial"
pkill -P "$holder" sleep 2>/dev/null || true
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
expect_rc 0 "prune clears them once their run is gone" "$CTLDB" backup prune --dir "$D" --keep-last 5
check "the dead run's partials are gone" test ! -e "$D/backup-20200101-000001.dump.partial" -a ! -e "$D/backup-20200101-000001.json.partial"
check "another tool's files still kept" test -e "$D/notes.partial"

# SIGKILL between the steps of publishing.
for step in 1 2 3; do
    D="$IT_TMP/kill-$step"
    mkdir -p "$D"
    run env CTLDB_TEST_KILL_PUBLISH=$step "$CTLDB" backup --dir "$D"
    check "killed at publishing step $step (exit $RC)" test "$RC" = 137
    check "killed at step $step: no data file without its manifest" every_data_file_has_its_manifest "$D"
    expect_rc 0 "killed at step $step: the next backup succeeds" "$CTLDB" backup --dir "$D"
    check "killed at step $step: then every data file has its manifest" every_data_file_has_its_manifest "$D"
    check "killed at step $step: and no partial is left" no_partials "$D"
    run "$CTLDB" backup list --dir "$D" -o json
    check "killed at step $step: every listed backup is usable" bash -c "! grep -q '\"usable\": false' '$OUT'"
done

# ENOSPC at every write: a tmpfs filled to leave 0, 4, 8, ... KiB free.
if [[ $EUID == 0 ]] && command -v mount >/dev/null; then
    T="$IT_TMP/tiny"
    mkdir -p "$T"
    if mount -t tmpfs -o size=2m tmpfs "$T" 2>/dev/null; then
        at_exit 'umount "$T" 2>/dev/null'
        "$CTLDB" -q backup --dir "$T" --no-space-check >/dev/null
        need=$(du -sk "$T" | cut -f1)
        rm -f "$T"/*
        bad=0
        for free in $(seq 0 4 $((need + 12))); do
            rm -f "$T"/*
            total=$(df -k --output=avail "$T" | tail -1)
            fallocate -l $(((total - free) * 1024)) "$T/filler" 2>/dev/null || head -c $(((total - free) * 1024)) /dev/zero >"$T/filler" 2>/dev/null || true
            set +e
            "$CTLDB" -q backup --dir "$T" --no-space-check >/dev/null 2>"$IT_TMP/enospc.err"
            rc=$?
            set -e
            if [[ $rc == 0 ]]; then
                every_data_file_has_its_manifest "$T" || bad=1
            else
                [[ $rc == 1 ]] || { echo "free=$free: exit $rc" >&2; bad=1; }
                if ls "$T" | grep -q '^backup-'; then echo "free=$free: left $(ls "$T")" >&2; bad=1; fi
            fi
        done
        check "ENOSPC at every write: complete with its manifest, or nothing left (free 0..$((need + 12)) KiB)" test "$bad" = 0
        umount "$T"
    else
        echo "skip: cannot mount a tmpfs"
    fi
fi

finish
