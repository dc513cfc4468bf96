// Certificates with the OpenSSL 3 library: a CA, server and client
// certificates that PostgreSQL and libpq `verify-full` accept. Used by
// `ctldb local` and `ctldb gen-certs`.
#pragma once

#include <string>
#include <vector>

namespace ctldb::tls {

enum class KeyType { ec, rsa };
enum class CertRole { ca, server, client };

struct CertSpec {
    CertRole role = CertRole::server;
    std::string common_name;
    std::vector<std::string> dns_names;     ///< subjectAltName DNS entries
    std::vector<std::string> ip_addresses;  ///< subjectAltName iPAddress entries
    int days = 365;
    KeyType key_type = KeyType::ec;
};

struct PemPair {
    std::string cert_pem;
    std::string key_pem;  ///< unencrypted PKCS#8
};

/// Issue a certificate. `issuer` null: self-signed (only for CertRole::ca).
/// Throws Error(failure) with OpenSSL's reason; Error(usage) for a bad
/// IP address or name.
PemPair issue(const CertSpec& spec, const PemPair* issuer);

/// Facts about a certificate, for printing.
struct CertSummary {
    std::string subject;
    std::string issuer;
    std::vector<std::string> sans;  ///< "DNS:name" / "IP:addr"
    std::string not_before;         ///< ISO 8601 UTC
    std::string not_after;
    long days_left = 0;
    std::string fingerprint_sha256;  ///< AA:BB:...
};
CertSummary summarize(const std::string& cert_pem);

}  // namespace ctldb::tls
