#include "storage/s3.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"
#include "base/text.hpp"

namespace ctldb::storage {

namespace {

const std::string kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string decode_entities(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
            out += s[i];
            continue;
        }
        const auto semi = s.find(';', i);
        if (semi == std::string::npos || semi - i > 10) {
            out += s[i];
            continue;
        }
        const std::string e = s.substr(i + 1, semi - i - 1);
        if (e == "amp")
            out += '&';
        else if (e == "lt")
            out += '<';
        else if (e == "gt")
            out += '>';
        else if (e == "quot")
            out += '"';
        else if (e == "apos")
            out += '\'';
        else if (!e.empty() && e[0] == '#') {
            const long c = e.size() > 1 && (e[1] == 'x' || e[1] == 'X')
                               ? std::strtol(e.c_str() + 2, nullptr, 16)
                               : std::strtol(e.c_str() + 1, nullptr, 10);
            if (c > 0 && c < 128)
                out += static_cast<char>(c);  // keys are ASCII here
            else
                out += '?';
        } else {
            out += s.substr(i, semi - i + 1);
        }
        i = semi;
    }
    return out;
}

/// The secret in the file `path` names (as DB_PASSWORD_FILE is read: a
/// regular file, bounded, one trailing newline dropped); Error(usage)
/// naming `var` and the file, never the value.
std::string secret_file(const std::string& var, const std::string& path) {
    std::string error;
    auto value = config::read_secret_file(path, error);
    if (!value) throw usage_error(var + "=" + path + ": " + error);
    return std::move(*value);
}

/// The value of `name` from the environment or from the file its _FILE
/// variant names; empty when neither is set.
std::string env_or_file(const config::EnvLookup& env, const std::string& name,
                        std::string& source) {
    if (auto v = env(name); v && !v->empty()) {
        source = name;
        return *v;
    }
    if (auto f = env(name + "_FILE"); f && !f->empty()) {
        source = name + "_FILE";
        return secret_file(name + "_FILE", *f);
    }
    return "";
}

/// aws_access_key_id and friends of `profile` in an AWS shared
/// credentials file (INI: [profile] then key = value lines).
Credentials shared_credentials(const std::string& path, const std::string& profile) {
    Credentials c;
    c.source = path + " [" + profile + "]";
    const std::string text = fs::read_file(path, 1u << 20, ExitCode::usage);
    std::string section;
    for (const auto& raw : split(text, '\n')) {
        const std::string line = trim_blanks(raw);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line.front() == '[' && line.back() == ']') {
            section = line.substr(1, line.size() - 2);
            if (starts_with(section, "profile ")) section = section.substr(8);
            continue;
        }
        if (section != profile) continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string k = trim_blanks(line.substr(0, eq));
        const std::string v = trim_blanks(line.substr(eq + 1));
        if (k == "aws_access_key_id") c.access_key = v;
        if (k == "aws_secret_access_key") c.secret_key = v;
        if (k == "aws_session_token") c.session_token = v;
    }
    return c;
}

/// The access key and the session token travel in request headers: a line
/// break or other control character (a Secret written with `echo -e`, a
/// pasted token) would end the header. Named by where it came from, never
/// shown. The secret key is only hashed, and may hold anything.
const Credentials& checked(const Credentials& c, const std::string& token_source) {
    if (has_control_char(c.access_key) || has_control_char(c.session_token)) {
        throw usage_error(
            "S3 credentials: " +
                (has_control_char(c.access_key) ? "the access key id from " + c.source
                                                : "the session token from " + token_source) +
                " holds a line break or another control character",
            "write the value without it (a mounted Secret may hold one trailing "
            "newline, no more)");
    }
    return c;
}

