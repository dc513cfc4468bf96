#include "tls/tls.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <ctime>
#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/text.hpp"

namespace ctldb::tls {

namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
    void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Big = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

[[noreturn]] void openssl_fail(const std::string& what) {
    unsigned long code = ERR_get_error();
    char buf[256] = "unknown error";
    if (code != 0) ERR_error_string_n(code, buf, sizeof buf);
    ERR_clear_error();
    throw failure(what + ": " + buf);
}

void check(int ok, const char* what) {
    if (ok != 1) openssl_fail(what);
}

PKey generate_key(KeyType type, CertRole role) {
    EVP_PKEY* k = nullptr;
    if (type == KeyType::ec) {
        k = EVP_EC_gen("P-256");
    } else {
        k = EVP_RSA_gen(role == CertRole::ca ? 3072 : 2048);
    }
    if (k == nullptr) openssl_fail("cannot generate key");
    return PKey(k);
}

std::string contents(const Bio& bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(const PKey& key) {
    Bio bio(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
          "cannot encode key");
    return contents(bio);
}

std::string to_pem(const X509* cert) {
    Bio bio(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_X509(bio.get(), const_cast<X509*>(cert)), "cannot encode certificate");
    return contents(bio);
}

std::string to_pem(const Cert& cert) {
    return to_pem(cert.get());
}

Cert cert_from_pem(const std::string& pem) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (c == nullptr) openssl_fail("cannot read certificate");
    return Cert(c);
}

PKey key_from_pem(const std::string& pem) {
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (k == nullptr) openssl_fail("cannot read private key");
    return PKey(k);
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
    Ext ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
    if (!ext) openssl_fail(std::string("cannot build extension ") + OBJ_nid2sn(nid));
    check(X509_add_ext(cert, ext.get(), -1), "cannot add extension");
}

/// The bytes of an ASN.1 string (a dNSName) as text.
std::string asn1_text(const ASN1_STRING* s) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
}

/// Calls `fn` for each subjectAltName entry of `cert`.
template <typename Fn>
void for_each_san(X509* cert, Fn fn) {
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names == nullptr) return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i)
        fn(sk_GENERAL_NAME_value(names, i));
    GENERAL_NAMES_free(names);
}

/// The subject's commonName; empty when there is none.
std::string common_name(X509* cert) {
    char cn[256] = "";
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) <=
        0) {
        return {};
    }
    return cn;
}

/// The address bytes of an IPv4 (4) or IPv6 (16) literal; 0 otherwise.
int parse_ip(const std::string& text, unsigned char out[16]) {
    if (inet_pton(AF_INET, text.c_str(), out) == 1) return 4;
    if (inet_pton(AF_INET6, text.c_str(), out) == 1) return 16;
    return 0;
}

/// subjectAltName built from typed entries, never from a config string,
/// so a name cannot smuggle in another entry.
void add_sans(X509* cert, const CertSpec& spec) {
    if (spec.dns_names.empty() && spec.ip_addresses.empty()) return;
    Names names(sk_GENERAL_NAME_new_null());
    for (const auto& dns : spec.dns_names) {
        GENERAL_NAME* gn = GENERAL_NAME_new();
        ASN1_IA5STRING* s = ASN1_IA5STRING_new();
        ASN1_STRING_set(s, dns.data(), static_cast<int>(dns.size()));
        GENERAL_NAME_set0_value(gn, GEN_DNS, s);
        sk_GENERAL_NAME_push(names.get(), gn);
    }
    for (const auto& ip : spec.ip_addresses) {
        unsigned char buf[16];
        const int len = parse_ip(ip, buf);
        if (len == 0) throw usage_error("'" + ip + "' is not an IP address");
        GENERAL_NAME* gn = GENERAL_NAME_new();
        ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(s, buf, len);
        GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
        sk_GENERAL_NAME_push(names.get(), gn);
    }
    check(X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, 0), "cannot add SAN");
}

void set_random_serial(X509* cert) {
    unsigned char bytes[20];
    check(RAND_bytes(bytes, sizeof bytes), "random serial");
    bytes[0] &= 0x7F;  // positive
    bytes[0] |= 0x40;  // and a full 159 bits long
    Big bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
        openssl_fail("cannot set serial");
    }
}

std::string asn1_time_iso(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string name_text(const X509_NAME* name) {
    Bio bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    return contents(bio);
}

}  // namespace

