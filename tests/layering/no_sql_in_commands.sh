#!/usr/bin/env bash
# src/commands/ binds options and hands results over: no file there talks
# to the server (the connection's execute functions, libpqxx transactions,
# libpq calls) or holds SQL text (a string literal that opens a statement),
# and none prints: a command returns an Outcome that the one runner
# (src/cli/report.cpp) prints, and a --watch frame goes to ctx.stream().
# The domains (src/pg, src/backup, src/migrate, ...) do the first two.
#   usage: no_sql_in_commands.sh SOURCE_DIR [FILE...]   (default: src/commands/*)
set -uo pipefail
src=$1
shift
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=("$src"/src/commands/*)

calls='\b(exec|exec0|exec1|exec_params|copy_from|set_timeout|PQexec[A-Za-z]*|PQsendQuery[A-Za-z]*)\s*\(|pqxx::(work|nontransaction|transaction|pipeline|stream_from|stream_to)\b'
openers='"\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|ALTER\s+SYSTEM\s+(SET|RESET)\s|(ALTER|CREATE|DROP)\s+(UNIQUE\s+)?(TABLE|ROLE|USER|DATABASE|INDEX|SCHEMA|EXTENSION|SEQUENCE|VIEW|FUNCTION|TRIGGER|TYPE|CONSTRAINT)\b|SET\s+(LOCAL\s+|SESSION\s+)?(ROLE\s|[a-z_]+\s*(=|TO\s))|SHOW\s+[a-z_]+"|RESET\s+[a-z_]+|(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION)\b|LOCK\s+TABLE\s|TRUNCATE\s|GRANT\s.*\s(ON|TO)\s|REVOKE\s|COPY\s+\S+\s+(FROM|TO)\s|(VACUUM|ANALYZE|REINDEX|CLUSTER)("|\s*\([A-Z_, ]*\)\s*")|SAVEPOINT\s|RELEASE\s+SAVEPOINT|WITH\s+[a-z_]+\s+AS\s*\(|COMMENT\s+ON\s)'

# Writing to stdout (or to a descriptor) by hand; a method of an object
# (compressor->write) is not.
printing='(^|[^.>A-Za-z0-9_])(print_text|print_json|print_json_line|use_json_lines|printf|fprintf|vprintf|puts|fputs|fwrite|putchar|write)\s*\(|std::(cout|cerr|clog)\b|\bstdout\b'

fail=0
if grep -nE "$calls" "${files[@]}"; then
    echo "FAIL: the lines above talk to the server from src/commands/ (move them into a domain)"
    fail=1
fi
if grep -nE "$openers" "${files[@]}"; then
    echo "FAIL: the lines above hold SQL text in src/commands/ (move them into a domain)"
    fail=1
fi
if grep -nE "$printing" "${files[@]}"; then
    echo "FAIL: the lines above print from src/commands/ (return an Outcome; stream a frame with ctx.stream)"
    fail=1
fi
[[ $fail -eq 0 ]] && echo "ok: no SQL, no server calls and no printing in ${#files[@]} files of src/commands/"
exit $fail
