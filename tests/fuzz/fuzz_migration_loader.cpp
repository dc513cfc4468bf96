// libFuzzer target over the migration file loader: file-name parsing, set
// loading, SQL splitting with libpg_query, the transaction checks and lint.
// Input: the first line is a file name, the rest its contents.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.hpp"
#include "migrate/migrations.hpp"
#include "pg/sql.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const std::size_t nl = input.find('\n');
    const std::string name = nl == std::string::npos ? input : input.substr(0, nl);
    const std::string text = nl == std::string::npos ? std::string() : input.substr(nl + 1);
    try {
        ctldb::migrate::MigrationSet set =
            ctldb::migrate::load_migration_files({{name, text}}, "fuzz");
        for (const auto& m : set.migrations) {
            (void)ctldb::migrate::check_migration_sql(m.file, m.sql, m.no_transaction);
        }
    } catch (const ctldb::Error&) {
        // Rejected input is fine; crashes and sanitizer reports are not.
    }
    try {
        // A hand-written runner's folder: the name, a twin of its key and a
        // rollback of it.
        const std::string stem = name.size() > 4 ? name.substr(0, name.size() - 4) : name;
        ctldb::migrate::MigrationSet set = ctldb::migrate::load_migration_files(
            {{name, text},
             {ctldb::migrate::node_key(name) + "_twin.sql", text},
             {stem + "_rollback.sql", text}},
            "fuzz", ctldb::migrate::MigrationLayout::node);
        (void)ctldb::migrate::migration_status(set, {});
    } catch (const ctldb::Error&) {
    }
    const auto parsed = ctldb::pg::sql::parse(text);
    for (const auto& s : parsed.statements) {
        // Statements must lie inside the text.
        if (s.offset + s.length > text.size()) __builtin_trap();
        (void)ctldb::pg::sql::referenced_tables(s);
    }
    (void)ctldb::pg::sql::lint(text);
    return 0;
}
