#include "migrate/migration_history.hpp"

#include "base/process.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "pg/probes.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/signals.hpp"

namespace ctldb::migrate {

namespace {

/// Who holds the migration lock, for the waiting message.
std::string lock_holder(pg::Connection& conn) {
    pg::QueryResult r = exec(conn,
                             "SELECT a.pid, coalesce(nullif(a.application_name, ''), '?'), "
                             "coalesce(host(a.client_addr), 'local socket'), "
                             "coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS'), '?') "
                             "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                             "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                             "AND l.database = (SELECT oid FROM pg_database WHERE datname = "
                             "current_database()) AND l.classid = ($1::bigint >> 32)::oid "
                             "AND l.objid = ($1::bigint & 4294967295)::oid",
                             {std::to_string(kMigrationLockKey)});
    if (r.rows() == 0) return "another session (not visible to this role)";
    return "pid " + r.get(0, 0) + " (" + r.get(0, 1) + ", " + r.get(0, 2) + ", connected since " +
           r.get(0, 3) + ")";
}

}  // namespace

bool history_exists(pg::Connection& conn) {
    return exec(conn, "SELECT to_regclass($1) IS NOT NULL", {std::string(kHistoryTable)})
               .get(0, 0) == "t";
}

std::vector<AppliedMigration> read_history(pg::Connection& conn) {
    std::vector<AppliedMigration> out;
    if (!history_exists(conn)) return out;
    pg::QueryResult r =
        exec(conn,
             "SELECT version, name, checksum, "
             "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
             "applied_by, execution_ms FROM ctldb_schema_migrations ORDER BY version");
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back(AppliedMigration{r.get_int(i, 0), r.get(i, 1), r.get(i, 2), r.get(i, 3),
                                       r.get(i, 4), r.get_int(i, 5)});
    }
    return out;
}

void create_history(pg::Connection& conn) {
    exec(conn,
         "CREATE TABLE IF NOT EXISTS ctldb_schema_migrations ("
         " version bigint PRIMARY KEY,"
         " name text NOT NULL,"
         " checksum text NOT NULL,"
         " applied_at timestamptz NOT NULL DEFAULT now(),"
         " applied_by text NOT NULL,"
         " execution_ms bigint NOT NULL,"
         " no_transaction boolean NOT NULL DEFAULT false)");
}

void record_applied(pg::Connection& conn, const Migration& m, const std::string& by,
                    std::int64_t ms, bool no_transaction) {
    exec(conn,
         "INSERT INTO ctldb_schema_migrations (version, name, checksum, applied_by, "
         "execution_ms, no_transaction) VALUES ($1, $2, $3, $4, $5, $6)",
         {std::to_string(m.version), m.name, m.checksum, by, std::to_string(ms),
          std::string(no_transaction ? "true" : "false")});
}

void record_adopted(pg::Connection& conn, const Migration& m, const std::string& applied_at,
                    const std::string& by, bool no_transaction) {
    exec(conn,
         "INSERT INTO ctldb_schema_migrations (version, name, checksum, applied_at, "
         "applied_by, execution_ms, no_transaction) VALUES ($1, $2, $3, "
         "coalesce($4::timestamptz, now()), $5, 0, $6)",
         {std::to_string(m.version), m.name, m.checksum,
          applied_at.empty() ? std::nullopt : std::optional<std::string>(applied_at), by,
          std::string(no_transaction ? "true" : "false")});
}

void forget_applied(pg::Connection& conn, std::int64_t version) {
    exec(conn, "DELETE FROM ctldb_schema_migrations WHERE version = $1", {std::to_string(version)});
}

