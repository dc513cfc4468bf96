#!/usr/bin/env bash
# Starts (start) or removes (stop) the PostgreSQL 15 server shared by the
# integration suites: `ctldb local start` in a fresh directory under /tmp
# (reachable by the unprivileged server account), on a free port.
set -euo pipefail
: "${CTLDB:?}" "${CTLDB_IT_STATE:?}"
source "$(dirname "$0")/lib.sh"

case "${1:-}" in
start)
    require_server_binaries
    if [[ -f "$CTLDB_IT_STATE" ]]; then
        # A previous run that was killed: clean it up first.
        source "$CTLDB_IT_STATE"
        "$CTLDB" local destroy --yes --dir "$IT_SANDBOX" >/dev/null 2>&1 || true
        rm -rf "$IT_ROOT"
    fi
    root=$(mktemp -d /tmp/ctldb-it.XXXXXX)
    chmod 755 "$root"
    "$CTLDB" local start --dir "$root/sandbox" --port 0
    printf 'IT_ROOT=%q\nIT_SANDBOX=%q\n' "$root" "$root/sandbox" >"$CTLDB_IT_STATE"
    # The production role of the guide's deployment: it logs in and owns its
    # database and tables, nothing more (no superuser, CREATEDB, CREATEROLE,
    # pg_monitor or pg_read_all_settings). The sandbox's appuser has
    # conveniences this role lacks; suites that model production use this.
    IT_SANDBOX="$root/sandbox"
    head -c 24 /dev/urandom | base64 | tr -d '\n' >"$root/prod.password"
    chmod 644 "$root/prod.password"
    SUPERUSER_DB=postgres superuser_psql -v pw="$(cat "$root/prod.password")" >/dev/null <<'SQL'
CREATE ROLE ctldb_prod LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
SQL
    ;;
stop)
    [[ -f "$CTLDB_IT_STATE" ]] || exit 0
    source "$CTLDB_IT_STATE"
    "$CTLDB" local destroy --yes --dir "$IT_SANDBOX"
    rm -rf "$IT_ROOT" "$CTLDB_IT_STATE"
    ;;
*)
    echo "usage: fixture.sh start|stop" >&2
    exit 2
    ;;
esac
