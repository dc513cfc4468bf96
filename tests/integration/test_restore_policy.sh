#!/usr/bin/env bash
# A dump reaches only its target database, with no more rights than its
# owner. Hostile dumps built from real pg_dump output (plain gzip, and
# custom archives whose table of contents is edited in place) go through
# backup verify, the one-transaction restore and restore --jobs 2, run by
# the application role and by a superuser: every one is refused, another
# database and the target stay as they were, and nothing the payloads
# would write exists. Then the role rule, 'latest' per database, backups
# dated in the future, --lock-timeout and --jobs with an extension.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
suite_on_shared_server
export PGPASSWORD
PGPASSWORD=$(cat "$DB_PASSWORD_FILE")
su_sql() { SUPERUSER_DB=postgres superuser_psql -c "$1"; }
APP=$DB_USER

fresh_database it_policy
"$CTLDB" -q migrate >/dev/null
"$CTLDB" -q seed generate --users 300 --random-seed 5 >/dev/null
# A slot in the table of contents to overwrite: a comment whose entry's
# definition is long enough for every payload.
SLOT=$(printf 'S%.0s' $(seq 700))
app_psql it_policy -c "COMMENT ON TABLE public.users IS '$SLOT'"
D="$IT_TMP/b"
mkdir -p "$D"
"$CTLDB" -q backup --dir "$D" -o json >"$OUT"
GZ=$(json_get /path)
sleep 1
"$CTLDB" -q backup --dir "$D" --format custom -o json >"$OUT"
CU=$(json_get /path)

# A superuser that connects over TLS like the application does.
SU_PW="$IT_TMP/su.password"
echo "Su-$(date +%s%N)-Pw!" >"$SU_PW"
chmod 600 "$SU_PW"
su_sql "DROP ROLE IF EXISTS it_policy_su" >/dev/null
su_sql "CREATE ROLE it_policy_su SUPERUSER LOGIN PASSWORD '$(cat "$SU_PW")'" >/dev/null
as_su() { DB_USER=it_policy_su DB_PASSWORD_FILE=$SU_PW "$@"; }

# Another database no restore may touch, with known name, owner, limit,
# settings and contents.
su_sql "DROP DATABASE IF EXISTS it_victim WITH (FORCE)" >/dev/null
su_sql "DROP DATABASE IF EXISTS it_victim_gone WITH (FORCE)" >/dev/null
su_sql "CREATE DATABASE it_victim OWNER $APP" >/dev/null
app_psql it_victim -c "CREATE TABLE precious (i int); INSERT INTO precious SELECT generate_series(1, 7)"
victim_state() {
    su_sql "SELECT datname, pg_get_userbyid(datdba), datconnlimit, datallowconn,
                   (SELECT count(*) FROM pg_db_role_setting s WHERE s.setdatabase = d.oid),
                   coalesce(shobj_description(oid, 'pg_database'), '')
            FROM pg_database d WHERE datname = 'it_victim'" 2>/dev/null
    app_psql it_victim -c "SELECT count(*) FROM precious" 2>/dev/null
}
VICTIM=$(victim_state)
cluster_state() {
    su_sql "SELECT string_agg(rolname || rolsuper::text, ',' ORDER BY rolname) FROM pg_roles" 2>/dev/null
    su_sql "SELECT (SELECT count(*) FROM pg_tablespace), (SELECT count(*) FROM pg_subscription),
                   (SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'it_policy%'),
                   (SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%auto.conf')" 2>/dev/null
}
CLUSTER=$(cluster_state)
# The restore target: its own contents, owned by the application role.
reset_target() {
    su_sql "DROP DATABASE IF EXISTS it_ptarget WITH (FORCE)" >/dev/null
    su_sql "CREATE DATABASE it_ptarget OWNER $APP" >/dev/null
    app_psql it_ptarget -c "CREATE TABLE keepme (i int); INSERT INTO keepme VALUES (1), (2), (3)"
}
target_before() { [[ "$(app_psql it_ptarget -c "SELECT count(*) FROM keepme" 2>/dev/null)" == 3 ]]; }
# What the payloads would write, on the server (same machine) and here.
PWN="$IT_TMP/pwned"
PWN_SERVER=/tmp/ctldb-policy-pwned-$$
no_files() { [[ ! -e "$PWN" && ! -e "$PWN_SERVER" ]]; }
nothing_changed() {
    local v c
    v=$(victim_state)
    c=$(cluster_state)
    [[ "$v" == "$VICTIM" ]] || { echo "victim: $v" >>"$ERR"; return 1; }
    [[ "$c" == "$CLUSTER" ]] || { echo "cluster: $c" >>"$ERR"; return 1; }
    target_before || { echo "target changed" >>"$ERR"; return 1; }
    no_files || { echo "a payload's file exists" >>"$ERR"; return 1; }
    [[ -z "$(su_sql "SELECT datname FROM pg_database WHERE datname LIKE 'it_ptarget_ctldb_restore%'")" ]]
}

PLAIN="$IT_TMP/plain.sql"
gunzip -c "$GZ" >"$PLAIN"
# make_plain NAME SQL: the genuine dump with SQL after its settings.
make_plain() {
    awk -v ins="$2" '{ print } /^SET row_security = off;$/ && !done { print ins; done = 1 }' "$PLAIN" |
        gzip >"$IT_TMP/h-$1.sql.gz"
    echo "$IT_TMP/h-$1.sql.gz"
}
# make_custom NAME SQL: the genuine archive with the comment entry's
# definition replaced by SQL, padded to the same length (the TOC keeps its
# byte lengths; table data stays compressed and untouched).
make_custom() {
    python3 - "$CU" "$IT_TMP/h-$1.dump" "$2" <<'PY'
import sys
src, dst, payload = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, 'rb').read()
start = data.index(b"COMMENT ON TABLE public.users IS 'SSS")
end = data.index(b"';\n", start) + 3
new = (payload + "\n").encode()
assert len(new) <= end - start, "payload too long"
new = new + b" " * (end - start - len(new))
open(dst, 'wb').write(data[:start] + new + data[end:])
PY
    echo "$IT_TMP/h-$1.dump"
}

