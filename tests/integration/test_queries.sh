#!/usr/bin/env bash
# ctldb queries on a real server: a slow query and a session idle in a
# transaction listed with their durations, a lock chain of three shown as a
# tree; cancel and terminate with --yes, refused without it off a terminal,
# refused in production without --force, by PID and by rule (checked again
# when signalled); queries top with pg_stat_statements (preloaded by the
# sandbox) and the clear message where the extension is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
fresh_database it_queries
sql "CREATE EXTENSION pg_stat_statements; CREATE TABLE t (id int); ALTER TABLE t OWNER TO appuser" >/dev/null
export OUT ERR
hold() { hold_session it_queries "$@"; }
pid_of() { sql "SELECT pid FROM pg_stat_activity WHERE datname = 'it_queries' AND query LIKE '%$1%' AND pid <> pg_backend_pid() ORDER BY backend_start LIMIT 1"; }
export -f pid_of
state_of() { sql "SELECT coalesce((SELECT state FROM pg_stat_activity WHERE pid = $1), 'gone')"; }
export -f state_of
# json_session PID KEY: a value of that session in the last JSON listing.
json_session() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(str(s[sys.argv[3]]) for s in d["sessions"] if s["pid"]==int(sys.argv[2])))' "$OUT" "$1" "$2"
}
export -f json_session

# --- a slow query and an idle transaction ----------------------------------------------
hold 120 "SELECT 'slow-marker', pg_sleep(100);"
wait_for bash -c "[[ -n \$(pid_of slow-marker) ]]"
sleep 1
hold 120 "BEGIN;" "SELECT 'idle-marker';"
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_stat_activity WHERE datname = 'it_queries' AND pid <> pg_backend_pid() AND (query LIKE '%slow-marker%' AND state = 'active' OR query LIKE '%idle-marker%' AND state = 'idle in transaction')\") == 2 ]]"
SLOW=$(pid_of slow-marker)
IDLE=$(pid_of idle-marker)
sleep 1.1
expect_rc 0 "queries" "$CTLDB" queries
check "the slow query with its duration" grep -qE "^$SLOW +appuser .* active .* [0-9]+ s +SELECT 'slow-marker'" "$OUT"
check "the idle transaction" grep -qE "^$IDLE +appuser .* idle in transaction .*idle-marker" "$OUT"
check "longest first" bash -c "[[ \$(grep -nE '^$SLOW ' '$OUT' | cut -d: -f1) -lt \$(grep -nE '^$IDLE ' '$OUT' | cut -d: -f1) ]]"
expect_rc 0 "queries --state active -o json" "$CTLDB" queries --state active -o json
check "only the active one" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /sessions/0/pid <'$OUT') == $SLOW ]] && ! grep -q idle-marker '$OUT'"
check "duration as seconds" bash -c "(( \$(json_session $SLOW duration_seconds | cut -d. -f1) >= 1 ))"
check "the whole query text" bash -c "json_session $SLOW query | grep -q \"pg_sleep(100)\""
expect_rc 0 "--min-duration 1h" "$CTLDB" queries --min-duration 1h
check "nothing that long" stdout_has "no busy session for "
expect_rc 2 "--state bogus" "$CTLDB" queries --state bogus
expect_rc 2 "--min-duration soon" "$CTLDB" queries --min-duration soon

# --- cancel ------------------------------------------------------------------------------
expect_rc 2 "cancel without --yes off a terminal" "$CTLDB" queries cancel "$SLOW"
check "says nothing was done" stderr_has "nothing was done"
check "the query still runs" test "$(state_of "$SLOW")" = active
expect_rc 2 "cancel in production without --force" env CTLDB_ENV=production "$CTLDB" queries cancel --yes "$SLOW"
check "the query still runs" test "$(state_of "$SLOW")" = active
expect_rc 0 "cancel --yes" "$CTLDB" queries cancel --yes "$SLOW" -o json
check "reported as cancelled" bash -c "json_session $SLOW outcome | grep -qx cancelled"
check "the session stays, its query ended" bash -c "[[ \$(state_of $SLOW) != active && \$(state_of $SLOW) != gone ]]"
expect_rc 1 "a pid that is no session" "$CTLDB" queries cancel --yes 1
check "says so" stdout_has "no such session"
expect_rc 0 "cancel of a session idle in a transaction" "$CTLDB" queries cancel --yes "$IDLE"
check "says a cancel does not end its transaction" stdout_has "running no query: a cancel does not end its transaction"
check "and it is still idle in its transaction" test "$(state_of "$IDLE")" = "idle in transaction"

