// Loading migration files and planning against the history.
#include <doctest/doctest.h>

#include "base/error.hpp"
#include "migrate/migrations.hpp"

using namespace ctldb;
using namespace ctldb::migrate;

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
    auto dash = parse_migration_file_name("003-user-activity-tracking.sql");
    REQUIRE(dash);
    CHECK(dash->version == 3);
    CHECK(dash->label == "003");
    CHECK(dash->separator == '-');
    CHECK(dash->name == "user-activity-tracking");
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
                               {"12 bad name.sql", "SELECT 1;"},
                               {"0003_orphan.down.sql", "SELECT 1;"},
                               {"0004_empty.sql", "  \n"}});
    CHECK(errors.size() == 4);
    // A .sql file that does not look like a migration is not one.
    auto set = load_migration_files({{"0001_a.sql", "SELECT 1;"}, {"schema.sql", "x"}}, "test");
    CHECK(set.ignored == std::vector<std::string>{"schema.sql"});
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

TEST_CASE("numbered folders as teams write them: any width, _ or -, gaps, other files") {
    auto set = load_migration_files({{"001_init.sql", "SELECT 1;"},
                                     {"003-user-activity-tracking.sql", "SELECT 3;"},
                                     {"018_add_index.sql", "SELECT 18;"},
                                     {"run-migration.js", ""},
                                     {"README.md", ""}},
                                    "test");
    CHECK(set.layout == MigrationLayout::numbered);
    REQUIRE(set.migrations.size() == 3);
    CHECK(set.migrations[1].label == "003");
    CHECK(set.ignored == std::vector<std::string>{"run-migration.js", "README.md"});
    CHECK(set.find_label("3") == &set.migrations[1]);
    CHECK(set.find_label("003") == &set.migrations[1]);
    // create follows the last file: width 3, separator _.
    auto files = new_migration_files(set, "add_invoices", false, 0);
    REQUIRE(files.size() == 1);
    CHECK(files[0].first == "019_add_invoices.sql");
    auto dashed =
        load_migration_files({{"01-a.sql", "SELECT 1;"}, {"02-b-c.sql", "SELECT 2;"}}, "t");
    CHECK(new_migration_files(dashed, "add_invoices", false, 0)[0].first == "03-add-invoices.sql");
}

TEST_CASE("golang-migrate: up and down files, BEGIN/COMMIT left to ctldb") {
    auto set =
        load_migration_files({{"000001_init.up.sql", "BEGIN;\nCREATE TABLE a (i int);\nCOMMIT;"},
                              {"000001_init.down.sql", "DROP TABLE a;"},
                              {"000002_idx.up.sql", "CREATE INDEX CONCURRENTLY i ON a (i);"},
                              {"000002_idx.down.sql", "DROP INDEX CONCURRENTLY i;"}},
                             "test");
    CHECK(set.layout == MigrationLayout::golang_migrate);
    REQUIRE(set.migrations.size() == 2);
    CHECK(set.migrations[0].down_sql == std::optional<std::string>("DROP TABLE a;"));
    auto init = pg::sql::parse(set.migrations[0].sql);
    CHECK(pg::sql::unwrap_transaction(init));
    CHECK(init.statements.size() == 1);
    CHECK(check_migration_sql("x", init, false).empty());
    // One statement that cannot run in a transaction runs alone, as there.
    auto idx = pg::sql::parse(set.migrations[1].sql);
    CHECK(runs_outside_transaction(set.migrations[1], idx, false));
    auto files = new_migration_files(set, "add_col", false, 0);
    REQUIRE(files.size() == 2);
    CHECK(files[0].first == "000003_add_col.up.sql");
    CHECK(files[1].first == "000003_add_col.down.sql");
    auto stamped = load_migration_files({{"20251116020000_a.up.sql", "SELECT 1;"}}, "t");
    CHECK(new_migration_files(stamped, "b", false, 1764900000)[0].first ==
          "20251205020000_b.up.sql");
}

