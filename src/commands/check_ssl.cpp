// ctldb check-ssl: the server's TLS as a client sees it — protocol, cipher,
// certificate, chain, host names, expiry — and the server's own settings
// and non-TLS clients. All findings first, then exit 1 if any failed.
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <unistd.h>

#include <libpq-fe.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/findings.hpp"
#include "ctldb/probes.hpp"
#include "ctldb/text.hpp"
#include "ctldb/tls.hpp"

namespace ctldb {

namespace {

struct CheckSslOptions {
    int warn_days = 30;
    int critical_days = 7;
    std::string ca;
    std::string ns = "cloudtolocalllm";
    std::string service = "postgres";
};

ExitCode run_check_ssl(const CheckSslOptions& o, Context& ctx) {
    if (o.critical_days < 0 || o.warn_days < 0)
        throw usage_error("--warn-days and --critical-days must be >= 0");
    const Config& cfg = ctx.valid_config(true);
    ConnectionSettings cs = cfg.connection();
    const std::string ca_file = o.ca.empty() ? cs.sslrootcert : o.ca;
    if (!ca_file.empty() && ::access(ca_file.c_str(), R_OK) != 0) {
        throw usage_error("CA file " + ca_file + " is not readable");
    }
    // ctldb verifies the chain and the host names itself, so that every
    // finding is reported even when libpq's verify-full would refuse.
    ConnectionSettings probe = cs;
    if (probe.sslmode == "verify-ca" || probe.sslmode == "verify-full") {
        probe.sslmode = "require";
        probe.sslrootcert.clear();
    }
    auto conn = connect(probe);
    // The host the connection really uses (a service file may name it).
    if (cs.host.empty() && PQhost(conn->raw()) != nullptr) cs.host = PQhost(conn->raw());

    Findings f;
    nlohmann::json tls_json = {{"in_use", false}};
    nlohmann::json cert_json = nullptr;
    nlohmann::json days_left = nullptr, fingerprint = nullptr;
    const TlsInfo ti = tls_info(*conn);
    if (!ti.in_use && !cs.host.empty() && cs.host[0] == '/') {
        f.add("tls", Status::fail,
              "connected over the Unix socket in " + cs.host +
                  ", where TLS does not apply; set DB_HOST to the server's TCP host name to check "
                  "its certificate");
    } else if (!ti.in_use) {
        f.add("tls", Status::fail, "the connection is not encrypted (sslmode " + cs.sslmode + ")");
    } else {
        tls_json = {{"in_use", true},
                    {"protocol", ti.protocol},
                    {"cipher", ti.cipher},
                    {"key_bits", ti.key_bits}};
        const bool old =
            ti.protocol == "TLSv1" || ti.protocol == "TLSv1.1" || ti.protocol.rfind("SSL", 0) == 0;
        f.add("tls", old ? Status::fail : Status::ok,
              ti.protocol + ", " + ti.cipher + " (" + std::to_string(ti.key_bits) + " bits)" +
                  (old ? ": protocols below TLS 1.2 are broken" : ""));
        auto* ssl = static_cast<SSL*>(PQsslStruct(conn->raw(), "OpenSSL"));
        X509* leaf = ssl ? SSL_get1_peer_certificate(ssl) : nullptr;
        if (leaf == nullptr) {
            f.add("certificate", Status::fail, "the server sent no certificate");
        } else {
            const std::string leaf_pem = tls::pem_of(leaf);
            std::string intermediates;
            STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
            for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
                X509* x = sk_X509_value(chain, i);
                if (X509_cmp(x, leaf) != 0) intermediates += tls::pem_of(x);
            }
            X509_free(leaf);
            const tls::CertSummary s = tls::summarize(leaf_pem);
            days_left = s.days_left;
            fingerprint = s.fingerprint_sha256;
            cert_json = {{"subject", s.subject},
                         {"issuer", s.issuer},
                         {"sans", s.sans},
                         {"not_before", s.not_before},
                         {"not_after", s.not_after},
                         {"days_left", s.days_left},
                         {"fingerprint_sha256", s.fingerprint_sha256},
                         {"serial", s.serial},
                         {"key_type", s.key_type},
                         {"key_bits", s.key_bits},
                         {"signature_algorithm", s.signature_algorithm},
                         {"self_signed", s.self_signed},
                         {"is_ca", s.is_ca}};
            f.add("certificate", Status::info, s.subject + ", issued by " + s.issuer);
            const std::string when =
                "expires " + s.not_after + " (" + std::to_string(s.days_left) + " days)";
            if (s.days_left < 0) {
                f.add("expiry", Status::fail, "EXPIRED " + s.not_after);
            } else if (s.days_left < o.critical_days) {
                f.add("expiry", Status::fail, "critical: " + when);
            } else if (s.days_left < o.warn_days) {
                f.add("expiry", Status::fail,
                      when + ", within --warn-days " + std::to_string(o.warn_days));
            } else {
                f.add("expiry", Status::ok, when);
            }
            const std::string sig = s.signature_algorithm;
            const bool weak_sig = contains(sig, "sha1") || contains(sig, "SHA1") ||
                                  contains(sig, "md5") || contains(sig, "MD5");
            f.add("signature", weak_sig ? Status::fail : Status::ok, sig);
            const bool weak_key = (s.key_type == "RSA" && s.key_bits < 2048) ||
                                  (s.key_type == "EC" && s.key_bits < 256);
            f.add("key", weak_key ? Status::fail : Status::ok,
                  s.key_type + " " + std::to_string(s.key_bits) + " bits");
            if (s.self_signed) {
                f.add("trust", Status::warn,
                      "self-signed: the certificate is its own trust anchor, so every rotation "
                      "breaks every client; issue it from a CA (ctldb gen-certs)");
            } else if (s.is_ca) {
                f.add("trust", Status::warn, "the server certificate has CA:TRUE");
            }
            if (ca_file.empty()) {
                f.add("chain", Status::warn,
                      "not verified: no CA given (--ca or DB_SSL_ROOT_CERT)");
            } else {
                const std::string err = tls::verify_chain(leaf_pem, intermediates, ca_file);
                f.add("chain", err.empty() ? Status::ok : Status::fail,
                      err.empty() ? "verified against " + ca_file
                                  : err + " (against " + ca_file + ")");
            }
            if (!cs.host.empty() && cs.host[0] != '/') {
                const bool ok = tls::host_matches(leaf_pem, cs.host);
                f.add("host name", ok ? Status::ok : Status::fail,
                      "'" + cs.host + "' " + (ok ? "matches" : "does NOT match") +
                          " the certificate" + (ok ? "" : " (verify-full clients will refuse it)"));
            }
            std::vector<std::string> matched, unmatched;
            for (const auto& name :
                 {o.service, o.service + "." + o.ns, o.service + "." + o.ns + ".svc",
                  o.service + "." + o.ns + ".svc.cluster.local"}) {
                (tls::host_matches(leaf_pem, name) ? matched : unmatched).push_back(name);
            }
            f.add("service names", Status::info,
                  (matched.empty() ? std::string("none match") : "match: " + join(matched, ", ")) +
                      (unmatched.empty() ? "" : "; no match: " + join(unmatched, ", ")));
        }
    }