Credentials credentials_from(const config::EnvLookup& env) {
    Credentials c;
    std::string key_source, secret_source, token_source;
    c.access_key = env_or_file(env, "AWS_ACCESS_KEY_ID", key_source);
    c.secret_key = env_or_file(env, "AWS_SECRET_ACCESS_KEY", secret_source);
    c.session_token = env_or_file(env, "AWS_SESSION_TOKEN", token_source);
    if (!c.access_key.empty() && !c.secret_key.empty()) {
        c.source = key_source + " and " + secret_source;
        return checked(c, token_source);
    }
    if (!c.access_key.empty() || !c.secret_key.empty()) {
        throw usage_error(std::string("S3 credentials: ") +
                          (c.access_key.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") +
                          " (or its _FILE variant) is not set, but " +
                          (c.access_key.empty() ? secret_source : key_source) + " is");
    }
    std::string path;
    if (auto f = env("AWS_SHARED_CREDENTIALS_FILE"); f && !f->empty()) {
        path = *f;
    } else if (auto home = env("HOME"); home && !home->empty()) {
        path = *home + "/.aws/credentials";
    }
    const std::string profile =
        env("AWS_PROFILE").value_or("").empty() ? std::string("default") : *env("AWS_PROFILE");
    if (!path.empty() && fs::exists(path)) {
        const std::string problem = fs::input_problem(path, 1u << 20);
        if (!problem.empty()) throw usage_error("cannot read " + path + ": " + problem);
        Credentials shared = shared_credentials(path, profile);
        if (!shared.access_key.empty() && !shared.secret_key.empty())
            return checked(shared, shared.source);
        throw usage_error("S3 credentials: " + path + " has no aws_access_key_id and " +
                          "aws_secret_access_key for profile " + printable(profile));
    }
    throw usage_error(
        "no S3 credentials",
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID_FILE and "
        "AWS_SECRET_ACCESS_KEY_FILE, as a mounted Secret gives them), or write a shared "
        "credentials file (~/.aws/credentials, AWS_SHARED_CREDENTIALS_FILE)");
}

bool transient_status(int status) {
    return status >= 500 || status == 429 || status == 408;
}

}  // namespace

void wait_before_retry(int& wait_ms, bool ignore_signals) {
    for (int slept = 0; slept < wait_ms; slept += 50) {
        if (!ignore_signals) throw_if_interrupted();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    wait_ms = std::min(wait_ms * 2, 8000);
}

// --- locations and settings -------------------------------------------------

std::string S3Location::url() const {
    return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix);
}

std::string S3Location::key(const std::string& name) const {
    return prefix.empty() ? name : prefix + "/" + name;
}

bool is_s3_url(const std::string& s) {
    return starts_with(s, "s3://");
}