TEST_CASE("Flyway: dotted versions in order, undo files, repeatables refused, conf files") {
    auto set = load_migration_files({{"V1__init.sql", "SELECT 1;"},
                                     {"V1.1__add_users.sql", "SELECT 11;"},
                                     {"V1.10__later.sql", "SELECT 110;"},
                                     {"V2__idx.sql", "CREATE INDEX CONCURRENTLY i ON t (a);"},
                                     {"V2__idx.sql.conf", "executeInTransaction=false\n"},
                                     {"U1.1__add_users.sql", "SELECT -11;"}},
                                    "test");
    CHECK(set.layout == MigrationLayout::flyway);
    REQUIRE(set.migrations.size() == 4);
    CHECK(set.migrations[1].label == "1.1");
    CHECK(set.migrations[2].label == "1.10");  // 1.10 after 1.1, before 2
    CHECK(set.migrations[1].down_sql == std::optional<std::string>("SELECT -11;"));
    CHECK(set.migrations[3].no_transaction);
    CHECK(set.find_label("1.1") == &set.migrations[1]);
    CHECK(new_migration_files(set, "next", false, 0)[0].first == "V3__next.sql");
    auto errors = load_errors({{"V1__a.sql", "SELECT 1;"}, {"R__views.sql", "SELECT 1;"}});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("repeatable") != std::string::npos);
}

TEST_CASE("dbmate: sections, transaction:false, timestamps") {
    auto set = load_migration_files(
        {{"20251116020000_init.sql",
          "-- migrate:up\nCREATE TABLE a (i int);\n\n-- migrate:down\nDROP TABLE a;\n"},
         {"20251117020000_idx.sql",
          "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON a (i);\n-- "
          "migrate:down\n"}},
        "test");
    CHECK(set.layout == MigrationLayout::dbmate);
    REQUIRE(set.migrations.size() == 2);
    CHECK(set.migrations[0].sql == "CREATE TABLE a (i int);\n\n");
    CHECK(set.migrations[0].down_sql == std::optional<std::string>("DROP TABLE a;\n"));
    CHECK(set.migrations[1].no_transaction);
    CHECK_FALSE(set.migrations[1].down_sql);  // an empty down section: no down
    auto files = new_migration_files(set, "add", true, 1764900000);
    CHECK(files[0].first == "20251205020000_add.sql");
    CHECK(files[0].second.rfind("-- migrate:up transaction:false\n", 0) == 0);
}

TEST_CASE("a folder that mixes layouts is named as such") {
    CHECK_THROWS_AS(detect_layout({{"V1__a.sql", ""}, {"1_b.up.sql", ""}}), Error);
    CHECK(detect_layout({{"1_a.sql", "SELECT 1"}, {"notes.txt", ""}}) == MigrationLayout::numbered);
}

TEST_CASE("node: name order, the runner's keys, the first file of a key wins") {
    const Files files = {{"billing-fixes.sql", "SELECT 1;"},
                         {"003_b_notes.sql", "SELECT 1;"},
                         {"003_a_index.sql", "SELECT 1;"},
                         {"003_c_more.sql", "SELECT 1;"},
                         {"003_a_index_rollback.sql", "SELECT 2;"},
                         {"010_later.sql", "SELECT 1;"},
                         {"9_before_ten_by_number.sql", "SELECT 1;"},
                         {"001_init.sql", "SELECT 1;"},
                         {"001_init.down.sql", "SELECT 2;"},
                         {"004_gone_rollback.sql", "SELECT 2;"},
                         {"v2_x.sql", "SELECT 1;"},
                         {"run.js", ""}};
    CHECK(detect_layout(files) == MigrationLayout::node);
    const MigrationSet set = load_migration_files(files, "test");
    REQUIRE(set.layout == MigrationLayout::node);
    std::vector<std::string> order;
    for (const auto& m : set.migrations)
        order.push_back(m.file + "=" + m.key);
    // Byte order of names, as the runner sorts: 010 before 9_, letters last.
    CHECK(order == std::vector<std::string>{"001_init.sql=001", "003_a_index.sql=003",
                                            "010_later.sql=010", "9_before_ten_by_number.sql=9",
                                            "billing-fixes.sql=billing-fixes.sql",
                                            "v2_x.sql=v2_x.sql"});
    REQUIRE(set.shadowed.size() == 2);
    CHECK(set.shadowed[0].file == "003_b_notes.sql");
    CHECK(set.shadowed[0].shadowed_by == "003_a_index.sql");
    CHECK(set.shadowed[0].version == node_version("003_b_notes.sql"));
    CHECK(set.find(3)->down_file == "003_a_index_rollback.sql");
    CHECK(set.find(1)->down_file == "001_init.down.sql");
    REQUIRE(set.orphan_downs.size() == 1);
    CHECK(set.orphan_downs[0].describe().rfind("004_gone_rollback.sql: rollback of 004_gone.sql",
                                               0) == 0);
    CHECK(set.ignored == std::vector<std::string>{"run.js"});
    // Keys by label, file name or number.
    CHECK(set.find_label("003") == set.find(3));
    CHECK(set.find_label("3") == set.find(3));
    CHECK(set.find_label("billing-fixes.sql")->file == "billing-fixes.sql");
    CHECK(set.find_file("003_c_more.sql")->shadowed_by == "003_a_index.sql");
}

