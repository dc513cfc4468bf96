// Running SQL scripts: a transaction that rolls back unless committed, and
// statement failures reported with file, line, column and PostgreSQL's
// detail, context and hint. Shared by migrate and seed.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "pg/connection.hpp"
#include "pg/pipeline.hpp"
#include "pg/sql.hpp"

namespace ctldb::pg {

/// BEGIN now; ROLLBACK on destruction unless commit() ran. An exception or
/// a signal therefore leaves nothing of the transaction behind.
class TransactionGuard {
  public:
    explicit TransactionGuard(Connection& conn);
    void commit();
    ~TransactionGuard();
    TransactionGuard(const TransactionGuard&) = delete;
    TransactionGuard& operator=(const TransactionGuard&) = delete;

  private:
    Connection& conn_;
    bool open_ = true;
};

/// First line of `text`, shortened for messages.
std::string first_line(const std::string& text);

/// Throw an Error for statement `s` of `file` (whose whole text is
/// `source`) that failed with `e`: "file:line:column: message", with the
/// statement, detail, context, sqlstate and `extra` as details.
[[noreturn]] void throw_statement_error(const SqlError& e, const std::string& file,
                                        const std::string& source, const sql::Statement& s,
                                        std::vector<std::string> extra);

/// Parse `text` and run its statements one by one on `conn` (the caller
/// decides about the transaction). A syntax error is reported with
/// file:line:column before anything runs. Returns the rows it changed.
RowCounts run_script(Connection& conn, const std::string& file, const std::string& text);

/// The tables (or views) SQL files name that the database does not have,
/// each as "name (first used at file:line)": by PostgreSQL's parser, in
/// file order, the files' own CREATE TABLEs and WITH names left out. Files
/// that do not parse are skipped (run_script reports them).
std::vector<std::string> missing_tables(
    Connection& conn, const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace ctldb::pg
