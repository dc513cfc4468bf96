#!/usr/bin/env bash
# ctldb tables on a real server: every table's sizes add up to
# pg_total_relation_size (a mixed-case name, a name with a newline, TOAST,
# indexes, a second schema included); a table locked by an ALTER TABLE
# keeps its catalog estimate instead of making the command wait; the
# production role gets every table and is told why the volume is hidden.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
fresh_database it_tables

sql "CREATE TABLE \"Mixed Case\" (id int PRIMARY KEY, body text);
INSERT INTO \"Mixed Case\" SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 2000) g;
CREATE TABLE plain (a int, b text);
INSERT INTO plain SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
CREATE INDEX plain_a ON plain (a);
CREATE SCHEMA \"Other\";
CREATE TABLE \"Other\".\"line
break\" (x int);
INSERT INTO \"Other\".\"line
break\" VALUES (1);
" >/dev/null
sql "VACUUM ANALYZE \"Mixed Case\", plain, \"Other\".\"line
break\"" >/dev/null
sql "ALTER TABLE \"Mixed Case\" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
ALTER TABLE plain SET (autovacuum_enabled = false);
ALTER TABLE \"Other\".\"line
break\" SET (autovacuum_enabled = false);
DELETE FROM plain WHERE a % 4 = 0;
ANALYZE plain;
ALTER TABLE \"Mixed Case\" OWNER TO appuser; ALTER TABLE plain OWNER TO appuser;
ALTER SCHEMA \"Other\" OWNER TO appuser; ALTER TABLE \"Other\".\"line
break\" OWNER TO appuser" >/dev/null

# Autovacuum is off for these tables (their free space and visibility maps
# made by the VACUUM above), so their files do not change between ctldb's
# reading and the comparison's.
# sizes_match: every table of the JSON has total = heap + indexes + TOAST =
# pg_total_relation_size, and the JSON lists every user table.
sizes_match() {
    sql "SELECT n.nspname || E'\t' || c.relname || E'\t' || pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'" |
        python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
want = {}
lines = sys.stdin.read().split("\t")
# relnames may hold a newline: parse "schema\tname\tsize" triples back.
text = "\t".join(lines)
import re
rows = re.findall(r"(.*?)\t(.*?)\t(\d+)(?:\n|$)", text, re.S)
want = {(s, t): int(n) for s, t, n in rows}
got = {(t["schema"], t["table"]): t for t in doc["tables"]}
assert set(got) == set(want), (set(got), set(want))
for k, t in got.items():
    assert t["size_exact"], k
    assert t["total_bytes"] == want[k], (k, t["total_bytes"], want[k])
    assert t["heap_bytes"] + t["index_bytes"] + t["toast_bytes"] == t["total_bytes"], k
assert got[("public", "Mixed Case")]["toast_bytes"] > 0
assert got[("public", "plain")]["index_bytes"] > 0
' "$OUT"
}

expect_rc 0 "tables -o json" "$CTLDB" tables -o json
check "sizes equal pg_total_relation_size for every table" sizes_match
# The catalogs' files may still change (autovacuum on them): within 1 %.
check "the database's size" bash -c "got=\$('$CTLDB_JSON_TOOL' get /database/size_bytes <'$OUT'); want=\$(sql \"SELECT pg_database_size('it_tables')\"); (( got * 100 >= want * 99 && got * 100 <= want * 101 ))"
check "the volume is visible beside the server" bash -c "'$CTLDB_JSON_TOOL' get /volume/free_bytes <'$OUT' | grep -qE '^[0-9]+$'"
check "biggest first" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /tables/0/table <'$OUT') == plain ]]"
check "dead tuples counted" bash -c "(( \$('$CTLDB_JSON_TOOL' get /tables/0/dead_tuples <'$OUT') > 10000 ))"

expect_rc 0 "tables (text)" "$CTLDB" tables
check "a mixed-case name is quoted" stdout_has 'public\."Mixed Case"'
check "a newline in a name is shown escaped" stdout_has '"Other"\."line\\nbreak"'
check "the free space of the data directory's volume" stdout_has "data directory volume: .* free of"

expect_rc 0 "--schema Other" "$CTLDB" tables --schema Other -o json
check "only that schema's table" bash -c "[[ \$('$CTLDB_JSON_TOOL' get /total_tables <'$OUT') == 1 ]]"
expect_rc 0 "--limit 1" "$CTLDB" tables --limit 1
check "says how many are left out" stdout_has "1 of 3 tables shown"
expect_rc 2 "--limit -1 is a usage error" "$CTLDB" tables --limit -1

# --- a table locked by a pending ALTER TABLE --------------------------------------
hold_session it_tables 60 "BEGIN;" "LOCK TABLE plain IN ACCESS EXCLUSIVE MODE;"
wait_for bash -c "[[ \$(sql \"SELECT count(*) FROM pg_locks WHERE relation = 'plain'::regclass AND mode = 'AccessExclusiveLock' AND granted\") == 1 ]]"
start=$(date +%s%N)
expect_rc 0 "tables while plain is locked" "$CTLDB" tables -o json
ms=$((($(date +%s%N) - start) / 1000000))
check "did not wait behind the lock (${ms} ms)" test "$ms" -lt 5000
check "the locked table keeps its catalog estimate" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["table"]: x for x in d["tables"]}
assert not t["plain"]["size_exact"] and t["Mixed Case"]["size_exact"]' "$OUT"
expect_rc 0 "text marks the estimate" "$CTLDB" tables
check "with ~ and a note" stdout_has "locked by another session"
end_sessions

# --- the production role --------------------------------------------------------------
use_production_role it_tables_prod
prod_psql -c 'CREATE TABLE "Mixed Case" (id int); INSERT INTO "Mixed Case" VALUES (1)'
expect_rc 0 "tables as the production role" "$CTLDB" tables -o json
check "its table, sized exactly" bash -c "'$CTLDB_JSON_TOOL' get /tables/0/size_exact <'$OUT' | grep -qx true"
check "the volume is not visible, with the grant it needs" bash -c "'$CTLDB_JSON_TOOL' get /volume_not_visible <'$OUT' | grep -q pg_read_all_settings"

finish
