// ctldb migrate: versioned schema migrations that are safe in CI and pods.
//
// One migration = one transaction, or statement by statement for files
// marked "-- ctldb:no-transaction". Runners serialise on a session advisory
// lock; lock_timeout and statement_timeout are set while migrating. There
// is no "dirty" state: a failed transactional migration leaves nothing.
#include <chrono>
#include <cstdint>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/findings.hpp"
#include "base/fs.hpp"
#include "base/log.hpp"
#include "base/signals.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "cli/cli_values.hpp"
#include "cli/context.hpp"
#include "commands/commands.hpp"
#include "commands/migrate.hpp"
#include "migrate/file_runner.hpp"
#include "migrate/foreign_history.hpp"
#include "migrate/migration_history.hpp"
#include "migrate/migrations.hpp"
#include "pg/connection.hpp"
#include "pg/pipeline.hpp"
#include "pg/probes.hpp"
#include "pg/script.hpp"
#include "pg/sql.hpp"

namespace ctldb::commands {

migrate::MigrationSet load_set(const MigrateOptions& o, Context& ctx) {
    const migrate::MigrationsFolder folder =
        migrate::migrations_folder(ctx.config(), o.dir, "--dir", o.layout);
    if (folder.dir.empty()) return migrate::embedded_migration_set();
    if (!fs::is_dir(folder.dir))
        throw usage_error(folder.source + " " + folder.dir + " is not a directory");
    migrate::MigrationSet set = load_migrations_dir(folder.dir, folder.layout);
    log::detail(
        folder.dir + " (" + folder.source + "): " + layout_name(set.layout) + " layout" +
        (folder.layout == migrate::MigrationLayout::automatic ? " (told from the files)" : "") +
        ", " + std::to_string(set.migrations.size()) + " migration(s)");
    std::vector<std::string> sql, other;
    for (const auto& f : set.ignored)
        (ends_with(f, ".sql") ? sql : other).push_back(f);
    if (!sql.empty()) {
        // A runner that applies every *.sql would run them: say so.
        log::info(std::to_string(sql.size()) + " .sql file(s) without a version, not run by the " +
                  layout_name(set.layout) + " layout: " + join(sql, ", ") +
                  (set.layout == migrate::MigrationLayout::numbered
                       ? " (a runner that applies every *.sql in name order: --layout node)"
                       : ""));
    }
    if (!other.empty()) log::detail("not migrations, ignored: " + join(other, ", "));
    if (set.migrations.empty()) {
        // Most likely the wrong directory; as a set it would report every
        // applied migration as missing.
        throw usage_error(
            "no migration files in " + folder.dir + " (" + accepted_forms(set.layout) + ")",
            "check --dir and --layout; 'ctldb migrate create NAME --dir " + folder.dir +
                "' starts a new set");
    }
    return set;
}

const migrate::Migration* migration_of(const migrate::MigrationSet& set, const std::string& option,
                                       const std::string& text, bool allow_zero) {
    if (const migrate::Migration* m = set.find_label(text)) return m;
    if (allow_zero && text.find_first_not_of('0') == std::string::npos && !text.empty())
        return nullptr;
    throw usage_error(option + " " + text + ": no migration with that version in " + set.source,
                      "'ctldb migrate status' lists the versions");
}

struct Applied {
    std::int64_t version;
    std::string name;
    std::string file;
    std::int64_t ms;
};

/// The shadowed files an up leaves, with the choices, for JSON.
nlohmann::json shadowed_json(const std::vector<const migrate::Migration*>& left) {
    nlohmann::json arr = nlohmann::json::array();
    for (const migrate::Migration* m : left) {
        arr.push_back({{"file", m->file},
                       {"key", m->key},
                       {"shadowed_by", m->shadowed_by},
                       {"choices", {"--include " + m->file, "leave it"}}});
    }
    return arr;
}

migrate::RunTimeouts timeouts_of(const MigrateOptions& o) {
    return {o.ddl_lock_timeout, o.statement_timeout};
}

void require_static_checks(const std::vector<const migrate::Migration*>& files, bool down,
                           migrate::ParsedFiles& parsed) {
    std::vector<std::string> problems;
    for (const migrate::Migration* m : files) {
        auto p =
            down ? migrate::check_migration_sql(m->down_file, parsed.down(*m),
                                                parsed.outside(*m, true))
                 : migrate::check_migration_sql(m->file, parsed.up(*m), parsed.outside(*m, false));
        problems.insert(problems.end(), p.begin(), p.end());
    }
    if (problems.empty()) return;
    Error e(ExitCode::failure,
            std::to_string(problems.size()) + " problem" + (problems.size() == 1 ? "" : "s") +
                " in the migration files; nothing was run",
            "ctldb migrate validate lists them too");
    e.with_details(problems);
    throw e;
}

nlohmann::json status_json(const migrate::MigrationStatus& st) {
    nlohmann::json j = {
        {"version", st.version},
        {"label", st.file ? nlohmann::json(st.file->label) : nlohmann::json(nullptr)},
        {"name", st.name},
        {"state", migration_state_name(st.state)},
        {"file", st.file ? nlohmann::json(st.file->file) : nlohmann::json(nullptr)},
        {"no_transaction", st.file ? st.file->no_transaction : false}};
    if (st.file) {
        j["key"] = st.file->key;
        j["down_file"] = st.file->down_sql ? nlohmann::json(st.file->down_file) : nlohmann::json();
        if (!st.file->shadowed_by.empty()) j["shadowed_by"] = st.file->shadowed_by;
    }
    if (st.applied) {
        j["applied_at"] = st.applied->applied_at;
        j["applied_by"] = st.applied->applied_by;
        j["execution_ms"] = st.applied->execution_ms;
    } else {
        j["applied_at"] = nullptr;
    }
    return j;
}

Style state_style(migrate::MigrationState state) {
    switch (state) {
        case migrate::MigrationState::applied:
            return Style::green;
        case migrate::MigrationState::pending:
        case migrate::MigrationState::shadowed:
            return Style::yellow;
        case migrate::MigrationState::modified:
        case migrate::MigrationState::missing:
        case migrate::MigrationState::out_of_order:
            return Style::red;
    }
    return Style::none;
}

/// A node runner's folder file by file: every file with what the runner
/// did or will do with it, rollback files beside the file they undo.
std::string node_status_table(const migrate::MigrationSet& set,
                              const std::vector<migrate::MigrationStatus>& list, bool color) {
    Table t({"FILE", "KEY", "STATE", "APPLIED AT", "BY", "MS", "NOTE"});
    for (const auto& st : list) {
        std::string note;
        if (st.file && !st.file->shadowed_by.empty()) {
            note = st.applied ? "included under its own name; key " + st.file->key + " is " +
                                    st.file->shadowed_by + "'s"
                              : "by " + st.file->shadowed_by +
                                    ": never applied by the runner (--include " + st.file->file +
                                    " applies it under its own name)";
        }
        t.add_row({st.file ? st.file->file : "(no file) " + st.name,
                   st.file ? st.file->key : std::to_string(st.version),
                   styled(migration_state_name(st.state), state_style(st.state), color),
                   st.applied ? st.applied->applied_at : "",
                   st.applied ? st.applied->applied_by : "",
                   st.applied ? std::to_string(st.applied->execution_ms) : "", note});
        if (st.file && st.file->down_sql) {
            t.add_row(
                {st.file->down_file, st.file->key, "rollback", "", "", "", "of " + st.file->file});
        }
    }
    for (const auto& d : set.orphan_downs) {
        t.add_row({d.file, "", styled("rollback", Style::yellow, color), "", "", "",
                   "of " + d.undoes + ", which is not in the folder; never applied"});
    }
    return t.render();
}

/// Rollback files without their migration, said by the commands that do
/// not list every file (status and validate do).
void warn_orphans(const migrate::MigrationSet& set) {
    for (const auto& d : set.orphan_downs)
        log::warn(d.describe());
}

std::string status_table(const std::vector<migrate::MigrationStatus>& list, bool color) {
    Table t({"VERSION", "NAME", "STATE", "APPLIED AT", "BY", "MS"});
    for (const auto& st : list) {
        t.add_row({st.file ? st.file->label : std::to_string(st.version), st.name,
                   styled(migration_state_name(st.state), state_style(st.state), color),
                   st.applied ? st.applied->applied_at : "",
                   st.applied ? st.applied->applied_by : "",
                   st.applied ? std::to_string(st.applied->execution_ms) : ""});
    }
    return t.render();
}

/// Drift that up/down refuse to run over.
std::vector<std::string> drift(const std::vector<migrate::MigrationStatus>& list) {
    std::vector<std::string> out;
    for (const auto& st : list) {
        if (st.state == migrate::MigrationState::modified) {
            out.push_back(st.file->file + " changed after it was applied (checksum " +
                          st.applied->checksum.substr(0, 12) + "… now " +
                          st.file->checksum.substr(0, 12) + "…)");
        } else if (st.state == migrate::MigrationState::missing) {
            out.push_back(recorded_label(st) + " is applied but its file is gone");
        }
    }
    return out;
}

std::unique_ptr<pg::Connection> open(Context& ctx) {
    auto conn = pg::connect(ctx.valid_config(true).connection());
    return conn;
}

/// Pending migrations up to `to` (null: all), and why they may not run.
struct UpPlan {
    std::vector<migrate::MigrationStatus> list;
    std::vector<const migrate::Migration*> todo;
    std::vector<std::string> problems;
    /// node: shadowed files not applied and not named by --include.
    std::vector<const migrate::Migration*> left_shadowed;
};

UpPlan plan_up(const migrate::MigrationSet& set,
               const std::vector<migrate::AppliedMigration>& history, const migrate::Migration* to,
               const MigrateOptions& o) {
    UpPlan p;
    p.list = migration_status(set, history);
    p.problems = drift(p.list);
    bool past_to = false;
    for (const auto& st : p.list) {
        const bool included = st.file != nullptr && std::find(o.include.begin(), o.include.end(),
                                                              st.file->file) != o.include.end();
        if (st.state == migrate::MigrationState::shadowed && !included) {
            p.left_shadowed.push_back(st.file);
            continue;
        }
        if (past_to || (st.state != migrate::MigrationState::pending &&
                        st.state != migrate::MigrationState::out_of_order &&
                        st.state != migrate::MigrationState::shadowed)) {
            past_to = past_to || (to != nullptr && st.file == to);
            continue;
        }
        past_to = to != nullptr && st.file == to;
        if (st.state == migrate::MigrationState::out_of_order && !o.allow_out_of_order) {
            p.problems.push_back(st.file->file +
                                 " is older than migrations already applied (out of order); pass "
                                 "--allow-out-of-order to apply it anyway");
        }
        p.todo.push_back(st.file);
    }
    return p;
}

/// --include names files the runner never applies (shadowed): anything
/// else is a mistake worth stopping for.
void check_includes(const migrate::MigrationSet& set, const MigrateOptions& o) {
    for (const auto& file : o.include) {
        const migrate::Migration* m = set.find_file(file);
        if (m == nullptr || m->shadowed_by.empty()) {
            throw usage_error(
                "--include " + file + ": not a shadowed file of " + set.source,
                m == nullptr ? "'ctldb migrate status' lists the files"
                             : file +
                                   " is a migration the runner applies anyway: leave --include "
                                   "out");
        }
    }
}

/// Shadowed files are never left out silently: each with the choices.
void warn_shadowed(const UpPlan& plan) {
    for (const migrate::Migration* m : plan.left_shadowed) {
        log::warn(m->file + " not applied: its key " + m->key + " is " + m->shadowed_by +
                  "'s, so the node runner never applies it. Apply it under its own name with "
                  "--include " +
                  m->file + ", or leave it (rename or remove the file to stop this warning)");
    }
}

cli::Outcome up_dry_run(const migrate::MigrationSet& set, const UpPlan& up,
                        migrate::ParsedFiles& parsed) {
    const auto& todo = up.todo;
    nlohmann::json plan = nlohmann::json::array();
    for (const migrate::Migration* m : todo) {
        plan.push_back({{"version", m->version},
                        {"key", m->key},
                        {"name", m->name},
                        {"file", m->file},
                        {"no_transaction", parsed.outside(*m, false)},
                        {"sql", m->sql}});
    }
    std::string out = todo.empty() ? "nothing to apply: the database is up to date\n"
                                   : "would apply " + std::to_string(todo.size()) +
                                         " migration(s) from " + set.source + ":\n";
    for (const migrate::Migration* m : todo) {
        out += "\n-- " + m->file +
               (parsed.outside(*m, false) ? " (no transaction)" : " (one transaction)") + "\n" +
               m->sql;
        if (!m->sql.empty() && m->sql.back() != '\n') out += "\n";
    }
    return cli::Outcome::done(ExitCode::ok, out,
                              {{"dry_run", true},
                               {"source", set.source},
                               {"plan", plan},
                               {"shadowed", shadowed_json(up.left_shadowed)}});
}

/// The error of a first migration that fails on objects that exist: a
/// schema made before ctldb. Says "adopt it" only when it really is this
/// schema (what some prefix 1..V of the migrations creates).
Error adopt_hint(pg::Connection& conn, const migrate::MigrationSet& set,
                 migrate::ParsedFiles& parsed, const Error& e) {
    // Another tool's history says what it applied: adopting that is the
    // match, whatever prefix of the files the schema happens to equal.
    std::optional<migrate::ForeignHistory> foreign;
    try {
        foreign = read_foreign_history(conn, migrate::HistoryTool::automatic);
    } catch (const Error&) {
        // None, or not readable: the schema comparison below decides.
    }
    if (foreign && foreign->refusal.empty()) {
        const migrate::AdoptionPlan a = map_history(*foreign, set);
        const std::string tool = history_tool_name(foreign->tool);
        std::string how = "ctldb migrate baseline --from " + tool;
        if (set.source != "embedded") how += " --dir " + set.source;
        if (set.source != "embedded" && foreign->tool == migrate::HistoryTool::node &&
            set.layout != migrate::MigrationLayout::node)
            how += " --layout node";
        const std::string recorded = "the database was migrated by " + tool + ", which recorded " +
                                     std::to_string(foreign->records.size() +
                                                    (foreign->up_to || foreign->baseline ? 1 : 0)) +
                                     " migration(s) in " + foreign->table;
        // ctldb's own schema, or a folder none of whose files that tool ran,
        // is the wrong folder: adopting would map nothing (or, by numbers
        // alone, the wrong files: its 001 is not ctldb's 0001).
        const bool wrong_folder = a.items.empty() || set.source == "embedded";
        const std::string point =
            "point ctldb at the folder " + tool + " ran (--dir, or CTLDB_MIGRATIONS_DIR" +
            (foreign->tool == migrate::HistoryTool::node ? " with CTLDB_MIGRATIONS_LAYOUT=node"
                                                         : std::string()) +
            "), then 'ctldb migrate baseline --from " + tool + "'";
        Error adopt(
            e.code(), e.what(),
            wrong_folder
                ? recorded + (a.items.empty()
                                  ? ", none of them " +
                                        (set.source == "embedded"
                                             ? std::string("ctldb's built-in migrations")
                                             : "files of " + set.source) +
                                        ": " + point
                                  : "; unless those were the guide's own files that ctldb ships "
                                    "(then '" +
                                        how + " --dry-run' compares the schema), " + point)
                : recorded + " (" + std::to_string(a.items.size()) + " of them files here, up to " +
                      a.items.back().migration->file + "): adopt that history with '" + how +
                      " --dry-run', then '" + how +
                      "'; nothing runs, later migrations apply normally");
        adopt.with_details(e.details());
        return adopt;
    }
    const auto v = matching_version(conn, set, parsed);
    Error adopt(e.code(), e.what(),
                v ? "the database already holds exactly what migrations up to " +
                        std::to_string(*v) +
                        " create (compared object by object), made without ctldb: adopt it "
                        "with 'ctldb migrate baseline " +
                        std::to_string(*v) + "'; nothing runs, later migrations apply normally"
                  : "the database has objects of the same names, but not the schema these "
                    "migrations create: it was made by something else (the guide's node "
                    "scripts?). 'ctldb migrate baseline V --dry-run' lists the differences; "
                    "bring the schema in line before adopting it");
    adopt.with_details(e.details());
    return adopt;
}

bool already_exists(const Error& e) {
    const auto& d = e.details();
    return std::any_of(d.begin(), d.end(), [](const std::string& l) {
        return l == "sqlstate: 42P07" || l == "sqlstate: 42710";
    });
}

/// Apply `todo` in order, each recorded in its own transaction (or after
/// it, for a no-transaction file).
std::vector<Applied> apply_all(pg::Connection& conn, const MigrateOptions& o,
                               const migrate::MigrationSet& set, const UpPlan& plan,
                               migrate::ParsedFiles& parsed) {
    const std::string by = migrate::applied_by(conn);
    const bool no_history =
        std::none_of(plan.list.begin(), plan.list.end(),
                     [](const migrate::MigrationStatus& st) { return st.applied.has_value(); });
    std::vector<Applied> applied;
    for (const migrate::Migration* m : plan.todo) {
        const bool outside = parsed.outside(*m, false);
        log::info("applying " + m->file + (outside ? " (no transaction)" : ""));
        std::int64_t ms = 0;
        const Stopwatch start;
        try {
            run_migration_file(conn, timeouts_of(o), m->file, m->sql, parsed.up(*m), outside, [&] {
                ms = start.ms();
                // In the migration's own transaction: the history table
                // appears with the first migration that commits, not with a
                // run that was refused or failed.
                migrate::create_history(conn);
                record_applied(conn, *m, by, ms, outside);
            });
        } catch (Error& e) {
            if (!no_history || !applied.empty() || !already_exists(e)) throw;
            throw adopt_hint(conn, set, parsed, e);
        }
        applied.push_back({m->version, m->name, m->file, ms});
        log::info("applied " + m->file + " in " + std::to_string(ms) + " ms");
    }
    return applied;
}

cli::Outcome run_up(const MigrateOptions& o, Context& ctx) {
    pg::check_pg_duration("--ddl-lock-timeout", o.ddl_lock_timeout);
    pg::check_pg_duration("--statement-timeout", o.statement_timeout);
    const migrate::MigrationSet set = load_set(o, ctx);
    warn_orphans(set);
    check_includes(set, o);
    const migrate::Migration* to = nullptr;  // all
    if (!o.to.empty()) to = migration_of(set, "--to", o.to);
    auto conn = open(ctx);
    // Plan and parse before taking the lock: reading a big file must not
    // hold other runners up. Under the lock the plan is made again from the
    // history as it is then; only files new to it are parsed there.
    migrate::ParsedFiles parsed;
    UpPlan plan = plan_up(set, migrate::read_history(*conn), to, o);
    if (plan.problems.empty()) require_static_checks(plan.todo, false, parsed);
    std::unique_ptr<migrate::MigrationLock> lock;
    if (!o.dry_run) {
        lock = std::make_unique<migrate::MigrationLock>(*conn, o.lock_timeout_s);
        plan = plan_up(set, migrate::read_history(*conn), to, o);
    }
    if (!plan.problems.empty()) {
        Error e(ExitCode::failure, "refusing to migrate: the database and the files disagree",
                "ctldb migrate status shows the details; restore the original files");
        e.with_details(plan.problems);
        throw e;
    }
    require_static_checks(plan.todo, false, parsed);
    warn_shadowed(plan);
    if (o.dry_run) return up_dry_run(set, plan, parsed);
    const std::vector<Applied> applied = apply_all(*conn, o, set, plan, parsed);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& a : applied) {
        arr.push_back(
            {{"version", a.version}, {"name", a.name}, {"file", a.file}, {"execution_ms", a.ms}});
    }
    return cli::Outcome::done(ExitCode::ok,
                              applied.empty() ? "database is up to date; nothing applied\n"
                                              : "applied " + std::to_string(applied.size()) +
                                                    " migration(s); database is up to date\n",
                              {{"source", set.source},
                               {"applied", arr},
                               {"shadowed", shadowed_json(plan.left_shadowed)}});
}