# --- a lock chain of three ---------------------------------------------------------------
hold 120 "BEGIN;" "SELECT 'holder-marker', count(*) FROM t;"
wait_for bash -c "[[ -n \$(pid_of holder-marker) ]]"
A=$(pid_of holder-marker)
hold 120 "BEGIN;" "LOCK TABLE t IN ACCESS EXCLUSIVE MODE;"
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND NOT granted\") == 1 ]]"
B=$(pid_of "LOCK TABLE t IN ACCESS")
hold 120 "SELECT 'reader-marker', count(*) FROM t;"
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND NOT granted\") == 2 ]]"
C=$(pid_of reader-marker)
expect_rc 0 "queries with a lock chain" "$CTLDB" queries
check "A at the root" grep -qE "^  $A  appuser  idle in transaction" "$OUT"
check "B waits for A" grep -qE "^  └─ $B  appuser  active  waiting" "$OUT"
check "C waits for B, one level deeper" grep -qE "^     └─ $C  appuser  active  waiting" "$OUT"
expect_rc 0 "the tree in JSON" "$CTLDB" queries -o json
check "A -> B -> C" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /lock_trees/0/pid <'$OUT') == $A && \$('$CTLDB_JSON_TOOL' get /lock_trees/0/waiters/0/pid <'$OUT') == $B && \$('$CTLDB_JSON_TOOL' get /lock_trees/0/waiters/0/waiters/0/pid <'$OUT') == $C ]]"

# --- terminate by rule -------------------------------------------------------------------
sleep 1.1
expect_rc 0 "terminate --older-than --dry-run" "$CTLDB" queries terminate --older-than 1s --state idle-in-transaction --dry-run
check "lists both idle transactions" bash -c "grep -qE '^$IDLE .*would terminate' '$OUT' && grep -qE '^$A .*would terminate' '$OUT'"
check "and ends none" test "$(state_of "$A")" = "idle in transaction"
expect_rc 2 "terminate by rule without --yes" "$CTLDB" queries terminate --older-than 1s --state idle-in-transaction
check "the list was shown first" stderr_has "about to terminate 2 session"
expect_rc 0 "terminate by rule --yes" "$CTLDB" queries terminate --older-than 1s --state idle-in-transaction --yes
check "both terminated" bash -c "[[ \$(grep -c terminated '$OUT') == 2 ]]"
wait_for bash -c "[[ \$(state_of $A) == gone && \$(state_of $IDLE) == gone ]]"
check "the holder is gone, so the ALTER got its lock" wait_for bash -c "[[ \$(sql \"SELECT granted FROM pg_locks WHERE relation = 't'::regclass AND pid = $B\") == t ]]"
expect_rc 0 "terminate C by PID" "$CTLDB" queries terminate --yes "$C"
check "terminated" grep -qE "^$C .*terminated" "$OUT"
expect_rc 2 "PIDs and a rule together" "$CTLDB" queries terminate --yes "$B" --older-than 1s
expect_rc 2 "neither" "$CTLDB" queries terminate --yes

# --- another database's session is refused ---------------------------------------------
hold_session cloudtolocalllm 60 "SELECT 'other-db-marker', pg_sleep(50);"
wait_for bash -c "[[ -n \$(SUPERUSER_DB=postgres sql \"SELECT pid FROM pg_stat_activity WHERE query LIKE '%other-db-marker%' AND state = 'active' AND pid <> pg_backend_pid()\") ]]"
OTHER=$(SUPERUSER_DB=postgres sql "SELECT pid FROM pg_stat_activity WHERE query LIKE '%other-db-marker%' AND pid <> pg_backend_pid() LIMIT 1")
expect_rc 1 "terminating a session of another database" "$CTLDB" queries terminate --yes "$OTHER"
check "is refused" stdout_has "refused: connected to database cloudtolocalllm"
check "and it still runs" test "$(state_of "$OTHER")" = active
end_sessions

# --- top ---------------------------------------------------------------------------------
for _ in $(seq 5); do app_psql it_queries -c "SELECT count(*) AS top_marker FROM generate_series(1, 20000)" >/dev/null; done
expect_rc 0 "queries top" "$CTLDB" queries top --limit 50
check "the repeated statement with its calls" grep -qE "^5 .*top_marker" "$OUT"
check "since when" stdout_has "statistics since .* (pg_stat_statements 1\."
expect_rc 0 "top --order calls -o json" "$CTLDB" queries top --order calls --limit 3 -o json
check "numbers as numbers, the text for the rows shown" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["statements"]
assert len(r) == 3 and r[0]["calls"] >= r[1]["calls"] >= r[2]["calls"], r
assert all(isinstance(x["total_exec_ms"], float) and x["query"] for x in r)' "$OUT"
expect_rc 2 "--order bogus" "$CTLDB" queries top --order bogus
fresh_database it_queries_plain
expect_rc 1 "top without the extension" "$CTLDB" queries top
check "says it is not installed and how to enable it" bash -c "grep -q 'pg_stat_statements is not installed in database it_queries_plain' '$ERR' && grep -q 'CREATE EXTENSION pg_stat_statements' '$ERR'"

# --- the production role ------------------------------------------------------------------
hold_session cloudtolocalllm 60 "SELECT 'appuser-idle';"
use_production_role it_queries_prod
wait_for bash -c "[[ \$(SUPERUSER_DB=postgres sql \"SELECT count(*) FROM pg_stat_activity WHERE usename = 'appuser' AND query LIKE '%appuser-idle%'\") == 1 ]]"
expect_rc 0 "queries --all-databases as the production role" "$CTLDB" queries --all-databases --state all
check "other roles' sessions are counted as hidden, with the grant" stdout_has "hidden from ctldb_prod (needs pg_read_all_stats"
check "and their queries are not shown" stdout_lacks "appuser-idle"

finish
