// ctldb migrate: versioned schema migrations that are safe in CI and pods.
//
// One migration = one transaction, or statement by statement for files
// marked "-- ctldb:no-transaction". Runners serialise on a session advisory
// lock; lock_timeout and statement_timeout are set while migrating. There
// is no "dirty" state: a failed transactional migration leaves nothing.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "ctldb/connection.hpp"
#include "ctldb/context.hpp"
#include "ctldb/down_plan.hpp"
#include "ctldb/findings.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/log.hpp"
#include "ctldb/migration_history.hpp"
#include "ctldb/migrations.hpp"
#include "ctldb/pipeline.hpp"
#include "ctldb/report.hpp"
#include "ctldb/script.hpp"
#include "ctldb/signals.hpp"
#include "ctldb/sql.hpp"
#include "ctldb/text.hpp"

namespace ctldb {

namespace {

struct MigrateOptions {
    std::string dir;
    bool dry_run = false;
    std::string to;
    int lock_timeout_s = 60;
    std::string ddl_lock_timeout = "10s";
    std::string statement_timeout = "15min";
    bool allow_out_of_order = false;
    bool check = false;
    std::int64_t steps = 0;
    std::string baseline_version;
    std::string name;
    bool no_transaction = false;
    bool force = false;
    bool no_schema_check = false;
    bool yes = false;
};

using Clock = std::chrono::steady_clock;

std::int64_t ms_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

MigrationSet load_set(const MigrateOptions& o) {
    if (o.dir.empty()) return embedded_migration_set();
    if (!fs::is_dir(o.dir)) throw usage_error("--dir " + o.dir + " is not a directory");
    MigrationSet set = load_migrations_dir(o.dir);
    if (set.migrations.empty()) {
        // Most likely the wrong directory; as a set it would report every
        // applied migration as missing.
        throw usage_error(
            "no migration files in " + o.dir + " (expected NNNN_name.sql)",
            "check --dir; 'ctldb migrate create NAME --dir " + o.dir + "' starts a new set");
    }
    return set;
}

std::int64_t parse_version(const std::string& option, const std::string& text) {
    auto v = parse_integer(text);
    if (!v || *v < 0) throw usage_error(option + " '" + text + "' is not a migration version");
    return *v;
}

void set_timeouts(Connection& conn, const MigrateOptions& o, bool local) {
    const std::string scope = local ? "SET LOCAL " : "SET ";
    exec(conn, scope + "lock_timeout = '" + o.ddl_lock_timeout + "'");
    exec(conn, scope + "statement_timeout = '" + o.statement_timeout + "'");
}

void reset_timeouts(Connection& conn) {
    try {
        exec(conn, "RESET lock_timeout");
        exec(conn, "RESET statement_timeout");
    } catch (const Error&) {
        // A broken connection is reported by whatever comes next.
    }
}

/// Invalid indexes (a failed CREATE INDEX CONCURRENTLY leaves one).
std::vector<std::string> invalid_indexes(Connection& conn) {
    QueryResult r = exec(conn,
                         "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_index i "
                         "JOIN pg_class c ON c.oid = i.indexrelid "
                         "JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE NOT i.indisvalid AND n.nspname NOT IN ('pg_catalog', "
                         "'information_schema') ORDER BY 1");
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(r.get(i, 0));
    return out;
}

struct Applied {
    std::int64_t version;
    std::string name;
    std::int64_t ms;
};

/// Run one file (up or down) and record it, as one transaction or, for a
/// no-transaction file, statement by statement.
std::int64_t run_file(Connection& conn, const MigrateOptions& o, const std::string& file,
                      const std::string& text, const sql::Parsed& parsed, bool no_transaction,
                      const std::function<void()>& record) {
    const auto start = Clock::now();
    if (!no_transaction) {
        TransactionGuard tx(conn);
        set_timeouts(conn, o, true);
        // Many statements per round trip; the first failure is exact.
        if (auto f = exec_pipelined(conn, parsed.statements)) {
            throw_statement_error(f->error, file, text, parsed.statements[f->index],
                                  {"the transaction was rolled back: nothing of " + file +
                                   " remains; fix it and run migrate again"});
        }
        record();
        throw_if_interrupted();
        tx.commit();
        return ms_since(start);
    }
    set_timeouts(conn, o, false);
    std::size_t done = 0;
    for (const auto& s : parsed.statements) {
        throw_if_interrupted();
        if (!s.concurrent_index.empty()) {
            // A build that failed earlier leaves an invalid index, and
            // IF NOT EXISTS would then skip it for ever: drop it first.
            QueryResult r = exec(conn,
                                 "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
                                 "JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_namespace n ON "
                                 "n.oid = c.relnamespace WHERE c.relname = $1 AND NOT i.indisvalid "
                                 "AND pg_catalog.pg_table_is_visible(c.oid)",
                                 {s.concurrent_index});
            if (r.rows() > 0) {
                log::warn("dropping invalid index " + r.get(0, 0) +
                          " left by an earlier failed build, then building it again");
                exec(conn, "DROP INDEX CONCURRENTLY IF EXISTS " + r.get(0, 0));
            }
        }
        try {
            exec(conn, s.text);
        } catch (const SqlError& e) {
            std::vector<std::string> extra;
            extra.push_back("statement " + std::to_string(done + 1) + " of " +
                            std::to_string(parsed.statements.size()) +
                            " failed; this file runs without a transaction, so the " +
                            std::to_string(done) + " before it stay applied");
            for (std::size_t i = 0; i < done; ++i) {
                extra.push_back("  already ran: line " + std::to_string(parsed.statements[i].line) +
                                ": " + first_line(parsed.statements[i].text));
            }
            try {
                for (const auto& idx : invalid_indexes(conn)) {
                    extra.push_back("invalid index left behind: " + idx +
                                    " (the next run drops and rebuilds it)");
                }
            } catch (const Error&) {
            }
            reset_timeouts(conn);
            throw_statement_error(e, file, text, s, extra);
        }
        ++done;
    }
    reset_timeouts(conn);
    TransactionGuard tx(conn);
    record();
    tx.commit();
    return ms_since(start);
}

}  // namespace

namespace {

void require_static_checks(const std::vector<const Migration*>& files, bool down,
                           ParsedFiles& parsed) {
    std::vector<std::string> problems;
    for (const Migration* m : files) {
        auto p = down ? check_migration_sql(m->down_file, parsed.down(*m), m->down_no_transaction)
                      : check_migration_sql(m->file, parsed.up(*m), m->no_transaction);
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

nlohmann::json status_json(const MigrationStatus& st) {
    nlohmann::json j = {{"version", st.version},
                        {"name", st.name},
                        {"state", migration_state_name(st.state)},
                        {"file", st.file ? nlohmann::json(st.file->file) : nlohmann::json(nullptr)},
                        {"no_transaction", st.file ? st.file->no_transaction : false}};
    if (st.applied) {
        j["applied_at"] = st.applied->applied_at;
        j["applied_by"] = st.applied->applied_by;
        j["execution_ms"] = st.applied->execution_ms;
    } else {
        j["applied_at"] = nullptr;
    }
    return j;
}

std::string status_table(const std::vector<MigrationStatus>& list, bool color) {
    Table t({"VERSION", "NAME", "STATE", "APPLIED AT", "BY", "MS"});
    for (const auto& st : list) {
        Style s = Style::none;
        if (st.state == MigrationState::applied) s = Style::green;
        if (st.state == MigrationState::pending) s = Style::yellow;
        if (st.state == MigrationState::modified || st.state == MigrationState::missing ||
            st.state == MigrationState::out_of_order) {
            s = Style::red;
        }
        t.add_row(
            {std::to_string(st.version), st.name, styled(migration_state_name(st.state), s, color),
             st.applied ? st.applied->applied_at : "", st.applied ? st.applied->applied_by : "",
             st.applied ? std::to_string(st.applied->execution_ms) : ""});
    }
    return t.render();
}

/// Drift that up/down refuse to run over.
std::vector<std::string> drift(const std::vector<MigrationStatus>& list) {
    std::vector<std::string> out;
    for (const auto& st : list) {
        if (st.state == MigrationState::modified) {
            out.push_back(st.file->file + " changed after it was applied (checksum " +
                          st.applied->checksum.substr(0, 12) + "… now " +
                          st.file->checksum.substr(0, 12) + "…)");
        } else if (st.state == MigrationState::missing) {
            out.push_back("version " + std::to_string(st.version) + " (" + st.name +
                          ") is applied but its file is gone");
        }
    }
    return out;
}

std::unique_ptr<Connection> open(Context& ctx) {
    auto conn = connect(ctx.valid_config(true).connection());
    return conn;
}

/// Pending migrations up to `to` (-1: all), and why they may not run.
struct UpPlan {
    std::vector<MigrationStatus> list;
    std::vector<const Migration*> todo;
    std::vector<std::string> problems;
};

UpPlan plan_up(const MigrationSet& set, const std::vector<AppliedMigration>& history,
               std::int64_t to, bool allow_out_of_order) {
    UpPlan p;
    p.list = migration_status(set, history);
    p.problems = drift(p.list);
    for (const auto& st : p.list) {
        if (st.state != MigrationState::pending && st.state != MigrationState::out_of_order)
            continue;
        if (to >= 0 && st.version > to) continue;
        if (st.state == MigrationState::out_of_order && !allow_out_of_order) {
            p.problems.push_back(st.file->file +
                                 " is older than migrations already applied (out of order); pass "
                                 "--allow-out-of-order to apply it anyway");
        }
        p.todo.push_back(st.file);
    }
    return p;
}

void print_up_dry_run(const MigrationSet& set, const std::vector<const Migration*>& todo,
                      Context& ctx) {
    if (ctx.json()) {
        nlohmann::json plan = nlohmann::json::array();
        for (const Migration* m : todo) {
            plan.push_back({{"version", m->version},
                            {"name", m->name},
                            {"file", m->file},
                            {"no_transaction", m->no_transaction},
                            {"sql", m->sql}});
        }
        print_json({{"ok", true},
                    {"exit_code", 0},
                    {"dry_run", true},
                    {"source", set.source},
                    {"plan", plan}});
        return;
    }
    std::string out = todo.empty() ? "nothing to apply: the database is up to date\n"
                                   : "would apply " + std::to_string(todo.size()) +
                                         " migration(s) from " + set.source + ":\n";
    for (const Migration* m : todo) {
        out += "\n-- " + m->file +
               (m->no_transaction ? " (no transaction)" : " (one transaction)") + "\n" + m->sql;
        if (!m->sql.empty() && m->sql.back() != '\n') out += "\n";
    }
    print_text(out);
}

ExitCode run_up(const MigrateOptions& o, Context& ctx) {
    check_pg_duration("--ddl-lock-timeout", o.ddl_lock_timeout);
    check_pg_duration("--statement-timeout", o.statement_timeout);
    // -1: no --to given.
    const std::int64_t to = o.to.empty() ? -1 : parse_version("--to", o.to);
    const MigrationSet set = load_set(o);
    if (to >= 0 && !set.find(to)) {
        throw usage_error("--to " + o.to + ": no migration with that version in " + set.source);
    }
    auto conn = open(ctx);
    // Plan and parse before taking the lock: reading a big file must not
    // hold other runners up. Under the lock the plan is made again from the
    // history as it is then; only files new to it are parsed there.
    ParsedFiles parsed;
    UpPlan plan = plan_up(set, read_history(*conn), to, o.allow_out_of_order);
    if (plan.problems.empty()) require_static_checks(plan.todo, false, parsed);
    std::unique_ptr<MigrationLock> lock;
    if (!o.dry_run) {
        lock = std::make_unique<MigrationLock>(*conn, o.lock_timeout_s);
        plan = plan_up(set, read_history(*conn), to, o.allow_out_of_order);
    }
    if (!plan.problems.empty()) {
        Error e(ExitCode::failure, "refusing to migrate: the database and the files disagree",
                "ctldb migrate status shows the details; restore the original files");
        e.with_details(plan.problems);
        throw e;
    }
    require_static_checks(plan.todo, false, parsed);
    const auto& list = plan.list;
    const auto& todo = plan.todo;

    std::vector<Applied> applied;
    if (o.dry_run) {
        print_up_dry_run(set, todo, ctx);
        return ExitCode::ok;
    }

    const std::string by = applied_by(*conn);
    const bool no_history = std::none_of(
        list.begin(), list.end(), [](const MigrationStatus& st) { return st.applied.has_value(); });
    for (const Migration* m : todo) {
        log::info("applying " + m->file + (m->no_transaction ? " (no transaction)" : ""));
        std::int64_t ms = 0;
        const auto start = Clock::now();
        try {
            run_file(*conn, o, m->file, m->sql, parsed.up(*m), m->no_transaction, [&] {
                ms = ms_since(start);
                // In the migration's own transaction: the history table
                // appears with the first migration that commits, not with a
                // run that was refused or failed.
                create_history(*conn);
                exec(*conn,
                     "INSERT INTO ctldb_schema_migrations (version, name, checksum, applied_by, "
                     "execution_ms, no_transaction) VALUES ($1, $2, $3, $4, $5, $6)",
                     {std::to_string(m->version), m->name, m->checksum, by, std::to_string(ms),
                      std::string(m->no_transaction ? "true" : "false")});
            });
        } catch (Error& e) {
            // The very first migration of a database without history failing
            // on objects that exist: a schema made before ctldb.
            const auto& d = e.details();
            const bool exists = std::any_of(d.begin(), d.end(), [](const std::string& l) {
                return l == "sqlstate: 42P07" || l == "sqlstate: 42710";
            });
            if (!no_history || !applied.empty() || !exists) throw;
            // Say "adopt it" only when it really is this schema: compare
            // what each prefix 1..V of the migrations creates with it.
            const auto v = matching_version(*conn, set, parsed);
            Error adopt(e.code(), e.what(),
                        v ? "the database already holds exactly what migrations up to " +
                                std::to_string(*v) +
                                " create (compared object by object), made without ctldb: "
                                "adopt it with 'ctldb migrate baseline " +
                                std::to_string(*v) +
                                "'; nothing runs, later migrations apply normally"
                          : "the database has objects of the same names, but not the schema "
                            "these migrations create: it was made by something else (the "
                            "guide's node scripts?). 'ctldb migrate baseline V --dry-run' lists "
                            "the differences; bring the schema in line before adopting it");
            adopt.with_details(d);
            throw adopt;
        }
        applied.push_back({m->version, m->name, ms});
        log::info("applied " + m->file + " in " + std::to_string(ms) + " ms");
    }
    if (ctx.json()) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& a : applied) {
            arr.push_back({{"version", a.version}, {"name", a.name}, {"execution_ms", a.ms}});
        }
        print_json({{"ok", true}, {"source", set.source}, {"applied", arr}});
    } else {
        print_text(applied.empty() ? "database is up to date; nothing applied\n"
                                   : "applied " + std::to_string(applied.size()) +
                                         " migration(s); database is up to date\n");
    }
    return ExitCode::ok;
}

ExitCode run_status(const MigrateOptions& o, Context& ctx) {
    const MigrationSet set = load_set(o);
    auto conn = open(ctx);
    const auto list = migration_status(set, read_history(*conn));
    std::size_t pending = 0, bad = 0;
    for (const auto& st : list) {
        if (st.state == MigrationState::pending || st.state == MigrationState::out_of_order)
            ++pending;
        if (st.state == MigrationState::modified || st.state == MigrationState::missing) ++bad;
    }
    if (ctx.json()) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& st : list)
            arr.push_back(status_json(st));
        print_json({{"ok", pending == 0 && bad == 0},
                    {"source", set.source},
                    {"pending", pending},
                    {"drift", bad},
                    {"migrations", arr}});
    } else {
        print_text(status_table(list, use_color(stdout)) +
                   (pending + bad == 0 ? "up to date\n"
                                       : std::to_string(pending) + " pending, " +
                                             std::to_string(bad) + " modified or missing\n"));
    }
    if (o.check && (pending > 0 || bad > 0)) return ExitCode::failure;
    return bad > 0 ? ExitCode::failure : ExitCode::ok;
}

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