cli::Outcome run_status(const MigrateOptions& o, Context& ctx) {
    // The statuses point into the set: the renderings, made when the
    // runner prints, hold both.
    const auto set = std::make_shared<const migrate::MigrationSet>(load_set(o, ctx));
    auto conn = open(ctx);
    const auto list = std::make_shared<const std::vector<migrate::MigrationStatus>>(
        migration_status(*set, migrate::read_history(*conn)));
    std::size_t pending = 0, bad = 0, shadowed = 0;
    for (const auto& st : *list) {
        if (st.state == migrate::MigrationState::pending ||
            st.state == migrate::MigrationState::out_of_order)
            ++pending;
        if (st.state == migrate::MigrationState::modified ||
            st.state == migrate::MigrationState::missing)
            ++bad;
        if (st.state == migrate::MigrationState::shadowed) ++shadowed;
    }
    ExitCode code = bad > 0 ? ExitCode::failure : ExitCode::ok;
    if (o.check && (pending > 0 || bad > 0)) code = ExitCode::failure;
    auto json = [set, list, pending, bad, shadowed] {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& st : *list)
            arr.push_back(status_json(st));
        nlohmann::json orphans = nlohmann::json::array();
        for (const auto& d : set->orphan_downs)
            orphans.push_back(d.describe());
        return nlohmann::json{{"source", set->source}, {"layout", layout_name(set->layout)},
                              {"pending", pending},    {"drift", bad},
                              {"shadowed", shadowed},  {"orphan_rollbacks", orphans},
                              {"migrations", arr}};
    };
    auto text = [set, list, pending, bad, shadowed](bool color) {
        std::string summary = pending + bad == 0 ? "up to date"
                                                 : std::to_string(pending) + " pending, " +
                                                       std::to_string(bad) + " modified or missing";
        if (shadowed > 0) {
            summary += "; " + std::to_string(shadowed) +
                       " shadowed (never applied by the runner: migrate up --include FILE "
                       "applies one under its own name)";
        }
        return (set->layout == migrate::MigrationLayout::node
                    ? node_status_table(*set, *list, color)
                    : status_table(*list, color)) +
               summary + "\n";
    };
    return cli::Outcome::lazy(code, text, json);
}