MigrationsFolder migrations_folder(const config::Config& cfg, const std::string& flag,
                                   const std::string& flag_name, const std::string& layout_flag) {
    MigrationsFolder out;
    const config::Value& dir = cfg.get("migrations_dir");
    if (!flag.empty()) {
        out.dir = flag;
        out.source = flag_name;
    } else if (dir.is_set()) {
        out.dir = dir.text;
        out.source = dir.source;
    }
    const config::Value& layout = cfg.get("migrations_layout");
    const bool from_flag = layout_flag != "auto" || !layout.is_set();
    const std::string text = from_flag ? layout_flag : layout.text;
    const auto parsed = parse_layout(text);
    if (!parsed) {
        throw usage_error((from_flag ? std::string("--layout") : layout.source) + " " +
                              printable(text) + " is not a layout ctldb reads",
                          "auto, numbered, golang-migrate, flyway, dbmate or node");
    }
    out.layout = *parsed;
    return out;
}

ComparisonBasis comparison_basis(pg::Connection& conn, const std::string& dir,
                                 MigrationLayout layout, const std::string& dir_source) {
    ComparisonBasis out;
    // One read of the history, kept for the caller (metrics scrape often).
    out.history_table = history_exists(conn);
    if (out.history_table) out.history = read_history(conn);
    if (!dir.empty()) {
        out.set = load_migrations_dir(dir, layout);
        out.source = dir + " (" + dir_source + ")";
        return out;
    }
    out.source = "built-in";
    const std::string hint_tail =
        "; no migrations folder is configured (CTLDB_MIGRATIONS_DIR, migrations.dir in the "
        "config file, or --migrations-dir)";
    static const MigrationSet embedded = embedded_migration_set();  // parsed once
    if (out.history_table) {
        std::vector<std::string> foreign;
        for (const auto& h : out.history) {
            const Migration* m = embedded.find(h.version);
            if (m == nullptr || m->name != h.name) foreign.push_back(h.name);
        }
        if (foreign.empty()) {
            out.set = embedded;
            return out;
        }
        out.not_compared =
            "the history records migrations ctldb does not ship (" +
            join(std::vector<std::string>(
                     foreign.begin(), foreign.begin() + std::min<std::size_t>(3, foreign.size())),
                 ", ") +
            (foreign.size() > 3 ? ", ..." : "") + ")" + hint_tail;
        return out;
    }
    // No ctldb history: another tool's, or objects made without one, mean
    // this is not ctldb's built-in schema waiting to be built.
    const pg::QueryResult r =
        exec(conn,
             "SELECT coalesce(to_regclass('flyway_schema_history')::text, "
             "to_regclass('schema_migrations')::text, ''), (SELECT count(*) FROM pg_class c JOIN "
             "pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND " +
                 pg::probe::user_schema("n") + ")");
    if (!r.get(0, 0).empty()) {
        out.not_compared =
            "migrated by another tool (its history is " + r.get(0, 0) + ")" + hint_tail;
    } else if (r.get_int(0, 1) > 0) {
        out.not_compared = "the database has tables but no migration history" + hint_tail;
    } else {
        out.set = embedded;  // empty: what ctldb migrate builds
    }
    return out;
}

std::string applied_by(pg::Connection& conn) {
    return pg::probe::current_user(conn) + "@" + host_name();
}

