#!/usr/bin/env bash
# The shell completions, the man page and --help are generated from the one
# command-line definition: for every command path, what each shell really
# offers is exactly what --help lists (bash runs its completion function,
# zsh its completion function with the completion system's builtins
# recorded, fish `complete -C`; and a real interactive zsh in tmux for two
# cases); shellcheck is clean; the man page has
# every option; every --help has examples that use real options and shows
# every default; the committed copies are what the binary generates.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v zsh >/dev/null && command -v fish >/dev/null && command -v shellcheck >/dev/null || {
    echo "zsh, fish or shellcheck missing: run scripts/install-deps" >&2
    exit 1
}
W=$(mktemp -d)
at_exit 'rm -rf "$W"'
"$CTLDB" completion bash >"$W/ctldb.bash"
"$CTLDB" completion zsh >"$W/_ctldb"
"$CTLDB" completion fish >"$W/ctldb.fish"
"$CTLDB" man >"$W/ctldb.1"
"$CTLDB" help -o json >"$W/cli.json"

# The cases: per command path, its options after "--", and its
# subcommands after a space. One line each: words|current word.
python3 - "$W/cli.json" >"$W/cases" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for c in [doc] + doc["commands"]:
    words = " ".join(["ctldb"] + c["path"])
    print(f"{words}|--")
    if c["subcommands"]:
        print(f"{words}|")
# A global option's value is skipped, not taken for a command.
print("ctldb --port 5432 migrate|")
print("ctldb --config x.yaml backup|")
# Values where they are known.
print("ctldb backup --format|")
print("ctldb -o|")
print("ctldb --sslmode|")
print("ctldb migrate baseline --layout|")
print("ctldb queries --state|")
print("ctldb completion|")
PY

# bash: the real completion function, COMP_WORDS as readline would set it.
bash -c '
source "$1"
while IFS="|" read -r words cur; do
    read -ra COMP_WORDS <<<"$words"
    COMP_WORDS+=("$cur")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _ctldb
    printf "%s|%s\t%s\n" "$words" "$cur" "${COMPREPLY[*]}"
done <"$2"' _ "$W/ctldb.bash" "$W/cases" >"$W/bash.out"

