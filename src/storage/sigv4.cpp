#include "storage/sigv4.hpp"

#include <algorithm>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/text.hpp"

namespace ctldb::storage {

namespace {

std::string raw_hmac(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ::HMAC(::EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> params) {
    for (auto& [k, v] : params) {
        k = uri_encode(k, false);
        v = uri_encode(v, false);
    }
    std::sort(params.begin(), params.end());
    std::string q;
    for (const auto& [k, v] : params) {
        if (!q.empty()) q += '&';
        q += k + "=" + v;
    }
    return q;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    const std::string mac = raw_hmac(key, data);
    return hex_lower(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string canonical_request(const SigningInput& in) {
    auto headers = in.headers;
    std::sort(headers.begin(), headers.end());
    std::string canonical_headers, signed_headers;
    for (const auto& [k, v] : headers) {
        canonical_headers += k + ":" + v + "\n";
        if (!signed_headers.empty()) signed_headers += ';';
        signed_headers += k;
    }
    return in.method + "\n" + in.canonical_uri + "\n" + in.canonical_query + "\n" +
           canonical_headers + "\n" + signed_headers + "\n" + in.payload_hash;
}

std::string authorization(const SigningInput& in, const Credentials& creds) {
    const std::string date = in.amz_date.substr(0, 8);
    const std::string scope = date + "/" + in.region + "/" + in.service + "/aws4_request";
    const std::string to_sign = "AWS4-HMAC-SHA256\n" + in.amz_date + "\n" + scope + "\n" +
                                sha256_hex(canonical_request(in));
    std::string key = raw_hmac("AWS4" + creds.secret_key, date);
    key = raw_hmac(key, in.region);
    key = raw_hmac(key, in.service);
    key = raw_hmac(key, "aws4_request");
    std::vector<std::string> names;
    for (const auto& h : in.headers)
        names.push_back(h.first);
    std::sort(names.begin(), names.end());
    std::string signed_headers;
    for (const auto& n : names) {
        if (!signed_headers.empty()) signed_headers += ';';
        signed_headers += n;
    }
    return "AWS4-HMAC-SHA256 Credential=" + creds.access_key + "/" + scope +
           ", SignedHeaders=" + signed_headers + ", Signature=" + hmac_sha256(key, to_sign);
}

}  // namespace ctldb::storage
