// The S3 pieces that need no service: SigV4 against AWS's published
// example, locations, endpoints, S3's XML, credentials and their sources.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/text.hpp"
#include "storage/http.hpp"
#include "storage/s3.hpp"
#include "storage/sigv4.hpp"

using namespace ctldb;
using namespace ctldb::storage;

TEST_CASE("SigV4 signs AWS's documented GET Object example to its published signature") {
    // docs.aws.amazon.com, "Signature Calculations for the Authorization
    // Header", Example: GET Object (the first 10 bytes of test.txt).
    SigningInput in;
    in.method = "GET";
    in.canonical_uri = "/test.txt";
    in.payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    in.amz_date = "20130524T000000Z";
    in.region = "us-east-1";
    in.headers = {{"host", "examplebucket.s3.amazonaws.com"},
                  {"range", "bytes=0-9"},
                  {"x-amz-content-sha256", in.payload_hash},
                  {"x-amz-date", in.amz_date}};
    Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "", "test"};
    const std::string auth = authorization(in, c);
    CHECK(auth ==
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
          "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
          "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK(auth.find(c.secret_key) == std::string::npos);
    // Another secret, another signature.
    c.secret_key[0] = 'x';
    CHECK(authorization(in, c) != auth);
}

TEST_CASE("SigV4 encodes keys and query strings as S3 does") {
    CHECK(uri_encode("prod/db/backup 1+2=3.sql.gz", true) == "prod/db/backup%201%2B2%3D3.sql.gz");
    CHECK(uri_encode("a/b", false) == "a%2Fb");
    CHECK(uri_encode("~-_.", false) == "~-_.");
    CHECK(uri_encode("\xc3\xa9", false) == "%C3%A9");
    CHECK(canonical_query({{"uploads", ""}, {"prefix", "a/b"}}) == "prefix=a%2Fb&uploads=");
    CHECK(canonical_query({{"partNumber", "2"}, {"uploadId", "x y"}}) ==
          "partNumber=2&uploadId=x%20y");
}

TEST_CASE("s3:// locations and endpoints: what is taken and what is refused") {
    const S3Location l = parse_s3_url("s3://my-bucket/prod/db/");
    CHECK(l.bucket == "my-bucket");
    CHECK(l.prefix == "prod/db");
    CHECK(l.key("backup.json") == "prod/db/backup.json");
    CHECK(l.url() == "s3://my-bucket/prod/db");
    CHECK(parse_s3_url("s3://bkt").prefix.empty());
    CHECK(parse_s3_url("s3://bkt").key("x") == "x");
    CHECK(parse_s3_url("s3://bkt/..a/b..").prefix == "..a/b..");  // names, not steps
    for (const char* bad : {"s3://", "s3://AB", "s3://ab", "s3://bu_cket/x", "s3://bucket//x",
                            "s3://bucket/a\nb", "/backups", "https://bucket/x", "s3://bucket/..",
                            "s3://bucket/../other", "s3://bucket/a/./b", "s3://bucket/a/.."}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_s3_url(bad), Error);
    }
    Endpoint e = parse_endpoint("https://127.0.0.1:7480/", "test");
    CHECK(e.tls);
    CHECK(e.host == "127.0.0.1");
    CHECK(e.port == 7480);
    CHECK(e.host_header() == "127.0.0.1:7480");
    e = parse_endpoint("http://minio", "test");
    CHECK_FALSE(e.tls);
    CHECK(e.port == 80);
    CHECK(e.host_header() == "minio");
    CHECK(parse_endpoint("https://[::1]:9000", "test").host == "::1");
    for (const char* bad : {"ftp://x", "https://", "https://h/path", "https://h:0",
                            "https://h:99999", "https://u:p@h", "h:443"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_endpoint(bad, "test"), Error);
    }
}