# zsh: the generated _ctldb with what it hands to the completion system
# recorded (_describe, compadd, _files); zsh itself then filters by prefix.
zsh -f -c '
compdef() { :; }
_describe() { local name=${@[-1]}; print -rn -- "${(j: :)${(@)${(P)name}%%:*}} "; }
compadd() { [[ $1 == -a ]] && print -rn -- "${(j: :)${(P)2}} "; }
_files() { print -rn -- "@files$1 "; }
_message() { :; }
compset() { PREFIX=${PREFIX#*=}; }
source "$1"
while IFS="|" read -r line cur; do
    words=(${=line} "$cur")
    CURRENT=${#words}
    PREFIX=$cur
    print -rn -- "$line|$cur	"
    _ctldb
    print
done <"$2"' _ "$W/_ctldb" "$W/cases" >"$W/zsh.out"

# fish: its own completion engine.
fish --no-config -c '
source $argv[1]
while read -l line
    set -l parts (string split "|" -- $line)
    set -l offers (complete -C "$parts[1] $parts[2]" | string replace -r "\t.*" "")
    printf "%s\t%s\n" $line (string join " " -- $offers)
end <$argv[2]' "$W/ctldb.fish" "$W/cases" >"$W/fish.out"

python3 - "$W/cli.json" "$W/bash.out" "$W/zsh.out" "$W/fish.out" "$CTLDB" >"$W/report" <<'PY'
import json, re, subprocess, sys
doc = json.load(open(sys.argv[1]))
ctldb = sys.argv[5]
cmds = {" ".join(["ctldb"] + c["path"]): c for c in [doc] + doc["commands"]}
def longs(c):
    return {n for o in c["options"] for n in o["names"] if n.startswith("--")}
root = longs(doc)
def help_of(words):
    return subprocess.run(words.split() + ["--help"], capture_output=True, text=True,
                          executable=ctldb).stdout
def help_longs(words):
    # Every long name of a line: "--dir, --migrations-dir TEXT" names two.
    lines = re.findall(r"(?m)^\s+((?:-\w, ?)?--[a-z][a-z0-9-]+(?:, ?--[a-z][a-z0-9-]+)*)",
                       help_of(words))
    return {n for l in lines for n in re.findall(r"--[a-z][a-z0-9-]+", l)}
def help_subs(words):
    text = help_of(words)
    if "Subcommands:" not in text: return set()
    part = text.split("Subcommands:", 1)[1].split("\n\n", 1)[0]
    return {l.split()[0] for l in part.splitlines() if l.strip()}
expected = {}
for words, c in cmds.items():
    h = help_longs(words)
    print(("ok" if h == longs(c) else "not ok") +
          f" - {words}: the definition's options are --help's" +
          ("" if h == longs(c) else f" (help {sorted(h ^ longs(c))})"))
    expected[f"{words}|--"] = h | root
    if c["subcommands"]:
        expected[f"{words}|"] = help_subs(words)
expected["ctldb --port 5432 migrate|"] = set(cmds["ctldb migrate"]["subcommands"])
expected["ctldb --config x.yaml backup|"] = set(cmds["ctldb backup"]["subcommands"])
expected["ctldb backup --format|"] = {"plain", "custom"}
expected["ctldb -o|"] = {"text", "json", "prometheus"}
expected["ctldb --sslmode|"] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
expected["ctldb migrate baseline --layout|"] = {"auto", "numbered", "golang-migrate", "flyway", "dbmate"}
expected["ctldb queries --state|"] = {"busy", "active", "idle-in-transaction", "idle", "all"}
expected["ctldb completion|"] = {"bash", "zsh", "fish"}
for shell, path in (("bash", sys.argv[2]), ("zsh", sys.argv[3]), ("fish", sys.argv[4])):
    got = {}
    for line in open(path):
        key, _, offers = line.rstrip("\n").partition("\t")
        cur = key.split("|", 1)[1]
        got[key] = {w for w in offers.split() if w.startswith(cur)}
    for key, want in expected.items():
        have = got.get(key, set())
        ok = have == want
        print(("ok" if ok else "not ok") + f" - {shell} offers for '{key.replace('|', ' ')}<TAB>'" +
              ("" if ok else f": missing {sorted(want - have)}, extra {sorted(have - want)}"))
PY
while IFS= read -r line; do
    case $line in
        ok*) pass "${line#ok - }" ;;
        *) fail "${line#not ok - }" ;;
    esac
done <"$W/report"

# Values that are files and directories come from the file system.
mkdir -p "$W/fs/backups" && touch "$W/fs/backup.sql.gz"
(cd "$W/fs" && bash -c 'source "$1"; COMP_WORDS=(ctldb backup --dir b); COMP_CWORD=3; _ctldb; echo "${COMPREPLY[*]}"' _ "$W/ctldb.bash") >"$OUT"
check "bash completes --dir with directories" grep -qx "backups" "$OUT"
(cd "$W/fs" && bash -c 'source "$1"; COMP_WORDS=(ctldb restore b); COMP_CWORD=2; _ctldb; echo "${COMPREPLY[*]}"' _ "$W/ctldb.bash") >"$OUT"
check "bash completes restore's file" grep -q "backup.sql.gz" "$OUT"
(cd "$W/fs" && fish --no-config -c 'source $argv[1]; complete -C "ctldb backup verify b"' "$W/ctldb.fish") >"$OUT"
check "fish completes backup verify's file" grep -q "backup.sql.gz" "$OUT"
(cd "$W/fs" && zsh -f -c '_files() { print -r -- "@files$1"; }; compdef() { :; }; source "$1"; words=(ctldb gen-certs --out ""); CURRENT=4; PREFIX=; _ctldb' _ "$W/_ctldb") >"$OUT"
check "zsh completes gen-certs --out with directories" grep -qx -- "@files-/" "$OUT"

# And once in a real interactive zsh (compinit, the file autoloaded from
# fpath), driven through tmux: the completion system itself lists them.
mkdir -p "$W/fpath" && cp "$W/_ctldb" "$W/fpath/_ctldb"
TM=(tmux -L "ctldb-test-$$")
"${TM[@]}" new-session -d -x 160 -y 40 "env -i HOME=$W TERM=xterm PATH=$(dirname "$CTLDB"):/usr/bin:/bin zsh -f"
sleep 1
"${TM[@]}" send-keys "fpath=($W/fpath \$fpath); autoload -U compinit; compinit -u -D" Enter
sleep 1
"${TM[@]}" send-keys 'ctldb backup list --d' Tab
sleep 1
"${TM[@]}" capture-pane -p >"$OUT"
check "real zsh: backup list --d<TAB> lists --dir" grep -q -- "^--dir .*Backup directory" "$OUT"
check "real zsh: and the global --dbname" grep -q -- "^--dbname " "$OUT"
check "real zsh: not backup's own --format" bash -c "! grep -q -- '--format' '$OUT'"
"${TM[@]}" send-keys C-u 'ctldb --port 5432 migrate dow' Tab
sleep 1
"${TM[@]}" capture-pane -p >"$OUT"
check "real zsh: --port 5432 migrate dow<TAB> completes down" grep -q "ctldb --port 5432 migrate down" "$OUT"
"${TM[@]}" kill-server

check "shellcheck: the bash completion is clean" shellcheck -s bash "$W/ctldb.bash"
check "zsh parses its completion" zsh -n "$W/_ctldb"
check "fish parses its completion" fish --no-config -n "$W/ctldb.fish"

# The man page: every option of every command, the sections a man page has,
# and man renders it without a warning.
python3 - "$W/cli.json" "$W/ctldb.1" >"$W/report" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
page = open(sys.argv[2]).read()
for c in [doc] + doc["commands"]:
    name = " ".join(["ctldb"] + c["path"])
    if c["path"]:
        print(("ok" if f'.SS "{name.replace("-", chr(92) + "-")}"' in page else "not ok") +
              f" - man page has a section for {name}")
    for o in c["options"]:
        for n in o["names"]:
            if n in ("--help", "-h"): continue
            print(("ok" if n.replace("-", "\\-") in page else "not ok") + f" - man page has {name} {n}")
for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS", "ENVIRONMENT", "FILES",
          "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
    print(("ok" if f".SH {s}\n" in page else "not ok") + f" - man page has {s}")
PY
while IFS= read -r line; do
    case $line in ok*) pass "${line#ok - }" ;; *) fail "${line#not ok - }" ;; esac
