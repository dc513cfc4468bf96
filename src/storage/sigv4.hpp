// AWS Signature Version 4 for S3 requests (docs: "Signature Calculations for
// the Authorization Header"): canonical request, string to sign, the
// derived signing key, the Authorization header. The secret key only ever
// goes into HMAC; nothing here prints or returns it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ctldb::storage {

struct Credentials {
    std::string access_key;
    std::string secret_key;
    std::string session_token;  ///< empty unless temporary credentials
    std::string source;  ///< where they came from, for messages ("AWS_ACCESS_KEY_ID", a file)
};

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
/// (A-Z a-z 0-9 - _ . ~) kept, '/' kept when `keep_slash`, every other byte
/// %XX in upper case.
std::string uri_encode(std::string_view s, bool keep_slash);

/// The canonical query string: each name and value encoded, sorted by name
/// (then value), joined with '&'.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> params);

/// Lower-case hex HMAC-SHA256 and the raw one.
std::string hmac_sha256(std::string_view key, std::string_view data);

struct SigningInput {
    std::string method;
    std::string canonical_uri;    ///< already encoded ("/bucket/key")
    std::string canonical_query;  ///< canonical_query()
    /// Headers to sign: names in lower case, values trimmed; must hold
    /// host, x-amz-date and x-amz-content-sha256.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string payload_hash;  ///< hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
    std::string amz_date;      ///< YYYYMMDDTHHMMSSZ
    std::string region;
    std::string service = "s3";
};

/// The canonical request of `in` (for tests and debugging: holds no secret).
std::string canonical_request(const SigningInput& in);

/// The Authorization header's value for `in` signed with `creds`.
std::string authorization(const SigningInput& in, const Credentials& creds);

}  // namespace ctldb::storage
