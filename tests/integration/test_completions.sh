#!/usr/bin/env bash
# The shell completions offer every command and option that --help lists.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DIR="$CTLDB_SOURCE_DIR/completions"

help_flags() { "$CTLDB" "$@" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u; }
help_commands() { "$CTLDB" "$@" --help | sed -n '/^Subcommands:/,$p' | awk 'NR>1 && NF {print $1}'; }

for f in ctldb.bash _ctldb ctldb.fish; do
    for flag in $(help_flags); do
        name=${flag#--}
        check "$f offers $flag" grep -qE -- "(--|-l |\\{[^}]*,)$name([^a-z-]|\$)" "$DIR/$f"
    done
    for cmd in $(help_commands); do
        check "$f offers command $cmd" grep -qw -- "$cmd" "$DIR/$f"
        for flag in $(help_flags "$cmd"); do
            name=${flag#--}
            check "$f offers $cmd $flag" grep -qE -- "(--|-l |\\{[^}]*,)$name([^a-z-]|\$)" "$DIR/$f"
        done
        for sub in $(help_commands "$cmd"); do
            check "$f offers $cmd $sub" grep -qw -- "$sub" "$DIR/$f"
            for flag in $(help_flags "$cmd" "$sub"); do
                name=${flag#--}
                check "$f offers $cmd $sub $flag" grep -qE -- "(--|-l |\\{[^}]*,)$name([^a-z-]|\$)" "$DIR/$f"
            done
        done
    done
done
check "bash completion parses" bash -n "$DIR/ctldb.bash"
finish
