// ctldb seed: the development data of the guide (idempotent), and
// `seed generate`: realistic synthetic data at scale, loaded with COPY.
// Both refuse to run in production (CTLDB_ENV, else NODE_ENV) unless --force.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/embedded.hpp"
#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/signals.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"
#include "pg/connection.hpp"
#include "pg/script.hpp"
#include "seed/generate.hpp"
#include "seed/seed_data.hpp"

#include <algorithm>

namespace ctldb::commands {

namespace {

struct SeedOptions {
    std::string dir;
    bool force = false;
    std::int64_t users = 0;
    std::string random_seed = "1";  // parsed strictly: 0 to 2^64-1
    std::int64_t batch = 5000;
    bool keep_indexes = false;
    std::string lock_timeout = "10s";
};

std::vector<std::pair<std::string, std::string>> seed_files(const SeedOptions& o) {
    std::vector<std::pair<std::string, std::string>> files;
    if (o.dir.empty()) {
        for (const auto& f : embedded_seeds())
            files.emplace_back(f.name, f.text());
        return files;
    }
    if (!fs::is_dir(o.dir)) throw usage_error("cannot read seed directory " + o.dir);
    const std::vector<std::string> names = fs::list_files(o.dir, ".sql");
    for (const auto& n : names)
        files.emplace_back(n, fs::read_file(o.dir + "/" + n));
    if (files.empty()) throw usage_error("no .sql files in " + o.dir);
    return files;
}

void require_tables(pg::Connection& conn,
                    const std::vector<std::pair<std::string, std::string>>& files,
                    const SeedOptions& o, const config::Config& cfg) {
    const auto missing = missing_tables(conn, files);
    if (missing.empty()) return;
    const std::string& migrations = cfg.get("migrations_dir").text;
    Error e(ExitCode::failure,
            std::to_string(missing.size()) +
                " table(s) the seed files use are not in this "
                "database; nothing was changed",
            o.dir.empty() ? "the built-in seeds need ctldb's schema: run 'ctldb migrate' first"
            : migrations.empty()
                ? "apply the migrations these seeds were written for first (ctldb migrate --dir "
                  "FOLDER, or set CTLDB_MIGRATIONS_DIR)"
                : "apply the migrations first: ctldb migrate (the folder " + migrations + ")");
    e.with_details(missing);
    throw e;
}

cli::Outcome run_seed(const SeedOptions& o, Context& ctx) {
    const config::Config& cfg = ctx.valid_config(true);
    cfg.refuse_in_production("seed the database", o.force);
    const auto files = seed_files(o);
    auto conn = pg::connect(cfg.connection());
    require_tables(*conn, files, o, cfg);
    pg::TransactionGuard tx(*conn);
    pg::RowCounts all;
    nlohmann::json per_file = nlohmann::json::array();
    for (const auto& [name, text] : files) {
        // Rows inserted, updated, deleted or copied: a summary SELECT's
        // rows are read, not seeded.
        const pg::RowCounts n = pg::run_script(*conn, name, text);
        per_file.push_back({{"file", name},
                            {"rows_inserted", n.inserted},
                            {"rows_updated", n.updated},
                            {"rows_deleted", n.deleted},
                            {"rows_changed", n.total()}});
        all += n;
    }
    tx.commit();
    std::string text = "seed data already present; nothing changed\n";
    if (all.total() != 0) {
        std::vector<std::string> parts;
        parts.push_back(std::to_string(all.inserted) + " inserted");
        if (all.updated > 0) parts.push_back(std::to_string(all.updated) + " updated");
        if (all.deleted > 0) parts.push_back(std::to_string(all.deleted) + " deleted");
        if (all.merged > 0) parts.push_back(std::to_string(all.merged) + " merged");
        text =
            "seeded " + std::to_string(files.size()) + " file(s): rows " + join(parts, ", ") + "\n";
    }
    return cli::Outcome::done(ExitCode::ok, text,
                              {{"rows_inserted", all.inserted},
                               {"rows_updated", all.updated},
                               {"rows_deleted", all.deleted},
                               {"rows_changed", all.total()},
                               {"files", per_file}});
}

// --- seed generate -----------------------------------------------------------

/// --random-seed: a whole number from 0 to 2^64-1, nothing else (no sign,
/// no wrap-around of -1 or of a number too large).
std::uint64_t parse_seed(const std::string& text) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text.size() > 20 ||
        text.find_first_not_of("0123456789") != std::string::npos || errno == ERANGE ||
        end != text.c_str() + text.size()) {
        throw usage_error("--random-seed '" + text + "' is not a whole number from 0 to " +
                          std::to_string(UINT64_MAX));
    }
    return static_cast<std::uint64_t>(v);
}

