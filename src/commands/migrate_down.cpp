// ctldb migrate down: rolling back with the down files, after showing what
// that destroys (core/down_plan) and refusing what must not run.
#include <algorithm>
#include <nlohmann/json.hpp>
#include "migrate/down_plan.hpp"

#include "base/findings.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "base/text.hpp"
#include "cli/report.hpp"
#include "commands/migrate.hpp"
#include "pg/script.hpp"

namespace ctldb::commands {

namespace {

/// Why rolling back must not start, or nullopt: a down file that would
/// destroy rows in a table its own up migration never created is wrong
/// whatever the flags; one that drops a table others depend on without
/// CASCADE would fail half way, after the migrations before it in the plan
/// were rolled back.
std::optional<Error> down_refusal(const std::vector<migrate::DestroyedTable>& destroyed) {
    std::vector<std::string> foreign, failing;
    for (const auto& d : destroyed) {
        if (!d.created_by_up && d.holds_rows()) foreign.push_back(d.down_file + " " + d.describe());
        if (d.would_fail()) failing.push_back(d.down_file + " " + d.describe());
    }
    if (!foreign.empty()) {
        Error e(ExitCode::failure,
                "refusing to roll back: a down file would destroy rows in a table its up "
                "migration does not create; nothing was run",
                "a down file undoes only what its up did: fix it, or drop the table yourself if "
                "that is really meant");
        e.with_details(foreign);
        return e;
    }
    if (!failing.empty()) {
        Error e(ExitCode::failure,
                "refusing to roll back: a down file drops a table that other objects depend on, "
                "without CASCADE, so PostgreSQL would refuse it half way; nothing was run",
                "drop or change the dependent objects first (they are not the migrations'), or "
                "roll back to a version after that migration");
        e.with_details(failing);
        return e;
    }
    return std::nullopt;
}

nlohmann::json rehearsal_json(const migrate::DownRehearsal& r) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& v : r.objects) {
        nlohmann::json j = {{"version", v.version},
                            {"down_file", v.down_file},
                            {"kind", v.kind},
                            {"name", v.name},
                            {"table", v.table.empty() ? nlohmann::json() : nlohmann::json(v.table)},
                            {"named_by_down_file", !v.unnamed}};
        if (v.kind == "table") {
            j["rows"] = v.rows < 0 ? nlohmann::json() : nlohmann::json(v.rows);
            j["with"] = v.parts;
        }
        arr.push_back(j);
    }
    return {{"rehearsed", r.not_rehearsed.empty() && !r.failure},
            {"not_rehearsed",
             r.not_rehearsed.empty() ? nlohmann::json() : nlohmann::json(r.not_rehearsed)},
            {"disappears", arr}};
}

cli::Outcome down_dry_run(const std::vector<const migrate::Migration*>& todo,
                          const std::vector<migrate::DestroyedTable>& destroyed,
                          const std::vector<const migrate::VanishingObject*>& vanishing,
                          const migrate::DownRehearsal& rehearsal,
                          const nlohmann::json& destroyed_json,
                          const std::optional<Error>& refusal) {
    // The plan, what it destroys and its SQL; nothing is run and the
    // history is untouched.
    nlohmann::json plan = nlohmann::json::array();
    std::string text;
    for (const migrate::Migration* m : todo) {
        plan.push_back({{"version", m->version},
                        {"name", m->name},
                        {"down_file", m->down_file},
                        {"sql", *m->down_sql}});
        text += "-- would roll back " + m->label + " " + m->name + " with " + m->down_file + "\n";
        for (const auto& d : destroyed) {
            if (d.version == m->version) text += "--   it " + d.describe() + "\n";
        }
        for (const migrate::VanishingObject* v : vanishing) {
            if (v->version == m->version) text += "--   it " + v->describe() + "\n";
        }
        text += *m->down_sql;
        if (text.back() != '\n') text += '\n';
    }
    const ExitCode code = refusal ? ExitCode::failure : ExitCode::ok;
    nlohmann::json doc = {{"dry_run", true},
                          {"plan", plan},
                          {"destroyed", destroyed_json},
                          {"rehearsal", rehearsal_json(rehearsal)}};
    if (refusal) doc["refused"] = {{"error", refusal->what()}, {"details", refusal->details()}};
    if (!rehearsal.not_rehearsed.empty()) text += "-- " + rehearsal.not_rehearsed + "\n";
    cli::Outcome out = cli::Outcome::done(
        code, todo.empty() ? "nothing to roll back\n" : text + "-- dry run: nothing was changed\n",
        doc);
    // The real run would stop here: say why on stderr, exit as it would.
    if (refusal) out.with_error(*refusal);
    return out;
}

}  // namespace