PemPair issue(const CertSpec& spec, const PemPair* issuer) {
    if (issuer == nullptr && spec.role != CertRole::ca) {
        throw failure("internal: only a CA certificate may be self-signed");
    }
    PKey key = generate_key(spec.key_type, spec.role);
    Cert cert(X509_new());
    check(X509_set_version(cert.get(), 2), "set version");
    set_random_serial(cert.get());
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);  // tolerate small clock skew
    X509_time_adj_ex(X509_getm_notAfter(cert.get()), spec.days, 0, nullptr);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(
              subject, "CN", MBSTRING_UTF8,
              reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0),
          "set subject");
    check(X509_set_pubkey(cert.get(), key.get()), "set public key");

    Cert issuer_cert;
    PKey issuer_key;
    if (issuer != nullptr) {
        issuer_cert = cert_from_pem(issuer->cert_pem);
        issuer_key = key_from_pem(issuer->key_pem);
    }
    X509* signer_cert = issuer ? issuer_cert.get() : cert.get();
    EVP_PKEY* signer_key = issuer ? issuer_key.get() : key.get();
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer_cert)), "set issuer");

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, signer_cert, cert.get(), nullptr, nullptr, 0);
    add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    if (issuer != nullptr) add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    switch (spec.role) {
        case CertRole::ca:
            add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
            add_ext(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
            break;
        case CertRole::server:
        case CertRole::client:
            add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
            add_ext(cert.get(), &ctx, NID_key_usage,
                    spec.key_type == KeyType::rsa ? "critical,digitalSignature,keyEncipherment"
                                                  : "critical,digitalSignature");
            add_ext(cert.get(), &ctx, NID_ext_key_usage,
                    spec.role == CertRole::server ? "serverAuth" : "clientAuth");
            break;
    }
    add_sans(cert.get(), spec);
    if (X509_sign(cert.get(), signer_key, EVP_sha256()) <= 0) openssl_fail("cannot sign");
    return PemPair{to_pem(cert), to_pem(key)};
}

CertSummary summarize(const std::string& cert_pem) {
    Cert cert = cert_from_pem(cert_pem);
    CertSummary s;
    s.subject = name_text(X509_get_subject_name(cert.get()));
    s.issuer = name_text(X509_get_issuer_name(cert.get()));
    s.not_before = asn1_time_iso(X509_get0_notBefore(cert.get()));
    s.not_after = asn1_time_iso(X509_get0_notAfter(cert.get()));
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert.get())) == 1) {
        s.days_left = days;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(cert.get(), EVP_sha256(), md, &len);
    static const char* hex = "0123456789ABCDEF";
    for (unsigned i = 0; i < len; ++i) {
        if (i) s.fingerprint_sha256 += ':';
        s.fingerprint_sha256 += hex[md[i] >> 4];
        s.fingerprint_sha256 += hex[md[i] & 15];
    }
    {
        const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
        Big bn(ASN1_INTEGER_to_BN(serial, nullptr));
        char* hex_serial = bn ? BN_bn2hex(bn.get()) : nullptr;
        if (hex_serial != nullptr) {
            s.serial = hex_serial;
            OPENSSL_free(hex_serial);
        }
        EVP_PKEY* pub = X509_get0_pubkey(cert.get());
        if (pub != nullptr) {
            const int id = EVP_PKEY_get_base_id(pub);
            s.key_type = id == EVP_PKEY_EC        ? "EC"
                         : id == EVP_PKEY_RSA     ? "RSA"
                         : id == EVP_PKEY_ED25519 ? "Ed25519"
                                                  : OBJ_nid2sn(id);
            s.key_bits = EVP_PKEY_get_bits(pub);
        }
        s.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert.get()));
        s.self_signed = X509_check_issued(cert.get(), cert.get()) == X509_V_OK;
        s.is_ca = X509_check_ca(cert.get()) != 0;
        s.common_name = common_name(cert.get());
    }
    for_each_san(cert.get(), [&s](const GENERAL_NAME* gn) {
        if (gn->type == GEN_DNS) {
            s.sans.push_back("DNS:" + asn1_text(gn->d.dNSName));
        } else if (gn->type == GEN_IPADD) {
            char buf[INET6_ADDRSTRLEN] = "";
            int n = ASN1_STRING_length(gn->d.iPAddress);
            inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(gn->d.iPAddress), buf,
                      sizeof buf);
            s.sans.push_back(std::string("IP:") + buf);
        }
    });
    return s;
}

