// ctldb migrate baseline and validate: adopting a database, and proving the
// schema is what the applied migrations create. The migrations are built in
// a scratch schema inside a transaction that is rolled back, and compared
// with the database object by object (core/schema).
#include <nlohmann/json.hpp>

#include "ctldb/findings.hpp"
#include "ctldb/log.hpp"
#include "ctldb/output.hpp"
#include "ctldb/report.hpp"
#include "ctldb/script.hpp"
#include "migrate.hpp"

namespace ctldb::migrate {

namespace {

/// The differences of a schema check as lines for an error or a finding,
/// at most `limit` of them.
std::vector<std::string> difference_lines(const schema::Comparison& c, std::size_t limit = 40) {
    std::vector<std::string> out;
    for (const auto& d : c.differences) {
        if (out.size() == limit) {
            out.push_back("... and " + std::to_string(c.differences.size() - limit) + " more");
            break;
        }
        out.push_back(d.describe());
    }
    return out;
}

nlohmann::json schema_json(const SchemaCheck& sc) {
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
            {"other_objects", sc.comparison.others}};
}

/// Schema drift of the applied migrations: build them in a scratch schema
/// and compare. Adds findings; returns the check for JSON.
SchemaCheck validate_schema(Connection& conn, const std::vector<MigrationStatus>& list,
                            ParsedFiles& parsed, Findings& f) {
    SchemaCheck sc;
    std::vector<const Migration*> applied;
    for (const auto& st : list) {
        if (!st.applied) continue;
        if (st.state != MigrationState::applied) {
            sc.why_not = "the files differ from the history (modified or missing)";
            f.add("schema", Status::warn, "not compared: " + sc.why_not);
            return sc;
        }
        applied.push_back(st.file);
    }
    if (applied.empty()) {
        sc.why_not = "no migration is applied";
        f.add("schema", Status::info, "not compared: " + sc.why_not);
        return sc;
    }
    sc = check_schema(conn, applied, parsed);
    if (!sc.built) {
        f.add("schema", Status::warn, "not compared: " + sc.why_not);
    } else if (sc.comparison.matches()) {
        f.add("schema", Status::ok,
              "the database holds exactly what the " + std::to_string(applied.size()) +
                  " applied migration(s) create" +
                  (sc.comparison.others.empty()
                       ? std::string()
                       : " (and " + std::to_string(sc.comparison.others.size()) +
                             " object(s) of its own they do not touch)"));
    } else {
        for (const auto& line : difference_lines(sc.comparison))
            f.add("schema drift", Status::fail, line);
    }
    return sc;
}

}  // namespace

ExitCode run_validate(const MigrateOptions& o, Context& ctx) {
    const MigrationSet set = load_set(o);
    Findings f;
    ParsedFiles parsed;
    for (const auto& m : set.migrations) {
        auto problems = check_migration_sql(m.file, parsed.up(m), m.no_transaction);
        if (m.down_sql) {
            auto dp = check_migration_sql(m.down_file, parsed.down(m), m.down_no_transaction);
            problems.insert(problems.end(), dp.begin(), dp.end());
        }
        for (const auto& p : problems)
            f.add(m.file, Status::fail, p);
    }
    auto conn = open(ctx);
    const auto list = migration_status(set, read_history(*conn));
    for (const auto& st : list) {
        if (st.state == MigrationState::modified) {
            f.add(st.file->file, Status::fail, "checksum differs from the applied version");
        } else if (st.state == MigrationState::missing) {
            f.add("version " + std::to_string(st.version), Status::fail,
                  "applied as '" + st.name + "' but the file is gone");
        } else if (st.state == MigrationState::out_of_order) {
            f.add(st.file->file, Status::warn, "not applied, older than applied migrations");
        }
    }
    if (!f.failed()) {
        f.add("migrations", Status::ok,
              std::to_string(set.migrations.size()) + " files valid, checksums match the history");
    }
    nlohmann::json schema_result = {{"compared", false}, {"reason", "--no-schema-check"}};
    if (!o.no_schema_check && !f.failed()) {
        schema_result = schema_json(validate_schema(*conn, list, parsed, f));
    }
    const ExitCode code = f.failed() ? ExitCode::failure : ExitCode::ok;
    if (ctx.json()) {
        print_json({{"ok", code == ExitCode::ok},
                    {"exit_code", static_cast<int>(code)},
                    {"source", set.source},
                    {"checks", f.to_json()},
                    {"schema", schema_result}});
    } else {
        print_text(f.render(use_color(stdout)));
    }
    return code;
}

