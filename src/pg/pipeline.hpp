// Running many statements per round trip with libpq's pipeline mode.
//
// A migration or seed file of 200k INSERTs sent one statement at a time
// waits for 200k round trips (40 s here, as psql -f does). In pipeline
// mode the statements of a batch go out together and their results come
// back in order; the first failure is known exactly (statement and
// PostgreSQL's fields, its position relative to that statement), and the
// server skips the rest of the batch. Results are read while sending, so a
// statement that returns many rows cannot deadlock the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "pg/connection.hpp"
#include "pg/sql.hpp"

namespace ctldb::pg {

/// The statement that failed, by index into the list given.
struct StatementFailure {
    std::size_t index = 0;
    SqlError error;
};

/// Rows the statements changed, by their command tags: INSERT and COPY
/// (FROM a server file) insert, UPDATE updates, DELETE deletes, MERGE
/// changes. A SELECT's rows are read, not changed, and never counted.
struct RowCounts {
    std::int64_t inserted = 0, updated = 0, deleted = 0, merged = 0;
    std::int64_t total() const { return inserted + updated + deleted + merged; }
    /// Add the rows of one command tag ("INSERT 0 5", "UPDATE 2").
    void add(const std::string& tag);
    RowCounts& operator+=(const RowCounts& o) {
        inserted += o.inserted;
        updated += o.updated;
        deleted += o.deleted;
        merged += o.merged;
        return *this;
    }
};

/// Run `statements` in order on `conn`, several per round trip, stopping at
/// the first failure, which is returned (nothing after it has run). Meant
/// for statements inside one transaction the caller opened: a failure
/// leaves that transaction aborted. `affected` (optional) adds the rows
/// each statement changed. A signal is noticed
/// between batches; a cancelled statement is returned as its failure.
/// Throws Error(failure) when the connection is lost.
std::optional<StatementFailure> exec_pipelined(Connection& conn,
                                               const std::vector<sql::Statement>& statements,
                                               RowCounts* affected = nullptr);

}  // namespace ctldb::pg
