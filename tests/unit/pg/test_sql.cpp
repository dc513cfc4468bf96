// Splitting and checking SQL with PostgreSQL's own parser.
#include <doctest/doctest.h>

#include "pg/pipeline.hpp"
#include "pg/sql.hpp"

using namespace ctldb;
using namespace ctldb::pg;

TEST_CASE("split: dollar quotes, E-strings, nested comments, BEGIN ATOMIC") {
    const std::string text =
        "-- leading comment\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;\n"
        "SELECT E'it\\'s; not a split';\n"
        "/* outer /* nested; */ still comment; */ SELECT 2;\n"
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "SELECT 'semi;colon'";
    auto p = pg::sql::parse(text);
    REQUIRE_FALSE(p.error);
    REQUIRE(p.statements.size() == 5);
    CHECK(p.statements[0].kind == "CreateFunctionStmt");
    CHECK(p.statements[0].line == 2);
    CHECK(p.statements[0].text.rfind("CREATE FUNCTION f()", 0) == 0);
    CHECK(p.statements[1].text == "SELECT E'it\\'s; not a split'");
    CHECK(p.statements[2].text == "SELECT 2");
    CHECK(p.statements[2].line == 4);
    CHECK(p.statements[3].kind == "CreateFunctionStmt");
    CHECK(p.statements[3].text.find("END") != std::string::npos);
    CHECK(p.statements[4].text == "SELECT 'semi;colon'");
}

TEST_CASE("syntax errors carry line and column") {
    auto p = pg::sql::parse("SELECT 1;\n  SELEC 2;\n");
    REQUIRE(p.error);
    CHECK(p.error->line == 2);
    CHECK(p.error->column == 3);
    CHECK(p.error->message.find("syntax error") != std::string::npos);
}

TEST_CASE("statements that cannot run in a transaction are recognised") {
    struct Case {
        const char* sql;
        const char* reason;
    } cases[] = {
        {"CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"},
        {"DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"},
        {"REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"},
        {"REINDEX DATABASE d", "REINDEX DATABASE/SYSTEM"},
        {"VACUUM t", "VACUUM"},
        {"CREATE DATABASE d", "CREATE DATABASE"},
        {"DROP DATABASE d", "DROP DATABASE"},
        {"ALTER SYSTEM SET work_mem = '8MB'", "ALTER SYSTEM"},
    };
    for (const auto& c : cases) {
        auto p = pg::sql::parse(c.sql);
        REQUIRE_MESSAGE(p.statements.size() == 1, c.sql);
        CHECK_MESSAGE(p.statements[0].no_transaction_reason == c.reason, c.sql);
    }
    for (const char* ok : {"CREATE INDEX i ON t (a)", "ANALYZE t", "REINDEX INDEX i",
                           "CREATE TABLE t (a int)", "REFRESH MATERIALIZED VIEW CONCURRENTLY v"}) {
        auto p = pg::sql::parse(ok);
        REQUIRE(p.statements.size() == 1);
        CHECK_MESSAGE(p.statements[0].no_transaction_reason.empty(), ok);
    }
    auto idx = pg::sql::parse("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_x ON t (a)");
    CHECK(idx.statements[0].concurrent_index == "idx_x");
    CHECK(pg::sql::parse("BEGIN").statements[0].transaction_control);
    CHECK(pg::sql::parse("COMMIT").statements[0].transaction_control);
}

