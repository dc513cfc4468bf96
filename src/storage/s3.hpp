// S3-compatible object storage (AWS S3, MinIO, Ceph radosgw, R2, ...):
// where a backup location `s3://bucket/prefix` lives. Requests are signed
// with SigV4 and retried with backoff on timeouts, broken connections,
// 5xx and throttling; a refusal (403, 404, 400) is not retried. See
// docs/backup.md, "Object storage".
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "config/config.hpp"
#include "storage/http.hpp"
#include "storage/sigv4.hpp"

namespace ctldb::storage {

/// s3://bucket/prefix: the prefix has no leading or trailing '/'.
struct S3Location {
    std::string bucket;
    std::string prefix;
    /// "s3://bucket/prefix"
    std::string url() const;
    /// The key of `name` under the prefix ("prefix/name").
    std::string key(const std::string& name) const;
    /// What the keys of the objects directly under it start with:
    /// "prefix/", or "" for a whole bucket.
    std::string children() const { return prefix.empty() ? "" : prefix + "/"; }
};

bool is_s3_url(const std::string& s);
/// Throws Error(usage) for anything but s3://bucket[/prefix].
S3Location parse_s3_url(const std::string& url);

/// Where and how to reach the service, and as whom.
struct S3Settings {
    Endpoint endpoint;
    std::string region;
    bool path_style = true;
    /// auto on AWS: virtual-hosted, but path-style for a bucket with a dot
    /// in its name (over HTTPS the wildcard certificate cannot match it).
    bool path_for_dotted_buckets = false;
    HttpOptions http;
    Credentials credentials;
    int attempts = 6;      ///< per request: the first and five retries
    int backoff_ms = 250;  ///< the first retry's wait, doubled each time
};

/// The settings from ctldb's (s3_endpoint, s3_region, s3_addressing,
/// s3_ca_file) and the credentials from the environment: AWS_ACCESS_KEY_ID,
/// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, their _FILE variants (a
/// Kubernetes Secret mounted as files), else the shared credentials file
/// (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE
/// or "default"). Throws Error(usage) naming what is missing or unreadable;
/// a secret is never part of a message.
S3Settings s3_settings(const config::Config& cfg, const config::EnvLookup& env);

struct ObjectInfo {
    std::string key;
    std::uint64_t size = 0;
    std::time_t modified = 0;
    std::string etag;
};

struct MultipartInfo {
    std::string key;
    std::string upload_id;
    std::time_t initiated = 0;
};

class S3Client {
  public:
    S3Client(S3Settings settings, std::string bucket);
    const S3Settings& settings() const { return settings_; }
    const std::string& bucket() const { return bucket_; }
    /// The bucket goes in the path (else in the host name).
    bool path_style() const { return path_style_; }

    /// Objects whose keys start with `prefix` (every page), in key order.
    std::vector<ObjectInfo> list(const std::string& prefix);
    /// nullopt when there is no such object.
    std::optional<ObjectInfo> head(const std::string& key);
    /// A small object whole (manifests): at most `max` bytes.
    std::string get(const std::string& key, std::size_t max);
    /// The same, nullopt when there is no such object.
    std::optional<std::string> get_if_exists(const std::string& key, std::size_t max);
    /// Bytes [from, from + count) of `key` (count 0: to the end) to `out`.
    /// Returns how many came; a broken transfer throws TransportError.
    /// With `if_match` (an ETag) a replaced object is refused.
    std::uint64_t get_range(const std::string& key, std::uint64_t from, std::uint64_t count,
                            const std::function<void(const char*, std::size_t)>& out,
                            const std::string& if_match = "");
    void put(const std::string& key, const std::string& body,
             const std::string& content_type = "application/octet-stream");
    /// Creates `key` only where no object has that name (If-None-Match: *).
    /// False when another writer's object is there; an object equal to
    /// `body` counts as this call's own (a retried PUT whose first answer
    /// was lost). A service that ignores the condition replaces the object.
    bool put_new(const std::string& key, const std::string& body,
                 const std::string& content_type = "application/octet-stream");
    void remove(const std::string& key);

    std::string create_multipart(const std::string& key);
    /// The part's ETag.
    std::string upload_part(const std::string& key, const std::string& upload_id, int number,
                            const char* data, std::size_t size);
    void complete_multipart(const std::string& key, const std::string& upload_id,
                            const std::vector<std::string>& etags);
    void abort_multipart(const std::string& key, const std::string& upload_id);
    std::vector<MultipartInfo> list_multipart(const std::string& prefix);

    /// One request, signed, retried as the header says; `ok` tells which
    /// statuses are an answer (others throw Error naming S3's error code).
    HttpResponse request(const std::string& method, const std::string& key,
                         std::vector<std::pair<std::string, std::string>> query, const char* body,
                         std::size_t body_size, const std::function<bool(int)>& ok,
                         const std::function<void(const char*, std::size_t)>& on_body = nullptr,
                         std::vector<std::pair<std::string, std::string>> headers = {});

  private:
    /// "HTTP 403 AccessDenied: message" of a response.
    static std::string describe(const HttpResponse& r);
    /// The error a refusal (a 4xx) means: 403 and signature errors exit 3,
    /// a missing bucket 2, a skewed clock 3, anything else 1.
    Error refused(const HttpResponse& r, const std::string& what, const std::string& said) const;
    HttpResponse once(const std::string& method, const std::string& key,
                      const std::vector<std::pair<std::string, std::string>>& query,
                      const char* body, std::size_t body_size,
                      const std::function<void(const char*, std::size_t)>& on_body,
                      const std::vector<std::pair<std::string, std::string>>& headers);
    S3Settings settings_;
    std::string bucket_;
    bool path_style_;  ///< the bucket in the path (else in the host name)
    Endpoint host_;    ///< the endpoint, or bucket.endpoint when virtual-hosted
    HttpClient http_;
};

/// Sleeps `wait_ms` before a retry (stopping for a signal unless
/// `ignore_signals`), then doubles it up to 8 s.
void wait_before_retry(int& wait_ms, bool ignore_signals);

/// Values of every <tag>...</tag> in `xml`, entities decoded (S3's small
/// responses; not a general XML parser).
std::vector<std::string> xml_values(const std::string& xml, const std::string& tag);
/// The inner text of each <tag>...</tag> block, undecoded.
std::vector<std::string> xml_blocks(const std::string& xml, const std::string& tag);

/// "20261203T192000Z" of a time.
std::string amz_date(std::time_t t);

}  // namespace ctldb::storage
