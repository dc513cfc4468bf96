#include "maintenance/vacuum.hpp"

#include <algorithm>

#include "base/stopwatch.hpp"
#include "pg/probes.hpp"

namespace ctldb::maintenance {

namespace {

// Sizes come from pg_class (pages as of the last VACUUM, ANALYZE or index
// build): pg_total_relation_size() takes a lock and would wait behind any
// ALTER TABLE or exclusively locked table, defeating --skip-locked.

/// PostgreSQL 15 lets the table owner, the database owner and superusers
/// vacuum or analyze a table; for anyone else it only warns and skips it.
constexpr const char* kMayVacuum =
    "pg_has_role(c.relowner, 'USAGE') OR pg_has_role((SELECT datdba FROM pg_database WHERE "
    "datname = current_database()), 'USAGE')";

struct TableStats {
    std::int64_t dead = 0;
    std::int64_t analyzed = -1;  // analyze_count (+ autoanalyze_count); -1: no statistics row
};

TableStats table_stats(pg::Connection& conn, std::int64_t oid) {
    exec(conn, "SELECT pg_stat_clear_snapshot()");
    pg::QueryResult r = exec(conn,
                             "SELECT coalesce(n_dead_tup, 0), analyze_count + autoanalyze_count "
                             "FROM pg_stat_all_tables WHERE relid = $1",
                             {std::to_string(oid)});
    if (r.rows() == 0) return {};
    return {r.get_int(0, 0), r.get_int(0, 1)};
}

}  // namespace

std::vector<VacuumTarget> resolve_targets(pg::Connection& conn,
                                          const std::vector<std::string>& names) {
    std::vector<VacuumTarget> out;
    if (names.empty()) {
        pg::QueryResult r = exec(
            conn, std::string("SELECT format('%I.%I', n.nspname, c.relname), c.oid, "
                              "(c.relpages::bigint + coalesce(t.relpages, 0)) * "
                              "current_setting('block_size')::int, ") +
                      kMayVacuum +
                      " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN "
                      "pg_class t ON t.oid = c.reltoastrelid WHERE c.relkind IN ('r', 'm') AND " +
                      pg::probe::user_schema("n") + " ORDER BY 3 DESC, 1");
        for (int i = 0; i < r.rows(); ++i)
            out.push_back({r.get(i, 0), r.get_int(i, 1), r.get_int(i, 2), r.get(i, 3) == "t"});
        return out;
    }
    std::vector<std::string> unknown;
    for (const auto& n : names) {
        pg::QueryResult r(nullptr);
        try {
            r = exec(conn,
                     std::string("SELECT format('%I.%I', ns.nspname, c.relname), c.oid, "
                                 "(c.relpages::bigint + coalesce(t.relpages, 0)) * "
                                 "current_setting('block_size')::int, c.relkind, ") +
                         kMayVacuum +
                         " FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace "
                         "LEFT JOIN pg_class t ON t.oid = c.reltoastrelid "
                         "WHERE c.oid = to_regclass($1)",
                     {n});
        } catch (const pg::SqlError&) {
            unknown.push_back(n);  // not even a valid name
            continue;
        }
        if (r.rows() == 0 || (r.get(0, 3) != "r" && r.get(0, 3) != "m" && r.get(0, 3) != "p")) {
            unknown.push_back(n);
            continue;
        }
        out.push_back({r.get(0, 0), r.get_int(0, 1), r.get_int(0, 2), r.get(0, 4) == "t",
                       r.get(0, 3) == "p"});
    }
    if (!unknown.empty()) {
        Error e(ExitCode::usage, "unknown table(s); nothing was vacuumed",
                "names are looked up as in SQL: schema.table, "
                "quoted if needed");
        std::vector<std::string> d;
        for (const auto& u : unknown)
            d.push_back("not a table: " + u);
        e.with_details(d);
        throw e;
    }
    std::sort(out.begin(), out.end(),
              [](const VacuumTarget& a, const VacuumTarget& b) { return a.bytes > b.bytes; });
    return out;
}

VacuumResult vacuum_one(pg::Connection& conn, const VacuumTarget& target,
                        const std::string& statement, bool skip_locked) {
    VacuumResult res;
    res.table = target.name;
    try {
        const TableStats before = table_stats(conn, target.oid);
        res.dead_before = before.dead;
        if (!target.may) {
            res.error =
                "skipped: only the table owner, the database owner or a superuser may "
                "vacuum it";
            return res;
        }
        const Stopwatch t0;
        exec(conn, statement + " " + target.name);
        res.seconds = t0.seconds();
        const TableStats after = table_stats(conn, target.oid);
        res.dead_after = after.dead;
        // Every mode includes ANALYZE, so a processed table's count moves;
        // SKIP_LOCKED only warns when it passes a table by. (A partitioned
        // table's own count never moves: not checked.)
        if (skip_locked && !target.partitioned && before.analyzed >= 0 &&
            after.analyzed == before.analyzed) {
            res.skipped = "skipped: locked by another session (--skip-locked)";
        }
    } catch (const pg::SqlError& e) {
        res.error = e.what();
    }
    return res;
}

std::string vacuum_statement(bool analyze_only, bool full, bool skip_locked) {
    std::string options = analyze_only ? "" : (full ? "FULL, ANALYZE" : "ANALYZE");
    if (skip_locked) options += options.empty() ? "SKIP_LOCKED" : ", SKIP_LOCKED";
    return std::string(analyze_only ? "ANALYZE" : "VACUUM") +
           (options.empty() ? "" : " (" + options + ")");
}

}  // namespace ctldb::maintenance