cli::Outcome run_lint(const MigrateOptions& o, Context& ctx) {
    const migrate::MigrationSet set = load_set(o, ctx);
    warn_orphans(set);
    migrate::ParsedFiles parsed;
    nlohmann::json arr = nlohmann::json::array();
    Table t({"FILE", "LINE", "RULE", "MESSAGE"});
    std::size_t n = 0;
    std::vector<const migrate::Migration*> files;
    for (const auto* list : {&set.migrations, &set.shadowed}) {
        for (const auto& m : *list)
            files.push_back(&m);
    }
    for (const migrate::Migration* file : files) {
        const migrate::Migration& m = *file;
        for (const auto& p :
             migrate::check_migration_sql(m.file, parsed.up(m), parsed.outside(m, false))) {
            arr.push_back(
                {{"file", m.file}, {"line", nullptr}, {"rule", "invalid"}, {"message", p}});
            t.add_row({m.file, "", "invalid", p});
            ++n;
        }
        for (const auto& l : pg::sql::lint(parsed.up(m))) {
            arr.push_back(
                {{"file", m.file}, {"line", l.line}, {"rule", l.rule}, {"message", l.message}});
            t.add_row({m.file, std::to_string(l.line), l.rule, l.message});
            ++n;
        }
    }
    return cli::Outcome::done(
        n == 0 ? ExitCode::ok : ExitCode::failure,
        n == 0 ? "no findings in " + std::to_string(files.size()) + " files\n" : t.render(),
        {{"source", set.source}, {"findings", arr}});
}

