#!/usr/bin/env bash
# Start-up time of `ctldb --version` against the anchor `psql --version`
# (another libpq client), side by side in one hyperfine run. Bar: < 10 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build >/dev/null
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
hyperfine -N --warmup 20 --runs 300 --export-json /tmp/ctldb-bench-startup.json \
    "build/ctldb --version" "$PSQL --version"
python3 - <<'PY' 2>/dev/null || true
import json
r = json.load(open("/tmp/ctldb-bench-startup.json"))["results"]
c, p = r[0]["mean"] * 1000, r[1]["mean"] * 1000
print(f"ctldb --version: {c:.2f} ms  psql --version: {p:.2f} ms  ratio {c/p:.2f}")
PY
