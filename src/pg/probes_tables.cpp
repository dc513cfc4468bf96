// The table probe: sizes from pg_class (pages as of the last VACUUM,
// ANALYZE or index build; pg_total_relation_size would take a lock and
// queue behind any ALTER TABLE), tuples and times from the statistics, ages
// and the autovacuum thresholds in force for each table.
#include <sys/statvfs.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "pg/probes.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::pg::probe {

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

std::vector<TableStats> tables(Connection& conn, int limit, const std::string& schema) {
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
                 "'fillfactor')::int, 100), bs, n.nspname, c.relname "
                 "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "LEFT JOIN pg_class t ON t.oid = c.reltoastrelid "
                 "LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid, "
                 "(SELECT current_setting('block_size')::bigint AS bs) b "
                 "WHERE c.relkind IN ('r', 'm') AND " +
                 user_schema("n") + (schema.empty() ? "" : " AND n.nspname = $1") +
                 ") q ORDER BY q.heap + q.idx + q.toast DESC, q.name" +
                 (limit > 0 ? " LIMIT " + std::to_string(limit) : std::string()),
             schema.empty() ? std::vector<std::optional<std::string>>{}
                            : std::vector<std::optional<std::string>>{schema});
    std::vector<TableStats> out;
    for (int i = 0; i < r.rows(); ++i) {
        TableStats t;
        Row row(r, i);
        t.name = row.text();
        t.oid = row.int64();
        t.heap_bytes = row.int64();
        t.index_bytes = row.int64();
        t.toast_bytes = row.int64();
        t.estimated_rows = row.real();
        t.live_tuples = row.int64();
        t.dead_tuples = row.int64();
        t.vacuum_threshold = row.real();
        t.last_vacuum = row.optional();
        t.last_autovacuum = row.optional();
        t.last_analyze = row.optional();
        t.last_autoanalyze = row.optional();
        t.xid_age = row.int64();
        t.mxid_age = row.int64();
        t.freeze_max_age = row.int64();
        t.multixact_freeze_max_age = row.int64();
        const std::int64_t pages = row.int64();
        const std::optional<double> width = row.optional_real();
        const int fillfactor = static_cast<int>(row.int64());
        const int block_size = static_cast<int>(row.int64());
        t.schema = row.text();
        t.table = row.text();
        if (width && t.estimated_rows >= 0)
            t.bloat_bytes = bloat_estimate(pages, t.estimated_rows, *width, fillfactor, block_size);
        out.push_back(std::move(t));
    }
    return out;
}

namespace {

/// The exact sizes of the tables whose oids are in `oids` (a PostgreSQL
/// array literal): oid, heap (all forks), indexes, TOAST with its index.
QueryResult read_exact_sizes(Connection& conn, const std::string& oids) {
    return exec(conn,
                "SELECT c.oid, pg_table_size(c.oid) - coalesce(pg_total_relation_size("
                "nullif(c.reltoastrelid, 0)), 0), pg_indexes_size(c.oid), "
                "coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) "
                "FROM pg_class c WHERE c.oid = ANY($1::oid[])",
                {oids});
}

/// Take the sizes of `r` into the tables of `list` they belong to.
void take_sizes(const QueryResult& r, std::vector<TableStats>& list) {
    std::map<std::int64_t, TableStats*> by_oid;
    for (auto& t : list)
        by_oid[t.oid] = &t;
    for (int i = 0; i < r.rows(); ++i) {
        auto it = by_oid.find(r.get_int(i, 0));
        // NULL: the table was dropped since it was listed.
        if (it == by_oid.end() || r.is_null(i, 1) || r.is_null(i, 2)) continue;
        it->second->heap_bytes = r.get_int(i, 1);
        it->second->index_bytes = r.get_int(i, 2);
        it->second->toast_bytes = r.get_int(i, 3);
        it->second->size_exact = true;
    }
}

bool lock_not_granted(const SqlError& e) {
    return e.server().sqlstate == sqlstate::lock_not_available;
}

}  // namespace

int exact_sizes(Connection& conn, std::vector<TableStats>& list, int lock_ms) {
    if (list.empty()) return 0;
    const std::string before = exec(conn, "SHOW lock_timeout").get(0, 0);
    exec(conn, "SET lock_timeout = " + std::to_string(std::max(1, lock_ms)));
    std::string all = "{";
    for (const auto& t : list)
        all += (all.size() > 1 ? "," : "") + std::to_string(t.oid);
    all += "}";
    try {
        take_sizes(read_exact_sizes(conn, all), list);
    } catch (const SqlError& e) {
        if (!lock_not_granted(e)) throw;
        // One of them is locked: each on its own, so only that one keeps
        // its estimate.
        for (auto& t : list) {
            try {
                take_sizes(read_exact_sizes(conn, "{" + std::to_string(t.oid) + "}"), list);
            } catch (const SqlError& one) {
                if (!lock_not_granted(one)) throw;
            }
        }
    }
    exec(conn, "SELECT set_config('lock_timeout', $1, false)", {before});
    return static_cast<int>(
        std::count_if(list.begin(), list.end(), [](const TableStats& t) { return !t.size_exact; }));
}

std::optional<Volume> data_volume(Connection& conn, std::string& why_not) {
    const Setting dir = settings(conn, {"data_directory"}).front();
    if (!dir.value) {
        why_not = "the data directory is " + dir.unreadable;
        return std::nullopt;
    }
    QueryResult r = exec(conn,
                         "SELECT coalesce(host(inet_server_addr()), 'local'), "
                         "extract(epoch FROM pg_postmaster_start_time())::bigint, "
                         "current_setting('port')");
    const std::string addr = r.get(0, 0);
    if (addr != "local" && addr != "127.0.0.1" && addr != "::1") {
        why_not = "the server is on another machine (reached at " + addr + ")";
        return std::nullopt;
    }
    // A loopback connection may be a port forward to another machine whose
    // data directory has the same path: the postmaster.pid there must be
    // this server's (lines 3 and 4: start time and port). The file's time
    // is taken when the postmaster starts, pg_postmaster_start_time() a
    // little later (after the preloaded libraries), so they may differ.
    std::ifstream pid(*dir.value + "/postmaster.pid");
    char head[1024] = {};  // the lines needed are short: read no more
    pid.read(head, sizeof head - 1);
    std::vector<std::string> lines;
    std::string text(head, static_cast<std::size_t>(pid.gcount()));
    for (std::size_t start = 0; lines.size() < 4 && start < text.size();) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) break;
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    if (lines.size() < 4) {
        why_not = *dir.value +
                  "/postmaster.pid cannot be read here (not the server's machine, "
                  "or not its account)";
        return std::nullopt;
    }
    const long long started = std::atoll(lines[2].c_str());
    if (std::llabs(started - r.get_int(0, 1)) > 60 || lines[3] != r.get(0, 2)) {
        why_not = *dir.value + " here belongs to another server (a port forward?)";
        return std::nullopt;
    }
    struct statvfs v {};
    if (statvfs(dir.value->c_str(), &v) != 0) {
        why_not = "statvfs " + *dir.value + " failed";
        return std::nullopt;
    }
    Volume out;
    out.path = *dir.value;
    out.free_bytes = static_cast<std::int64_t>(v.f_bavail) * static_cast<std::int64_t>(v.f_frsize);
    out.total_bytes = static_cast<std::int64_t>(v.f_blocks) * static_cast<std::int64_t>(v.f_frsize);
    return out;
}

}  // namespace ctldb::pg::probe