declare -A CASES=(
    [drop_db]="DROP DATABASE it_victim;"
    [create_db]="CREATE DATABASE it_policy_new;"
    [rename_db]="ALTER DATABASE it_victim RENAME TO it_victim_gone;"
    [connlimit]="ALTER DATABASE it_victim CONNECTION LIMIT 0;"
    [db_setting]="ALTER DATABASE it_victim SET work_mem = '1MB';"
    [db_owner]="ALTER DATABASE it_victim OWNER TO it_policy_su;"
    [db_comment]="COMMENT ON DATABASE it_victim IS 'pwned';"
    [db_revoke]="REVOKE CONNECT ON DATABASE it_victim FROM PUBLIC;"
    [create_role]="CREATE ROLE it_policy_evil SUPERUSER LOGIN;"
    [alter_role]="ALTER ROLE $APP SUPERUSER;"
    [grant_role]="GRANT pg_execute_server_program TO $APP;"
    [alter_system]="ALTER SYSTEM SET work_mem = '1MB';"
    [tablespace]="CREATE TABLESPACE it_policy_ts LOCATION '$IT_TMP';"
    [subscription]="CREATE SUBSCRIPTION it_policy_sub CONNECTION 'host=127.0.0.1 dbname=it_victim' PUBLICATION p WITH (connect = false);"
    [do_block]="DO \$\$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch $PWN_SERVER'''; END \$\$;"
    [copy_to_program]="COPY (SELECT 1) TO PROGRAM 'touch $PWN_SERVER';"
    [copy_from_program]="COPY public.users (id) FROM PROGRAM 'touch $PWN_SERVER';"
    [copy_to_file]="COPY (SELECT 1) TO '$PWN_SERVER';"
    [lo_export]="SELECT lo_export(lo_from_bytea(0, 'x'), '$PWN_SERVER');"
    [lo_import]="SELECT lo_import('/etc/hostname');"
    [read_file]="SELECT pg_read_file('/etc/hostname');"
    [set_config_role]="SELECT pg_catalog.set_config('role', 'it_policy_su', false);"
    [set_role]="SET ROLE it_policy_su;"
    [session_auth]="SET SESSION AUTHORIZATION it_policy_su;"
    [load]="LOAD 'auto_explain';"
    [call]="CALL public.nothing();"
    [other_function]="SELECT pg_catalog.pg_reload_conf();"
    [ctas]="CREATE TABLE public.pwn AS SELECT pg_read_file('/etc/hostname');"
    [check_export]="CREATE TABLE public.pwn (x int CHECK (lo_export(lo_from_bytea(0, 'x'), '$PWN_SERVER') > 0));"
    [reassign]="REASSIGN OWNED BY $APP TO it_policy_su;"
    [std_strings_off]="SET standard_conforming_strings = off;
CREATE VIEW public.pwn AS SELECT 'a\\' || '; DROP DATABASE it_victim; --';"
    [client_encoding]="SET client_encoding = 'SJIS';"
)
n=0
for name in $(printf '%s\n' "${!CASES[@]}" | sort); do
    n=$((n + 1))
    payload=${CASES[$name]}
    p=$(make_plain "$name" "$payload")
    c=$(make_custom "$name" "$payload")
    reset_target
    expect_rc 1 "$name: backup verify refuses the plain dump" "$CTLDB" backup verify "$p" --no-manifest
    check "$name: as a dump restore would refuse" stderr_has "would be refused by restore"
    expect_rc 1 "$name: backup verify refuses the archive" "$CTLDB" backup verify "$c" --no-manifest
    check "$name: naming the entry" stderr_has "entry [0-9]* (COMMENT"
    for who in app su; do
        pre=()
        [[ $who == su ]] && pre=(as_su)
        expect_rc 1 "$name ($who): one-transaction restore refuses it" \
            "${pre[@]}" "$CTLDB" restore "$p" --no-manifest --target-db it_ptarget --clean --yes
        check "$name ($who): the statement and its line named" stderr_has "line [0-9]*: refused: "
        expect_rc 1 "$name ($who): restore --jobs 2 refuses it" \
            "${pre[@]}" "$CTLDB" restore "$c" --no-manifest --target-db it_ptarget --clean --yes --jobs 2
        check "$name ($who): before pg_restore started" stderr_has "before pg_restore started"
        check "$name ($who): victim, cluster, target and files as before" nothing_changed
    done
