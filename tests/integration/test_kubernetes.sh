#!/usr/bin/env bash
# docs/kubernetes agrees with ctldb: every manifest parses; every container
# that runs ctldb runs a command path and options ctldb has (from its own
# `help -o json`), reads only environment variables ctldb reads, finds each
# file an env variable names under a mount of that container, from a Secret
# key that exists (the guide's postgres-password, gen-certs' ca.crt and
# tls.crt/tls.key); every pod runs as non-root with a read-only root file
# system and no privilege escalation; the Dockerfile builds ctldb on
# postgres:15 with packages install-deps knows. gen-certs --client writes
# the client Secret the manifests mount.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || {
    echo "python3-yaml missing: run scripts/install-deps" >&2
    exit 1
}
K=$CTLDB_SOURCE_DIR/docs/kubernetes
"$CTLDB" help -o json >"$IT_TMP/cli.json"
"$CTLDB" man >"$IT_TMP/ctldb.1"
"$CTLDB" gen-certs --out "$IT_TMP/certs" --cn postgres --client appuser --client App_Reader \
    --k8s-secret postgres-tls >"$OUT" 2>"$ERR"
check "gen-certs --client --k8s-secret: done" test -s "$IT_TMP/certs/postgres-tls.yaml"
check "it says how to mount the client Secret" grep -q "DB_SSL_CERT=/etc/ctldb/client/tls.crt" "$OUT"
expect_rc 2 "gen-certs: a client whose Secret name Kubernetes refuses" \
    "$CTLDB" gen-certs --out "$IT_TMP/certs2" --client 'app$user' --k8s-secret postgres-tls
check "and writes nothing" test -z "$(ls -A "$IT_TMP/certs2" 2>/dev/null)"

"$PY" - "$K" "$IT_TMP/cli.json" "$IT_TMP/ctldb.1" "$IT_TMP/certs" \
    "$CTLDB_SOURCE_DIR/scripts/install-deps" "$CTLDB" >"$IT_TMP/report" <<'PY'
import glob, json, os, re, subprocess, sys, yaml
kdir, cli_json, man, certs, install_deps, ctldb = sys.argv[1:]
results = []
def check(ok, what):
    results.append(("ok" if ok else "not ok") + " - " + what)

doc = json.load(open(cli_json))
cmds = {tuple(c["path"]): c for c in [doc] + doc["commands"]}
root_opts = {n: o for o in doc["options"] for n in o["names"]}
page = open(man).read()
env_section = page.split(".SH ENVIRONMENT", 1)[1].split(".SH ", 1)[0]
ctldb_env = set(re.findall(r"^\.B ([A-Z0-9_]+)", env_section, re.M))
ctldb_env |= set(re.findall(r"\\fB([A-Z0-9_]+)", env_section))
check({"DB_HOST", "DB_PASSWORD_FILE", "CTLDB_BACKUP_DIR", "DB_SSL_ROOT_CERT"} <= ctldb_env,
      "the man page lists the environment ctldb reads")
version = subprocess.run([ctldb, "version", "-o", "json"], capture_output=True, text=True)
version = json.loads(version.stdout)["version"]

# What gen-certs writes: Secret name -> keys.
written = {}
for d in yaml.safe_load_all(open(os.path.join(certs, "postgres-tls.yaml"))):
    written[d["metadata"]["name"]] = set(d["stringData"])
check(written.get("postgres-tls-ca") == {"ca.crt"}, "gen-certs writes the CA Secret")
check(written.get("postgres-tls-client-appuser") == {"tls.crt", "tls.key", "ca.crt"},
      "gen-certs writes the client Secret of appuser")
check("postgres-tls-client-app-reader" in written, "a role name with _ and capitals gets a Kubernetes name")
client = [d for d in yaml.safe_load_all(open(os.path.join(certs, "postgres-tls.yaml")))
          if d["metadata"]["name"] == "postgres-tls-client-appuser"][0]
