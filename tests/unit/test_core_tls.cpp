// Certificates from ctldb's OpenSSL code verify as a chain with the right
// extensions.
#include <doctest/doctest.h>

#include <memory>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ctldb/error.hpp"
#include "ctldb/tls.hpp"

using namespace ctldb;

namespace {
X509* load(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    return x;
}

bool verifies(const tls::PemPair& ca, const tls::PemPair& leaf, const char* host) {
    X509* ca_x = load(ca.cert_pem);
    X509* leaf_x = load(leaf.cert_pem);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ca_x);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf_x, nullptr);
    if (host != nullptr) X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
    bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf_x);
    X509_free(ca_x);
    return ok;
}
}  // namespace

TEST_CASE("a CA and a server certificate form a verifiable chain") {
    for (auto kt : {tls::KeyType::ec, tls::KeyType::rsa}) {
        tls::CertSpec ca_spec;
        ca_spec.role = tls::CertRole::ca;
        ca_spec.common_name = "test CA";
        ca_spec.days = 3650;
        ca_spec.key_type = kt;
        auto ca = tls::issue(ca_spec, nullptr);
        tls::CertSpec srv;
        srv.common_name = "localhost";
        srv.dns_names = {"localhost", "postgres"};
        srv.ip_addresses = {"127.0.0.1", "::1"};
        srv.key_type = kt;
        auto leaf = tls::issue(srv, &ca);
        CHECK(verifies(ca, leaf, "localhost"));
        CHECK(verifies(ca, leaf, "postgres"));
        CHECK_FALSE(verifies(ca, leaf, "other.example"));

        auto s = tls::summarize(leaf.cert_pem);
        CHECK(s.subject == "CN=localhost");
        CHECK(s.issuer == "CN=test CA");
        CHECK(s.sans ==
              std::vector<std::string>{"DNS:localhost", "DNS:postgres", "IP:127.0.0.1", "IP:::1"});
        CHECK(s.days_left >= 364);
        CHECK(s.days_left <= 365);
        CHECK(s.fingerprint_sha256.size() == 32 * 3 - 1);

        X509* x = load(leaf.cert_pem);
        CHECK(X509_check_ca(x) == 0);
        CHECK((X509_get_extended_key_usage(x) & XKU_SSL_SERVER) != 0);
        const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
        CHECK(serial->length >= 16);
        CHECK((serial->type & V_ASN1_NEG) == 0);
        X509_free(x);
        X509* cax = load(ca.cert_pem);
        CHECK(X509_check_ca(cax) != 0);
        X509_free(cax);
    }
}

TEST_CASE("a bad IP address is a usage error") {
    tls::CertSpec ca_spec;
    ca_spec.role = tls::CertRole::ca;
    ca_spec.common_name = "CA";
    auto ca = tls::issue(ca_spec, nullptr);
    tls::CertSpec srv;
    srv.common_name = "x";
    srv.ip_addresses = {"not-an-ip"};
    CHECK_THROWS_AS(tls::issue(srv, &ca), Error);
}
