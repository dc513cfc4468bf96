#!/usr/bin/env bash
# Every subcommand accepts exactly the options its help lists: walks the
# whole CLI tree and gives each subcommand every option of its parent that
# it does not list itself (the ones CLI11's fallthrough used to hand to the
# parent, silently: `migrate down --dry-run` rolled back for real).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# Should an option still be accepted (the bug this guards against), the
# command runs: in an empty directory (migrate create writes ./migrations)
# and with no server configured.
cd "$IT_TMP"
unset DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD DB_PASSWORD_FILE CTLDB_CONFIG

# options HELP-TEXT: the long option names of an options section.
options_of() { sed -n '/^Options:/,/^[A-Z][a-z]*:/p' | grep -oE '^  +(-[a-zA-Z],)?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+$' | sort -u; }
subcommands_of() { sed -n '/^Subcommands:/,/^$/p' | grep -oE '^  [a-z][a-z-]*' | tr -d ' '; }
positionals_of() { sed -n '/^Positionals:/,/^$/p' | grep -cE '^  [a-z]' || true; }
# value_for HELP-TEXT OPTION: a value the option's own check accepts.
value_for() {
    local line
    line=$(grep -E -- "$2( |,|$)" <<<"$1" | head -1)
    if [[ "$line" =~ \{([a-z0-9-]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo 1; fi
}

checked=0
walk() {  # walk PATH...: check the children of this command
    local help
    help=$("$CTLDB" "$@" --help 2>&1)
    local parent_opts
    parent_opts=$(options_of <<<"$help")
    local child
    for child in $(subcommands_of <<<"$help"); do
        local chelp copts npos
        chelp=$("$CTLDB" "$@" "$child" --help 2>&1)
        copts=$(options_of <<<"$chelp")
        npos=$(positionals_of <<<"$chelp")
        if [[ $# -gt 0 ]]; then
            local o
            for o in $parent_opts; do
                [[ "$o" == --help ]] && continue
                grep -qxF -- "$o" <<<"$copts" && continue
                local args=("$@" "$child")
                for ((i = 0; i < npos; i++)); do args+=(1); done
                local req
                for req in $(grep -E '^  +(-[a-zA-Z],)?--[a-z0-9-]+.*REQUIRED' <<<"$chelp" | grep -oE -- '--[a-z0-9-]+' | head -1); do
                    args+=("$req=1")
                done
                run "$CTLDB" "${args[@]}" "$o=$(value_for "$help" "$o")"
                checked=$((checked + 1))
                if [[ "$RC" == 2 ]] && stderr_has "is not an option of"; then
                    :
                else
                    fail "'ctldb ${args[*]} $o' must be refused with exit 2 (got $RC)"
                fi
            done
        fi
        walk "$@" "$child"
    done
}
walk
check "walked the tree: $checked parent options refused where they do not belong" test "$checked" -gt 20

expect_rc 2 "migrate lint --dry-run is refused" "$CTLDB" migrate lint --dry-run
check "saying whose option it is" stderr_has "belongs to 'migrate' alone"
expect_rc 2 "backup list --keep-last 1" "$CTLDB" backup list --keep-last 1
expect_rc 2 "vacuum status --full" "$CTLDB" vacuum status --full
expect_rc 2 "migrate status --dry-run" "$CTLDB" migrate status --dry-run
expect_rc 2 "an option of the child given before it" "$CTLDB" migrate --dir /tmp status
check "says to put it after the subcommand" stderr_has "put it after the subcommand"
# A password on the command line is refused without being echoed.
for form in "--password hunter2SECRET" "--password=hunter2SECRET" "--db-password hunter2SECRET"; do
    # shellcheck disable=SC2086
    expect_rc 2 "migrate $form is refused" "$CTLDB" migrate $form
    check "migrate $form: the secret is not echoed" output_lacks "hunter2SECRET"
    check "migrate $form: says where a password goes" stderr_has "DB_PASSWORD_FILE"
done
# Global options still work after the command name.
expect_rc 0 "global options after the subcommand" "$CTLDB" config show --host h --port 5 --dbname d --user u -o json
finish
