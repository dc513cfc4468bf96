#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "roles/roles.hpp"

using namespace ctldb;
using namespace ctldb::roles;

TEST_CASE("roles: least privilege is strict in roles check, a warning in doctor") {
    pg::probe::RoleFacts r;
    r.name = "app";
    r.create_db = true;
    const std::string now = "2026-12-02T10:00:00Z";
    auto status = [](const Findings& f, const std::string& name) {
        for (const auto& x : f.items())
            if (x.name == name) return std::string(status_name(x.status));
        return std::string("none");
    };
    CHECK(status(roles::least_privilege(r, std::nullopt, true, now), "role attributes") == "fail");
    CHECK(status(roles::least_privilege(r, std::nullopt, false, now), "role attributes") == "warn");
    r.create_db = false;
    r.public_can_create_in_public = true;
    CHECK(roles::least_privilege(r, std::nullopt, true, now).failed());
    r.public_can_create_in_public = false;
    CHECK_FALSE(roles::least_privilege(r, std::nullopt, true, now).failed());
    CHECK(status(roles::least_privilege(r, std::nullopt, true, now), "password age") == "info");
    CHECK(status(roles::least_privilege(r, "2026-09-01T10:00:00Z", true, now), "password age") ==
          "warn");  // 92 days
    CHECK(status(roles::least_privilege(r, "2026-09-10T10:00:00Z", true, now), "password age") ==
          "ok");
    r.valid_until = "2026-12-01T00:00:00Z";
    CHECK(status(roles::least_privilege(r, std::nullopt, true, now), "password expiry") == "fail");
    r.valid_until = "2026-12-10T00:00:00Z";
    CHECK(status(roles::least_privilege(r, std::nullopt, true, now), "password expiry") == "warn");
    r.superuser = true;
    CHECK(status(roles::least_privilege(r, std::nullopt, false, now), "superuser") == "fail");
    CHECK(roles::days_between("2026-12-01T00:00:00Z", "2026-12-02T12:00:00Z") ==
          doctest::Approx(1.5));
    CHECK_FALSE(roles::days_between("never", now));
}

TEST_CASE("roles: create-readonly quotes every name and never shows the verifier") {
    roles::ReadonlyPlan p;
    p.role = "re\"port er";
    p.database = "app db";
    p.schemas = {"public"};
    p.owners = {"app"};
    p.verifier = "SCRAM-SHA-256$4096:abc$def:ghi";
    const auto shown = p.sql(true);
    CHECK(shown.front() ==
          "CREATE ROLE \"re\"\"port er\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
          "NOBYPASSRLS PASSWORD '********'");
    CHECK(p.sql(false).front().find("PASSWORD 'SCRAM-SHA-256$4096:abc$def:ghi'") !=
          std::string::npos);
    bool default_privileges = false;
    for (const auto& s : shown)
        if (s ==
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"app\" IN SCHEMA \"public\" GRANT SELECT ON "
            "TABLES TO \"re\"\"port er\"")
            default_privileges = true;
    CHECK(default_privileges);
    p.exists = true;
    p.verifier.reset();
    CHECK(p.sql(true).front().rfind("ALTER ROLE \"re\"\"port er\" IN DATABASE \"app db\"", 0) == 0);
}
