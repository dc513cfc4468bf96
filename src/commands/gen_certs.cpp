// ctldb gen-certs: a CA and server (and client) certificates that
// PostgreSQL and libpq verify-full accept, replacing the guide's one-off
// self-signed `openssl req -x509`.
#include <unistd.h>

#include <cctype>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/text.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "tls/tls_check.hpp"

namespace ctldb::commands {

namespace {

struct GenCertsOptions {
    std::string out = "certs";
    std::string cn;
    std::vector<std::string> sans;
    std::vector<std::string> ips;
    int days = 365;
    int ca_days = 3650;
    std::string key_type = "ec";
    std::vector<std::string> clients;
    std::string ca_cert;
    std::string ca_key;
    std::string k8s_secret;
    std::string ns = "cloudtolocalllm";
    std::string service = "postgres";
    bool force = false;
};

/// RFC 1123 host names (letters, digits, hyphens, dots), optionally with a
/// "*." wildcard label in front.
bool valid_dns_name(const std::string& name) {
    std::string n = name.rfind("*.", 0) == 0 ? name.substr(2) : name;
    if (n.empty() || n.size() > 253 || n.front() == '.' || n.back() == '.') return false;
    std::size_t label = 0;
    for (char ch : n) {
        if (ch == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') return false;
        if (++label > 63) return false;
    }
    return true;
}

/// The files of one run, written together at the end (fs::replace_in_dir):
/// a kill at any moment leaves every key with its own certificate, old or
/// new, never a new key beside an old certificate. check_outputs has
/// already refused existing files without --force.
struct Outputs {
    std::string dir;
    std::vector<fs::NewFile> files;
    void add(const std::string& name, const std::string& text, mode_t mode) {
        files.push_back({name, text, mode});
    }
};

std::string indent(const std::string& pem, const std::string& pad) {
    std::string out;
    std::size_t start = 0;
    while (start < pem.size()) {
        std::size_t end = pem.find('\n', start);
        if (end == std::string::npos) end = pem.size();
        out += pad + pem.substr(start, end - start) + "\n";
        start = end + 1;
    }
    return out;
}

nlohmann::json describe(const std::string& path, const tls::CertSummary& s) {
    nlohmann::json j = tls::cert_json(s);
    j["file"] = path;
    return j;
}

/// The server certificate's names, checked: every input is checked before
/// anything is written.
struct Names {
    std::string cn;
    std::vector<std::string> dns, ips;
    tls::KeyType key_type = tls::KeyType::ec;
};

/// The Kubernetes name of the client Secret for `role`: role names may hold
/// '_' and capitals, Secret names may not.
std::string client_secret_name(const GenCertsOptions& o, const std::string& role) {
    std::string name = o.k8s_secret + "-client-";
    for (char ch : role)
        name += ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return name;
}

Names check_inputs(const GenCertsOptions& o) {
    if (o.days < 1 || o.days > 366) {
        throw usage_error("--days " + std::to_string(o.days) +
                          ": a server certificate may be valid for 1 to 366 days");
    }
    if (o.ca_days < 1 || o.ca_days > 36500) throw usage_error("--ca-days must be 1 to 36500");
    if (o.ca_cert.empty() != o.ca_key.empty()) {
        throw usage_error("--ca-cert and --ca-key go together");
    }
    if (!valid_k8s_name(o.ns))
        throw usage_error("--namespace '" + o.ns + "' is not a Kubernetes name");
    if (!valid_k8s_name(o.service))
        throw usage_error("--service '" + o.service + "' is not a Kubernetes name");
    if (!o.k8s_secret.empty() && !valid_k8s_name(o.k8s_secret)) {
        throw usage_error("--k8s-secret '" + o.k8s_secret + "' is not a Kubernetes name");
    }
    if (!o.k8s_secret.empty()) {
        for (const auto& c : o.clients) {
            if (!valid_k8s_name(client_secret_name(o, c))) {
                throw usage_error("--client '" + c + "': the Secret name " +
                                  client_secret_name(o, c) + " is not a Kubernetes name");
            }
        }
    }
    Names n;
    n.key_type = o.key_type == "rsa" ? tls::KeyType::rsa : tls::KeyType::ec;
    const std::string full = o.service + "." + o.ns + ".svc.cluster.local";
    n.dns = {o.service, o.service + "." + o.ns, o.service + "." + o.ns + ".svc", full};
    for (const auto& s : o.sans) {
        if (is_ip_address(s)) {
            n.ips.push_back(s);  // an address is an iPAddress SAN, never a DNS one
        } else if (valid_dns_name(s)) {
            if (std::find(n.dns.begin(), n.dns.end(), s) == n.dns.end()) n.dns.push_back(s);
        } else {
            throw usage_error("--san '" + s + "' is neither a host name nor an IP address");
        }
    }
    for (const auto& ip : o.ips) {
        if (!is_ip_address(ip)) throw usage_error("--ip '" + ip + "' is not an IP address");
        n.ips.push_back(ip);
    }
    for (const auto& c : o.clients) {
        if (c.empty() || c.find_first_of("/\\ \t\n'\"") != std::string::npos || c.size() > 63) {
            throw usage_error("--client '" + c + "' is not a usable role name");
        }
    }
    n.cn = o.cn.empty() ? full : o.cn;
    if (!valid_dns_name(n.cn)) throw usage_error("--cn '" + n.cn + "' is not a host name");
    return n;
}

/// Refuses (exit 2, nothing written) an --out that is a file, or files that
/// exist without --force.
void check_outputs(const GenCertsOptions& o) {
    if (fs::exists(o.out) && !fs::is_dir(o.out)) {
        throw usage_error("--out " + o.out + " exists and is not a directory; nothing was written");
    }
    fs::make_dirs(o.out, 0755);
    std::vector<std::string> planned = {o.out + "/server.crt", o.out + "/server.key"};
    if (o.ca_cert.empty()) planned.insert(planned.end(), {o.out + "/ca.crt", o.out + "/ca.key"});
    for (const auto& c : o.clients) {
        planned.push_back(o.out + "/client-" + c + ".crt");
        planned.push_back(o.out + "/client-" + c + ".key");
    }
    if (!o.k8s_secret.empty()) planned.push_back(o.out + "/" + o.k8s_secret + ".yaml");
    if (o.force) return;
    for (const auto& p : planned) {
        if (fs::exists(p))
            throw usage_error(p + " already exists; nothing was written",
                              "pass --force to replace");
    }
}

/// A new CA, or the one given (rotation from the same CA).
tls::PemPair ca_of(const GenCertsOptions& o, tls::KeyType kt) {
    if (!o.ca_cert.empty()) {
        tls::PemPair ca = tls::load_pair(o.ca_cert, o.ca_key);
        if (!tls::summarize(ca.cert_pem).is_ca)
            throw usage_error(o.ca_cert + " is not a CA certificate");
        return ca;
    }
    tls::CertSpec spec;
    spec.role = tls::CertRole::ca;
    spec.common_name = "cloudtolocalllm PostgreSQL CA";
    spec.days = o.ca_days;
    spec.key_type = kt;
    return tls::issue(spec, nullptr);
}

/// One kubernetes.io/tls Secret per client role: tls.crt, tls.key and the
/// CA, for DB_SSL_CERT / DB_SSL_KEY / DB_SSL_ROOT_CERT.
std::string client_secrets_yaml(const GenCertsOptions& o,
                                const std::vector<std::pair<std::string, tls::PemPair>>& clients,
                                const tls::PemPair& ca) {
    std::string out;
    for (const auto& [role, pem] : clients) {
        out += "---\n# The client certificate of role " + role +
               " (DB_SSL_CERT=.../tls.crt, DB_SSL_KEY=.../tls.key).\napiVersion: v1\nkind: "
               "Secret\nmetadata:\n  name: " +
               client_secret_name(o, role) + "\n  namespace: " + o.ns +
               "\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n" +
               indent(pem.cert_pem, "    ") + "  tls.key: |\n" + indent(pem.key_pem, "    ") +
               "  ca.crt: |\n" + indent(ca.cert_pem, "    ");
    }
    return out;
}

/// The Secrets (server and CA) as one manifest.
std::string secret_yaml(const GenCertsOptions& o, const tls::PemPair& server,
                        const tls::PemPair& ca) {
    return "# Written by ctldb gen-certs. kubectl apply -f " + o.k8s_secret +
           ".yaml\n"
           "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " +
           o.k8s_secret + "\n  namespace: " + o.ns +
           "\ntype: Opaque\nstringData:\n  server.crt: |\n" + indent(server.cert_pem, "    ") +
           "  server.key: |\n" + indent(server.key_pem, "    ") + "  ca.crt: |\n" +
           indent(ca.cert_pem, "    ") +
           "---\n# The CA alone, for clients (DB_SSL_ROOT_CERT).\napiVersion: v1\nkind: Secret\n"
           "metadata:\n  name: " +
           o.k8s_secret + "-ca\n  namespace: " + o.ns +
           "\ntype: Opaque\nstringData:\n  ca.crt: |\n" + indent(ca.cert_pem, "    ");
}

/// How to mount the Secrets, for people.
std::string mount_instructions(const GenCertsOptions& o) {
    return "\n" + o.out + "/" + o.k8s_secret + ".yaml: Secrets " + o.k8s_secret + " and " +
           o.k8s_secret +
           "-ca\n\nMount for PostgreSQL (the key must be readable by the postgres "
           "group, not the world):\n"
           "  spec:\n    securityContext:\n      fsGroup: 999          # postgres group in "
           "the postgres image\n"
           "    volumes:\n      - name: ssl-certs\n        secret:\n          secretName: " +
           o.k8s_secret +
           "\n          defaultMode: 0440\n"
           "  ssl_cert_file = '/var/lib/postgresql/ssl/server.crt'\n"
           "  ssl_key_file = '/var/lib/postgresql/ssl/server.key'\n\n"
           "Clients (mount " +
           o.k8s_secret +
           "-ca at /etc/ctldb/ca):\n"
           "  DB_SSL_MODE=verify-full\n  DB_SSL_ROOT_CERT=/etc/ctldb/ca/ca.crt\n";
}

cli::Outcome run_gen_certs(const GenCertsOptions& o) {
    const Names n = check_inputs(o);
    check_outputs(o);
    const tls::PemPair ca = ca_of(o, n.key_type);
    tls::CertSpec srv;
    srv.role = tls::CertRole::server;
    srv.common_name = n.cn;
    srv.dns_names = n.dns;
    srv.ip_addresses = n.ips;
    srv.days = o.days;
    srv.key_type = n.key_type;
    const tls::PemPair server = tls::issue(srv, &ca);

    Outputs out{o.out, {}};
    nlohmann::json written = nlohmann::json::array();
    std::string text;
    auto report = [&](const std::string& path, const std::string& pem) {
        const auto s = tls::summarize(pem);
        written.push_back(describe(path, s));
        text += path + "\n  subject     " + s.subject + "\n";
        if (!s.sans.empty()) text += "  names       " + join(s.sans, ", ") + "\n";
        text += "  expires     " + s.not_after + " (" + std::to_string(s.days_left) + " days)\n";
        text += "  sha256      " + s.fingerprint_sha256 + "\n";
    };
    if (o.ca_cert.empty()) {
        out.add("ca.key", ca.key_pem, 0600);
        out.add("ca.crt", ca.cert_pem, 0644);
        report(o.out + "/ca.crt", ca.cert_pem);
    } else if (fs::absolute(o.ca_cert) != fs::absolute(o.out + "/ca.crt")) {
        out.add("ca.crt", ca.cert_pem, 0644);
    }
    out.add("server.key", server.key_pem, 0600);
    out.add("server.crt", server.cert_pem, 0644);
    report(o.out + "/server.crt", server.cert_pem);
    std::vector<std::pair<std::string, tls::PemPair>> clients;
    for (const auto& c : o.clients) {
        tls::CertSpec cs;
        cs.role = tls::CertRole::client;
        cs.common_name = c;
        cs.days = o.days;
        cs.key_type = n.key_type;
        const tls::PemPair client = tls::issue(cs, &ca);
        out.add("client-" + c + ".key", client.key_pem, 0600);
        out.add("client-" + c + ".crt", client.cert_pem, 0644);
        report(o.out + "/client-" + c + ".crt", client.cert_pem);
        clients.emplace_back(c, client);
    }
    if (!o.k8s_secret.empty()) {
        out.add(o.k8s_secret + ".yaml",
                secret_yaml(o, server, ca) + client_secrets_yaml(o, clients, ca), 0600);
        text += mount_instructions(o);
        for (const auto& c : o.clients) {
            text += "Client " + c + " (mount " + client_secret_name(o, c) +
                    " at /etc/ctldb/client, defaultMode 0440):\n"
                    "  DB_SSL_CERT=/etc/ctldb/client/tls.crt\n"
                    "  DB_SSL_KEY=/etc/ctldb/client/tls.key\n";
        }
    }
    if (!fs::replace_in_dir(out.dir, out.files)) {
        log::warn(o.out +
                  " could not be replaced as one directory (a mount point, or it holds "
                  "a subdirectory): the files were moved into place one after the other");
    }
    return cli::Outcome::done(
        ExitCode::ok, text,
        {{"out", o.out},
         {"certificates", written},
         {"k8s_secret", o.k8s_secret.empty()
                            ? nlohmann::json(nullptr)
                            : nlohmann::json(o.out + "/" + o.k8s_secret + ".yaml")}});
}

}  // namespace

void bind_gen_certs(CLI::App* cmd, Context& ctx) {
    static GenCertsOptions o;
    cmd->add_option("--out", o.out, "Output directory (default ./certs)");
    cmd->add_option("--cn", o.cn, "Common name (default postgres.<namespace>.svc.cluster.local)");
    cmd->add_option("--san", o.sans,
                    "Extra subjectAltName (host name or IP); repeatable (default: none)");
    cmd->add_option("--ip", o.ips, "Extra IP address SAN; repeatable (default: none)");
    cmd->add_option("--days", o.days,
                    "Server/client certificate lifetime, at most 366 (default 365)");
    cmd->add_option("--ca-days", o.ca_days, "CA lifetime in days (default 3650)");
    cmd->add_option("--key-type", o.key_type, "ec (P-256, default) or rsa (2048, CA 3072)")
        ->check(CLI::IsMember({"ec", "rsa"}));
    cmd->add_option("--client", o.clients,
                    "Also a client certificate for this role; repeatable (default: none)");
    cmd->add_option("--ca-cert", o.ca_cert,
                    "Issue from this existing CA certificate (rotation; default: a new CA)");
    cmd->add_option("--ca-key", o.ca_key,
                    "The existing CA's private key (default: none, with --ca-cert needed)");
    cmd->add_option("--k8s-secret", o.k8s_secret,
                    "Also write NAME.yaml with Kubernetes Secrets (default: none)");
    cmd->add_option("--namespace", o.ns,
                    "Kubernetes namespace of the service (default cloudtolocalllm)");
    cmd->add_option("--service", o.service, "Kubernetes service name (default postgres)");
    cmd->add_flag("--force", o.force, "Replace existing files");
    cmd->callback([&ctx] { ctx.run = [] { return run_gen_certs(o); }; });
}

}  // namespace ctldb::commands
