#!/usr/bin/env bash
# The build enforces the layers (docs/architecture.md): a folder's sources
# see the headers of the folders it may use, and no other.
#   1. base_uses_pg.cpp (base including pg) fails to compile, and for that
#      reason: pg's header is not found;
#   2. pg_uses_base.cpp (the same includes, the allowed way) compiles;
#   3. every folder against every other: a file compiled with the folder's
#      own flags (from compile_commands.json) that includes the other
#      folder's first header preprocesses if and only if the table below
#      allows it;
#   4. no include climbs out of its folder ("../").
set -uo pipefail
build=$1
src=$2
fail=0

# What each folder may use (the folders below it), as docs/architecture.md
# states it. Keep the two in step.
declare -A USES=(
    [base]=""
    [crypto]="base"
    [config]="base"
    [pg]="config base"
    [tls]="pg config base"
    [maintenance]="pg config base"
    [checks]="maintenance tls pg config base"
    [storage]="config base"
    [backup]="pg config crypto storage base"
    [migrate]="backup pg config crypto storage base"
    [seed]="pg config base"
    [roles]="pg config base"
    [sandbox]="tls pg config base"
    [doctor]="checks maintenance roles tls migrate backup pg config crypto storage base"
    [metrics]="checks maintenance tls migrate backup pg config crypto storage base"
    [cli]="migrate backup pg config crypto storage base"
    [commands]="cli doctor metrics seed roles sandbox checks maintenance tls migrate backup pg config crypto storage base"
)

out=$(cmake --build "$build" --target layering_probe_forbidden 2>&1)
if [[ $? -eq 0 ]]; then
    echo "FAIL: base including pg compiled"; fail=1
elif ! grep -q 'pg/connection.hpp: No such file' <<<"$out"; then
    echo "FAIL: base including pg failed for another reason:"; echo "$out" | tail -5; fail=1
else
    echo "ok: base including pg does not compile (pg/connection.hpp: No such file)"
fi
if out=$(cmake --build "$build" --target layering_probe_allowed 2>&1); then
    echo "ok: pg including base and config compiles"
else
    echo "FAIL: pg including base did not compile:"; echo "$out" | tail -5; fail=1
fi

python3 - "$build" "$src" "$(declare -p USES)" <<'PY' || fail=1
import json, os, re, shlex, subprocess, sys, tempfile
build, src, decl = sys.argv[1:4]
uses = dict(re.findall(r'\[(\w+)\]="([^"]*)"', decl))
commands = json.load(open(os.path.join(build, "compile_commands.json")))
flags = {}
for c in commands:
    m = re.search(r"/src/(\w+)/[^/]+\.cpp$", c["file"])
    if m and m.group(1) in uses and m.group(1) not in flags:
        flags[m.group(1)] = c
first_header = {}
for d in uses:
    hs = sorted(h for h in os.listdir(os.path.join(src, "src", d)) if h.endswith(".hpp"))
    first_header[d] = d + "/" + hs[0]
bad = 0
with tempfile.TemporaryDirectory() as tmp:
    for low, c in sorted(flags.items()):
        args = shlex.split(c["command"])
        # Drop output, input, dependency-file and precompiled-header flags.
        keep, skip = [], False
        for a in args:
            if skip:
                skip = False
                continue
            if a in ("-o", "-c", "-MF", "-MT", "-MQ"):
                skip = True
                continue
            if a.startswith(("-MD", "-MMD", "-Winvalid-pch")) or a == c["file"] or "cmake_pch" in a:
                continue
            if a == "-include":
                skip = True
                continue
            keep.append(a)
        for high in sorted(uses):
            if high == low:
                continue
            probe = os.path.join(tmp, f"{low}_{high}.cpp")
            open(probe, "w").write(f'#include "{first_header[high]}"\n')
            r = subprocess.run(keep + ["-E", probe, "-o", os.devnull],
                               cwd=c["directory"], capture_output=True, text=True)
            allowed = high in uses[low].split()
            if (r.returncode == 0) != allowed:
                bad += 1
                print(f"FAIL: {low} including {high} " +
                      ("did not preprocess" if allowed else "preprocessed, but the table forbids it") +
                      (": " + r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""))
    print(f"{'ok' if bad == 0 else 'FAIL'}: {len(flags)} folders, each against every other, as the table says")
    missing = sorted(set(uses) - set(flags))
    if missing:
        print("FAIL: no compile command for", missing)
        bad += 1
sys.exit(1 if bad else 0)
PY

if grep -rn '#include "\.\./' "$src/src" "$src/tests/unit"; then
    echo "FAIL: an include climbs out of its folder"; fail=1
else
    echo "ok: no include climbs out of its folder"
fi
exit $fail
