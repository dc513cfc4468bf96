// ctldb tables: the guide's "High disk usage" query done right. Per table
// the heap, indexes, TOAST and total size (the sizes of the files, adding up
// to pg_total_relation_size; a table whose lock is not granted at once keeps
// the catalog's estimate instead of queueing behind an ALTER TABLE), rows,
// dead tuples, last (auto)vacuum and analyze and a statistics-based bloat
// estimate, biggest first; the database's size and, when ctldb runs beside
// the server, the free space of the data directory's volume.
#include <algorithm>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/output.hpp"
#include "base/text.hpp"
#include "cli/context.hpp"
#include "cli/outcome.hpp"
#include "commands/commands.hpp"
#include "pg/connection.hpp"
#include "pg/probes.hpp"

namespace ctldb::commands {

namespace {

struct TablesOptions {
    int limit = 30;
    std::string schema;
};

struct TablesReport {
    std::string database;
    std::int64_t database_bytes = 0;
    std::optional<pg::probe::Volume> volume;
    std::string volume_why_not;
    std::vector<pg::probe::TableStats> tables;  ///< the ones shown
    std::size_t total_tables = 0;
    int estimated = 0;  ///< tables whose size is the catalog's estimate

    ExitCode code() const { return ExitCode::ok; }

    std::string text(bool) const {
        std::string out = "database " + printable(database) + ": " +
                          human_bytes(static_cast<double>(database_bytes));
        if (volume) {
            out +=
                "; data directory volume: " + human_bytes(static_cast<double>(volume->free_bytes)) +
                " free of " + human_bytes(static_cast<double>(volume->total_bytes)) + " (" +
                printable(volume->path) + ")";
        } else {
            out += "; free space not visible: " + volume_why_not;
        }
        out += "\n\n";
        if (tables.empty()) return out + "no tables\n";
        Table t({"TABLE", "TOTAL", "HEAP", "INDEXES", "TOAST", "ROWS", "DEAD", "VACUUMED",
                 "ANALYZED", "BLOAT"});
        for (const auto& x : tables) {
            const auto b = [](std::int64_t v) { return human_bytes(static_cast<double>(v)); };
            t.add_row({printable(x.name), b(x.total_bytes()) + (x.size_exact ? "" : " ~"),
                       b(x.heap_bytes), b(x.index_bytes), b(x.toast_bytes),
                       x.estimated_rows < 0
                           ? "?"
                           : std::to_string(static_cast<std::int64_t>(x.estimated_rows)),
                       std::to_string(x.dead_tuples), time_text(x.vacuumed_at()),
                       time_text(x.analyzed_at()), x.bloat_bytes ? b(*x.bloat_bytes) : "?"});
        }
        out += t.render();
        if (tables.size() < total_tables) {
            out += std::to_string(tables.size()) + " of " + std::to_string(total_tables) +
                   " tables shown (--limit 0 shows all)\n";
        }
        if (estimated > 0) {
            out += "~ " + std::to_string(estimated) +
                   " table(s) locked by another session: size from the catalog (as of the last "
                   "VACUUM or ANALYZE)\n";
        }
        return out;
    }

    nlohmann::json json() const {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& x : tables) {
            list.push_back({{"schema", x.schema},
                            {"table", x.table},
                            {"name", x.name},
                            {"total_bytes", x.total_bytes()},
                            {"heap_bytes", x.heap_bytes},
                            {"index_bytes", x.index_bytes},
                            {"toast_bytes", x.toast_bytes},
                            {"size_exact", x.size_exact},
                            {"estimated_rows",
                             x.estimated_rows < 0
                                 ? nlohmann::json(nullptr)
                                 : nlohmann::json(static_cast<std::int64_t>(x.estimated_rows))},
                            {"live_tuples", x.live_tuples},
                            {"dead_tuples", x.dead_tuples},
                            {"last_vacuum_at", time_json(x.last_vacuum)},
                            {"last_autovacuum_at", time_json(x.last_autovacuum)},
                            {"last_analyze_at", time_json(x.last_analyze)},
                            {"last_autoanalyze_at", time_json(x.last_autoanalyze)},
                            {"bloat_bytes", x.bloat_bytes ? nlohmann::json(*x.bloat_bytes)
                                                          : nlohmann::json(nullptr)}});
        }
        nlohmann::json vol = nullptr;
        if (volume) {
            vol = {{"path", volume->path},
                   {"free_bytes", volume->free_bytes},
                   {"total_bytes", volume->total_bytes}};
        }
        return {{"database", {{"name", database}, {"size_bytes", database_bytes}}},
                {"volume", vol},
                {"volume_not_visible",
                 volume ? nlohmann::json(nullptr) : nlohmann::json(volume_why_not)},
                {"tables", list},
                {"shown", tables.size()},
                {"total_tables", total_tables}};
    }
};

TablesReport run_tables(const TablesOptions& o, Context& ctx) {
    auto conn = pg::connect(ctx.valid_config(true).connection());
    pg::probe::bound_reads(*conn);
    TablesReport r;
    r.database = pg::probe::current_database(*conn);
    r.database_bytes = pg::probe::database_size(*conn);
    r.volume = pg::probe::data_volume(*conn, r.volume_why_not);
    // Every table's exact size first, then the biggest: the catalog's
    // order may differ from the files' one.
    r.tables = pg::probe::tables(*conn, 0, o.schema);
    r.total_tables = r.tables.size();
    pg::probe::exact_sizes(*conn, r.tables);
    std::stable_sort(r.tables.begin(), r.tables.end(),
                     [](const pg::probe::TableStats& a, const pg::probe::TableStats& b) {
                         return a.total_bytes() > b.total_bytes();
                     });
    if (o.limit > 0 && r.tables.size() > static_cast<std::size_t>(o.limit))
        r.tables.resize(static_cast<std::size_t>(o.limit));
    r.estimated = static_cast<int>(
        std::count_if(r.tables.begin(), r.tables.end(),
                      [](const pg::probe::TableStats& t) { return !t.size_exact; }));
    return r;
}

}  // namespace

void bind_tables(CLI::App* cmd, Context& ctx) {
    static TablesOptions o;
    cmd->add_option("--limit", o.limit, "Show the N biggest tables; 0 shows all (default 30)")
        ->check(CLI::Range(0, 1000000));
    cmd->add_option("--schema", o.schema,
                    "Only tables of this schema (default: every user schema)");
    cmd->callback([&ctx] { ctx.run = [&ctx] { return cli::Outcome::of(run_tables(o, ctx)); }; });
}

}  // namespace ctldb::commands