check(client["type"] == "kubernetes.io/tls" and "BEGIN CERTIFICATE" in client["stringData"]["tls.crt"]
      and "PRIVATE KEY" in client["stringData"]["tls.key"], "the client Secret holds a certificate and its key")
# The guide's Secret: cloudtolocalllm-secrets with postgres-password.
secrets = dict(written)
secrets["cloudtolocalllm-secrets"] = {"postgres-password"}

def pods(d):
    k = d.get("kind")
    if k == "CronJob": return [d["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    if k in ("Job", "Deployment"): return [d["spec"]["template"]["spec"]]
    return []

def check_command(where, cmd):
    check(cmd[0] == "ctldb", f"{where}: runs ctldb ({cmd[0]})")
    path, i, args = (), 1, cmd[1:]
    while args and not args[0].startswith("-") and path + (args[0],) in cmds:
        path += (args[0],); args = args[1:]
    names = {n: o for o in cmds[path]["options"] for n in o["names"]}
    names.update(root_opts)
    positional = [o for o in cmds[path]["options"] if o.get("positional")]
    check(cmds[path]["runs_alone"], f"{where}: 'ctldb {' '.join(path)}' is a command that runs")
    j = 0
    while j < len(args):
        a = args[j]
        if a.startswith("-"):
            o = names.get(a.split("=")[0])
            check(o is not None, f"{where}: ctldb {' '.join(path)} has {a}")
            if o and o["kind"] != "flag" and "=" not in a:
                j += 1
                value = args[j] if j < len(args) else None
                check(value is not None and not value.startswith("--"), f"{where}: {a} has a value")
                if o.get("choices"):
                    check(value in o["choices"], f"{where}: {a} {value} is one of {o['choices']}")
        else:
            check(bool(positional), f"{where}: ctldb {' '.join(path)} takes the argument {a}")
        j += 1
    # And ctldb itself accepts the line, values included: with a port it
    # refuses (DB_PORT=abc), it gets as far as the configuration, past every
    # option check, and stops there (exit 2 naming DB_PORT) before connecting.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "PG", "CTLDB_", "DATABASE_URL"))}
    env.update({"DB_HOST": "localhost", "DB_NAME": "x", "DB_USER": "x", "DB_PORT": "abc"})
    r = subprocess.run([ctldb] + cmd[1:], capture_output=True, text=True, env=env, timeout=30)
    check(r.returncode == 2 and "DB_PORT" in r.stderr,
          f"{where}: ctldb accepts '{' '.join(cmd)}' up to the configuration ({r.stderr.strip()[:160]})")
    return path

files = sorted(glob.glob(os.path.join(kdir, "*.yaml")))
check(len(files) >= 7, f"{len(files)} manifests")
kinds = set()
for f in files:
    name = os.path.basename(f)
    try:
        docs = [d for d in yaml.safe_load_all(open(f)) if d]
    except yaml.YAMLError as e:
        check(False, f"{name} parses ({e})"); continue
    check(True, f"{name} parses")
    for d in docs:
        kinds.add((d["kind"], d["metadata"]["name"]))
        check(d["metadata"].get("namespace") == "cloudtolocalllm", f"{name}: {d['kind']} in the guide's namespace")
        for spec in pods(d):
            w = f"{name} {d['metadata']['name']}"
            psc = spec.get("securityContext", {})
            check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0,
                  f"{w}: the pod runs as non-root")
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            for c in spec.get("initContainers", []) + spec["containers"]:
                cw = f"{w}/{c['name']}"
                csc = c.get("securityContext", {})
                check(csc.get("allowPrivilegeEscalation") is False and csc.get("readOnlyRootFilesystem") is True
                      and "ALL" in csc.get("capabilities", {}).get("drop", []),
                      f"{cw}: read-only root, no privilege escalation, no capabilities")
                mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
                for m in mounts.values():
                    check(m["name"] in volumes, f"{cw}: mount {m['name']} is a volume of the pod")
                if "ctldb" not in c["image"]:
                    continue
                check(c["image"].endswith(":" + version), f"{cw}: the image is ctldb {version}")
                path = check_command(cw, c["command"])
                for ref in c.get("envFrom", []):
                    check(ref.get("configMapRef", {}).get("name") == "cloudtolocalllm-config",
                          f"{cw}: the guide's ConfigMap")
                for e in c.get("env", []):
                    check(e["name"] in ctldb_env, f"{cw}: ctldb reads {e['name']}")
                    if e["name"] in ("DB_PASSWORD_FILE", "DB_SSL_ROOT_CERT", "DB_SSL_CERT", "DB_SSL_KEY"):
                        value = e["value"]
                        mount = [p for p in mounts if value.startswith(p.rstrip("/") + "/")]
                        check(len(mount) == 1, f"{cw}: {e['name']} {value} is under a mount")
                        if not mount: continue
                        v = volumes.get(mounts[mount[0]]["name"], {})
                        sec = v.get("secret")
                        check(sec is not None, f"{cw}: {e['name']} comes from a Secret")
                        if not sec: continue
                        rel = value[len(mount[0].rstrip("/")) + 1:]
                        items = {i["path"]: i["key"] for i in sec.get("items", [])}
                        key = items.get(rel, rel)
                        check(sec["secretName"] in secrets and key in secrets[sec["secretName"]],
                              f"{cw}: {e['name']} is key {key} of Secret {sec['secretName']}, which exists")
                        check(sec.get("defaultMode", 0o644) & 0o040,
                              f"{cw}: Secret {sec['secretName']} readable by the pod's group (fsGroup)")
                    if e["name"] == "CTLDB_BACKUP_DIR" and not e["value"].startswith("s3://"):
                        m = mounts.get(e["value"])
                        check(m is not None, f"{cw}: the backup directory {e['value']} is mounted")
                        if m:
                            writes = path == ("backup",)
                            check(bool(m.get("readOnly")) != writes,
                                  f"{cw}: the backup volume is {'writable' if writes else 'read-only'}")
for kind, n in [("Job", "ctldb-migrate"), ("Deployment", "cloudtolocalllm-api"), ("CronJob", "postgres-backup"),
                ("Job", "ctldb-restore"), ("CronJob", "ctldb-check-ssl"), ("CronJob", "ctldb-doctor"),
                ("Deployment", "ctldb-metrics")]:
    check((kind, n) in kinds, f"there is a {kind} {n}")
api = [d for f in files for d in yaml.safe_load_all(open(f)) if d and d["metadata"]["name"] == "cloudtolocalllm-api"]
if api:
    inits = [c["command"][:2] for c in api[0]["spec"]["template"]["spec"]["initContainers"]]
    check(inits == [["ctldb", "wait"], ["ctldb", "migrate"]], "the init containers wait, then migrate")

# The Dockerfile: built on Debian 12, shipped on postgres:15, packages
# install-deps knows, the ctldb target.
df = open(os.path.join(kdir, "Dockerfile")).read()
froms = re.findall(r"^FROM (\S+)", df, re.M)
check(froms[-1] == "postgres:15", "the image is postgres:15 with ctldb")
check(froms[0] == "debian:bookworm", "built on Debian 12, as postgres:15 is")
known = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", open(install_deps).read())) | {"ca-certificates"}
pkgs = set()
for block in re.findall(r"apt-get install -y --no-install-recommends \\\n((?:.*\\\n)+)", df):
    pkgs |= set(re.findall(r"[a-z0-9][a-z0-9.+-]+", block.replace("\\", " "))) - {"rm", "rf", "var", "lib", "apt", "lists"}
check(pkgs and pkgs <= known, f"the Dockerfile installs packages install-deps names ({sorted(pkgs - known)})")
check("--target ctldb" in df and 'ENTRYPOINT ["ctldb"]' in df, "it builds and runs ctldb")
check(re.search(r"^USER 999", df, re.M) is not None, "it runs as the postgres user")
print("\n".join(results))
PY
while IFS= read -r line; do
    case $line in ok*) pass "${line#ok - }" ;; *) fail "${line#not ok - }" ;; esac
done <"$IT_TMP/report"
finish