namespace {

/// The files to roll back, newest first: --to (what comes after that file;
/// 0 everything) or --steps of the newest. What refuses the rollback (drift,
/// a file without its down file) goes to `problems`.
std::vector<const migrate::Migration*> files_to_roll_back(
    const MigrateOptions& o, const migrate::MigrationSet& set,
    const std::vector<migrate::MigrationStatus>& list, std::vector<std::string>& problems) {
    const bool to_given = !o.to.empty();
    const migrate::Migration* to = nullptr;  // with to_given: null is "0", before the first
    if (to_given) to = migration_of(set, "--to", o.to, true);
    // Newest last: by version, or for a node runner's folder (where a file
    // that sorts first may be applied last) by when each was applied.
    std::vector<const migrate::MigrationStatus*> order;
    for (const auto& st : list)
        order.push_back(&st);
    if (set.layout == migrate::MigrationLayout::node) {
        const auto applied = applied_in_order(list);
        if (to_given && to != nullptr &&
            std::none_of(applied.begin(), applied.end(),
                         [&](const auto* st) { return st->file == to; })) {
            throw usage_error("--to " + o.to + ": " + to->file + " is not applied",
                              "name an applied file; 'ctldb migrate status' lists them");
        }
        order = applied;
    }
    std::vector<const migrate::Migration*> todo;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        const migrate::MigrationStatus* st = *it;
        if (to_given && to != nullptr && st->file == to) break;
        if (!st->applied) continue;
        if (!to_given &&
            todo.size() >= static_cast<std::size_t>(std::max<std::int64_t>(o.steps, 1))) {
            break;
        }
        if (st->file && !st->file->down_sql) {
            problems.push_back(
                st->file->file + " has no down file (" +
                (set.layout == migrate::MigrationLayout::node
                     ? st->file->file.substr(0, st->file->file.size() - 4) + "_rollback.sql"
                     : std::to_string(st->version) + "_" + st->name + ".down.sql") +
                ")");
        }
        if (st->file) todo.push_back(st->file);
    }
    return todo;
}

/// What a rollback destroys, found before anything runs: the tables its
/// down files drop, the rehearsal's catalog differences, and what refuses it.
struct DownPlan {
    std::vector<migrate::DestroyedTable> destroyed;
    std::optional<Error> refusal;
    migrate::DownRehearsal rehearsal;
    std::vector<const migrate::VanishingObject*> vanishing;
    nlohmann::json destroyed_json = nlohmann::json::array();
    std::size_t with_rows = 0;         ///< tables holding rows or depended on
    std::vector<std::string> unnamed;  ///< objects no down file names: asked about
};

DownPlan plan_down(pg::Connection& conn, const std::vector<const migrate::Migration*>& todo,
                   migrate::ParsedFiles& parsed) {
    DownPlan p;
    p.destroyed = destroyed_tables(conn, todo, parsed);
    p.refusal = down_refusal(p.destroyed);
    // Everything it destroys, CASCADE included: the down files run in a
    // transaction that is rolled back, the catalog compared after each.
    p.rehearsal = rehearse_down(conn, todo, parsed);
    if (!p.refusal && p.rehearsal.failure) {
        Error e(ExitCode::failure,
                "refusing to roll back: a down file fails when rehearsed, so the real run would "
                "stop there after rolling back the files before it; nothing was run",
                "fix the down file (the error is below), then try again");
        std::vector<std::string> details = {p.rehearsal.failure->what()};
        for (const auto& d : p.rehearsal.failure->details())
            details.push_back(d);
        e.with_details(details);
        p.refusal = e;
    }
    p.vanishing = beyond_destroyed(conn, p.rehearsal, p.destroyed);
    for (const auto& d : p.destroyed) {
        p.destroyed_json.push_back(
            {{"version", d.version},
             {"table", d.table},
             {"action", d.action},
             {"rows", d.rows < 0 ? nlohmann::json(nullptr) : nlohmann::json(d.rows)},
             {"rows_capped", d.capped},
             {"created_by_up", d.created_by_up},
             {"dependents", d.dependents}});
        if (d.holds_rows() || (d.cascade && !d.dependents.empty())) ++p.with_rows;
    }
    for (const migrate::VanishingObject* v : p.vanishing) {
        if (v->unnamed) p.unnamed.push_back(v->down_file + " " + v->describe());
    }
    return p;
}

