#include "tls/tls_check.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include "base/text.hpp"

namespace ctldb::tls {

Expiry classify_expiry(long days_left, int warn_days, int critical_days) {
    if (days_left < 0) return Expiry::expired;
    if (days_left < critical_days) return Expiry::critical;
    if (days_left < warn_days) return Expiry::warning;
    return Expiry::ok;
}

nlohmann::json cert_json(const CertSummary& s) {
    return {{"subject", s.subject},
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
}

nlohmann::json tls_session_json(const pg::TlsInfo& t) {
    if (!t.in_use)
        return {
            {"in_use", false}, {"protocol", nullptr}, {"cipher", nullptr}, {"key_bits", nullptr}};
    return {
        {"in_use", true}, {"protocol", t.protocol}, {"cipher", t.cipher}, {"key_bits", t.key_bits}};
}

TlsPeer tls_peer(const pg::Connection& conn) {
    TlsPeer p;
    p.session = tls_info(conn);
    if (!p.session.in_use) return p;
    auto* ssl = static_cast<SSL*>(PQsslStruct(conn.raw(), "OpenSSL"));
    X509* leaf = ssl ? SSL_get1_peer_certificate(ssl) : nullptr;
    if (leaf == nullptr) return p;
    p.leaf_pem = tls::pem_of(leaf);
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
        X509* x = sk_X509_value(chain, i);
        if (X509_cmp(x, leaf) != 0) p.intermediates_pem += tls::pem_of(x);
    }
    X509_free(leaf);
    return p;
}

NonTlsClients non_tls_clients(const pg::probe::Activity& a) {
    // Client backends over TCP without TLS, this one included. Unix-socket
    // sessions never cross a network and are not counted.
    NonTlsClients n;
    std::int64_t plain = 0;
    for (const auto& s : a.sessions) {
        if (!s.visible) {
            ++n.hidden;
            continue;
        }
        if (s.ssl == false && s.client != "local") {
            ++plain;
            n.self = n.self || s.self;
        }
    }
    if (!(a.all_stats || n.hidden == 0 || plain > 0)) return n;
    n.count = plain;
    return n;
}

namespace {

void check_certificate(Findings& f, const TlsPeer& peer, const tls::CertSummary& s,
                       const std::string& host, const TlsCheckOptions& o) {
    f.add("certificate", Status::info, s.subject + ", issued by " + s.issuer);
    const std::string when =
        "expires " + s.not_after + " (" + std::to_string(s.days_left) + " days)";
    const std::string renew = "renew it: ctldb gen-certs (docs/tls.md), then reload the server";
    switch (tls::classify_expiry(s.days_left, o.warn_days, o.critical_days)) {
        case tls::Expiry::expired:
            f.add("expiry", Status::fail, "EXPIRED " + s.not_after, renew);
            break;
        case tls::Expiry::critical:
            f.add("expiry", Status::fail, "critical: " + when, renew);
            break;
        case tls::Expiry::warning:
            f.add("expiry", o.warning_fails ? Status::fail : Status::warn,
                  when + ", within " + (o.warning_fails ? "--warn-days " : "") +
                      std::to_string(o.warn_days) + (o.warning_fails ? "" : " days"),
                  renew);
            break;
        case tls::Expiry::ok:
            f.add("expiry", Status::ok, when);
            break;
    }
    const std::string& sig = s.signature_algorithm;
    const bool weak_sig = contains(sig, "sha1") || contains(sig, "SHA1") || contains(sig, "md5") ||
                          contains(sig, "MD5");
    f.add("signature", weak_sig ? Status::fail : Status::ok, sig);
    const bool weak_key =
        (s.key_type == "RSA" && s.key_bits < 2048) || (s.key_type == "EC" && s.key_bits < 256);
    f.add("key", weak_key ? Status::fail : Status::ok,
          s.key_type + " " + std::to_string(s.key_bits) + " bits");
    if (s.self_signed) {
        f.add("trust", Status::warn,
              "self-signed: the certificate is its own trust anchor, so every rotation breaks "
              "every client",
              "issue it from a CA (ctldb gen-certs)");
    } else if (s.is_ca) {
        f.add("trust", Status::warn, "the server certificate has CA:TRUE");
    }
    if (o.ca_file.empty()) {
        f.add("chain", Status::warn, "not verified: no CA given",
              "give the CA with --ca or DB_SSL_ROOT_CERT");
    } else {
        const std::string err = tls::verify_chain(peer.leaf_pem, peer.intermediates_pem, o.ca_file);
        f.add("chain", err.empty() ? Status::ok : Status::fail,
              err.empty() ? "verified against " + o.ca_file : err + " (against " + o.ca_file + ")");
    }
    if (!host.empty() && host[0] != '/') {
        const bool ok = tls::host_matches(peer.leaf_pem, host);
        f.add("host name", ok ? Status::ok : Status::fail,
              "'" + host + "' " + (ok ? "matches" : "does NOT match") + " the certificate" +
                  (ok ? "" : " (verify-full clients will refuse it)"),
              ok ? "" : "reissue it with the name: ctldb gen-certs --dns " + host);
    }
    std::vector<std::string> matched, unmatched;
    for (const auto& name : {o.service, o.service + "." + o.ns, o.service + "." + o.ns + ".svc",
                             o.service + "." + o.ns + ".svc.cluster.local"}) {
        (tls::host_matches(peer.leaf_pem, name) ? matched : unmatched).push_back(name);
    }
    f.add("service names", Status::info,
          (matched.empty() ? std::string("none match") : "match: " + join(matched, ", ")) +
              (unmatched.empty() ? "" : "; no match: " + join(unmatched, ", ")));
}

void check_server_settings(TlsReport& rep, pg::Connection& conn) {
    rep.server = pg::probe::settings(conn, {"ssl", "ssl_min_protocol_version"});
    for (const auto& st : rep.server) {
        const std::string label = st.name == "ssl" ? "server ssl" : "server min protocol";
        if (!st.value) {
            rep.findings.add(label, Status::warn, st.name + " is " + st.unreadable);
        } else if (st.name == "ssl") {
            rep.findings.add(
                label, *st.value == "on" ? Status::ok : Status::fail,
                "ssl = " + *st.value +
                    (*st.value == "on" ? "" : ": the server accepts no TLS connection at all"),
                *st.value == "on" ? "" : "the guide's 'Configure PostgreSQL SSL': ssl = on");
        } else {
            const bool weak = *st.value == "TLSv1" || *st.value == "TLSv1.1";
            rep.findings.add(label, weak ? Status::warn : Status::ok,
                             "ssl_min_protocol_version = " + *st.value,
                             weak ? "ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.2'" : "");
        }
    }
}

void check_clients(TlsReport& rep, pg::Connection& conn) {
    rep.non_tls = non_tls_clients(pg::probe::activity(conn));
    const auto& n = rep.non_tls;
    const std::string hidden_note =
        std::to_string(n.hidden) + " sessions of other roles not visible (needs pg_read_all_stats)";
    if (!n.count) {
        rep.findings.add("non-ssl clients", Status::warn,
                         "unknown: " + std::to_string(n.hidden) +
                             " sessions of other roles are not visible to this one",
                         "GRANT pg_monitor (or pg_read_all_stats) to the role");
        return;
    }
    std::string detail = *n.count > 0 ? std::to_string(*n.count) +
                                            " client connection(s) over TCP without TLS" +
                                            (n.self ? " (ctldb's own connection among them)" : "")
                                      : "every TCP client uses TLS";
    if (n.hidden > 0) detail += "; " + hidden_note;
    rep.findings.add("non-ssl clients", *n.count > 0 ? Status::fail : Status::ok, detail,
                     *n.count > 0 ? "set DB_SSL_MODE=require (verify-full outside the cluster) "
                                    "in every client; the guide's 'SSL Modes'"
                                  : "");
}

}  // namespace

TlsReport check_tls(pg::Connection& conn, const std::string& host, const std::string& sslmode,
                    const TlsCheckOptions& o) {
    TlsReport rep;
    Findings& f = rep.findings;
    const TlsPeer peer = tls_peer(conn);
    rep.session = peer.session;
    const pg::TlsInfo& ti = peer.session;
    if (!ti.in_use && !host.empty() && host[0] == '/') {
        f.add("tls", Status::fail,
              "connected over the Unix socket in " + host + ", where TLS does not apply",
              "set DB_HOST to the server's TCP host name to check its certificate");
    } else if (!ti.in_use) {
        f.add("tls", Status::fail, "the connection is not encrypted (sslmode " + sslmode + ")",
              "DB_SSL_MODE=require or verify-full; the guide's 'SSL/TLS Configuration'");
    } else {
        const bool old =
            ti.protocol == "TLSv1" || ti.protocol == "TLSv1.1" || ti.protocol.rfind("SSL", 0) == 0;
        f.add("tls", old ? Status::fail : Status::ok,
              ti.protocol + ", " + ti.cipher + " (" + std::to_string(ti.key_bits) + " bits)" +
                  (old ? ": protocols below TLS 1.2 are broken" : ""));
        if (peer.leaf_pem.empty()) {
            f.add("certificate", Status::fail, "the server sent no certificate");
        } else {
            rep.certificate = tls::summarize(peer.leaf_pem);
            check_certificate(f, peer, *rep.certificate, host, o);
        }
    }
    check_server_settings(rep, conn);
    check_clients(rep, conn);
    return rep;
}

nlohmann::json TlsReport::to_json() const {
    nlohmann::json server_json = nlohmann::json::object();
    nlohmann::json unreadable = nlohmann::json::array();
    for (const auto& st : server) {
        server_json[st.name] = st.value ? nlohmann::json(*st.value) : nlohmann::json(nullptr);
        if (!st.value) unreadable.push_back(st.name);
    }
    server_json["unreadable"] = unreadable;
    return {{"tls", tls_session_json(session)},
            {"certificate", certificate ? tls::cert_json(*certificate) : nlohmann::json(nullptr)},
            {"days_left",
             certificate ? nlohmann::json(certificate->days_left) : nlohmann::json(nullptr)},
            {"server", server_json},
            {"non_ssl_connections",
             non_tls.count ? nlohmann::json(*non_tls.count) : nlohmann::json(nullptr)},
            {"checks", findings.to_json()}};
}

}  // namespace ctldb::tls