    // The server's settings, as far as this role may read them: a role
    // without pg_read_all_settings gets a finding naming the grant, not an
    // aborted report.
    nlohmann::json server_json = nlohmann::json::object();
    nlohmann::json unreadable = nlohmann::json::array();
    for (const auto& st : probe::settings(*conn, {"ssl", "ssl_min_protocol_version"})) {
        server_json[st.name] = st.value ? nlohmann::json(*st.value) : nlohmann::json(nullptr);
        const std::string label = st.name == "ssl" ? "server ssl" : "server min protocol";
        if (!st.value) {
            unreadable.push_back(st.name);
            f.add(label, Status::warn, st.name + " is " + st.unreadable);
        } else if (st.name == "ssl") {
            f.add(label, *st.value == "on" ? Status::ok : Status::fail,
                  "ssl = " + *st.value +
                      (*st.value == "on" ? "" : ": the server accepts no TLS connection at all"));
        } else {
            const bool weak = *st.value == "TLSv1" || *st.value == "TLSv1.1";
            f.add(label, weak ? Status::warn : Status::ok,
                  "ssl_min_protocol_version = " + *st.value);
        }
    }
    server_json["unreadable"] = unreadable;

    // Client backends over TCP without TLS, this one included (a plain
    // connection of ctldb's own is one more). Unix-socket sessions never
    // cross a network and are not counted. Rows the role may not see are
    // unknown.
    QueryResult r = exec(
        *conn,
        "SELECT count(*) FILTER (WHERE a.backend_type = 'client backend' AND s.ssl IS FALSE "
        "AND a.client_addr IS NOT NULL), "
        "count(*) FILTER (WHERE a.backend_type IS NULL), "
        "pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'), "
        "coalesce(bool_or(a.pid = pg_backend_pid() AND s.ssl IS FALSE AND a.client_addr IS NOT "
        "NULL), false) "
        "FROM pg_stat_activity a LEFT JOIN pg_stat_ssl s ON s.pid = a.pid "
        // Other roles' sessions show no backend type to a role without
        // pg_read_all_stats, but still their database.
        "WHERE a.backend_type = 'client backend' OR (a.backend_type IS NULL AND a.datname IS NOT "
        "NULL)");
    const std::int64_t plain = r.get_int(0, 0);
    const std::int64_t unknown = r.get_int(0, 1);
    const bool all_stats = r.get(0, 2) == "t";
    const bool self_plain = r.get(0, 3) == "t";
    nlohmann::json non_ssl = plain;
    const std::string self_note = self_plain ? " (ctldb's own connection among them)" : "";
    if (!all_stats && unknown > 0 && plain == 0) {
        non_ssl = nullptr;
        f.add("non-ssl clients", Status::warn,
              "unknown: " + std::to_string(unknown) +
                  " sessions of other roles are not visible to this one (needs "
                  "pg_read_all_stats or pg_monitor)");
    } else {
        std::string detail =
            plain > 0
                ? std::to_string(plain) + " client connection(s) over TCP without TLS" + self_note
                : "every TCP client uses TLS";
        if (!all_stats && unknown > 0) {
            detail += "; " + std::to_string(unknown) +
                      " sessions of other roles not visible (needs pg_read_all_stats)";
        }
        f.add("non-ssl clients", plain > 0 ? Status::fail : Status::ok, detail);
    }

