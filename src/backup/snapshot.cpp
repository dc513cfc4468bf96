#include "backup/snapshot.hpp"

#include "base/signals.hpp"
#include "pg/probes.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::backup {

std::string begin_dump_snapshot(pg::Connection& conn) {
    exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    return exec(conn, "SELECT pg_export_snapshot()").get(0, 0);
}

void end_dump_snapshot(pg::Connection& conn) {
    exec(conn, "COMMIT");
}

std::map<std::string, std::int64_t> count_rows(pg::Connection& conn) {
    std::map<std::string, std::int64_t> counts;
    for (const auto& t : pg::probe::user_tables(conn)) {
        throw_if_interrupted();
        try {
            counts[t.key] = pg::probe::exact_rows(conn, t.quoted);
        } catch (const pg::SqlError& e) {
            if (e.server().sqlstate != pg::sqlstate::insufficient_privilege) throw;
            throw failure(std::string(e.what()) + "; nothing was written",
                          "a backup needs to read every table, as pg_dump does: grant SELECT on "
                          "it to the backup role, or use a role with pg_read_all_data");
        }
    }
    return counts;
}

bool has_large_objects(pg::Connection& conn) {
    return exec(conn, "SELECT EXISTS (SELECT 1 FROM pg_largeobject_metadata)").get(0, 0) == "t";
}

std::uint64_t data_estimate(pg::Connection& conn) {
    return static_cast<std::uint64_t>(
        exec(conn,
             "SELECT coalesce(sum(c.relpages), 0)::bigint * current_setting('block_size')::bigint "
             "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE c.relkind IN ('r', 'm', 't') AND n.nspname <> 'information_schema' "
             "AND (n.nspname NOT LIKE 'pg\\_%' OR n.nspname LIKE 'pg\\_toast%')")
            .get_int(0, 0));
}

}  // namespace ctldb::backup