done
check "at least 25 hostile cases" test "$n" -ge 25

# The role rule: a superuser restores a genuine dump as the target's owner,
# so server-side code in it has the owner's rights. A CHECK constraint runs
# for every row COPY loads; this one calls pg_read_file.
fresh_database it_policy_src
su_sql "DROP DATABASE IF EXISTS it_policy_src WITH (FORCE)" >/dev/null
su_sql "CREATE DATABASE it_policy_src OWNER $APP" >/dev/null
SUPERUSER_DB=it_policy_src superuser_psql -c "
    CREATE FUNCTION public.peek(t text) RETURNS boolean LANGUAGE plpgsql AS \$\$
        BEGIN PERFORM pg_read_file('/etc/hostname'); RETURN true; END \$\$;
    ALTER FUNCTION public.peek(text) OWNER TO $APP;
    CREATE TABLE public.notes (t text CHECK (public.peek(t)));
    ALTER TABLE public.notes OWNER TO $APP;
    INSERT INTO public.notes VALUES ('a'), ('b');" >/dev/null
PEEK="$IT_TMP/peek"
mkdir -p "$PEEK"
DB_NAME=it_policy_src as_su "$CTLDB" -q backup --dir "$PEEK" -o json >"$OUT"
PF=$(json_get /path)
reset_target
su_sql "DROP TABLE IF EXISTS x" >/dev/null
SUPERUSER_DB=it_ptarget superuser_psql -c "DROP TABLE keepme" >/dev/null
expect_rc 1 "superuser restore of a dump whose CHECK reads a server file" \
    as_su "$CTLDB" restore "$PF" --target-db it_ptarget --yes
check "refused by the server: the restore ran as the owner" stderr_has "permission denied for function pg_read_file"
check "and the result says so" stderr_has "the dump ran as role $APP, the target's owner"
check "target empty again" test "$(app_psql it_ptarget -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0
expect_rc 0 "with --as-superuser it runs with full rights" \
    as_su "$CTLDB" restore "$PF" --target-db it_ptarget --yes --as-superuser -o json