    const ExitCode code = f.failed() ? ExitCode::failure : ExitCode::ok;
    if (ctx.json()) {
        print_json({{"ok", code == ExitCode::ok},
                    {"exit_code", static_cast<int>(code)},
                    {"host", cs.host},
                    {"port", cs.port},
                    {"tls", tls_json},
                    {"certificate", cert_json},
                    {"days_left", days_left},
                    {"fingerprint_sha256", fingerprint},
                    {"server", server_json},
                    {"non_ssl_connections", non_ssl},
                    {"checks", f.to_json()}});
    } else {
        print_text(f.render(use_color(stdout)));
    }
    return code;
}

}  // namespace

void register_check_ssl(CLI::App& app, Context& ctx) {
    static CheckSslOptions o;
    auto* cmd = app.add_subcommand(
        "check-ssl", "Check the server's TLS: certificate, chain, names, expiry, clients");
    cmd->add_option("--warn-days", o.warn_days,
                    "Fail when the certificate expires within this many days (30)");
    cmd->add_option("--critical-days", o.critical_days,
                    "Report as critical within this many days (7)");
    cmd->add_option("--ca", o.ca,
                    "CA certificate(s) to verify the chain (default DB_SSL_ROOT_CERT)");
    cmd->add_option("--namespace", o.ns,
                    "Namespace for the service names (default cloudtolocalllm)");
    cmd->add_option("--service", o.service, "Service name (default postgres)");
    cmd->callback([&ctx] { ctx.run = [&ctx] { return run_check_ssl(o, ctx); }; });
}

}  // namespace ctldb