TEST_CASE("a password written into an endpoint or a location is never in the refusal") {
    const auto refusal = [](auto&& parse) {
        try {
            parse();
        } catch (const Error& e) {
            return std::string(e.what()) + "\n" + e.hint();
        }
        return std::string("accepted");
    };
    for (const char* url : {"https://AKIA:hunter22@127.0.0.1:9000", "ftp://AKIA:hunter22@h",
                            "https://AKIA:hunter22@h/path", "http://AKIA:hunter22@[::1"}) {
        CAPTURE(url);
        const std::string said = refusal([&] { parse_endpoint(url, "CTLDB_S3_ENDPOINT"); });
        CHECK(said != "accepted");
        CHECK_FALSE(contains(said, "hunter22"));
    }
    for (const char* url : {"s3://AKIA:hunter22@bucket/x", "s3://AKIA:hunter22@bucket/a//b"}) {
        CAPTURE(url);
        const std::string said = refusal([&] { parse_s3_url(url); });
        CHECK(said != "accepted");
        CHECK_FALSE(contains(said, "hunter22"));
    }
}

TEST_CASE("S3's XML: values decoded, blocks kept apart, times read") {
    const std::string xml =
        "<ListBucketResult><IsTruncated>true</IsTruncated>"
        "<Contents><Key>a&amp;b.sql.gz</Key><Size>12</Size>"
        "<LastModified>2026-12-03T19:20:00.000Z</LastModified></Contents>"
        "<Contents><Key>c&#60;d</Key><Size>3</Size></Contents>"
        "<NextContinuationToken>t&quot;1</NextContinuationToken></ListBucketResult>";
    const auto blocks = xml_blocks(xml, "Contents");
    REQUIRE(blocks.size() == 2);
    CHECK(xml_values(blocks[0], "Key") == std::vector<std::string>{"a&b.sql.gz"});
    CHECK(xml_values(blocks[1], "Key") == std::vector<std::string>{"c<d"});
    CHECK(xml_values(xml, "NextContinuationToken")[0] == "t\"1");
    CHECK(xml_values(xml, "Missing").empty());
    CHECK(parse_utc_iso8601("2026-12-03T19:20:00.000Z") == 1796325600);
    CHECK(parse_utc_iso8601("yesterday") == 0);
    CHECK(amz_date(1796325600) == "20261203T192000Z");
}

namespace {
struct FakeEnv {
    std::map<std::string, std::string> vars;
    config::EnvLookup lookup() const {
        return [this](const std::string& k) -> std::optional<std::string> {
            const auto it = vars.find(k);
            if (it == vars.end()) return std::nullopt;
            return it->second;
        };
    }
};
}  // namespace

