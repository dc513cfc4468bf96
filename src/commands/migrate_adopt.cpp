// ctldb migrate baseline and validate: adopting a database, and proving the
// schema is what the applied migrations create. The migrations are built in
// a scratch schema inside a transaction that is rolled back, and compared
// with the database object by object (core/schema).
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/findings.hpp"
#include "base/log.hpp"
#include "base/output.hpp"
#include "cli/report.hpp"
#include "commands/migrate.hpp"
#include "migrate/foreign_history.hpp"
#include "pg/script.hpp"

namespace ctldb::commands {

namespace {

/// The differences of a schema check as lines for an error or a finding,
/// at most `limit` of them.
nlohmann::json schema_json(const migrate::SchemaCheck& sc) {
    if (!sc.built) return {{"compared", false}, {"reason", sc.why_not}};
    nlohmann::json diffs = nlohmann::json::array();
    for (const auto& d : sc.comparison.differences) {
        diffs.push_back(
            {{"kind", d.kind},
             {"object", d.label},
             {"expected",
              d.expected.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.expected)},
             {"found", d.found.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.found)}});
    }
    return {{"compared", true},
            {"matches", sc.comparison.matches()},
            {"differences", diffs},
            {"other_objects", sc.comparison.others},
            {"not_compared_locked", sc.comparison.not_compared}};
}

/// Schema drift of the applied migrations: build them in a scratch schema
/// and compare. Adds findings; returns the check for JSON.
}  // namespace

cli::Outcome run_validate(const MigrateOptions& o, cli::Context& ctx) {
    const migrate::MigrationSet set = load_set(o, ctx);
    Findings f;
    migrate::ParsedFiles parsed;
    for (const auto& m : set.migrations) {
        auto problems =
            migrate::check_migration_sql(m.file, parsed.up(m), parsed.outside(m, false));
        if (m.down_sql) {
            auto dp =
                migrate::check_migration_sql(m.down_file, parsed.down(m), parsed.outside(m, true));
            problems.insert(problems.end(), dp.begin(), dp.end());
        }
        for (const auto& p : problems)
            f.add(m.file, Status::fail, p);
    }
    auto conn = open(ctx);
    const auto list = migration_status(set, migrate::read_history(*conn));
    for (const auto& st : list) {
        if (st.state == migrate::MigrationState::modified) {
            f.add(st.file->file, Status::fail, "checksum differs from the applied version");
        } else if (st.state == migrate::MigrationState::missing) {
            // A node file keyed by its name has a drawn number: name it.
            f.add(st.version < 0 ? st.name : "version " + std::to_string(st.version), Status::fail,
                  "applied as '" + st.name + "' but the file is gone");
        } else if (st.state == migrate::MigrationState::out_of_order) {
            f.add(st.file->file, Status::warn, "not applied, older than applied migrations");
        } else if (st.state == migrate::MigrationState::shadowed) {
            f.add(st.file->file, Status::warn,
                  "shadowed: its key " + st.file->key + " is " + st.file->shadowed_by +
                      "'s, so the node runner never applied it",
                  "ctldb migrate up --include " + st.file->file +
                      " applies it under its own name; or leave it");
        }
    }
    for (const auto& d : set.orphan_downs)
        f.add(d.file, Status::warn, d.why());
    if (!f.failed()) {
        f.add("migrations", Status::ok,
              std::to_string(set.migrations.size()) + " files valid, checksums match the history");
    }
    nlohmann::json schema_result = {{"compared", false}, {"reason", "--no-schema-check"}};
    if (!o.no_schema_check && !f.failed()) {
        schema_result = schema_json(validate_schema(*conn, list, parsed, f));
    }
    const ExitCode code = f.failed() ? ExitCode::failure : ExitCode::ok;
    nlohmann::json doc = {
        {"source", set.source}, {"checks", f.to_json()}, {"schema", schema_result}};
    return cli::Outcome::lazy(
        code, [f](bool color) { return f.render(color); }, [doc] { return doc; });
}