done <"$W/report"
MANWIDTH=100 man --warnings -l "$W/ctldb.1" >"$OUT" 2>"$ERR" || true
check "man renders the page without warnings" test ! -s "$ERR"
check "man shows the EXAMPLES" grep -q "EXAMPLES" "$OUT"

# --help: examples that use only options of their command (or ctldb's own),
# and every option that takes a value says its default.
python3 - "$W/cli.json" >"$W/report" <<'PY'
import json, re, shlex, sys
doc = json.load(open(sys.argv[1]))
cmds = {tuple(c["path"]): c for c in [doc] + doc["commands"]}
root_names = {n for o in doc["options"] for n in o["names"]}
for c in [doc] + doc["commands"]:
    name = " ".join(["ctldb"] + c["path"])
    ex = c["examples"]
    print(("ok" if 2 <= len(ex) <= 3 else "not ok") + f" - {name} --help has 2 or 3 examples ({len(ex)})")
    for e in ex:
        for part in re.split(r"&&|\|", e["command"]):
            words = shlex.split(part.replace('"$(', "").replace(')"', ""))
            if "ctldb" not in words: continue
            words = words[words.index("ctldb") + 1:]
            path = ()
            bad = []
            names = set(root_names)
            for w in words:
                if not w.startswith("-") and path + (w,) in cmds:
                    path += (w,)
                names |= {n for o in cmds[path]["options"] for n in o["names"]}
            for w in words:
                if w.startswith("-") and w.split("=")[0] not in names: bad.append(w)
            print(("ok" if not bad else "not ok") + f" - example '{part.strip()}' uses real options" +
                  (f" (unknown {bad})" if bad else ""))
    for o in c["options"]:
        if o["kind"] == "flag" or o["required"]: continue
        d = o["description"].lower()
        print(("ok" if "default" in d else "not ok") + f" - {name} {'/'.join(o['names']) or o.get('positional')} shows its default")
PY
while IFS= read -r line; do
    case $line in ok*) pass "${line#ok - }" ;; *) fail "${line#not ok - }" ;; esac
done <"$W/report"

run "$CTLDB" help backup list
check "help CMD is CMD --help" diff <("$CTLDB" backup list --help) "$OUT"
check "help shows the examples" stdout_has "Examples:"
expect_rc 2 "help of no such command" "$CTLDB" help backup nope
check "it names it" stderr_has "'backup nope' is not a ctldb command"
expect_rc 2 "completion of an unknown shell" "$CTLDB" completion tcsh

# The copies in the repository are what this binary generates.
check "completions/ctldb.bash is generated" diff -q "$W/ctldb.bash" "$CTLDB_SOURCE_DIR/completions/ctldb.bash"
check "completions/_ctldb is generated" diff -q "$W/_ctldb" "$CTLDB_SOURCE_DIR/completions/_ctldb"
check "completions/ctldb.fish is generated" diff -q "$W/ctldb.fish" "$CTLDB_SOURCE_DIR/completions/ctldb.fish"
check "docs/ctldb.1 is generated" diff -q "$W/ctldb.1" "$CTLDB_SOURCE_DIR/docs/ctldb.1"
finish
