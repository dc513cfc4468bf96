// The table probe: sizes from pg_class (pages as of the last VACUUM,
// ANALYZE or index build; pg_total_relation_size would take a lock and
// queue behind any ALTER TABLE), tuples and times from the statistics, ages
// and the autovacuum thresholds in force for each table.
#include <cmath>
#include <cstdlib>

#include "ctldb/probes.hpp"

namespace ctldb::probe {

std::int64_t bloat_estimate(std::int64_t heap_pages, double rows, double row_width, int fillfactor,
                            int block_size) {
    if (heap_pages <= 0) return 0;
    rows = std::max(0.0, rows);
    // 23-byte tuple header with its null bitmap, rounded to 8 (MAXALIGN),
    // then the data, rounded again; a 4-byte line pointer per tuple and a
    // 24-byte page header per page; fillfactor leaves room for updates.
    const double header = 24;
    const double tuple = std::ceil((header + std::max(0.0, row_width)) / 8.0) * 8.0 + 4.0;
    const double usable = (block_size - 24.0) * std::clamp(fillfactor, 10, 100) / 100.0;
    const double per_page = std::max(1.0, std::floor(usable / tuple));
    const auto needed = static_cast<std::int64_t>(std::ceil(rows / per_page));
    return std::max<std::int64_t>(0, heap_pages - needed) * block_size;
}

namespace {

/// A storage parameter of table `c` as a number, else the server's setting.
std::string param(const char* name, const char* cast) {
    return std::string(
               "coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions) "
               "WHERE option_name = '") +
           name + "')::" + cast + ", current_setting('" + name + "')::" + cast + ")";
}

}  // namespace

std::vector<TableStats> tables(Connection& conn, int limit) {
    const std::string indexes =
        "(SELECT sum(i.relpages)::bigint FROM pg_index x JOIN pg_class i ON i.oid = "
        "x.indexrelid WHERE x.indrelid = ";
    QueryResult r =
        exec(conn,
             "SELECT * FROM (SELECT format('%I.%I', n.nspname, c.relname) AS name, c.oid, "
             "c.relpages::bigint * bs AS heap, coalesce(" +
                 indexes +
                 "c.oid), 0) * bs AS idx, "
                 "(coalesce(t.relpages, 0)::bigint + coalesce(" +
                 indexes +
                 "t.oid), 0)) * bs AS toast, "
                 "c.reltuples::float8, "
                 "coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0), " +
                 param("autovacuum_vacuum_threshold", "float8") + " + " +
                 param("autovacuum_vacuum_scale_factor", "float8") +
                 " * greatest(c.reltuples, 0), " + iso_utc("s.last_vacuum") + ", " +
                 iso_utc("s.last_autovacuum") + ", " + iso_utc("s.last_analyze") + ", " +
                 iso_utc("s.last_autoanalyze") + ", age(c.relfrozenxid), mxid_age(c.relminmxid), " +
                 param("autovacuum_freeze_max_age", "bigint") + ", " +
                 param("autovacuum_multixact_freeze_max_age", "bigint") +
                 ", c.relpages, (SELECT sum(ps.avg_width)::float8 FROM pg_stats ps WHERE "
                 "ps.schemaname = n.nspname AND ps.tablename = c.relname), coalesce((SELECT "
                 "option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = "
                 "'fillfactor')::int, 100), bs "
                 "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "LEFT JOIN pg_class t ON t.oid = c.reltoastrelid "
                 "LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid, "
                 "(SELECT current_setting('block_size')::bigint AS bs) b "
                 "WHERE c.relkind IN ('r', 'm') AND " +
                 user_schema("n") + ") q ORDER BY q.heap + q.idx + q.toast DESC, q.name" +
                 (limit > 0 ? " LIMIT " + std::to_string(limit) : std::string()));
    std::vector<TableStats> out;
    for (int i = 0; i < r.rows(); ++i) {
        TableStats t;
        t.name = r.get(i, 0);
        t.oid = r.get_int(i, 1);
        t.heap_bytes = r.get_int(i, 2);
        t.index_bytes = r.get_int(i, 3);
        t.toast_bytes = r.get_int(i, 4);
        t.estimated_rows = std::atof(r.get(i, 5).c_str());
        t.live_tuples = r.get_int(i, 6);
        t.dead_tuples = r.get_int(i, 7);
        t.vacuum_threshold = std::atof(r.get(i, 8).c_str());
        t.last_vacuum = r.get_optional(i, 9);
        t.last_autovacuum = r.get_optional(i, 10);
        t.last_analyze = r.get_optional(i, 11);
        t.last_autoanalyze = r.get_optional(i, 12);
        t.xid_age = r.get_int(i, 13);
        t.mxid_age = r.get_int(i, 14);
        t.freeze_max_age = r.get_int(i, 15);
        t.multixact_freeze_max_age = r.get_int(i, 16);
        if (!r.is_null(i, 18) && t.estimated_rows >= 0) {
            t.bloat_bytes = bloat_estimate(
                r.get_int(i, 17), t.estimated_rows, std::atof(r.get(i, 18).c_str()),
                static_cast<int>(r.get_int(i, 19)), static_cast<int>(r.get_int(i, 20)));
        }
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace ctldb::probe