TEST_CASE("lint: risky statements on existing tables, not on new ones") {
    auto rules = [](const std::string& text) {
        std::vector<std::string> out;
        for (const auto& f : pg::sql::lint(text))
            out.push_back(f.rule);
        return out;
    };
    CHECK(rules("CREATE INDEX i ON users (email)") ==
          std::vector<std::string>{"index-not-concurrent"});
    CHECK(rules("CREATE TABLE t (a int);\nCREATE INDEX i ON t (a)").empty());
    CHECK(rules("CREATE INDEX CONCURRENTLY i ON users (email)").empty());
    CHECK(rules("ALTER TABLE users ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()") ==
          std::vector<std::string>{"add-column-volatile-default"});
    CHECK(rules("ALTER TABLE users ADD COLUMN seen timestamptz NOT NULL DEFAULT now()").empty());
    CHECK(rules("ALTER TABLE users ADD COLUMN n int NOT NULL") ==
          std::vector<std::string>{"add-column-not-null-without-default"});
    CHECK(rules("ALTER TABLE users ALTER COLUMN name TYPE varchar(10)") ==
          std::vector<std::string>{"alter-column-type"});
    CHECK(rules("ALTER TABLE users ADD CONSTRAINT c CHECK (length(name) > 0)") ==
          std::vector<std::string>{"constraint-validated-at-once"});
    CHECK(rules("ALTER TABLE users ADD CONSTRAINT c CHECK (length(name) > 0) NOT VALID").empty());
    CHECK(rules("ALTER TABLE users ADD CONSTRAINT c CHECK (length(name) > 0) NOT VALID;\n"
                "ALTER TABLE users VALIDATE CONSTRAINT c") ==
          std::vector<std::string>{"validate-in-same-transaction"});
    CHECK(rules("ALTER TABLE users VALIDATE CONSTRAINT c").empty());
    CHECK(rules("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id)") ==
          std::vector<std::string>{"constraint-validated-at-once"});
    auto f = pg::sql::lint("SELECT 1;\n\n-- comment\nCREATE INDEX i ON users (email);");
    REQUIRE(f.size() == 1);
    CHECK(f[0].line == 4);
}

TEST_CASE("line_column counts characters, not bytes") {
    const std::string t = "ab\ncé d";
    CHECK(pg::sql::line_column(t, 0) == std::make_pair(1, 1));
    CHECK(pg::sql::line_column(t, 3) == std::make_pair(2, 1));
    CHECK(pg::sql::line_column(t, t.find('d')) == std::make_pair(2, 4));
}

TEST_CASE("invalid UTF-8 is named with its byte offset, not mistaken for an empty file") {
    const std::string text = "SELECT 1;\nSELECT 'caf\xc3\xa9';\nSELECT '\xff';\n";
    auto p = pg::sql::parse(text);
    REQUIRE(p.error);
    CHECK(p.error->message.find("invalid UTF-8: byte 0xFF at byte offset 34") == 0);
    CHECK(p.error->offset == 34);
    CHECK(p.error->line == 3);
    CHECK(p.error->column == 9);
    CHECK(p.statements.empty());
    // Overlong forms and surrogates are invalid too; a truncated sequence at the end.
    for (const std::string bad :
         {"SELECT '\xc0\xaf'", "SELECT '\xed\xa0\x80'", "SELECT 1 -- \xe2\x82"}) {
        auto q = pg::sql::parse(bad);
        REQUIRE_MESSAGE(q.error, bad);
        CHECK(q.error->message.find("invalid UTF-8") == 0);
    }
    CHECK_FALSE(pg::sql::parse("SELECT '\xf0\x9f\x90\x98 \xe2\x82\xac'").error);
}

TEST_CASE("syntax error columns count characters, not bytes") {
    // PostgreSQL's cursor position is in characters: 'éééé' is 8 bytes, 4 characters.
    auto p = pg::sql::parse("SELECT 1;\nSELECT '\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9' FRM x;\n");
    REQUIRE(p.error);
    CHECK(p.error->line == 2);
    CHECK(p.error->column == 19);
    CHECK(p.error->offset == 10 + 22);
}

TEST_CASE(
    "script edges: no final semicolon, empty statements, unclosed quotes and comments, psql "
    "meta-commands") {
    auto p = pg::sql::parse("SELECT 1;;\n;\nSELECT 2 -- the end, no semicolon\n");
    REQUIRE_FALSE(p.error);
    REQUIRE(p.statements.size() == 2);
    CHECK(p.statements[1].text == "SELECT 2 -- the end, no semicolon");
    CHECK(p.statements[1].line == 3);
    CHECK(p.statements[1].offset == 13);

    auto q = pg::sql::parse("SELECT 1;\nSELECT 'never closed;\n");
    REQUIRE(q.error);
    CHECK(q.error->line == 2);
    CHECK(q.error->message.find("unterminated quoted string") != std::string::npos);

    auto c = pg::sql::parse("SELECT 1;\n/* never closed\n");
    REQUIRE(c.error);
    CHECK(c.error->message.find("unterminated /* comment") != std::string::npos);

    auto m = pg::sql::parse("SELECT 1;\n\\i other.sql\nSELECT 2;\n");
    REQUIRE(m.error);
    CHECK(m.error->line == 2);
    CHECK(m.error->column == 1);
    CHECK(m.error->message.find("psql meta-command '\\i' is not SQL") == 0);

    CHECK(pg::sql::parse("-- only a comment\n/* and another */\n").statements.empty());
}

