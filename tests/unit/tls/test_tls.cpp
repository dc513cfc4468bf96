// Certificates from ctldb's OpenSSL code verify as a chain with the right
// extensions.
#include <doctest/doctest.h>

#include <unistd.h>

#include <memory>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/error.hpp"
#include "tls/tls.hpp"

using namespace ctldb;
using namespace ctldb::tls;

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

TEST_CASE("host names by libpq's rules") {
    tls::CertSpec ca_spec;
    ca_spec.role = tls::CertRole::ca;
    ca_spec.common_name = "CA";
    auto ca = tls::issue(ca_spec, nullptr);
    tls::CertSpec srv;
    srv.common_name = "cn.example.com";
    srv.dns_names = {"db.example.com", "*.svc.example.com"};
    srv.ip_addresses = {"10.0.0.5"};
    auto leaf = tls::issue(srv, &ca);
    CHECK(tls::host_matches(leaf.cert_pem, "db.example.com"));
    CHECK(tls::host_matches(leaf.cert_pem, "DB.Example.COM"));
    CHECK(tls::host_matches(leaf.cert_pem, "a.svc.example.com"));
    CHECK_FALSE(tls::host_matches(leaf.cert_pem, "a.b.svc.example.com"));  // one label only
    CHECK_FALSE(tls::host_matches(leaf.cert_pem, "svc.example.com"));
    CHECK_FALSE(tls::host_matches(leaf.cert_pem, "cn.example.com"));  // CN ignored with DNS SANs
    CHECK(tls::host_matches(leaf.cert_pem, "10.0.0.5"));
    CHECK_FALSE(tls::host_matches(leaf.cert_pem, "10.0.0.6"));

    tls::CertSpec cn_only;
    cn_only.common_name = "only.example.com";
    auto legacy = tls::issue(cn_only, &ca);
    CHECK(tls::host_matches(legacy.cert_pem, "only.example.com"));
    CHECK_FALSE(tls::host_matches(legacy.cert_pem, "other.example.com"));
}

TEST_CASE("chain verification names the reason") {
    tls::CertSpec ca_spec;
    ca_spec.role = tls::CertRole::ca;
    ca_spec.common_name = "CA one";
    auto ca1 = tls::issue(ca_spec, nullptr);
    ca_spec.common_name = "CA two";
    auto ca2 = tls::issue(ca_spec, nullptr);
    tls::CertSpec srv;
    srv.common_name = "x.example.com";
    srv.dns_names = {"x.example.com"};
    auto leaf = tls::issue(srv, &ca1);
    char path[] = "/tmp/ctldb-unit-ca-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    auto write_ca = [&](const std::string& pem) {
        REQUIRE(::ftruncate(fd, 0) == 0);
        REQUIRE(::pwrite(fd, pem.data(), pem.size(), 0) == static_cast<ssize_t>(pem.size()));
    };
    write_ca(ca1.cert_pem);
    CHECK(tls::verify_chain(leaf.cert_pem, "", path).empty());
    write_ca(ca2.cert_pem);
    CHECK_FALSE(tls::verify_chain(leaf.cert_pem, "", path).empty());
    ::close(fd);
    ::unlink(path);
    auto s = tls::summarize(ca1.cert_pem);
    CHECK(s.is_ca);
    CHECK(s.self_signed);
    CHECK(s.key_type == "EC");
    CHECK(s.key_bits == 256);
}
