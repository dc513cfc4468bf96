// Certificates with the OpenSSL 3 library: a CA, server and client
// certificates that PostgreSQL and libpq `verify-full` accept. Used by
// `ctldb local` and `ctldb gen-certs`.
#pragma once

#include <string>
#include <vector>

struct x509_st;

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
    std::string serial;              ///< hex
    std::string key_type;            ///< "EC" / "RSA" / ...
    int key_bits = 0;
    std::string signature_algorithm;  ///< "ecdsa-with-SHA256", ...
    bool self_signed = false;
    bool is_ca = false;
    std::string common_name;
};
CertSummary summarize(const std::string& cert_pem);

/// PEM text of an OpenSSL X509 (as returned by SSL_get1_peer_certificate).
std::string pem_of(const x509_st* cert);

/// Why a certificate and key (PEM texts, named for messages) cannot serve
/// together: not a certificate, not an unencrypted key, not its key; ""
/// when they can.
std::string pair_problem(const std::string& cert_pem, const std::string& key_pem,
                         const std::string& cert_name, const std::string& key_name);

/// Read a certificate and its key, checking that they belong together.
/// Throws Error(usage) naming the file on any problem.
PemPair load_pair(const std::string& cert_path, const std::string& key_path);

/// Verify `leaf_pem` (with `intermediates_pem`, may be empty) against the CA
/// certificates in `ca_file`. Empty string when valid, else the reason.
std::string verify_chain(const std::string& leaf_pem, const std::string& intermediates_pem,
                         const std::string& ca_file);

/// Does the certificate name `host` by libpq's rules (PostgreSQL 15):
/// iPAddress SANs for an IP literal, dNSName SANs otherwise (a wildcard only
/// as the whole leftmost label), the CN only when there are no SANs of that
/// kind; case-insensitive.
bool host_matches(const std::string& cert_pem, const std::string& host);

}  // namespace ctldb::tls