cli::Outcome report_generate(const SeedOptions& o, std::uint64_t seed, const seed::Generated& l) {
    const double mb = static_cast<double>(l.bytes) / 1e6;
    const double secs = l.seconds, rebuild_secs = l.rebuild_seconds;
    char line[240];
    std::snprintf(line, sizeof line,
                  "generated %lld users (%llu rows, %.1f MB) in %.2f s: %.1f MB/s "
                  "(load %.2f s, keys and indexes %.2f s)\n",
                  static_cast<long long>(o.users), static_cast<unsigned long long>(l.rows), mb,
                  secs, secs > 0 ? mb / secs : 0.0, secs - rebuild_secs, rebuild_secs);
    return cli::Outcome::done(ExitCode::ok, line,
                              {{"users", o.users},
                               {"random_seed", seed},
                               {"rows", l.rows},
                               {"copy_bytes", l.bytes},
                               {"duration_seconds", secs},
                               {"load_seconds", secs - rebuild_secs},
                               {"rebuild_seconds", rebuild_secs},
                               {"mb_per_second", secs > 0 ? mb / secs : 0.0}});
}

cli::Outcome run_generate(const SeedOptions& o, Context& ctx) {
    const config::Config& cfg = ctx.valid_config(true);
    cfg.refuse_in_production("seed the database", o.force);
    if (o.users <= 0) throw usage_error("--users must be a positive number");
    pg::check_pg_duration("--lock-timeout", o.lock_timeout);
    seed::GenerateOptions g;
    g.seed = parse_seed(o.random_seed);
    g.users = o.users;
    g.batch = o.batch;
    g.keep_indexes = o.keep_indexes;
    g.lock_timeout = o.lock_timeout;
    auto conn = pg::connect(cfg.connection());
    const seed::Generated done = seed::generate(*conn, g);
    return report_generate(o, g.seed, done);
}

}  // namespace

void bind_seed(CLI::App* cmd, Context& ctx) {
    static SeedOptions o;
    cmd->add_option("--dir", o.dir, "Directory of seed .sql files (default: built into ctldb)");
    cmd->add_flag("--force", o.force, "Allow it in production (CTLDB_ENV or NODE_ENV)");
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_seed(o, ctx); };
    });
    auto* gen = cmd->add_subcommand("generate", "Realistic synthetic data at scale, with COPY");
    gen->add_option("--users", o.users,
                    "How many users to generate (each with subscription, "
                    "payment methods, transactions, refunds, audit entries)")
        ->required()
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}));
    gen->add_option("--random-seed", o.random_seed,
                    "Seed: the same seed gives the same data (default 1)");
    gen->add_option("--batch-users", o.batch, "Users per COPY batch (default 5000)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{50000}));
    gen->add_flag("--keep-indexes", o.keep_indexes,
                  "Load with indexes and constraints in place (slower; no exclusive locks)");
    gen->add_option("--lock-timeout", o.lock_timeout,
                    "How long to wait for the tables' locks (PostgreSQL duration, default 10s), "
                    "then exit 4");
    gen->add_flag("--force", o.force, "Allow it in production (CTLDB_ENV or NODE_ENV)");
    gen->callback([&ctx] { ctx.run = [&ctx] { return run_generate(o, ctx); }; });
}

}  // namespace ctldb::commands
