// The server's TLS as a client sees it (protocol, cipher, certificate,
// chain, host names, expiry), the server's TLS settings and its non-TLS
// clients: the checks behind check-ssl, doctor and metrics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/findings.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"
#include "tls/tls.hpp"

namespace ctldb::tls {

/// How close a certificate is to its end.
enum class Expiry { ok, warning, critical, expired };
/// `days_left` against the thresholds: expired below 0, critical below
/// `critical_days`, warning below `warn_days`. Pure.
Expiry classify_expiry(long days_left, int warn_days, int critical_days);

/// The same object wherever a certificate appears in JSON.
nlohmann::json cert_json(const CertSummary& s);

/// The same object wherever a TLS session appears in JSON.
nlohmann::json tls_session_json(const pg::TlsInfo& t);

/// The peer's certificates on an open TLS connection.
struct TlsPeer {
    pg::TlsInfo session;
    std::string leaf_pem;           ///< "" when none was sent
    std::string intermediates_pem;  ///< the rest of the chain the server sent
};
TlsPeer tls_peer(const pg::Connection& conn);

struct TlsCheckOptions {
    int warn_days = 30;
    int critical_days = 7;
    bool warning_fails = true;  ///< check-ssl fails within warn_days; doctor warns
    std::string ca_file;        ///< "" : the chain is not verified
    std::string ns = "cloudtolocalllm";
    std::string service = "postgres";
};

/// Non-TLS client connections over TCP, as far as this role can see.
struct NonTlsClients {
    std::optional<std::int64_t> count;  ///< nullopt: none visible and others hidden
    std::int64_t hidden = 0;
    bool self = false;  ///< ctldb's own connection is one of them
};
NonTlsClients non_tls_clients(const pg::probe::Activity& a);

struct TlsReport {
    Findings findings;
    pg::TlsInfo session;
    std::optional<tls::CertSummary> certificate;
    std::vector<pg::probe::Setting> server;
    NonTlsClients non_tls;
    nlohmann::json to_json() const;  ///< tls, certificate, server, non_ssl_connections
};

/// Every TLS finding about the server `conn` is connected to (`host` as the
/// client named it, or a socket directory).
TlsReport check_tls(pg::Connection& conn, const std::string& host, const std::string& sslmode,
                    const TlsCheckOptions& o);

}  // namespace ctldb::tls
