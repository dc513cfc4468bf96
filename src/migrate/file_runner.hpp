// Running one migration file (up or down) against the server: in one
// transaction with its history row, or, for a file that cannot run in a
// transaction, statement by statement with the history row last.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "pg/connection.hpp"
#include "pg/sql.hpp"

namespace ctldb::migrate {

/// lock_timeout and statement_timeout for the file's statements, in the
/// server's syntax ("5s", "0").
struct RunTimeouts {
    std::string lock, statement;
};

/// Run one file and call `record` to write its history row: as one
/// transaction (record inside it), or, for a no-transaction file, statement
/// by statement (a CREATE INDEX CONCURRENTLY's invalid leftover dropped
/// first), then record in a transaction of its own. A failure is thrown
/// with the statement, its line and what stays applied. Returns the
/// milliseconds.
std::int64_t run_migration_file(pg::Connection& conn, const RunTimeouts& t, const std::string& file,
                                const std::string& text, const pg::sql::Parsed& parsed,
                                bool no_transaction, const std::function<void()>& record);

}  // namespace ctldb::migrate