check "and the result says so" json_is /as_superuser true
expect_rc 2 "--as-superuser as a role that is not one" "$CTLDB" restore "$PF" --target-db it_ptarget --clean --yes --as-superuser
su_sql "DROP DATABASE IF EXISTS it_policy_sucopy WITH (FORCE)" >/dev/null
expect_rc 1 "superuser --create without --role: a database of the superuser's would run the dump as superuser" \
    as_su "$CTLDB" restore "$GZ" --target-db it_policy_sucopy --create --yes
check "says to name the role" stderr_has "\-\-role NAME"
check "nothing created" test -z "$(su_sql "SELECT 1 FROM pg_database WHERE datname = 'it_policy_sucopy'")"
expect_rc 0 "superuser --create --role APP: created for the role, restored as it" \
    as_su "$CTLDB" restore "$GZ" --target-db it_policy_sucopy --create --yes --role "$APP" -o json
check "the result names the role" json_is /role "$APP"
check "the database belongs to it" test "$(su_sql "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'it_policy_sucopy'")" = "$APP"
check "and so do its tables" test "$(SUPERUSER_DB=it_policy_sucopy superuser_psql -c "SELECT tableowner FROM pg_tables WHERE tablename = 'users'")" = "$APP"
su_sql "DROP DATABASE IF EXISTS it_policy_sucopy WITH (FORCE)" >/dev/null

# 'latest' is the configured database's newest: newer backups of two other
# databases in the same directory are passed over.
export DB_NAME=it_policy
L="$IT_TMP/latest"
mkdir -p "$L"
"$CTLDB" -q backup --dir "$L" -o json >"$OUT"
OWN=$(json_get /path)
for other in it_policy_o1 it_policy_o2; do
    su_sql "DROP DATABASE IF EXISTS $other WITH (FORCE)" >/dev/null
    su_sql "CREATE DATABASE $other OWNER $APP" >/dev/null
    app_psql "$other" -c "CREATE TABLE only_$other (i int)"
    sleep 1
    DB_NAME=$other "$CTLDB" -q backup --dir "$L" >/dev/null
done
su_sql "DROP DATABASE IF EXISTS it_policy_latest WITH (FORCE)" >/dev/null
expect_rc 0 "restore latest with newer backups of two other databases" \
    "$CTLDB" restore latest --dir "$L" --target-db it_policy_latest --create --yes -o json
check "restores this database's" json_is /path "$OWN"
check "its tables, not the others'" test "$(app_psql it_policy_latest -c "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'only_%'")" = 0
# A copy dated in the future (name and manifest agree).
FUT="$L/backup-20991231-235959.sql.gz"
cp "$OWN" "$FUT"
sed "s/$(basename "$OWN")/$(basename "$FUT")/" "${OWN%.sql.gz}.json" >"${FUT%.sql.gz}.json"
expect_rc 0 "backup list" "$CTLDB" backup list --dir "$L"
check "lists it as in the future" stdout_has "backup-20991231-235959.sql.gz.*future"
expect_rc 0 "backup list -o json" "$CTLDB" backup list --dir "$L" -o json
check "in_future true" json_is /backups/0/in_future true
check "and not usable" json_is /backups/0/usable false
su_sql "DROP DATABASE IF EXISTS it_policy_latest WITH (FORCE)" >/dev/null
expect_rc 0 "restore latest passes over it" "$CTLDB" restore latest --dir "$L" --target-db it_policy_latest --create --yes -o json
check "takes the genuine newest" json_is /path "$OWN"
expect_rc 0 "prune --keep-last 1" "$CTLDB" backup prune --dir "$L" --keep-last 1
check "keeps the genuine newest" test -e "$OWN"
check "leaves the future one for an operator" test -e "$FUT"
expect_rc 0 "metrics" "$CTLDB" metrics --backup-dir "$L"
check "counts it as in the future" stdout_has 'ctldb_backups_in_future{database="it_policy"} 1'
age=$(grep '^ctldb_backup_newest_age_seconds{database="it_policy"}' "$OUT" | awk '{print $2}')
check "the newest age is the genuine one's, not negative" awk -v a="$age" 'BEGIN { exit !(a >= 0 && a < 600) }'
run "$CTLDB" doctor --backup-dir "$L" --checks backups
check "doctor warns of it" stdout_has "in the future"
check "and counts the genuine one as the newest" stdout_has "$(basename "$OWN")"

