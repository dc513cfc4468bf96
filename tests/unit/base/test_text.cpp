#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/text.hpp"

using namespace ctldb;

TEST_CASE("one duration syntax for every timeout option") {
    CHECK(parse_duration_seconds("90") == 90.0);
    CHECK(parse_duration_seconds("1.5s") == 1.5);
    CHECK(parse_duration_seconds("250ms") == 0.25);
    CHECK(parse_duration_seconds("10m") == 600.0);
    CHECK(parse_duration_seconds("5min") == 300.0);
    CHECK(parse_duration_seconds("26h") == 26 * 3600.0);
    CHECK(parse_duration_seconds("7d") == 7 * 86400.0);
    CHECK_FALSE(parse_duration_seconds(""));
    CHECK_FALSE(parse_duration_seconds("-1s"));
    CHECK_FALSE(parse_duration_seconds("10 parsecs"));
    CHECK_FALSE(parse_duration_seconds("s"));
    CHECK_FALSE(parse_duration_seconds("nan"));
    CHECK(human_duration(0.35) == "350 ms");
    CHECK(human_duration(42) == "42 s");
    CHECK(human_duration(720) == "12 min");
    CHECK(human_bytes(512) == "512 B");
    CHECK(human_bytes(8192) == "8.0 KiB");
    CHECK(human_bytes(3.5 * 1024 * 1024 * 1024) == "3.5 GiB");
}

TEST_CASE("a URL's user information is hidden, other text kept") {
    CHECK(hide_url_credentials("https://key:secret@host:9000/p") == "https://***@host:9000/p");
    CHECK(hide_url_credentials("s3://user@bucket") == "s3://***@bucket");
    CHECK(hide_url_credentials("https://host/a@b") == "https://host/a@b");  // in the path
    CHECK(hide_url_credentials("https://host?x=a@b") == "https://host?x=a@b");
    CHECK(hide_url_credentials("/backups/a@b") == "/backups/a@b");
    CHECK(hide_url_credentials("") == "");
}

TEST_CASE("control characters and IP addresses, as headers, names and hosts need them") {
    CHECK(has_control_char("a\nb"));
    CHECK(has_control_char(std::string("a\x7f", 2)));
    CHECK(has_control_char("\t"));
    CHECK_FALSE(has_control_char("we ird=pre'fix/\xc3\xa9"));
    CHECK(is_ip_address("127.0.0.1"));
    CHECK(is_ip_address("::1"));
    CHECK_FALSE(is_ip_address("[::1]"));
    CHECK_FALSE(is_ip_address("s3.amazonaws.com"));
    CHECK_FALSE(is_ip_address("127.0.0.1:9000"));
}