S3Location parse_s3_url(const std::string& url) {
    const std::string shown = printable(hide_url_credentials(url));  // never a password
    if (!is_s3_url(url)) throw usage_error("not an s3:// location: " + shown);
    std::string rest = url.substr(5);
    S3Location l;
    const auto slash = rest.find('/');
    l.bucket = rest.substr(0, slash);
    if (slash != std::string::npos) l.prefix = rest.substr(slash + 1);
    while (!l.prefix.empty() && l.prefix.back() == '/')
        l.prefix.pop_back();
    bool bucket_ok = l.bucket.size() >= 3 && l.bucket.size() <= 63;
    for (const char c : l.bucket) {
        if (!(std::islower(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
            bucket_ok = false;
        }
    }
    if (!bucket_ok) {
        throw usage_error("the bucket of " + shown +
                              " is not a valid bucket name (3 to 63 characters: a-z, 0-9, "
                              "'-', '.')",
                          "write s3://bucket/prefix");
    }
    if (has_control_char(l.prefix)) {
        throw usage_error("the prefix of " + shown + " holds a control character");
    }
    if (l.prefix.find("//") != std::string::npos || starts_with(l.prefix, "/")) {
        throw usage_error("the prefix of " + shown + " has an empty part ('//')");
    }
    // S3 keeps "." and ".." as names, but a proxy or service that normalises
    // the request path would take them as steps: another prefix, or bucket.
    const std::string parts = "/" + l.prefix + "/";
    if (parts.find("/./") != std::string::npos || parts.find("/../") != std::string::npos) {
        throw usage_error("the prefix of " + shown + " has a '.' or '..' part",
                          "name the prefix as it is stored, without '.' or '..' steps");
    }
    return l;
}

namespace {

/// A region is signed into every request's credential scope and, on AWS,
/// named in the host: letters, digits, '-', '_' and '.' only, so that it can
/// never end a header or change the host.
void check_region(const std::string& region) {
    const bool ok =
        region.size() <= 64 && std::all_of(region.begin(), region.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        });
    if (!ok) {
        throw usage_error("the S3 region " + printable(region) +
                              " is not a region name (letters, digits, '-', '_', '.')",
                          "set CTLDB_S3_REGION (or AWS_REGION) to the service's region, e.g. "
                          "us-east-1");
    }
}

}  // namespace

S3Settings s3_settings(const config::Config& cfg, const config::EnvLookup& env) {
    S3Settings s;
    s.region = cfg.get("s3_region").text;
    if (s.region.empty()) s.region = env("AWS_REGION").value_or("");
    if (s.region.empty()) s.region = env("AWS_DEFAULT_REGION").value_or("");
    if (s.region.empty()) s.region = "us-east-1";
    check_region(s.region);
    const std::string endpoint = cfg.get("s3_endpoint").text;
    const std::string addressing = cfg.get("s3_addressing").text;
    // Commands that only read backups validate no more than what they use.
    if (const std::string p = cfg.problem_of("s3_addressing"); !p.empty())
        throw usage_error("invalid configuration: " + p);
    if (endpoint.empty()) {
        s.endpoint = parse_endpoint("https://s3." + s.region + ".amazonaws.com", "the S3 endpoint");
        s.path_style = addressing == "path";
        s.path_for_dotted_buckets = addressing == "auto";
    } else {
        s.endpoint = parse_endpoint(endpoint, "CTLDB_S3_ENDPOINT");
        s.path_style = addressing != "virtual";
    }
    if (!s.path_style && is_ip_address(s.endpoint.host)) {
        throw usage_error("virtual-hosted addressing puts the bucket in the host name, and " +
                              s.endpoint.url() + " is an IP address",
                          "set CTLDB_S3_ADDRESSING=path (or auto), or give the endpoint by name");
    }
    s.http.ca_file = cfg.get("s3_ca_file").text;
    s.credentials = credentials_from(env);
    return s;
}

// --- XML and times ------------------------------------------------------------

std::vector<std::string> xml_blocks(const std::string& xml, const std::string& tag) {
    std::vector<std::string> out;
    const std::string open = "<" + tag + ">", close = "</" + tag + ">";
    std::size_t pos = 0;
    for (;;) {
        const auto b = xml.find(open, pos);
        if (b == std::string::npos) break;
        const auto e = xml.find(close, b + open.size());
        if (e == std::string::npos) break;
        out.push_back(xml.substr(b + open.size(), e - b - open.size()));
        pos = e + close.size();
    }
    return out;
}

std::vector<std::string> xml_values(const std::string& xml, const std::string& tag) {
    auto v = xml_blocks(xml, tag);
    for (auto& s : v)
        s = decode_entities(s);
    return v;
}

std::string amz_date(std::time_t t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

// --- requests -------------------------------------------------------------------

S3Client::S3Client(S3Settings settings, std::string bucket)
    : settings_(std::move(settings)),
      bucket_(std::move(bucket)),
      path_style_(settings_.path_style ||
                  // *.s3.REGION.amazonaws.com cannot match a dotted bucket's host name
                  (settings_.path_for_dotted_buckets && settings_.endpoint.tls &&
                   bucket_.find('.') != std::string::npos)),
      host_([&] {
          Endpoint e = settings_.endpoint;
          if (!path_style_) e.host = bucket_ + "." + e.host;
          return e;
      }()),
      http_(host_, settings_.http) {}

HttpResponse S3Client::once(const std::string& method, const std::string& key,
                            const std::vector<std::pair<std::string, std::string>>& query,
                            const char* body, std::size_t body_size,
                            const std::function<void(const char*, std::size_t)>& on_body,
                            const std::vector<std::pair<std::string, std::string>>& headers) {
    std::string uri = path_style_ ? "/" + bucket_ : "";
    if (!key.empty() || !path_style_) uri += "/" + uri_encode(key, true);
    SigningInput in;
    in.method = method;
    in.canonical_uri = uri;
    in.canonical_query = canonical_query(query);
    in.payload_hash = body_size == 0 ? kEmptySha256 : sha256_hex(std::string_view(body, body_size));
    in.amz_date = amz_date(std::time(nullptr));
    in.region = settings_.region;
    in.headers = {{"host", host_.host_header()},
                  {"x-amz-content-sha256", in.payload_hash},
                  {"x-amz-date", in.amz_date}};
    if (!settings_.credentials.session_token.empty()) {
        in.headers.emplace_back("x-amz-security-token", settings_.credentials.session_token);
    }
    for (const auto& h : headers)
        in.headers.push_back(h);
    HttpRequest req;
    req.method = method;
    req.target = uri + (in.canonical_query.empty() ? "" : "?" + in.canonical_query);
    for (const auto& h : in.headers) {
        if (h.first != "host") req.headers.push_back(h);
    }
    req.headers.emplace_back("Authorization", authorization(in, settings_.credentials));
    req.body = body;
    req.body_size = body_size;
    return http_.send(req, on_body);
}

std::string S3Client::describe(const HttpResponse& r) {
    const auto code = xml_values(r.body, "Code");
    const auto message = xml_values(r.body, "Message");
    return "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + printable(code[0])) +
           (message.empty() || message[0].empty() ? "" : ": " + printable(message[0]));
}

Error S3Client::refused(const HttpResponse& r, const std::string& what,
                        const std::string& said) const {
    const auto code = xml_values(r.body, "Code");
    const std::string c = code.empty() ? "" : code[0];
    if (r.status == 403 || c == "InvalidAccessKeyId" || c == "SignatureDoesNotMatch") {
        return Error(ExitCode::connect,
                     "S3 refused " + what + " (" + said + ") for the credentials of " +
                         settings_.credentials.source,
                     "check the access key, the secret and what the key may do");
    }
    if (c == "NoSuchBucket") {
        return usage_error("S3 bucket " + bucket_ + " does not exist at " + host_.url(),
                           "create it, or fix the s3:// location or CTLDB_S3_ENDPOINT");
    }
    if (c == "RequestTimeTooSkewed") {
        return Error(ExitCode::connect, "S3 refused " + what + ": " + said,
                     "this machine's clock is off; S3 allows 15 minutes");
    }
    return failure("S3 " + what + " failed: " + said);
}

HttpResponse S3Client::request(const std::string& method, const std::string& key,
                               std::vector<std::pair<std::string, std::string>> query,
                               const char* body, std::size_t body_size,
                               const std::function<bool(int)>& ok,
                               const std::function<void(const char*, std::size_t)>& on_body,
                               std::vector<std::pair<std::string, std::string>> headers) {
    const std::string what =
        method + " " + (key.empty() ? "s3://" + bucket_ : "s3://" + bucket_ + "/" + key);
    std::string last;
    int wait_ms = settings_.backoff_ms;
    for (int attempt = 1;; ++attempt) {
        HttpResponse r;
        bool transient = false;
        try {
            r = once(method, key, query, body, body_size, on_body, headers);
            if (ok(r.status)) return r;
            transient = transient_status(r.status);
            last = describe(r);
        } catch (const TransportError& e) {
            transient = true;
            last = e.what();
        }
        if (!transient) throw refused(r, what, last);
        if (attempt >= settings_.attempts) {
            throw Error(
                r.status == 0 ? ExitCode::connect : ExitCode::failure,
                "S3 " + what + " failed after " + std::to_string(attempt) + " attempts: " + last,
                r.status == 0 ? "check CTLDB_S3_ENDPOINT and that the service is up" : "");
        }
        log::detail("S3 " + what + ": " + last + "; retrying in " + std::to_string(wait_ms) +
                    " ms");
        wait_before_retry(wait_ms, settings_.http.ignore_signals);
    }
}

namespace {
bool is_2xx(int s) {
    return s / 100 == 2;
}
}  // namespace

std::vector<ObjectInfo> S3Client::list(const std::string& prefix) {
    std::vector<ObjectInfo> out;
    std::string token;
    for (;;) {
        std::vector<std::pair<std::string, std::string>> q = {{"list-type", "2"},
                                                              {"prefix", prefix}};
        if (!token.empty()) q.emplace_back("continuation-token", token);
        const HttpResponse r = request("GET", "", q, nullptr, 0, is_2xx);
        for (const auto& block : xml_blocks(r.body, "Contents")) {
            ObjectInfo o;
            const auto key = xml_values(block, "Key");
            if (key.empty()) continue;
            o.key = key[0];
            const auto size = xml_values(block, "Size");
            if (!size.empty()) o.size = std::strtoull(size[0].c_str(), nullptr, 10);
            const auto mod = xml_values(block, "LastModified");
            if (!mod.empty()) o.modified = parse_utc_iso8601(mod[0]);
            const auto etag = xml_values(block, "ETag");
            if (!etag.empty()) o.etag = etag[0];
            out.push_back(std::move(o));
        }
        const auto truncated = xml_values(r.body, "IsTruncated");
        const auto next = xml_values(r.body, "NextContinuationToken");
        if (truncated.empty() || truncated[0] != "true" || next.empty() || next[0].empty()) break;
        token = next[0];
    }
    return out;
}

std::optional<ObjectInfo> S3Client::head(const std::string& key) {
    const HttpResponse r =
        request("HEAD", key, {}, nullptr, 0, [](int s) { return is_2xx(s) || s == 404; });
    if (r.status == 404) return std::nullopt;
    ObjectInfo o;
    o.key = key;
    o.size = std::strtoull(r.header("content-length").c_str(), nullptr, 10);
    o.etag = r.header("etag");
    return o;
}

std::string S3Client::get(const std::string& key, std::size_t max) {
    auto body = get_if_exists(key, max);
    if (!body) throw failure("S3 GET s3://" + bucket_ + "/" + key + " failed: no such object");
    return std::move(*body);
}

std::optional<std::string> S3Client::get_if_exists(const std::string& key, std::size_t max) {
    HttpResponse r =
        request("GET", key, {}, nullptr, 0, [](int st) { return is_2xx(st) || st == 404; });
    if (r.status == 404) {
        const auto code = xml_values(r.body, "Code");
        if (!code.empty() && code[0] == "NoSuchBucket") {
            throw refused(r, "GET s3://" + bucket_ + "/" + key, describe(r));
        }
        return std::nullopt;
    }
    if (r.body.size() > max) {
        throw failure("s3://" + bucket_ + "/" + key + " is larger than " + std::to_string(max) +
                      " bytes");
    }
    return std::move(r.body);
}

std::uint64_t S3Client::get_range(const std::string& key, std::uint64_t from, std::uint64_t count,
                                  const std::function<void(const char*, std::size_t)>& out,
                                  const std::string& if_match) {
    std::uint64_t got = 0;
    const std::string range = "bytes=" + std::to_string(from) + "-" +
                              (count == 0 ? "" : std::to_string(from + count - 1));
    // One attempt: the caller resumes from what arrived.
    const HttpResponse r = once(
        "GET", key, {}, nullptr, 0,
        [&](const char* p, std::size_t n) {
            out(p, n);
            got += n;
        },
        if_match.empty() ? std::vector<std::pair<std::string, std::string>>{{"range", range}}
                         : std::vector<std::pair<std::string, std::string>>{{"if-match", if_match},
                                                                            {"range", range}});
    if (r.status == 416) return 0;  // nothing at or after `from`
    if (r.status == 412) {
        throw failure("s3://" + bucket_ + "/" + key + " changed while it was read",
                      "another run replaced it; read it again");
    }
    if (!is_2xx(r.status)) {
        if (transient_status(r.status)) throw TransportError("S3 answered " + describe(r));
        throw refused(r, "GET s3://" + bucket_ + "/" + key, describe(r));
    }
    if (from > 0 && r.status != 206) {
        throw failure("S3 ignored the range of GET s3://" + bucket_ + "/" + key);
    }
    return got;
}

void S3Client::put(const std::string& key, const std::string& body,
                   const std::string& content_type) {
    request("PUT", key, {}, body.data(), body.size(), is_2xx, nullptr,
            {{"content-type", content_type}});
}

bool S3Client::put_new(const std::string& key, const std::string& body,
                       const std::string& content_type) {
    constexpr int kPreconditionFailed = 412;
    const HttpResponse r =
        request("PUT", key, {}, body.data(), body.size(),
                [](int s) { return is_2xx(s) || s == kPreconditionFailed; }, nullptr,
                {{"content-type", content_type}, {"if-none-match", "*"}});
    if (is_2xx(r.status)) return true;
    return get_if_exists(key, body.size() + 1) == body;
}

void S3Client::remove(const std::string& key) {
    request("DELETE", key, {}, nullptr, 0, [](int s) { return is_2xx(s) || s == 404; });
}

std::string S3Client::create_multipart(const std::string& key) {
    const HttpResponse r = request("POST", key, {{"uploads", ""}}, nullptr, 0, is_2xx);
    const auto id = xml_values(r.body, "UploadId");
    if (id.empty() || id[0].empty()) {
        throw failure("S3 started an upload of s3://" + bucket_ + "/" + key + " without an id");
    }
    return id[0];
}

std::string S3Client::upload_part(const std::string& key, const std::string& upload_id, int number,
                                  const char* data, std::size_t size) {
    const HttpResponse r =
        request("PUT", key, {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}}, data,
                size, is_2xx);
    const std::string etag = r.header("etag");
    if (etag.empty()) {
        throw failure("S3 accepted part " + std::to_string(number) + " of s3://" + bucket_ + "/" +
                      key + " without an ETag");
    }
    return etag;
}

void S3Client::complete_multipart(const std::string& key, const std::string& upload_id,
                                  const std::vector<std::string>& etags) {
    std::string xml = "<CompleteMultipartUpload>";
    for (std::size_t i = 0; i < etags.size(); ++i) {
        xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
               "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    // S3 may answer 200 with an error in the body once it has started.
    const HttpResponse r = request("POST", key, {{"uploadId", upload_id}}, xml.data(), xml.size(),
                                   is_2xx, nullptr, {{"content-type", "application/xml"}});
    if (!xml_values(r.body, "Code").empty() && xml_blocks(r.body, "Error").size() > 0) {
        throw failure("S3 could not complete the upload of s3://" + bucket_ + "/" + key + ": " +
                      printable(xml_values(r.body, "Code")[0]));
    }
}

void S3Client::abort_multipart(const std::string& key, const std::string& upload_id) {
    request("DELETE", key, {{"uploadId", upload_id}}, nullptr, 0,
            [](int s) { return is_2xx(s) || s == 404; });
}

std::vector<MultipartInfo> S3Client::list_multipart(const std::string& prefix) {
    std::vector<MultipartInfo> out;
    std::string key_marker, id_marker;
    for (;;) {
        std::vector<std::pair<std::string, std::string>> q = {{"uploads", ""}, {"prefix", prefix}};
        if (!key_marker.empty()) q.emplace_back("key-marker", key_marker);
        if (!id_marker.empty()) q.emplace_back("upload-id-marker", id_marker);
        const HttpResponse r = request("GET", "", q, nullptr, 0, is_2xx);
        for (const auto& block : xml_blocks(r.body, "Upload")) {
            MultipartInfo m;
            const auto key = xml_values(block, "Key");
            const auto id = xml_values(block, "UploadId");
            if (key.empty() || id.empty()) continue;
            m.key = key[0];
            m.upload_id = id[0];
            const auto when = xml_values(block, "Initiated");
            if (!when.empty()) m.initiated = parse_utc_iso8601(when[0]);
            out.push_back(std::move(m));
        }
        const auto truncated = xml_values(r.body, "IsTruncated");
        const auto next_key = xml_values(r.body, "NextKeyMarker");
        const auto next_id = xml_values(r.body, "NextUploadIdMarker");
        if (truncated.empty() || truncated[0] != "true" || next_key.empty()) break;
        key_marker = next_key[0];
        id_marker = next_id.empty() ? "" : next_id[0];
    }
    return out;
}

}  // namespace ctldb::storage