cli::Outcome run_create(const MigrateOptions& o, Context& ctx) {
    const migrate::MigrationsFolder folder =
        migrate::migrations_folder(ctx.config(), o.dir, "--dir", o.layout);
    const std::string dir = folder.dir.empty() ? "migrations" : folder.dir;
    auto name = migrate::normalise_migration_name(o.name);
    if (!name) {
        throw usage_error("'" + o.name + "' is not a usable migration name",
                          "use letters, digits, spaces, - and _ (e.g. add_invoice_table)");
    }
    if (!fs::is_dir(dir)) {
        throw usage_error(dir + " is not a directory", "create it, or pass --dir");
    }
    // The folder's own layout, width and separator.
    const migrate::MigrationSet set = load_migrations_dir(dir, folder.layout);
    const auto files = new_migration_files(set, *name, o.no_transaction, std::time(nullptr));
    nlohmann::json written = nlohmann::json::array();
    std::string text;
    for (const auto& [file, body] : files) {
        fs::write_new(dir + "/" + file, body, 0644);
        written.push_back(dir + "/" + file);
        text += dir + "/" + file + "\n";
    }
    return cli::Outcome::done(
        ExitCode::ok, text,
        {{"file", written[0]}, {"files", written}, {"layout", layout_name(set.layout)}});
}

