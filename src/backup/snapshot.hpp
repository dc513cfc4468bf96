// What a backup reads from the server besides pg_dump's output: one
// exported snapshot that the manifest's row counts and the dump share, and
// the estimates that size the progress bar.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "pg/connection.hpp"

namespace ctldb::backup {

/// BEGIN a read-only REPEATABLE READ transaction and export its snapshot;
/// the id for pg_dump --snapshot. end_dump_snapshot() closes it once the
/// dump is done.
std::string begin_dump_snapshot(pg::Connection& conn);
void end_dump_snapshot(pg::Connection& conn);

/// Exact row counts of every user table, in the snapshot; a table the role
/// may not read is an error (nothing is written).
std::map<std::string, std::int64_t> count_rows(pg::Connection& conn);

/// Whether the database has large objects (plain dumps commit them apart).
bool has_large_objects(pg::Connection& conn);

/// About how many bytes of SQL pg_dump will write: the pages of the tables
/// and their TOAST as the catalog last counted them (no lock taken).
std::uint64_t data_estimate(pg::Connection& conn);

}  // namespace ctldb::backup