/// What baseline records: the files, and (adopting another tool's history)
/// when that tool applied each and where the records came from.
struct BaselinePlan {
    std::vector<const migrate::Migration*> files;
    std::map<std::int64_t, std::string> applied_at;  // version -> ISO time, "" unknown
    std::string from;                                // "golang-migrate (schema_migrations)"
    std::vector<std::string> notes;
    std::vector<std::string> failed;  ///< records the tool marked failed, left out
    nlohmann::json to_json() const {
        nlohmann::json arr = nlohmann::json::array();
        for (const migrate::Migration* m : files) {
            const auto& at = applied_at.count(m->version) ? applied_at.at(m->version) : "";
            arr.push_back(
                {{"version", m->version},
                 {"label", m->label},
                 {"name", m->name},
                 {"file", m->file},
                 {"applied_at", at.empty() ? nlohmann::json(nullptr) : nlohmann::json(at)}});
        }
        return arr;
    }
    std::string render() const {
        Table t({"VERSION", "NAME", "FILE",
                 "APPLIED AT (" + (from.empty() ? std::string("-") : from) + ")"});
        for (const migrate::Migration* m : files) {
            const auto& at = applied_at.count(m->version) ? applied_at.at(m->version) : "";
            t.add_row({m->label, m->name, m->file, at.empty() ? "-" : at});
        }
        return t.render();
    }
};

/// The files up to version V.
BaselinePlan plan_up_to(const migrate::MigrationSet& set, const std::string& v) {
    BaselinePlan p;
    const migrate::Migration* last = migration_of(set, "baseline", v);
    // In the set's order (a node runner's is by name): every file up to it.
    for (const auto& m : set.migrations) {
        p.files.push_back(&m);
        if (&m == last) break;
    }
    return p;
}

/// What another tool recorded, mapped to the files; refused (whatever the
/// flags) when that tool says a migration failed, and unless --force when
/// a record has no file.
BaselinePlan plan_from_tool(pg::Connection& conn, const migrate::MigrationSet& set,
                            const MigrateOptions& o) {
    const auto tool = migrate::parse_history_tool(o.from);
    if (!tool) {
        throw usage_error("--from " + o.from + " is not a tool ctldb reads",
                          "auto, node, golang-migrate, dbmate or flyway");
    }
    const migrate::ForeignHistory h = migrate::read_foreign_history(conn, *tool);
    BaselinePlan p;
    p.from = std::string(history_tool_name(h.tool)) + ", " + h.table;
    p.notes = h.notes;
    p.failed = h.failed;
    if (!h.refusal.empty()) throw failure(h.refusal + "; nothing was recorded");
    const migrate::AdoptionPlan a = map_history(h, set);
    if (!a.unmatched.empty() && !o.force) {
        Error e(ExitCode::failure,
                std::to_string(a.unmatched.size()) + " migration(s) " + history_tool_name(h.tool) +
                    " recorded in " + h.table + " have no file in " + set.source +
                    "; nothing was recorded",
                h.tool == migrate::HistoryTool::node && set.layout != migrate::MigrationLayout::node
                    ? "the folder was read as " + std::string(layout_name(set.layout)) +
                          "; a hand-written runner's folder is read as it reads it with "
                          "--layout node (--force adopts the rest and leaves these out)"
                    : "point --dir (and --layout) at the folder that tool ran; --force adopts "
                      "the rest and leaves these out");
        e.with_details(a.unmatched);
        throw e;
    }
    for (const auto& u : a.unmatched)
        p.notes.push_back("left out (no file): " + u);
    for (const auto& f : a.not_recorded)
        p.notes.push_back("not recorded by " + std::string(history_tool_name(h.tool)) +
                          ", so left pending (out of order): " + f);
    if (a.items.empty()) {
        throw failure(std::string(history_tool_name(h.tool)) + " recorded nothing to adopt in " +
                      h.table + "; nothing was recorded");
    }
    for (const auto& item : a.items) {
        p.files.push_back(item.migration);
        p.applied_at[item.migration->version] = item.applied_at;
    }
    return p;
}

/// Why the schema proof refuses the baseline ("" when it does not), with
/// the differences.
std::string baseline_refusal(const migrate::SchemaCheck& sc, const BaselinePlan& plan,
                             std::vector<std::string>& details) {
    const std::string upto =
        "migrations " + plan.files.front()->label + ".." + plan.files.back()->label;
    if (!sc.built) {
        return "cannot tell whether the database holds what " + upto + " create: " + sc.why_not;
    }
    if (sc.comparison.matches()) return {};
    details = migrate::difference_lines(sc.comparison);
    return "the database does not hold what " + upto + " create (" +
           std::to_string(sc.comparison.differences.size()) +
           " difference(s)): it is another schema, and recording it as theirs would let later "
           "migrations and 'migrate down' act on objects they did not make";
}