ExitCode run_baseline(const MigrateOptions& o, Context& ctx) {
    const std::int64_t version = parse_version("baseline", o.baseline_version);
    const MigrationSet set = load_set(o);
    if (!set.find(version)) {
        throw usage_error("baseline " + o.baseline_version +
                          ": no migration with that version in " + set.source);
    }
    std::vector<const Migration*> files;
    for (const auto& m : set.migrations) {
        if (m.version <= version) files.push_back(&m);
    }
    ParsedFiles parsed;
    require_static_checks(files, false, parsed);
    auto conn = open(ctx);
    MigrationLock lock(*conn, o.lock_timeout_s);
    if (!read_history(*conn).empty()) {
        throw failure(
            "the database already has migration history; baseline is only for a "
            "database that has none",
            "ctldb migrate status shows it");
    }
    // Prove it: build what migrations 1..V create in a scratch schema
    // (rolled back) and compare it with the database.
    const SchemaCheck sc = check_schema(*conn, files, parsed);
    const std::string upto =
        "migrations " + std::to_string(files.front()->version) + ".." + std::to_string(version);
    std::string refusal;
    std::vector<std::string> details;
    if (!sc.built) {
        refusal = "cannot tell whether the database holds what " + upto + " create: " + sc.why_not;
    } else if (!sc.comparison.matches()) {
        refusal = "the database does not hold what " + upto + " create (" +
                  std::to_string(sc.comparison.differences.size()) +
                  " difference(s)): it is another schema, and recording it as theirs would let "
                  "later migrations and 'migrate down' act on objects they did not make";
        details = difference_lines(sc.comparison);
    }
    const bool refused = !refusal.empty() && !o.force;
    if (o.dry_run || refused) {
        if (ctx.json()) {
            const int code = refused ? 1 : 0;
            print_json({{"ok", !refused},
                        {"exit_code", code},
                        {"dry_run", o.dry_run},
                        {"baseline", version},
                        {"recorded", 0},
                        {"schema", schema_json(sc)}});
        }
        if (refused) {
            Error e(ExitCode::failure, refusal + "; nothing was recorded",
                    sc.built ? "fix the schema or choose the V it matches ('migrate baseline V "
                               "--dry-run' shows the comparison); --force records it anyway, "
                               "noted in the history"
                             : "--force records it without the comparison, noted in the history");
            e.with_details(details);
            if (ctx.json()) {
                report_error(e, false);
                return ExitCode::failure;
            }
            throw e;
        }
        if (!ctx.json()) {
            print_text("would record " + std::to_string(files.size()) +
                       " migration(s) up to version " + std::to_string(version) +
                       " as applied: the database holds exactly what they create" +
                       (refusal.empty() ? "" : " (NOT: --force given)") +
                       "\n-- dry run: nothing was recorded\n");
        }
        return ExitCode::ok;
    }
    std::string by = "baseline by " + applied_by(*conn);
    if (!refusal.empty()) {
        by = "baseline --force (" +
             (sc.built ? std::to_string(sc.comparison.differences.size()) + " schema differences"
                       : std::string("schema not compared")) +
             ") by " + applied_by(*conn);
        log::warn(refusal + "; recorded anyway (--force)");
        for (const auto& d : details)
            log::warn("  " + d);
    }
    create_history(*conn);
    TransactionGuard tx(*conn);
    for (const Migration* m : files) {
        exec(*conn,
             "INSERT INTO ctldb_schema_migrations (version, name, checksum, applied_by, "
             "execution_ms, no_transaction) VALUES ($1, $2, $3, $4, 0, $5)",
             {std::to_string(m->version), m->name, m->checksum, by,
              std::string(m->no_transaction ? "true" : "false")});
    }
    tx.commit();
    if (ctx.json()) {
        print_json({{"ok", true},
                    {"exit_code", 0},
                    {"baseline", version},
                    {"recorded", files.size()},
                    {"forced", !refusal.empty()},
                    {"schema", schema_json(sc)}});
    } else {
        print_text("recorded " + std::to_string(files.size()) + " migration(s) up to version " +
                   std::to_string(version) + " as applied; nothing was run" +
                   (refusal.empty() ? "; the schema matches them" : " (--force)") + "\n");
    }
    return ExitCode::ok;
}

}  // namespace ctldb::migrate