TEST_CASE("S3 credentials: variables, _FILE variants, the shared file; never a secret in errors") {
    config::ConfigInputs inputs;
    inputs.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    const config::Config cfg = config::resolve_config(inputs);
    FakeEnv env;
    env.vars["HOME"] = "/nonexistent";
    try {
        s3_settings(cfg, env.lookup());
        FAIL("no credentials accepted");
    } catch (const Error& e) {
        CHECK(e.code() == ExitCode::usage);
        CHECK(std::string(e.what()).find("no S3 credentials") != std::string::npos);
    }
    env.vars["AWS_ACCESS_KEY_ID"] = "AKID";
    try {
        s3_settings(cfg, env.lookup());
        FAIL("half the credentials accepted");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("AWS_SECRET_ACCESS_KEY") != std::string::npos);
    }
    char dir[] = "/tmp/ctldb-unit-s3-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string secret_file = std::string(dir) + "/secret";
    fs::write_atomic(secret_file, "s3cr3t-value\n", 0600);
    env.vars["AWS_SECRET_ACCESS_KEY_FILE"] = secret_file;
    S3Settings s = s3_settings(cfg, env.lookup());
    CHECK(s.credentials.secret_key == "s3cr3t-value");
    CHECK(s.credentials.source.find("AWS_SECRET_ACCESS_KEY_FILE") != std::string::npos);
    CHECK(s.region == "us-east-1");
    CHECK(s.endpoint.host == "s3.us-east-1.amazonaws.com");
    CHECK_FALSE(s.path_style);  // AWS: virtual-hosted
    CHECK_FALSE(S3Client(s, "plain-bucket").path_style());
    CHECK(S3Client(s, "dotted.bucket").path_style());  // no wildcard certificate matches it

    // What goes into a request's headers holds no line break; a region is a
    // name; virtual-hosted addressing needs a host name.
    const auto refused = [&](const char* what) {
        CAPTURE(what);
        try {
            s3_settings(cfg, env.lookup());
        } catch (const Error& e) {
            CHECK(e.code() == ExitCode::usage);
            CHECK(std::string(e.what()).find("s3cr3t") == std::string::npos);
            return;
        }
        FAIL("accepted");
    };
    env.vars["AWS_SESSION_TOKEN"] = "token\r\nX-Injected: 1";
    refused("a session token with a line break");
    env.vars.erase("AWS_SESSION_TOKEN");
    env.vars["AWS_ACCESS_KEY_ID"] = "AKID\n";
    refused("an access key with a line break");
    env.vars["AWS_ACCESS_KEY_ID"] = "AKID";
    env.vars["AWS_REGION"] = "us-east-1\nHost: elsewhere";
    refused("a region with a line break");
    env.vars["AWS_REGION"] = "evil.example/x";
    refused("a region with a slash");
    env.vars.erase("AWS_REGION");
    {
        config::ConfigInputs virt;
        virt.env = [](const std::string& k) -> std::optional<std::string> {
            if (k == "CTLDB_S3_ENDPOINT") return std::string("https://127.0.0.1:7480");
            if (k == "CTLDB_S3_ADDRESSING") return std::string("virtual");
            return std::nullopt;
        };
        CHECK_THROWS_AS(s3_settings(config::resolve_config(virt), env.lookup()), Error);
        virt.env = [](const std::string& k) -> std::optional<std::string> {
            if (k == "CTLDB_S3_ADDRESSING") return std::string("bogus");
            return std::nullopt;
        };
        CHECK_THROWS_AS(s3_settings(config::resolve_config(virt), env.lookup()), Error);
    }

    // A FIFO where the secret file should be: refused at once, not waited on.
    const std::string fifo = std::string(dir) + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    env.vars["AWS_SECRET_ACCESS_KEY_FILE"] = fifo;
    CHECK_THROWS_AS(s3_settings(cfg, env.lookup()), Error);

    // The shared credentials file, by profile.
    env.vars.erase("AWS_ACCESS_KEY_ID");
    env.vars.erase("AWS_SECRET_ACCESS_KEY_FILE");
    const std::string shared = std::string(dir) + "/credentials";
    fs::write_atomic(shared,
                     "[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n"
                     "[profile backup]\naws_access_key_id=BAK\naws_secret_access_key=baksecret\n",
                     0600);
    env.vars["AWS_SHARED_CREDENTIALS_FILE"] = shared;
    CHECK(s3_settings(cfg, env.lookup()).credentials.access_key == "DEF");
    env.vars["AWS_PROFILE"] = "backup";
    CHECK(s3_settings(cfg, env.lookup()).credentials.secret_key == "baksecret");
    env.vars["AWS_PROFILE"] = "nope";
    try {
        s3_settings(cfg, env.lookup());
        FAIL("a missing profile accepted");
    } catch (const Error& e) {
        const std::string all = std::string(e.what()) + e.hint();
        CHECK(all.find("defsecret") == std::string::npos);  // no value is named
        CHECK(all.find("baksecret") == std::string::npos);
        CHECK(all.find("nope") != std::string::npos);
    }
    std::remove(fifo.c_str());
    std::remove(secret_file.c_str());
    std::remove(shared.c_str());
    ::rmdir(dir);
}