ExitCode run_lint(const MigrateOptions& o, Context& ctx) {
    const MigrationSet set = load_set(o);
    nlohmann::json arr = nlohmann::json::array();
    Table t({"FILE", "LINE", "RULE", "MESSAGE"});
    std::size_t n = 0;
    for (const auto& m : set.migrations) {
        for (const auto& p : check_migration_sql(m.file, m.sql, m.no_transaction)) {
            arr.push_back(
                {{"file", m.file}, {"line", nullptr}, {"rule", "invalid"}, {"message", p}});
            t.add_row({m.file, "", "invalid", p});
            ++n;
        }
        for (const auto& l : sql::lint(m.sql)) {
            arr.push_back(
                {{"file", m.file}, {"line", l.line}, {"rule", l.rule}, {"message", l.message}});
            t.add_row({m.file, std::to_string(l.line), l.rule, l.message});
            ++n;
        }
    }
    if (ctx.json()) {
        print_json({{"ok", n == 0}, {"source", set.source}, {"findings", arr}});
    } else {
        print_text(n == 0 ? "no findings in " + std::to_string(set.migrations.size()) + " files\n"
                          : t.render());
    }
    return n == 0 ? ExitCode::ok : ExitCode::failure;
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

ExitCode run_create(const MigrateOptions& o, Context& ctx) {
    const std::string dir = o.dir.empty() ? "migrations" : o.dir;
    auto name = normalise_migration_name(o.name);
    if (!name) {
        throw usage_error("'" + o.name + "' is not a usable migration name",
                          "use letters, digits, spaces, - and _ (e.g. add_invoice_table)");
    }
    if (!fs::is_dir(dir)) {
        throw usage_error(dir + " is not a directory", "create it, or pass --dir");
    }
    const MigrationSet set = load_migrations_dir(dir);
    std::int64_t next = set.migrations.empty() ? 1 : set.migrations.back().version + 1;
    std::size_t width = 4;
    if (!set.migrations.empty()) {
        width = std::max(width, set.migrations.back().file.find('_'));
    }
    std::string number = std::to_string(next);
    if (number.size() < width) number.insert(0, width - number.size(), '0');
    const std::string file = number + "_" + *name + ".sql";
    const std::string path = dir + "/" + file;
    std::string body;
    if (o.no_transaction) body += std::string(kNoTransactionMarker) + "\n";
    body += "-- " + file + ", created " + utc_now_iso8601() + "\n";
    body += o.no_transaction
                ? "-- Runs statement by statement outside a transaction (for CREATE INDEX\n"
                  "-- CONCURRENTLY). Make every statement safe to run again (IF NOT EXISTS).\n\n"
                : "-- Runs in one transaction: all of it applies, or none of it.\n\n";
    fs::write_new(path, body, 0644);
    if (ctx.json()) {
        print_json({{"ok", true}, {"file", path}, {"version", next}});
    } else {
        print_text(path + "\n");
    }
    return ExitCode::ok;
}

/// Why rolling back must not start, or nullopt: a down file that would
/// destroy rows in a table its own up migration never created is wrong
/// whatever the flags; one that drops a table others depend on without
/// CASCADE would fail half way, after the migrations before it in the plan
/// were rolled back.
std::optional<Error> down_refusal(const std::vector<DestroyedTable>& destroyed) {
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

ExitCode print_down_dry_run(const std::vector<const Migration*>& todo,
                            const std::vector<DestroyedTable>& destroyed,
                            const nlohmann::json& destroyed_json,
                            const std::optional<Error>& refusal, Context& ctx) {
    // The plan, what it destroys and its SQL; nothing is run and the
    // history is untouched.
    nlohmann::json plan = nlohmann::json::array();
    std::string text;
    for (const Migration* m : todo) {
        plan.push_back({{"version", m->version},
                        {"name", m->name},
                        {"down_file", m->down_file},
                        {"sql", *m->down_sql}});
        text += "-- would roll back " + std::to_string(m->version) + "_" + m->name + " with " +
                m->down_file + "\n";
        for (const auto& d : destroyed) {
            if (d.version == m->version) text += "--   it " + d.describe() + "\n";
        }
        text += *m->down_sql;
        if (text.back() != '\n') text += '\n';
    }
    const ExitCode code = refusal ? ExitCode::failure : ExitCode::ok;
    if (ctx.json()) {
        nlohmann::json doc = {{"ok", !refusal},
                              {"exit_code", static_cast<int>(code)},
                              {"dry_run", true},
                              {"plan", plan},
                              {"destroyed", destroyed_json}};
        if (refusal) doc["refused"] = {{"error", refusal->what()}, {"details", refusal->details()}};
        print_json(doc);
    } else {
        print_text(todo.empty() ? "nothing to roll back\n"
                                : text + "-- dry run: nothing was changed\n");
    }
    // The real run would stop here: say why on stderr, exit as it would.
    if (refusal) report_error(*refusal, false);
    return code;
}

ExitCode run_down(const MigrateOptions& o, Context& ctx) {
    check_pg_duration("--ddl-lock-timeout", o.ddl_lock_timeout);
    check_pg_duration("--statement-timeout", o.statement_timeout);
    if (!o.to.empty() && o.steps > 0) throw usage_error("use either --to or --steps, not both");
    const auto& cfg = ctx.valid_config(true);
    if (!o.dry_run) cfg.refuse_in_production("roll back migrations", o.force);
    const MigrationSet set = load_set(o);
    // -1: no --to given.
    const std::int64_t to = o.to.empty() ? -1 : parse_version("--to", o.to);
    auto conn = open(ctx);
    MigrationLock lock(*conn, o.lock_timeout_s);
    const auto list = migration_status(set, read_history(*conn));
    auto problems = drift(list);
    std::vector<const Migration*> todo;
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
        if (!it->applied) continue;
        if (to >= 0 ? it->version <= to
                    : todo.size() >= static_cast<std::size_t>(std::max<std::int64_t>(o.steps, 1))) {
            break;
        }
        if (it->file && !it->file->down_sql) {
            problems.push_back(it->file->file + " has no down file (" +
                               std::to_string(it->version) + "_" + it->name + ".down.sql)");
        }
        if (it->file) todo.push_back(it->file);
    }
    if (!problems.empty()) {
        Error e(ExitCode::failure, "refusing to roll back; nothing was run");
        e.with_details(problems);
        throw e;
    }
    ParsedFiles parsed;
    require_static_checks(todo, true, parsed);
    // What it destroys, before anything runs.
    const std::vector<DestroyedTable> destroyed = destroyed_tables(*conn, todo, parsed);
    const std::optional<Error> refusal = down_refusal(destroyed);
    nlohmann::json destroyed_json = nlohmann::json::array();
    std::size_t with_rows = 0;
    for (const auto& d : destroyed) {
        destroyed_json.push_back(
            {{"version", d.version},
             {"table", d.table},
             {"action", d.action},
             {"rows", d.rows < 0 ? nlohmann::json(nullptr) : nlohmann::json(d.rows)},
             {"rows_capped", d.capped},
             {"created_by_up", d.created_by_up},
             {"dependents", d.dependents}});
        if (d.holds_rows() || (d.cascade && !d.dependents.empty())) ++with_rows;
    }
    if (o.dry_run) return print_down_dry_run(todo, destroyed, destroyed_json, refusal, ctx);
    if (refusal) throw *refusal;
    for (const auto& d : destroyed) {
        const std::string line = d.down_file + " " + d.describe();
        if (d.holds_rows() || !d.dependents.empty()) {
            log::warn(line);
        } else {
            log::info(line);
        }
    }
    if (with_rows > 0 && !o.yes) {
        const std::string what = "rolling back " + std::to_string(todo.size()) +
                                 " migration(s) destroys " + std::to_string(with_rows) +
                                 " table(s) holding rows or depended on (listed above)";
        if (!is_tty(stdin)) {
            throw usage_error(what + "; nothing was changed", "pass --yes to confirm");
        }
        if (!confirm(what + ". Go ahead?")) {
            log::info("nothing rolled back");
            return ExitCode::failure;
        }
    }
    nlohmann::json done = nlohmann::json::array();
    for (const Migration* m : todo) {
        log::info("rolling back " + m->file + " with " + m->down_file);
        const std::int64_t ms = run_file(
            *conn, o, m->down_file, *m->down_sql, parsed.down(*m), m->down_no_transaction, [&] {
                exec(*conn, "DELETE FROM ctldb_schema_migrations WHERE version = $1",
                     {std::to_string(m->version)});
            });
        done.push_back({{"version", m->version}, {"name", m->name}, {"execution_ms", ms}});
    }
    if (ctx.json()) {
        print_json(
            {{"ok", true}, {"exit_code", 0}, {"rolled_back", done}, {"destroyed", destroyed_json}});
    } else {
        print_text("rolled back " + std::to_string(done.size()) + " migration(s)\n");
    }
    return ExitCode::ok;
}

}  // namespace