MigrationLock::MigrationLock(pg::Connection& conn, int timeout_s) : conn_(conn) {
    const Stopwatch start;
    bool announced = false;
    for (;;) {
        throw_if_interrupted();
        if (exec(conn, "SELECT pg_try_advisory_lock($1)", {std::to_string(kMigrationLockKey)})
                .get(0, 0) == "t") {
            break;
        }
        const std::string holder = lock_holder(conn);
        if (!announced) {
            log::info("waiting up to " + std::to_string(timeout_s) +
                      " s for the migration lock held by " + holder);
            announced = true;
        }
        const auto waited = start.ms();
        if (waited >= static_cast<std::int64_t>(timeout_s) * 1000) {
            throw Error(ExitCode::lock,
                        "another migration is running: the lock is held by " + holder +
                            " (waited " + std::to_string(timeout_s) + " s)",
                        "wait for it to finish, or raise --lock-timeout");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    held_ = true;
}

MigrationLock::~MigrationLock() {
    if (!held_) return;
    try {
        exec(conn_, "SELECT pg_advisory_unlock($1)", {std::to_string(kMigrationLockKey)});
    } catch (...) {
        // The session ends right after; the server releases the lock then.
    }
}

const pg::sql::Parsed& ParsedFiles::get(const Migration& m, bool down) {
    auto key = std::make_pair(m.version, down);
    auto it = parsed_.find(key);
    if (it == parsed_.end()) {
        log::detail("parsing " + (down ? m.down_file : m.file));
        pg::sql::Parsed parsed = pg::sql::parse(down ? *m.down_sql : m.sql);
        if (pg::sql::unwrap_transaction(parsed))
            log::detail((down ? m.down_file : m.file) + ": its own BEGIN/COMMIT left to ctldb");
        it = parsed_.emplace(key, std::move(parsed)).first;
    }
    return it->second;
}

SchemaCheck check_schema(pg::Connection& conn, const std::vector<const Migration*>& files,
                         ParsedFiles& parsed) {
    SchemaCheck out;
    try {
        schema::ScratchBuild scratch(conn, schema::current_schema(conn));
        for (const Migration* m : files)
            scratch.apply(m->file, m->sql, parsed.up(*m));
        out.comparison = schema::compare(scratch.snapshot(), scratch.live(), {kHistoryTable});
        out.built = true;
    } catch (const Error& e) {
        if (e.code() == ExitCode::interrupted || interrupted()) throw;
        // One line: a finding's text is shown with control characters
        // escaped, so a newline here read as a literal "\n".
        out.why_not = e.what();
        for (const auto& d : e.details())
            out.why_not += "; " + d;
    }
    return out;
}

std::optional<std::int64_t> matching_version(pg::Connection& conn, const MigrationSet& set,
                                             ParsedFiles& parsed) {
    std::optional<std::int64_t> best;
    try {
        schema::ScratchBuild scratch(conn, schema::current_schema(conn));
        const schema::Snapshot live = scratch.live();
        for (const auto& m : set.migrations) {
            scratch.apply(m.file, m.sql, parsed.up(m));
            if (schema::compare(scratch.snapshot(), live, {kHistoryTable}).matches())
                best = m.version;
        }
    } catch (const Error& e) {
        if (e.code() == ExitCode::interrupted || interrupted()) throw;
        log::detail(std::string("schema comparison stopped: ") + e.what());
    }
    return best;
}

std::vector<std::string> difference_lines(const schema::Comparison& c, std::size_t limit) {
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

SchemaCheck validate_schema(pg::Connection& conn, const std::vector<MigrationStatus>& list,
                            ParsedFiles& parsed, Findings& f) {
    SchemaCheck sc;
    // Built in the order they were applied (a node runner applies a file
    // that sorts early but came late after the others); ties keep the
    // files' order.
    std::vector<const Migration*> applied;
    for (const auto* st : applied_in_order(list)) {
        if (st->state != MigrationState::applied) {
            sc.why_not = "the files differ from the history (modified or missing)";
            f.add("schema", Status::warn, "not compared: " + sc.why_not);
            return sc;
        }
        applied.push_back(st->file);
    }
    if (applied.empty()) {
        sc.why_not = "no migration is applied";
        f.add("schema", Status::info, "not compared: " + sc.why_not);
        return sc;
    }
    sc = check_schema(conn, applied, parsed);
    if (sc.built && !sc.comparison.not_compared.empty()) {
        f.add("schema locked", Status::warn,
              "not compared, held in ACCESS EXCLUSIVE mode by another session (a migration?): " +
                  join(sc.comparison.not_compared, ", ") + "; everything else was compared",
              "retry when the lock is released ('ctldb queries' shows its holder)");
    }
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

}  // namespace ctldb::migrate