namespace {

/// The options every migrate subcommand binds (one command runs).
MigrateOptions& opts() {
    static MigrateOptions o;
    return o;
}

void add_dir(CLI::App* c) {
    c->add_option("--dir,--migrations-dir", opts().dir,
                  "The migrations folder (default CTLDB_MIGRATIONS_DIR, else the set built "
                  "into ctldb)");
    c->add_option("--layout", opts().layout,
                  "How --dir names its files: auto (default: told from the files), numbered, "
                  "golang-migrate, flyway, dbmate or node (a hand-written runner: every "
                  "*.sql in name order)");
}

void add_timeouts(CLI::App* c) {
    c->add_option("--lock-timeout", opts().lock_timeout_s,
                  "How long to wait for another runner's migration lock, then exit 4 "
                  "(default 60s)")
        ->transform(cli::duration_seconds())
        ->check(CLI::Range(0, 86400));
    c->add_option("--ddl-lock-timeout", opts().ddl_lock_timeout,
                  "lock_timeout of each statement while migrating (default 10s)");
    c->add_option("--statement-timeout", opts().statement_timeout,
                  "statement_timeout while migrating (default 15m; 0: none)");
}

void add_up_options(CLI::App* c) {
    add_dir(c);
    add_timeouts(c);
    c->add_option("--to", opts().to,
                  "Apply up to and including this version (default: the newest)");
    c->add_flag("--dry-run", opts().dry_run, "Print the plan and its SQL; change nothing");
    c->add_flag("--allow-out-of-order", opts().allow_out_of_order,
                "Apply files older than migrations already applied");
    c->add_option("--include", opts().include,
                  "node layout: apply this shadowed file (its number is an earlier file's) "
                  "under its own name (repeatable; default: shadowed files are listed, "
                  "not applied)");
}

/// status, validate and lint: they read, never change.
void register_inspection(CLI::App* cmd, Context& ctx) {
    MigrateOptions& o = opts();
    auto* status =
        cmd->add_subcommand("status", "Applied, pending, modified and missing migrations");
    add_dir(status);
    status->add_flag("--check", o.check, "Exit 1 when anything is pending (a CI gate)");
    status->callback([&ctx] { ctx.run = [&ctx] { return run_status(opts(), ctx); }; });

    auto* validate = cmd->add_subcommand(
        "validate",
        "Check files (syntax, transaction rules), checksums and the schema against the database");
    add_dir(validate);
    validate->add_flag("--no-schema-check", o.no_schema_check,
                       "Skip building the applied migrations in a scratch schema (rolled back) "
                       "and comparing it with the database");
    validate->callback([&ctx] { ctx.run = [&ctx] { return run_validate(opts(), ctx); }; });

    auto* lint = cmd->add_subcommand("lint", "Warn about risky statements on existing tables");
    add_dir(lint);
    lint->callback([&ctx] { ctx.run = [&ctx] { return run_lint(opts(), ctx); }; });
}

/// baseline and create: the history and the folder.
void register_bookkeeping(CLI::App* cmd, Context& ctx) {
    MigrateOptions& o = opts();
    auto* baseline = cmd->add_subcommand(
        "baseline", "Record migrations up to VERSION as applied without running them");
    add_dir(baseline);
    baseline->add_option("version", o.baseline_version,
                         "Last version the database already has (no default: give it or --from)");
    baseline->add_option(
        "--from", o.from,
        "Adopt what another tool recorded: auto, node, golang-migrate, dbmate "
        "or flyway (its schema_migrations or flyway_schema_history; default: not used)");
    baseline
        ->add_option("--lock-timeout", o.lock_timeout_s,
                     "How long to wait for the migration lock (default 60s)")
        ->transform(cli::duration_seconds())
        ->check(CLI::Range(0, 86400));
    baseline->add_flag("--dry-run", o.dry_run,
                       "Compare the schema and show what would be recorded; record nothing");
    baseline->add_flag("--force", o.force,
                       "Record even when the schema differs from what the migrations create "
                       "(noted in the history)");
    baseline->callback([&ctx] { ctx.run = [&ctx] { return run_baseline(opts(), ctx); }; });

    auto* create = cmd->add_subcommand("create", "Write the next numbered migration file");
    create->add_option("name", o.name, "What the migration does, e.g. add_invoices")->required();
    create->add_option("--dir", o.dir, "Directory (default ./migrations)");
    create->add_option("--layout", o.layout,
                       "How the folder names its files (default: told from the files)");
    create->add_flag("--no-transaction", o.no_transaction,
                     "Start the file with -- ctldb:no-transaction");
    create->callback([&ctx] { ctx.run = [&ctx] { return run_create(opts(), ctx); }; });
}

void register_down(CLI::App* cmd, Context& ctx) {
    MigrateOptions& o = opts();
    auto* down = cmd->add_subcommand("down", "Roll back applied migrations with their down files");
    add_dir(down);
    add_timeouts(down);
    down->add_option(
        "--to", o.to,
        "Roll back every migration newer than this version (default: the newest one only)");
    down->add_option("--steps", o.steps, "How many migrations to roll back (default 1)")
        ->check(CLI::Range(1, 1000000));
    down->add_flag("--force", o.force, "Allow it in production (CTLDB_ENV or NODE_ENV)");
    down->add_flag("--dry-run", o.dry_run,
                   "Print what would be rolled back, the tables it destroys and its SQL; change "
                   "nothing");
    down->add_flag("-y,--yes", o.yes,
                   "Roll back without asking even when tables holding rows are dropped or "
                   "emptied (needed off a terminal)");
    down->callback([&ctx] { ctx.run = [&ctx] { return run_down(opts(), ctx); }; });
}

}  // namespace

void bind_migrate(CLI::App* cmd, Context& ctx) {
    add_up_options(cmd);
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_up(opts(), ctx); };
    });
    auto* up = cmd->add_subcommand("up", "Apply pending migrations");
    add_up_options(up);
    up->callback([&ctx] { ctx.run = [&ctx] { return run_up(opts(), ctx); }; });
    register_inspection(cmd, ctx);
    register_bookkeeping(cmd, ctx);
    register_down(cmd, ctx);
}

}  // namespace ctldb::commands