std::string pem_of(const x509_st* cert) {
    return to_pem(cert);
}

std::string pair_problem(const std::string& cert_pem, const std::string& key_pem,
                         const std::string& cert_name, const std::string& key_name) {
    Cert cert;
    PKey key;
    try {
        cert = cert_from_pem(cert_pem);
    } catch (const Error&) {
        return cert_name + " is not a PEM certificate";
    }
    try {
        key = key_from_pem(key_pem);
    } catch (const Error&) {
        return key_name + " is not an unencrypted PEM private key";
    }
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        return key_name + " is not the key of " + cert_name;
    }
    return "";
}

PemPair load_pair(const std::string& cert_path, const std::string& key_path) {
    auto read = [](const std::string& path) {
        return fs::read_file(path, fs::kMaxSmallFile, ExitCode::usage);
    };
    PemPair p{read(cert_path), read(key_path)};
    const std::string problem = pair_problem(p.cert_pem, p.key_pem, cert_path, key_path);
    if (!problem.empty()) throw usage_error(problem);
    return p;
}

std::string verify_chain(const std::string& leaf_pem, const std::string& intermediates_pem,
                         const std::string& ca_file) {
    Cert leaf = cert_from_pem(leaf_pem);
    std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>> store(X509_STORE_new());
    if (std::string why = fs::input_problem(ca_file, fs::kMaxSmallFile); !why.empty())
        return "cannot load CA certificates from " + ca_file + ": " + why;
    if (X509_STORE_load_file(store.get(), ca_file.c_str()) != 1) {
        ERR_clear_error();
        return "cannot load CA certificates from " + ca_file;
    }
    STACK_OF(X509)* chain = sk_X509_new_null();
    if (!intermediates_pem.empty()) {
        Bio bio(
            BIO_new_mem_buf(intermediates_pem.data(), static_cast<int>(intermediates_pem.size())));
        while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
            sk_X509_push(chain, x);
        ERR_clear_error();
    }
    std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>> ctx(
        X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), chain);
    const int ok = X509_verify_cert(ctx.get());
    std::string result;
    if (ok != 1) result = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    sk_X509_pop_free(chain, X509_free);
    ERR_clear_error();
    return result;
}

namespace {

/// libpq's wildcard rule: "*." only as the whole first label, matching
/// exactly one label of the host.
bool name_matches(std::string pattern, std::string host) {
    pattern = ascii_lower(pattern);
    host = ascii_lower(host);
    if (!host.empty() && host.back() == '.') host.pop_back();
    if (pattern.size() > 2 && pattern.compare(0, 2, "*.") == 0) {
        const std::size_t dot = host.find('.');
        if (dot == std::string::npos || dot == 0) return false;
        return host.substr(dot) == pattern.substr(1);
    }
    return pattern == host;
}
}  // namespace

bool host_matches(const std::string& cert_pem, const std::string& host) {
    Cert cert = cert_from_pem(cert_pem);
    unsigned char ip[16];
    const int ip_len = parse_ip(host, ip);
    bool has_dns = false, has_ip = false, matched = false;
    for_each_san(cert.get(), [&](const GENERAL_NAME* gn) {
        if (gn->type == GEN_DNS) {
            has_dns = true;
            if (ip_len == 0 && name_matches(asn1_text(gn->d.dNSName), host)) matched = true;
        } else if (gn->type == GEN_IPADD) {
            has_ip = true;
            if (ip_len > 0 && ASN1_STRING_length(gn->d.iPAddress) == ip_len &&
                std::memcmp(ASN1_STRING_get0_data(gn->d.iPAddress), ip,
                            static_cast<std::size_t>(ip_len)) == 0) {
                matched = true;
            }
        }
    });
    if (matched) return true;
    // The CN counts only when there is no SAN of the kind that applies.
    if ((ip_len == 0 && has_dns) || (ip_len > 0 && has_ip)) return false;
    const std::string cn = common_name(cert.get());
    if (cn.empty()) return false;
    return ip_len > 0 ? ascii_lower(cn) == ascii_lower(host) : name_matches(cn, host);
}

}  // namespace ctldb::tls
