// Schema comparison: what counts as a difference and what is only reported.
#include <doctest/doctest.h>

#include "migrate/schema.hpp"

using namespace ctldb;
using namespace ctldb::migrate;
using migrate::schema::Object;
using migrate::schema::Snapshot;

namespace {

Snapshot snap(std::initializer_list<Object> objects) {
    Snapshot s;
    for (const auto& o : objects)
        s.add(o);
    return s;
}

std::vector<std::string> described(const migrate::schema::Comparison& c) {
    std::vector<std::string> out;
    for (const auto& d : c.differences)
        out.push_back(d.describe());
    return out;
}

}  // namespace

TEST_CASE("the same objects with the same definitions match") {
    const Snapshot a = snap({{"table", "", "users", "table"},
                             {"column", "users", "email", "text NOT NULL"},
                             {"index", "users", "idx_users_email",
                              "CREATE UNIQUE INDEX idx_users_email ON users USING btree (email)"}});
    CHECK(migrate::schema::compare(a, a, {}).matches());
}

TEST_CASE("missing, different and extra objects on the migrations' tables are differences") {
    const Snapshot expected =
        snap({{"table", "", "users", "table"},
              {"column", "users", "auth0_id", "text"},
              {"column", "users", "email", "text NOT NULL"},
              {"trigger", "users", "trg_users_updated_at", "CREATE TRIGGER t"}});
    const Snapshot found =
        snap({{"table", "", "users", "table"},
              {"column", "users", "jwt_id", "text"},
              {"column", "users", "email", "character varying(100) NOT NULL"},
              {"trigger", "users", "update_users_updated_at", "CREATE TRIGGER u"}});
    const auto c = migrate::schema::compare(expected, found, {});
    REQUIRE(c.differences.size() == 5);
    const auto d = described(c);
    CHECK(std::find(d.begin(), d.end(),
                    "column users.auth0_id: missing (the migrations create: text)") != d.end());
    CHECK(std::find(d.begin(), d.end(),
                    "column users.email: differs; expected: text NOT NULL; found: character "
                    "varying(100) NOT NULL") != d.end());
    CHECK(std::find(d.begin(), d.end(),
                    "column users.jwt_id: not created by the migrations (found: text)") != d.end());
    CHECK(std::find(d.begin(), d.end(),
                    "trigger users.update_users_updated_at: not created by the migrations (found: "
                    "CREATE TRIGGER u)") != d.end());
}

TEST_CASE("the database's own tables, functions and ctldb's history are not differences") {
    const Snapshot expected = snap({{"table", "", "users", "table"}});
    const Snapshot found =
        snap({{"table", "", "users", "table"},
              {"table", "", "app_sessions", "table"},
              {"column", "app_sessions", "id", "integer"},
              {"function", "", "audit()", "RETURNS trigger LANGUAGE plpgsql x"},
              {"table", "", "ctldb_schema_migrations", "table"},
              {"column", "ctldb_schema_migrations", "version", "bigint NOT NULL"}});
    const auto c = migrate::schema::compare(expected, found, {"ctldb_schema_migrations"});
    CHECK(c.matches());
    CHECK(c.others == std::vector<std::string>{"function audit()", "table app_sessions"});
}

TEST_CASE("long definitions are shortened to one line in messages") {
    migrate::schema::Difference d{
        "function", "function f()",
        "RETURNS trigger LANGUAGE plpgsql\nBEGIN\n    " + std::string(300, 'x') + "\nEND", ""};
    const std::string text = d.describe();
    CHECK(text.find('\n') == std::string::npos);
    CHECK(text.size() < 200);
    CHECK(text.find("RETURNS trigger LANGUAGE plpgsql BEGIN xxx") != std::string::npos);
}

TEST_CASE("a table missing altogether is one difference that counts its parts") {
    const Snapshot expected = snap({{"table", "", "users", "table"},
                                    {"column", "users", "id", "uuid NOT NULL"},
                                    {"column", "users", "email", "text NOT NULL"},
                                    {"index", "users", "idx_users_email", "CREATE INDEX ..."},
                                    {"table", "", "refunds", "table"}});
    const Snapshot found = snap({{"table", "", "refunds", "table"}});
    const auto c = migrate::schema::compare(expected, found, {});
    REQUIRE(c.differences.size() == 1);
    CHECK(c.differences[0].describe() ==
          "table users: missing (the migrations create: table with 2 columns, 1 index)");
}

TEST_CASE("two long definitions that differ late are shown from where they differ") {
    const std::string head =
        "CREATE TRIGGER update_payments_updated_at BEFORE UPDATE ON payments "
        "FOR EACH ROW EXECUTE FUNCTION ";
    migrate::schema::Difference d{"trigger", "trigger payments.t",
                                  head + "update_updated_at_column()",
                                  head + "audit.update_updated_at_column()"};
    const std::string text = d.describe();
    const auto expected =
        text.substr(text.find("expected: "), text.find("; found: ") - text.find("expected: "));
    const auto found = text.substr(text.find("; found: ") + 9);
    CHECK(expected.find("FUNCTION update_updated_at_column()") != std::string::npos);
    CHECK(found.find("FUNCTION audit.update_updated_at_column()") != std::string::npos);
    CHECK(expected.find("expected: ...") == 0);  // cut before, and said so
    CHECK(text.size() < 260);
}
