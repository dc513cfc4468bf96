// The guide's required indexes, invalid, duplicate and unused ones, and
// foreign keys without an index: read from the catalog, decided here.
// Shared by indexes check/ensure, doctor and metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/findings.hpp"
#include "pg/connection.hpp"

namespace ctldb::checks {

/// An index of the guide's "Indexes" section, names exact.
struct RequiredIndex {
    const char* name;
    const char* table;
    const char* columns;  ///< as pg_get_indexdef writes the key part
};
const std::vector<RequiredIndex>& required_indexes();
/// The column a guide index is on: "(created_at DESC)" -> "created_at".
std::string required_column(const RequiredIndex& r);

/// An index as the catalog describes it.
struct IndexInfo {
    std::string name, table, qualified, qualified_table, definition, method, predicate, expressions;
    std::string keys, options, classes, collations;  ///< int2vector/oidvector texts
    bool valid = true, unique = false, primary = false, backs_constraint = false,
         in_progress = false;
    /// Its table is held in ACCESS EXCLUSIVE mode by another session: the
    /// definition (and predicate, expressions) could not be read.
    bool locked = false;
    std::int64_t scans = 0, size = 0;
    bool has_predicate() const { return !predicate.empty(); }
};

/// An index another one makes redundant: the same table, method,
/// predicate and expressions, and its keys a prefix of the other's.
struct Redundant {
    std::size_t index = 0;       ///< the one that may go
    std::size_t covered_by = 0;  ///< the one that stays
    bool exact = false;          ///< same keys: a duplicate
};
/// Pure. Never flags an index backing a constraint, a primary key, a unique
/// index covered by a wider one, or a guide index covered by another
/// index (unless that one is a unique constraint's or primary key's index
/// with exactly its keys: then the guide's is a duplicate whatever its
/// name); of two exact duplicates, the unique one, the guide's, then the
/// first by name stays.
std::vector<Redundant> find_redundant(const std::vector<IndexInfo>& all);

struct IndexReport {
    Findings findings;
    nlohmann::json doc;  ///< required, invalid, duplicates, unused, ...
    std::vector<std::string> ensure_sql;
    bool required_problem = false;  ///< a guide index missing or invalid
    std::size_t unused = 0;         ///< never-scanned indexes that enforce nothing
    /// Guide indexes whose table or column this database does not have:
    /// not applicable (info), never missing, never proposed by ensure.
    std::vector<std::string> not_applicable;
    /// How long the scan counters have counted (unused indexes mean
    /// something only after days of ordinary traffic).
    double stats_age_seconds = 0;

    /// Failure when a guide index is missing or invalid, or a check failed.
    ExitCode code() const;
    std::string text(bool color) const;
    nlohmann::json json() const;  ///< doc with the findings as "checks"
};

/// Reads and decides. Waits at most 5 s behind a lock on a table or index
/// (then Error(lock) saying why).
IndexReport analyse_indexes(pg::Connection& conn);

/// Run `rep.ensure_sql` one statement at a time, never in a transaction
/// (CONCURRENTLY needs each statement on its own), each waiting at most
/// `lock_timeout` for its lock; `progress` hears how many ran. Returns the
/// statements that ran; the first failure is thrown.
std::vector<std::string> ensure_indexes(pg::Connection& conn, const IndexReport& rep,
                                        const std::string& lock_timeout,
                                        const std::function<void(std::size_t)>& progress);

}  // namespace ctldb::checks