void register_migrate(CLI::App& app, Context& ctx) {
    static MigrateOptions o;
    auto* cmd = app.add_subcommand("migrate", "Versioned schema migrations (default: up)");
    auto add_dir = [](CLI::App* c) {
        c->add_option("--dir", o.dir, "Migrations directory (default: the set built into ctldb)");
    };
    auto add_timeouts = [](CLI::App* c) {
        c->add_option("--lock-timeout", o.lock_timeout_s,
                      "Seconds to wait for another runner's migration lock (then exit 4)")
            ->check(CLI::Range(0, 86400));
        c->add_option("--ddl-lock-timeout", o.ddl_lock_timeout,
                      "lock_timeout while migrating (PostgreSQL duration, default 10s)");
        c->add_option("--statement-timeout", o.statement_timeout,
                      "statement_timeout while migrating (default 15min; 0: none)");
    };
    auto add_up_options = [&](CLI::App* c) {
        add_dir(c);
        add_timeouts(c);
        c->add_option("--to", o.to, "Apply up to and including this version");
        c->add_flag("--dry-run", o.dry_run, "Print the plan and its SQL; change nothing");
        c->add_flag("--allow-out-of-order", o.allow_out_of_order,
                    "Apply files older than migrations already applied");
    };
    add_up_options(cmd);
    cmd->callback([cmd, &ctx] {
        if (cmd->get_subcommands().empty()) ctx.run = [&ctx] { return run_up(o, ctx); };
    });
    auto* up = cmd->add_subcommand("up", "Apply pending migrations");
    add_up_options(up);
    up->callback([&ctx] { ctx.run = [&ctx] { return run_up(o, ctx); }; });

    auto* status =
        cmd->add_subcommand("status", "Applied, pending, modified and missing migrations");
    add_dir(status);
    status->add_flag("--check", o.check, "Exit 1 when anything is pending (a CI gate)");
    status->callback([&ctx] { ctx.run = [&ctx] { return run_status(o, ctx); }; });

    auto* validate = cmd->add_subcommand(
        "validate",
        "Check files (syntax, transaction rules), checksums and the schema against the database");
    add_dir(validate);
    validate->add_flag("--no-schema-check", o.no_schema_check,
                       "Skip building the applied migrations in a scratch schema (rolled back) "
                       "and comparing it with the database");
    validate->callback([&ctx] { ctx.run = [&ctx] { return run_validate(o, ctx); }; });

    auto* lint = cmd->add_subcommand("lint", "Warn about risky statements on existing tables");
    add_dir(lint);
    lint->callback([&ctx] { ctx.run = [&ctx] { return run_lint(o, ctx); }; });

    auto* baseline = cmd->add_subcommand(
        "baseline", "Record migrations up to VERSION as applied without running them");
    add_dir(baseline);
    baseline->add_option("version", o.baseline_version, "Last version the database already has")
        ->required();
    baseline->add_option("--lock-timeout", o.lock_timeout_s, "Seconds to wait for the lock");
    baseline->add_flag("--dry-run", o.dry_run,
                       "Compare the schema and show what would be recorded; record nothing");
    baseline->add_flag("--force", o.force,
                       "Record even when the schema differs from what the migrations create "
                       "(noted in the history)");
    baseline->callback([&ctx] { ctx.run = [&ctx] { return run_baseline(o, ctx); }; });

    auto* create = cmd->add_subcommand("create", "Write the next numbered migration file");
    create->add_option("name", o.name, "What the migration does, e.g. add_invoices")->required();
    create->add_option("--dir", o.dir, "Directory (default ./migrations)");
    create->add_flag("--no-transaction", o.no_transaction,
                     "Start the file with -- ctldb:no-transaction");
    create->callback([&ctx] { ctx.run = [&ctx] { return run_create(o, ctx); }; });

    auto* down = cmd->add_subcommand("down", "Roll back applied migrations with their down files");
    add_dir(down);
    add_timeouts(down);
    down->add_option("--to", o.to, "Roll back every migration newer than this version");
    down->add_option("--steps", o.steps, "How many migrations to roll back (default 1)")
        ->check(CLI::Range(1, 1000000));
    down->add_flag("--force", o.force, "Allow it in production (CTLDB_ENV or NODE_ENV)");
    down->add_flag("--dry-run", o.dry_run,
                   "Print what would be rolled back, the tables it destroys and its SQL; change "
                   "nothing");
    down->add_flag("-y,--yes", o.yes,
                   "Roll back without asking even when tables holding rows are dropped or "
                   "emptied (needed off a terminal)");
    down->callback([&ctx] { ctx.run = [&ctx] { return run_down(o, ctx); }; });
}

}  // namespace ctldb