TEST_CASE("a large script is split in one pass with the parser's verdict per statement") {
    std::string text;
    for (int i = 0; i < 20000; ++i) {
        text += "INSERT INTO t (a, b) VALUES (" + std::to_string(i) + ", 'x;y');\n";
        if (i % 1000 == 0)
            text +=
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS i" + std::to_string(i) + " ON t (a);\n";
    }
    auto p = pg::sql::parse(text);
    REQUIRE_FALSE(p.error);
    REQUIRE(p.statements.size() == 20020);
    CHECK(p.statements.back().line == 20020);
    CHECK(p.statements[1].concurrent_index == "i0");
    CHECK(p.statements[1].no_transaction_reason == "CREATE INDEX CONCURRENTLY");
    CHECK(p.statements[2].kind == "InsertStmt");
    CHECK(text.compare(p.statements[2].offset, p.statements[2].length, p.statements[2].text) == 0);
}

TEST_CASE("table effects: what a statement creates, drops and empties") {
    auto effects = [](const std::string& text) {
        auto p = pg::sql::parse(text);
        REQUIRE(p.statements.size() == 1);
        return pg::sql::table_effects(p.statements[0]);
    };
    auto drop = effects("DROP TABLE IF EXISTS a, s.\"B c\" CASCADE");
    REQUIRE(drop.drops.size() == 2);
    CHECK(drop.drops[0].schema.empty());
    CHECK(drop.drops[0].name == "a");
    CHECK(drop.drops[1].schema == "s");
    CHECK(drop.drops[1].name == "B c");
    CHECK(drop.cascade);
    auto trunc = effects("TRUNCATE ONLY a, s.b");
    CHECK(trunc.truncates.size() == 2);
    CHECK_FALSE(trunc.cascade);
    CHECK(effects("DROP SCHEMA x CASCADE").dropped_schemas == std::vector<std::string>{"x"});
    CHECK(effects("CREATE TABLE s.t (a int)").creates[0].name == "t");
    CHECK(effects("CREATE TABLE t2 AS SELECT 1").creates[0].name == "t2");
    auto view = effects("DROP VIEW v");
    CHECK(view.drops.empty());
    CHECK(effects("DROP INDEX i").drops.empty());
}

TEST_CASE("array literals quote every element, \" and \\ escaped") {
    CHECK(ctldb::pg::sql::array_literal({}) == "{}");
    CHECK(ctldb::pg::sql::array_literal({"a", "b"}) == "{\"a\",\"b\"}");
    CHECK(ctldb::pg::sql::array_literal({"we\"ird", "back\\slash", "x,y}"}) ==
          "{\"we\\\"ird\",\"back\\\\slash\",\"x,y}\"}");
}

TEST_CASE("the tables a statement names, wherever they appear") {
    auto names = [](const std::string& text) {
        const auto parsed = pg::sql::parse(text);
        REQUIRE(parsed.statements.size() == 1);
        std::vector<std::string> out;
        for (const auto& t : pg::sql::referenced_tables(parsed.statements[0]))
            out.push_back(t.schema.empty() ? t.name : t.schema + "." + t.name);
        return out;
    };
    CHECK(names("INSERT INTO teams (name) VALUES ('a') ON CONFLICT DO NOTHING") ==
          std::vector<std::string>{"teams"});
    CHECK(names("WITH x AS (SELECT id FROM app.users) UPDATE teams SET n = 1 FROM x WHERE "
                "teams.id = x.id") == std::vector<std::string>{"teams", "app.users"});
    CHECK(names("DELETE FROM audit USING users u WHERE u.id = audit.user_id") ==
          std::vector<std::string>{"audit", "users"});
    CHECK(names("COPY refunds FROM '/tmp/r.csv'") == std::vector<std::string>{"refunds"});
    CHECK(names("SELECT 1").empty());
}

TEST_CASE("rows changed come from the command tags; a SELECT's rows are not changes") {
    RowCounts c;
    for (const char* tag : {"INSERT 0 5", "UPDATE 2", "DELETE 1", "COPY 7", "SELECT 40", "MERGE 3",
                            "CREATE TABLE", "SELECT 9"})
        c.add(tag);
    CHECK(c.inserted == 12);
    CHECK(c.updated == 2);
    CHECK(c.deleted == 1);
    CHECK(c.merged == 3);
    CHECK(c.total() == 18);
}