TEST_CASE("node: versions are stable, numbers stay numbers, names never collide with them") {
    CHECK(node_key("007_a.sql") == "007");
    CHECK(node_key("007-a.sql") == "007-a.sql");
    CHECK(node_key("_x.sql") == "_x.sql");
    CHECK(node_key("billing_fixes.sql") == "billing_fixes.sql");
    CHECK(node_version("007") == 7);
    CHECK(node_version("billing-fixes.sql") < 0);
    CHECK(node_version("billing-fixes.sql") == node_version("billing-fixes.sql"));
    CHECK(node_version("billing-fixes.sql") != node_version("billing-fixes2.sql"));
    CHECK(node_version("1234567890123456789") < 0);  // 19 digits: drawn, not parsed
    // 7_x and 007_y: two keys for the runner, one number for ctldb's history.
    const auto errors = load_errors({{"007_y.sql", "SELECT 1;"},
                                     {"7_x.sql", "SELECT 1;"},
                                     {"007_y_rollback.sql", "SELECT 1;"}});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("7_x.sql: the runner keys it 7, and 007_y.sql") == 0);
}

TEST_CASE("node: shared numbers alone are a numbered folder's merge to fix") {
    const Files files = {{"001_a.sql", "SELECT 1;"}, {"001_b.sql", "SELECT 1;"}};
    CHECK(detect_layout(files) == MigrationLayout::numbered);
    const auto errors = load_errors(files);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("--layout node") != std::string::npos);
    const MigrationSet set = load_migration_files(files, "test", MigrationLayout::node);
    CHECK(set.migrations.size() == 1);
    CHECK(set.shadowed.size() == 1);
}

TEST_CASE("node: status file by file, shadowed until applied under its own name") {
    const MigrationSet set = load_migration_files({{"001_a.sql", "SELECT 1;"},
                                                   {"001_b.sql", "SELECT 2;"},
                                                   {"002_c.sql", "SELECT 3;"},
                                                   {"x.sql", "SELECT 4;"}},
                                                  "test", MigrationLayout::node);
    const std::string a = set.find(1)->checksum;
    const std::string x = set.find_label("x.sql")->checksum;
    auto states = [&](const std::vector<AppliedMigration>& history) {
        std::vector<std::string> out;
        for (const auto& st : migration_status(set, history))
            out.push_back((st.file ? st.file->file : st.name) + ":" +
                          migration_state_name(st.state));
        return out;
    };
    // x.sql applied, 002 not: the runner applies 002 next, never "out of order".
    CHECK(states({{1, "a", a, "", "", 0}, {node_version("x.sql"), "x", x, "", "", 0}}) ==
          std::vector<std::string>{"001_a.sql:applied", "001_b.sql:shadowed", "002_c.sql:pending",
                                   "x.sql:applied"});
    const std::string b = set.find_file("001_b.sql")->checksum;
    CHECK(states({{1, "a", a, "", "", 0},
                  {node_version("001_b.sql"), "b", b, "", "", 0},
                  {node_version("gone.sql"), "gone", "c", "", "", 0}}) ==
          std::vector<std::string>{"001_a.sql:applied", "001_b.sql:applied", "002_c.sql:pending",
                                   "x.sql:pending", "gone:missing"});
}