/// Say what goes, then ask when tables with rows or objects no down file
/// names go with it (off a terminal: --yes). False when the answer is no.
bool confirm_down(const MigrateOptions& o, const std::vector<const migrate::Migration*>& todo,
                  const DownPlan& p) {
    for (const auto& d : p.destroyed) {
        const std::string line = d.down_file + " " + d.describe();
        if (d.holds_rows() || !d.dependents.empty()) {
            log::warn(line);
        } else {
            log::info(line);
        }
    }
    for (const migrate::VanishingObject* v : p.vanishing) {
        const std::string line = v->down_file + " " + v->describe();
        if (v->unnamed || (v->kind == "table" && v->rows != 0)) {
            log::warn(line);
        } else {
            log::info(line);
        }
    }
    if (!p.rehearsal.not_rehearsed.empty()) log::warn(p.rehearsal.not_rehearsed);
    if ((p.with_rows == 0 && p.unnamed.empty()) || o.yes) return true;
    std::vector<std::string> parts;
    if (p.with_rows > 0) {
        parts.push_back(std::to_string(p.with_rows) +
                        " table(s) holding rows or depended on (listed above)");
    }
    if (!p.unnamed.empty()) {
        parts.push_back(std::to_string(p.unnamed.size()) + " object(s) its down files do not name");
    }
    const std::string what = "rolling back " + std::to_string(todo.size()) +
                             " migration(s) destroys " + join(parts, " and ");
    if (!is_tty(stdin)) {
        Error e = usage_error(what + "; nothing was changed", "pass --yes to confirm");
        e.with_details(p.unnamed);
        throw e;
    }
    const std::string listed = p.unnamed.empty() ? "" : ":\n  " + join(p.unnamed, "\n  ") + "\n";
    if (!confirm(what + listed + (listed.empty() ? ". " : "") + "Go ahead?")) {
        log::info("nothing rolled back");
        return false;
    }
    return true;
}

}  // namespace

cli::Outcome run_down(const MigrateOptions& o, cli::Context& ctx) {
    pg::check_pg_duration("--ddl-lock-timeout", o.ddl_lock_timeout);
    pg::check_pg_duration("--statement-timeout", o.statement_timeout);
    if (!o.to.empty() && o.steps > 0) throw usage_error("use either --to or --steps, not both");
    const auto& cfg = ctx.valid_config(true);
    if (!o.dry_run) cfg.refuse_in_production("roll back migrations", o.force);
    const migrate::MigrationSet set = load_set(o, ctx);
    warn_orphans(set);
    if (!o.to.empty()) migration_of(set, "--to", o.to, true);  // a bad --to before connecting
    auto conn = open(ctx);
    migrate::MigrationLock lock(*conn, o.lock_timeout_s);
    const auto list = migration_status(set, migrate::read_history(*conn));
    auto problems = drift(list);
    const std::vector<const migrate::Migration*> todo = files_to_roll_back(o, set, list, problems);
    if (!problems.empty()) {
        Error e(ExitCode::failure, "refusing to roll back; nothing was run");
        e.with_details(problems);
        throw e;
    }
    migrate::ParsedFiles parsed;
    require_static_checks(todo, true, parsed);
    const DownPlan p = plan_down(*conn, todo, parsed);
    if (o.dry_run)
        return down_dry_run(todo, p.destroyed, p.vanishing, p.rehearsal, p.destroyed_json,
                            p.refusal);
    if (p.refusal) throw *p.refusal;
    if (!confirm_down(o, todo, p)) return ExitCode::failure;
    nlohmann::json done = nlohmann::json::array();
    for (const migrate::Migration* m : todo) {
        log::info("rolling back " + m->file + " with " + m->down_file);
        const std::int64_t ms = run_migration_file(
            *conn, timeouts_of(o), m->down_file, *m->down_sql, parsed.down(*m),
            parsed.outside(*m, true), [&] { migrate::forget_applied(*conn, m->version); });
        done.push_back({{"version", m->version}, {"name", m->name}, {"execution_ms", ms}});
    }
    return cli::Outcome::done(ExitCode::ok,
                              "rolled back " + std::to_string(done.size()) + " migration(s)\n",
                              {{"rolled_back", done},
                               {"destroyed", p.destroyed_json},
                               {"rehearsal", rehearsal_json(p.rehearsal)}});
}

}  // namespace ctldb::commands
