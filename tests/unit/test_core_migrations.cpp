// Loading migration files and planning against the history.
#include <doctest/doctest.h>

#include "ctldb/error.hpp"
#include "ctldb/migrations.hpp"

using namespace ctldb;

namespace {
using Files = std::vector<std::pair<std::string, std::string>>;

std::vector<std::string> load_errors(const Files& files) {
    try {
        load_migration_files(files, "test");
    } catch (const Error& e) {
        return e.details();
    }
    return {};
}
}  // namespace

TEST_CASE("file names") {
    auto a = parse_migration_file_name("0042_add_things.sql");
    REQUIRE(a);
    CHECK(a->version == 42);
    CHECK(a->name == "add_things");
    CHECK_FALSE(a->down);
    auto d = parse_migration_file_name("0042_add_things.down.sql");
    REQUIRE(d);
    CHECK(d->down);
    CHECK(d->name == "add_things");
    CHECK_FALSE(parse_migration_file_name("add_things.sql"));
    CHECK_FALSE(parse_migration_file_name("0042.sql"));
    CHECK_FALSE(parse_migration_file_name("0042_.sql"));
    CHECK_FALSE(parse_migration_file_name("0042_a b.sql"));
    CHECK_FALSE(parse_migration_file_name("0042_x.txt"));
    CHECK_FALSE(parse_migration_file_name("1234567890123456789_x.sql"));
}

TEST_CASE("loading sorts by number, pairs down files, reads the marker") {
    auto set = load_migration_files({{"10_c.sql", "SELECT 10;"},
                                     {"2_b.sql", "-- ctldb:no-transaction\nSELECT 2;"},
                                     {"0001_a.sql", "SELECT 1;"},
                                     {"0001_a.down.sql", "SELECT -1;"},
                                     {"README.md", "not sql"}},
                                    "test");
    REQUIRE(set.migrations.size() == 3);
    CHECK(set.migrations[0].version == 1);
    CHECK(set.migrations[1].version == 2);
    CHECK(set.migrations[2].version == 10);  // numeric, not lexical, order
    CHECK(set.migrations[0].down_sql == std::optional<std::string>("SELECT -1;"));
    CHECK(set.migrations[1].no_transaction);
    CHECK_FALSE(set.migrations[0].no_transaction);
}

TEST_CASE("every problem of a set is reported at once") {
    auto errors = load_errors({{"0001_a.sql", "SELECT 1;"},
                               {"1_dup.sql", "SELECT 1;"},
                               {"bad name.sql", "SELECT 1;"},
                               {"0003_orphan.down.sql", "SELECT 1;"},
                               {"0004_empty.sql", "  \n"}});
    CHECK(errors.size() == 4);
}

TEST_CASE("the marker must be the first line exactly") {
    CHECK(has_no_transaction_marker("-- ctldb:no-transaction\nSELECT 1"));
    CHECK(has_no_transaction_marker("-- ctldb:no-transaction\r\nSELECT 1"));
    CHECK(has_no_transaction_marker("\xEF\xBB\xBF-- ctldb:no-transaction\n"));
    CHECK_FALSE(has_no_transaction_marker("\n-- ctldb:no-transaction\n"));
    CHECK_FALSE(has_no_transaction_marker("-- ctldb:no-transactional\n"));
}

TEST_CASE("checksums ignore CRLF vs LF, nothing else") {
    CHECK(migration_checksum("a\r\nb\n") == migration_checksum("a\nb\n"));
    CHECK(migration_checksum("a\nb\n") != migration_checksum("a\nb \n"));
    CHECK(migration_checksum("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("status: applied, pending, out of order, modified, missing") {
    auto set = load_migration_files({{"1_a.sql", "SELECT 1;"},
                                     {"2_b.sql", "SELECT 2;"},
                                     {"3_c.sql", "SELECT 3;"},
                                     {"5_e.sql", "SELECT 5;"}},
                                    "test");
    std::vector<AppliedMigration> history = {
        {1, "a", migration_checksum("SELECT 1;"), "", "", 1},
        {3, "c", migration_checksum("SELECT 3; -- edited"), "", "", 1},
        {4, "d", "x", "", "", 1},
    };
    auto st = migration_status(set, history);
    REQUIRE(st.size() == 5);
    CHECK(st[0].state == MigrationState::applied);
    CHECK(st[1].state == MigrationState::out_of_order);
    CHECK(st[2].state == MigrationState::modified);
    CHECK(st[3].state == MigrationState::missing);
    CHECK(st[3].file == nullptr);
    CHECK(st[4].state == MigrationState::pending);
    auto fresh = migration_status(set, {});
    for (const auto& s : fresh)
        CHECK(s.state == MigrationState::pending);
}

TEST_CASE("static checks: syntax with file:line:column, transaction rules") {
    auto p = check_migration_sql("0001_x.sql", "SELECT 1;\nCREATE TABEL t (a int);", false);
    REQUIRE(p.size() == 1);
    CHECK(p[0].rfind("0001_x.sql:2:8: syntax error", 0) == 0);
    p = check_migration_sql(
        "0002_x.sql", "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);", false);
    REQUIRE(p.size() == 1);
    CHECK(p[0].find("0002_x.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a transaction") ==
          0);
    CHECK(p[0].find("-- ctldb:no-transaction") != std::string::npos);
    CHECK(check_migration_sql(
              "0003_x.sql", "-- ctldb:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);", true)
              .empty());
    CHECK(check_migration_sql("0004_x.sql", "BEGIN; SELECT 1; COMMIT;", false).size() == 2);
}

TEST_CASE("migration names for create") {
    CHECK(normalise_migration_name("Add invoices") == std::optional<std::string>("add_invoices"));
    CHECK(normalise_migration_name("add-invoice--table_") ==
          std::optional<std::string>("add_invoice_table"));
    CHECK_FALSE(normalise_migration_name("../etc/passwd"));
    CHECK_FALSE(normalise_migration_name(""));
    CHECK_FALSE(normalise_migration_name("___"));
}

TEST_CASE("the embedded set loads, passes its checks and lints clean") {
    auto set = embedded_migration_set();
    REQUIRE(set.migrations.size() >= 2);
    for (const auto& m : set.migrations) {
        CHECK_MESSAGE(check_migration_sql(m.file, m.sql, m.no_transaction).empty(), m.file);
        CHECK_MESSAGE(m.down_sql.has_value(), m.file);
    }
}

TEST_CASE("COPY from STDIN or to STDOUT cannot be in a migration file") {
    auto p =
        check_migration_sql("0001_x.sql", "CREATE TABLE a (i int);\nCOPY a FROM STDIN;", false);
    REQUIRE(p.size() == 1);
    CHECK(p[0].find("0001_x.sql:2: COPY FROM STDIN / TO STDOUT") == 0);
    CHECK(check_migration_sql("0002_x.sql", "-- ctldb:no-transaction\nCOPY a TO STDOUT;", true)
              .size() == 1);
    CHECK(check_migration_sql("0003_x.sql", "COPY a FROM '/srv/a.csv';", false).empty());
}