/// --dry-run, or a refusal: show the plan and what the real run would do.
cli::Outcome show_baseline(const MigrateOptions& o, const BaselinePlan& plan,
                           const migrate::SchemaCheck& sc, const std::string& refusal,
                           const std::vector<std::string>& details, nlohmann::json doc) {
    const bool refused = !refusal.empty() && !o.force;
    doc["dry_run"] = o.dry_run;
    doc["recorded"] = 0;
    if (refused) {
        Error e(ExitCode::failure, refusal + "; nothing was recorded",
                sc.built ? "fix the schema or choose the V it matches ('migrate baseline V "
                           "--dry-run' shows the comparison); --force records it anyway, noted "
                           "in the history"
                         : "--force records it without the comparison, noted in the history");
        e.with_details(details);
        return cli::Outcome::done(ExitCode::failure, plan.render(), doc).with_error(e);
    }
    return cli::Outcome::done(ExitCode::ok,
                              plan.render() + "would record " + std::to_string(plan.files.size()) +
                                  " migration(s) as applied: the database holds exactly what they "
                                  "create" +
                                  (refusal.empty() ? "" : " (NOT: --force given)") +
                                  "\n-- dry run: nothing was recorded\n",
                              doc);
}

/// Write the plan's rows into a new history, in one transaction.
void record_baseline(pg::Connection& conn, const BaselinePlan& plan, migrate::ParsedFiles& parsed,
                     const std::string& by) {
    pg::TransactionGuard tx(conn);
    migrate::create_history(conn);
    for (const migrate::Migration* m : plan.files) {
        const auto& at = plan.applied_at.count(m->version) ? plan.applied_at.at(m->version) : "";
        record_adopted(conn, *m, at, by, parsed.outside(*m, false));
    }
    tx.commit();
}

cli::Outcome run_baseline(const MigrateOptions& o, cli::Context& ctx) {
    if (o.from.empty() == o.baseline_version.empty()) {
        throw usage_error(
            "give the last version the database has (baseline V), or adopt another "
            "tool's history (baseline --from TOOL), not both",
            "'ctldb migrate baseline --help'");
    }
    const migrate::MigrationSet set = load_set(o, ctx);
    warn_orphans(set);
    BaselinePlan plan;
    migrate::ParsedFiles parsed;
    if (o.from.empty()) {
        plan = plan_up_to(set, o.baseline_version);
        require_static_checks(plan.files, false, parsed);
    }
    auto conn = open(ctx);
    migrate::MigrationLock lock(*conn, o.lock_timeout_s);
    if (!migrate::read_history(*conn).empty()) {
        throw failure(
            "the database already has migration history; baseline is only for a "
            "database that has none",
            "ctldb migrate status shows it");
    }
    if (!o.from.empty()) {
        plan = plan_from_tool(*conn, set, o);
        require_static_checks(plan.files, false, parsed);
    }
    for (const auto& n : plan.notes)
        log::info(n);
    // Prove it: build what those migrations create in a scratch schema
    // (rolled back) and compare it with the database.
    const migrate::SchemaCheck sc = check_schema(*conn, plan.files, parsed);
    std::vector<std::string> details;
    const std::string refusal = baseline_refusal(sc, plan, details);
    nlohmann::json doc = {
        {"baseline", plan.files.back()->label},
        {"from", plan.from.empty() ? nlohmann::json(nullptr) : nlohmann::json(plan.from)},
        {"plan", plan.to_json()},
        {"failed_left_out", plan.failed},
        {"schema", schema_json(sc)}};
    if (o.dry_run || (!refusal.empty() && !o.force))
        return show_baseline(o, plan, sc, refusal, details, doc);
    std::string how = plan.from.empty() ? "baseline" : "adopted from " + plan.from;
    if (!refusal.empty()) {
        how += " --force (" +
               (sc.built ? std::to_string(sc.comparison.differences.size()) + " schema differences"
                         : std::string("schema not compared")) +
               ")";
        log::warn(refusal + "; recorded anyway (--force)");
        for (const auto& d : details)
            log::warn("  " + d);
    }
    record_baseline(*conn, plan, parsed, how + " by " + migrate::applied_by(*conn));
    doc["recorded"] = plan.files.size();
    doc["forced"] = !refusal.empty();
    return cli::Outcome::done(
        ExitCode::ok,
        plan.render() + "recorded " + std::to_string(plan.files.size()) +
            " migration(s) as applied" + (plan.from.empty() ? "" : ", adopted from " + plan.from) +
            "; nothing was run" + (refusal.empty() ? "; the schema matches them" : " (--force)") +
            "\n",
        doc);
}

}  // namespace ctldb::commands
