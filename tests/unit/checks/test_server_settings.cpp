#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "checks/server_settings.hpp"

using namespace ctldb;
using namespace ctldb::checks;

TEST_CASE("settings: the guide's values, minimums, hidden ones and pending restarts") {
    auto set = [](const char* name, const char* value, const char* unit = "",
                  const char* context = "sighup") {
        pg::probe::Setting s;
        s.name = name;
        s.value = value;
        s.unit = unit;
        s.context = context;
        return s;
    };
    std::vector<pg::probe::Setting> cur = {
        set("ssl", "off"),
        set("ssl_cert_file", "server.crt"),
        set("ssl_min_protocol_version", "TLSv1.3"),
        set("autovacuum", "on"),
        set("autovacuum_naptime", "300", "s"),
        set("max_connections", "100", "", "postmaster"),
        set("log_statement", "all", "", "superuser"),
        set("log_duration", "on", "", "superuser"),
        set("password_encryption", "md5", "", "user"),
    };
    pg::probe::Setting hidden;
    hidden.name = "ssl_key_file";
    hidden.unreadable = "not visible to role app: needs pg_read_all_settings (or pg_monitor)";
    cur.push_back(hidden);
    checks::server_settings::Options o;
    o.pods = 3;
    auto items = checks::server_settings::evaluate(cur, o, 3);
    REQUIRE(items.size() == checks::server_settings::names().size());
    auto get = [&](const std::string& n) {
        for (const auto& i : items)
            if (i.name == n) return i;
        FAIL("no " << n);
        return items[0];
    };
    CHECK(get("ssl").differs);
    CHECK(get("ssl").want == "on");
    CHECK_FALSE(get("ssl_min_protocol_version").differs);  // TLSv1.3 is at least 1.2
    CHECK(get("autovacuum_naptime").message == "is 300s, the guide wants 1min");
    CHECK(get("autovacuum_naptime").want == "1min");
    // 3 pods x 50 + 15 admin + 3 reserved = 168 > 100
    CHECK(get("max_connections").differs);
    CHECK(get("max_connections").want == "168");
    CHECK(get("max_connections").restart());
    CHECK(get("password_encryption").status == Status::fail);
    CHECK(get("ssl_key_file").status == Status::warn);
    CHECK_FALSE(get("ssl_key_file").differs);
    CHECK(get("ssl_key_file").message.find("pg_read_all_settings") != std::string::npos);
    CHECK_FALSE(get("ssl_cert_file").differs);  // no new file asked for
    o.ssl_cert_file = "new.crt";
    cur[5].value = "200";
    cur[5].pending_restart = true;
    items = checks::server_settings::evaluate(cur, o, 3);
    CHECK(get("ssl_cert_file").differs);
    CHECK_FALSE(get("max_connections").differs);
    CHECK(get("max_connections").status == Status::warn);  // waiting for a restart
}