# --clean behind an open application transaction: exit 4 within
# --lock-timeout, the blocker named; the application is not held up.
reset_target
hold_session it_ptarget 30 "BEGIN;" "SELECT * FROM keepme;" "SELECT 'holding';"
holder() { su_sql "SELECT pid FROM pg_stat_activity WHERE datname = 'it_ptarget' AND state = 'idle in transaction'"; }
has_holder() { [[ -n "$(holder)" ]]; }
check "an application transaction holds the target" wait_for has_holder
blocker=$(holder)
start=$(date +%s%N)
( sleep 0.5; s=$(date +%s%N); app_psql it_ptarget -c "SELECT 1" >/dev/null; echo $(( ($(date +%s%N) - s) / 1000000 )) >"$IT_TMP/app_ms" ) &
app=$!
expect_rc 4 "restore --clean behind an application transaction" \
    "$CTLDB" restore "$GZ" --target-db it_ptarget --clean --yes --lock-timeout 2s
elapsed=$((($(date +%s%N) - start) / 1000000))
wait "$app"
check "within the timeout (${elapsed} ms)" test "$elapsed" -lt 6000
check "the blocker named" stderr_has "pid $blocker"
check "with the query that ends it" stderr_has "pg_terminate_backend"
check "the application's query waited at most the timeout ($(cat "$IT_TMP/app_ms") ms)" test "$(cat "$IT_TMP/app_ms")" -lt 2500
end_sessions
check "target as before" target_before

# --jobs 2 of a dump with an extension a superuser made: restored by the
# application role with the same warning as the one-transaction path.
SUPERUSER_DB=it_policy superuser_psql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
X="$IT_TMP/ext"
mkdir -p "$X"
"$CTLDB" -q backup --dir "$X" --format custom -o json >"$OUT"
XC=$(json_get /path)
su_sql "DROP DATABASE IF EXISTS it_policy_ext WITH (FORCE)" >/dev/null
expect_rc 0 "restore --jobs 2 of a dump with pg_stat_statements, as the application role" \
    "$CTLDB" restore "$XC" --target-db it_policy_ext --create --yes --jobs 2 -o json
check "the extension left out, counted" json_is /statements_left_out 2
check "with a warning" stderr_has "left out \"CREATE EXTENSION"
check "every user there" test "$(app_psql it_policy_ext -c "SELECT count(*) FROM users")" = "$(app_psql it_policy -c "SELECT count(*) FROM users")"

# A killed --jobs run's leftover is named by the next run.
su_sql "CREATE DATABASE it_policy_ext_ctldb_restore_999999_abcdef OWNER $APP" >/dev/null
su_sql "COMMENT ON DATABASE it_policy_ext_ctldb_restore_999999_abcdef IS 'ctldb restore in progress: host=$(hostname) pid=999999 started=2026-01-01T00:00:00Z'" >/dev/null
expect_rc 0 "the next --jobs run" "$CTLDB" restore "$XC" --target-db it_policy_ext --clean --yes --jobs 2 --drop-previous
check "names the leftover of the killed run" stderr_has "it_policy_ext_ctldb_restore_999999_abcdef is the leftover of a killed restore"
su_sql "DROP DATABASE IF EXISTS it_policy_ext_ctldb_restore_999999_abcdef" >/dev/null
# Two --jobs runs at once: distinct names, no collision.
su_sql "DROP DATABASE IF EXISTS it_policy_twin1 WITH (FORCE)" >/dev/null
su_sql "DROP DATABASE IF EXISTS it_policy_twin2 WITH (FORCE)" >/dev/null
"$CTLDB" -q restore "$XC" --target-db it_policy_twin1 --create --yes --jobs 2 2>"$IT_TMP/t1" & t1=$!
"$CTLDB" -q restore "$XC" --target-db it_policy_twin2 --create --yes --jobs 2 2>"$IT_TMP/t2" & t2=$!
rc1=0; rc2=0
wait $t1 || rc1=$?
wait $t2 || rc2=$?
check "two --jobs runs at once both succeed ($rc1, $rc2)" test "$rc1$rc2" = 00
for db in it_policy_twin1 it_policy_twin2 it_policy_ext it_policy_latest it_policy_src it_policy_o1 it_policy_o2 it_ptarget it_victim; do
    su_sql "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
done
su_sql "DROP ROLE IF EXISTS it_policy_su" >/dev/null
finish
