// Conninfo quoting (checked with libpq's own parser), timeouts, and the
// classification of connection failures.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include <libpq-fe.h>

#include "pg/connection.hpp"

using namespace ctldb;
using namespace ctldb::config;
using namespace ctldb::pg;

namespace {

std::map<std::string, std::string> parse(const std::string& conninfo) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    REQUIRE_MESSAGE(opts != nullptr, (err ? err : "parse failed"));
    std::map<std::string, std::string> out;
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
        if (o->val != nullptr) out[o->keyword] = o->val;
    }
    PQconninfoFree(opts);
    return out;
}

config::ConnectionSettings sample() {
    ConnectionSettings s;
    s.host = "db.example";
    s.port = 5433;
    s.dbname = "my db";
    s.user = "app'user";
    s.password = "p a'ss\\word\" =x";
    s.sslmode = "verify-full";
    s.sslrootcert = "/etc/ssl/ca dir/ca.crt";
    s.connect_timeout_ms = 30000;
    return s;
}

}  // namespace

TEST_CASE("conninfo values survive libpq's parser exactly") {
    auto s = sample();
    auto parsed = parse(conninfo_from(s, true));
    CHECK(parsed["host"] == "db.example");
    CHECK(parsed["port"] == "5433");
    CHECK(parsed["dbname"] == "my db");
    CHECK(parsed["user"] == "app'user");
    CHECK(parsed["password"] == s.password);
    CHECK(parsed["sslmode"] == "verify-full");
    CHECK(parsed["sslrootcert"] == "/etc/ssl/ca dir/ca.crt");
    CHECK(parsed["connect_timeout"] == "30");
    CHECK(parsed["application_name"] == "ctldb");
}

TEST_CASE("every sslmode is passed through unchanged") {
    for (const char* mode : {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}) {
        auto s = sample();
        s.sslmode = mode;
        CHECK(parse(conninfo_from(s, false))["sslmode"] == mode);
    }
}

TEST_CASE("the password is left out unless asked for") {
    auto s = sample();
    auto text = conninfo_from(s, false);
    CHECK(text.find("password") == std::string::npos);
    CHECK(parse(text).count("password") == 0);
}

TEST_CASE("conninfo_quote escapes backslash and quote only") {
    CHECK(conninfo_quote("plain") == "'plain'");
    CHECK(conninfo_quote("a b") == "'a b'");
    CHECK(conninfo_quote("it's") == "'it\\'s'");
    CHECK(conninfo_quote("back\\slash") == "'back\\\\slash'");
    CHECK(conninfo_quote("") == "''");
}

TEST_CASE("connect timeout: ms rounded up to libpq seconds, minimum 2, 0 is forever") {
    CHECK(connect_timeout_seconds(30000) == 30);
    CHECK(connect_timeout_seconds(30001) == 31);
    CHECK(connect_timeout_seconds(500) == 2);
    CHECK(connect_timeout_seconds(0) == 0);
}

TEST_CASE("connection failures are exit 3 with a hint for each kind") {
    auto s = sample();
    struct Case {
        const char* libpq;
        const char* hint_part;
    } cases[] = {
        {"connection to server at \"db.example\" (10.0.0.1), port 5433 failed: Connection "
         "refused\n\tIs the server running on that host and accepting TCP/IP connections?\n",
         "is PostgreSQL running"},
        {"could not translate host name \"db.example\" to address: Name or service not known\n",
         "does not resolve"},
        {"timeout expired after 30000 ms", "within 30000 ms"},
        {"connection to server at \"db.example\", port 5433 failed: FATAL:  password "
         "authentication failed for user \"app'user\"\n",
         "check the password"},
        {"connection to server failed: FATAL:  no pg_hba.conf entry for host \"10.0.0.2\", user "
         "\"appuser\", database \"app\", no encryption\n",
         "accepts only SSL"},
        {"server does not support SSL, but SSL was required\n", "ssl=off"},
        {"server certificate for \"localhost\" does not match host name \"db.example\"\n",
         "does not name the host"},
        {"SSL error: certificate verify failed\n", "not signed by the CA"},
        {"connection to server failed: FATAL:  sorry, too many clients already\n",
         "max_connections"},
        {"FATAL:  database \"my db\" does not exist\n", "DB_NAME"},
    };
    for (const auto& c : cases) {
        Error e = connection_error(c.libpq, s);
        CHECK(e.code() == ExitCode::connect);
        CHECK_MESSAGE(e.hint().find(c.hint_part) != std::string::npos, c.libpq, " -> ", e.hint());
        CHECK(std::string(e.what()).find('\n') == std::string::npos);
        CHECK(std::string(e.what()).find(s.password) == std::string::npos);
    }
}
