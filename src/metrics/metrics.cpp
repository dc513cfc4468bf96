#include "metrics/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

#include "backup/backup.hpp"
#include "backup/remote.hpp"
#include "base/fs.hpp"
#include "base/stopwatch.hpp"
#include "base/text.hpp"
#include "base/version.hpp"
#include "checks/index_check.hpp"
#include "metrics/pool_report.hpp"
#include "migrate/migration_history.hpp"
#include "migrate/migrations.hpp"
#include "pg/probes.hpp"
#include "pg/sql.hpp"
#include "tls/tls.hpp"
#include "tls/tls_check.hpp"

namespace ctldb::metrics {

std::string escape_label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

namespace {

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[40];
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.9g", v);
    }
    return buf;
}

}  // namespace

void Exposition::add(const std::string& name, const std::string& help, const char* type,
                     double value, const Labels& labels) {
    auto it = families_.find(name);
    if (it == families_.end()) {
        order_.push_back(name);
        it = families_.emplace(name, Family{help, type, {}}).first;
    }
    std::string line = name;
    if (!labels.empty()) {
        line += '{';
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (i > 0) line += ',';
            line += labels[i].first + "=\"" + escape_label(labels[i].second) + '"';
        }
        line += '}';
    }
    it->second.samples.push_back(line + " " + number(value));
}

void Exposition::gauge(const std::string& name, const std::string& help, double value,
                       const Labels& labels) {
    add(name, help, "gauge", value, labels);
}

void Exposition::counter(const std::string& name, const std::string& help, double value,
                         const Labels& labels) {
    add(name, help, "counter", value, labels);
}

std::string Exposition::text() const {
    std::string out;
    for (const auto& name : order_) {
        const Family& f = families_.at(name);
        out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
        for (const auto& s : f.samples)
            out += s + "\n";
    }
    return out;
}

std::size_t Exposition::families() const {
    return order_.size();
}

std::size_t Exposition::samples() const {
    std::size_t n = 0;
    for (const auto& [name, f] : families_)
        n += f.samples.size();
    return n;
}

std::string failure_reason(const std::string& m) {
    if (contains(m, "timeout expired")) return "timeout";
    if (contains(m, "could not translate host name")) return "dns";
    if (contains(m, "Connection refused") || contains(m, "No such file or directory"))
        return "refused";
    if (contains(m, "No route to host") || contains(m, "Network is unreachable"))
        return "unreachable";
    if (contains(m, "authentication failed") || contains(m, "no password supplied"))
        return "authentication";
    if (contains(m, "no pg_hba.conf entry")) return "hba";
    if (contains(m, "too many clients") || contains(m, "remaining connection slots"))
        return "too_many_connections";
    if (contains(m, "does not exist")) return "no_such_database";
    if (contains(m, "SSL") || contains(m, "certificate")) return "tls";
    if (contains(m, "shutting down") || contains(m, "starting up") ||
        contains(m, "server closed the connection"))
        return "server_unavailable";
    return "other";
}

namespace {

using Labels = Exposition::Labels;

/// The newest usable backup of each database in the backup directory.
void backup_metrics(Exposition& x, const config::Config& cfg, const Options& o) {
    const std::string dir = o.backup_dir.empty() ? cfg.get("backup_dir").text : o.backup_dir;
    bool present = false;
    try {
        present = backup::is_remote(dir) || fs::is_dir(dir);
    } catch (const Error&) {  // S3://, gs://: not a location ctldb reads
    }
    std::vector<backup::BackupEntry> all;
    if (present) {
        try {
            all = backup::list_backups(dir);
        } catch (const Error&) {
            present = false;  // there, but this process may not read it
        }
    }
    x.gauge("ctldb_backup_directory_present", "1 when the backup directory exists and is readable",
            present ? 1 : 0, {{"directory", hide_url_credentials(dir)}});
    const std::string configured = cfg.connection().dbname;
    std::map<std::string, const backup::BackupEntry*> newest;
    std::map<std::string, int> usable;
    if (!configured.empty()) usable[configured] = 0;
    const std::time_t now = std::time(nullptr);
    std::map<std::string, int> future;
    for (const auto& b : all) {
        // A dump of another tool that names no database counts for the
        // configured database when it is complete, as doctor counts it.
        const std::string db = b.database.empty() && b.foreign ? configured : b.database;
        if (db.empty()) continue;
        if (b.in_future(now)) {
            ++future[db];
            continue;
        }
        if (!b.usable() && !(b.foreign && b.problem == "no manifest")) continue;
        ++usable[db];
        auto& n = newest[db];
        if (n == nullptr || b.taken_at > n->taken_at) n = &b;
    }
    for (const auto& [db, n] : future)
        x.gauge("ctldb_backups_in_future",
                "Backups of the database dated more than 5 minutes ahead of the clock (never "
                "counted as the newest)",
                n, {{"database", db}});
    for (const auto& [db, n] : usable)
        x.gauge("ctldb_backups_usable", "Usable backups of the database in the backup directory", n,
                {{"database", db}});
    for (const auto& [db, b] : newest) {
        const Labels l = {{"database", db}};
        x.gauge("ctldb_backup_newest_age_seconds", "Age of the newest usable backup",
                std::difftime(now, b->taken_at), l);
        x.gauge("ctldb_backup_newest_timestamp_seconds",
                "When the newest usable backup was taken (Unix time)",
                static_cast<double>(b->taken_at), l);
        x.gauge("ctldb_backup_newest_size_bytes", "Size of the newest usable backup",
                static_cast<double>(b->size), l);
        x.gauge("ctldb_backup_newest_verified",
                "1 when the newest usable backup was verified by reading it whole (backup verify)",
                b->manifest && !b->manifest->verified_at.empty() ? 1 : 0, l);
    }
    for (const auto& [db, b] : newest) {
        const backup::BackupEntry* d = backup::last_drilled(all, db);
        if (d == nullptr) continue;
        const std::time_t at = parse_utc_iso8601(d->drill->drilled_at);
        x.gauge("ctldb_backup_last_drill_age_seconds",
                "Age of the last successful restore drill (restore --drill) of the database's "
                "backups",
                std::difftime(now, at), {{"database", db}});
        x.gauge("ctldb_backup_last_drill_rows", "Rows the last successful restore drill compared",
                static_cast<double>(d->drill->rows), {{"database", db}});
    }
}

void session_metrics(Exposition& x, const pg::probe::Activity& a, const config::Config& cfg,
                     const Options& o) {
    const PoolReport r = pool_report(a, cfg.integer("pool_max"), o.pods, o.admin_reserve);
    for (const auto& [state, n] : r.states)
        x.gauge("ctldb_connections", "Client connections by state", static_cast<double>(n),
                {{"state", state}});
    std::map<std::string, int> by_app;
    int waiting = 0;
    for (const auto& s : a.sessions) {
        ++by_app[s.application];
        if (!s.blocked_by.empty()) ++waiting;
    }
    for (const auto& [app, n] : by_app)
        x.gauge("ctldb_connections_by_application", "Client connections by application_name", n,
                {{"application", app}});
    x.gauge("ctldb_connections_waiting_for_lock", "Client connections waiting for a lock", waiting);
    x.gauge("ctldb_max_connections", "max_connections", static_cast<double>(a.max_connections));
    x.gauge("ctldb_reserved_connections",
            "Connections reserved for superusers (and reserved_connections)",
            static_cast<double>(a.superuser_reserved + a.reserved));
    x.gauge("ctldb_longest_query_seconds", "Running time of the longest active query",
            r.longest_query_s);
    x.gauge("ctldb_longest_transaction_seconds", "Age of the oldest open transaction",
            r.longest_transaction_s);
    const checks::pool::Sizing& z = r.sizing;
    x.gauge("ctldb_pool_configured_connections", "Pods x DB_POOL_MAX",
            static_cast<double>(z.total));
    x.gauge("ctldb_pool_available_connections",
            "Connections the pools may use: max_connections minus reserved minus admin reserve",
            static_cast<double>(z.available));
    x.gauge("ctldb_pool_headroom_connections", "Free connection slots for ordinary roles now",
            static_cast<double>(z.headroom));
    const double usable = static_cast<double>(checks::pool::usable(r.capacity));
    x.gauge("ctldb_pool_headroom_ratio", "Free slots for ordinary roles as a share of them",
            usable > 0 ? static_cast<double>(z.headroom) / usable : 0);
    x.gauge("ctldb_pool_sizing_ok", "1 when pods x DB_POOL_MAX fits the available connections",
            z.ok ? 1 : 0);
    x.gauge("ctldb_admin_reserve_connections", "Connections kept for admin work", o.admin_reserve);
    x.gauge("ctldb_connections_hidden",
            "Other roles' sessions this role may not inspect (needs pg_read_all_stats)",
            static_cast<double>(a.hidden));
    const tls::NonTlsClients plain = tls::non_tls_clients(a);
    if (plain.count)
        x.gauge("ctldb_non_tls_connections", "Client connections without TLS",
                static_cast<double>(*plain.count));
}

/// The databases (the size of this one only: pg_database_size reads the
/// directory of every file, and the others' need CONNECT on them; the
/// ages of all, since wraparound stops the whole server) and the 100
/// biggest tables, sizes from the catalog (no lock: a scrape never waits
/// behind DDL), from the JSON arrays of the combined query.
void storage_metrics(Exposition& x, const std::string& databases, double freeze_max_age,
                     const std::string& tables) {
    for (const auto& d : nlohmann::json::parse(databases)) {
        const Labels l = {{"database", d[0].get<std::string>()}};
        if (!d[1].is_null())
            x.gauge("ctldb_database_size_bytes", "Size of the database ctldb is configured for",
                    d[1].get<double>(), l);
        const double age = d[2].get<double>();
        x.gauge("ctldb_database_xid_age", "Age of the database's oldest unfrozen transaction id",
                age, l);
        x.gauge("ctldb_database_wraparound_ratio",
                "XID age as a share of autovacuum_freeze_max_age (1: forced vacuum)",
                freeze_max_age > 0 ? age / freeze_max_age : 0, l);
    }
    if (tables.empty()) return;
    for (const auto& t : nlohmann::json::parse(tables)) {
        const Labels l = {{"table", t[0].get<std::string>()}};
        x.gauge("ctldb_table_size_bytes", "Heap, indexes and TOAST of the table (catalog pages)",
                t[1].get<double>(), l);
        x.gauge("ctldb_table_dead_tuples", "Dead tuples of the table", t[2].get<double>(), l);
    }
}

/// The team's migrations (or ctldb's built-in ones, where the history was
/// written from them) against the history.
void migration_metrics(Exposition& x, pg::Connection& conn, const config::Config& cfg,
                       const Options& o) {
    const migrate::MigrationsFolder folder =
        migrate::migrations_folder(cfg, o.migrations_dir, "--migrations-dir", o.layout);
    migrate::ComparisonBasis basis;
    try {
        basis = comparison_basis(conn, folder.dir, folder.layout, folder.source);
    } catch (const pg::SqlError&) {
        throw;  // the connection's trouble: the scrape reports it
    } catch (const Error& e) {
        // A folder that cannot be read is a finding, not a failed scrape.
        basis.not_compared = e.what();
    }
    x.gauge("ctldb_migrations_compared",
            "1 when migrations were compared with the history; 0 when no folder is configured "
            "for a database another tool migrated, or the folder could not be read",
            basis.set ? 1 : 0);
    if (!basis.set) return;
    int pending = 0, modified = 0, missing = 0;
    for (const auto& st : migration_status(*basis.set, basis.history)) {
        if (st.state == migrate::MigrationState::pending ||
            st.state == migrate::MigrationState::out_of_order)
            ++pending;
        if (st.state == migrate::MigrationState::modified) ++modified;
        if (st.state == migrate::MigrationState::missing) ++missing;
    }
    x.gauge("ctldb_migrations_pending", "Migrations of the folder not applied", pending);
    x.gauge("ctldb_migrations_modified", "Applied migrations whose file changed since", modified);
    x.gauge("ctldb_migrations_missing", "Applied migrations without a file", missing);
}

void statement_metrics(Exposition& x, pg::Connection& conn, const std::string& schema) {
    try {
        pg::QueryResult s = exec(conn,
                                 "SELECT coalesce(sum(calls), 0)::float8, "
                                 "coalesce(sum(total_exec_time), 0)::float8 / 1000 FROM " +
                                     schema + ".pg_stat_statements(false)");
        x.counter("ctldb_statements_calls_total",
                  "Statements executed (pg_stat_statements, visible to this role)",
                  std::atof(s.get(0, 0).c_str()));
        x.counter("ctldb_statements_exec_seconds_total",
                  "Time spent executing statements (pg_stat_statements)",
                  std::atof(s.get(0, 1).c_str()));
    } catch (const pg::SqlError&) {
        // Installed but not preloaded: no totals.
    }
}

/// Everything but the sessions in one round trip: index blocks, replicas,
/// where pg_stat_statements is, the guide's indexes missing and not
/// applicable, invalid indexes, databases and tables; then the migrations.
void server_metrics(Exposition& x, pg::Connection& conn, const config::Config& cfg,
                    const Options& o) {
    std::vector<std::string> names, tables, columns;
    for (const auto& r : checks::required_indexes()) {
        names.emplace_back(r.name);
        tables.emplace_back(r.table);
        columns.push_back(checks::required_column(r));
    }
    pg::QueryResult q = exec(
        conn,
        "SELECT b.hit, b.read, "
        "(SELECT json_agg(json_build_array(coalesce(application_name, ''), "
        "coalesce(host(client_addr), 'local'), coalesce(extract(epoch FROM replay_lag), 0))) "
        "FROM pg_stat_replication), "
        "(SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = "
        "e.extnamespace WHERE e.extname = 'pg_stat_statements'), "
        // Missing: the table has the column, and neither the guide's
        // index nor another plain btree index on that one column is
        // there (index_check's "covered"); no such table or column is
        // "not applicable", never missing.
        "(SELECT count(*) FROM unnest($1::text[], $2::text[], $3::text[]) AS r(name, tbl, "
        "col) JOIN pg_attribute a ON a.attrelid = to_regclass(r.tbl) AND a.attname = r.col "
        "AND a.attnum > 0 AND NOT a.attisdropped WHERE NOT EXISTS (SELECT 1 FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = r.name AND "
        "c.relkind = 'i' AND " +
            pg::probe::user_schema("n") +
            ") AND NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_am m ON m.oid = i.relam WHERE x.indrelid = a.attrelid AND x.indisvalid AND "
            "x.indnkeyatts = 1 AND x.indkey[0] = a.attnum AND x.indpred IS NULL AND "
            "x.indexprs IS NULL AND m.amname = 'btree')), "
            "(SELECT count(*) FROM unnest($2::text[], $3::text[]) AS r(tbl, col) WHERE NOT EXISTS "
            "(SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(r.tbl) AND a.attname = "
            "r.col AND a.attnum > 0 AND NOT a.attisdropped)), (SELECT count(*) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN "
            "pg_namespace n ON n.oid = i.relnamespace WHERE NOT x.indisvalid AND " +
            pg::probe::user_schema("n") +
            "), (SELECT json_agg(json_build_array(datname, CASE WHEN datname = "
            "current_database() THEN pg_database_size(oid) END, age(datfrozenxid)) ORDER BY "
            "datname) FROM pg_database WHERE datallowconn), "
            "current_setting('autovacuum_freeze_max_age')::float8, "
            "(SELECT json_agg(json_build_array(name, bytes, dead) ORDER BY bytes DESC, name) FROM "
            "(SELECT s.schemaname || '.' || s.relname AS name, (c.relpages::bigint + "
            "coalesce(t.relpages, 0) + coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN "
            "pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid), 0)) * "
            "current_setting('block_size')::bigint AS bytes, s.n_dead_tup AS dead FROM "
            "pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid LEFT JOIN pg_class t ON "
            "t.oid = c.reltoastrelid ORDER BY bytes DESC, name LIMIT 100) t) FROM (SELECT "
            "coalesce(sum(idx_blks_hit), 0) AS hit, coalesce(sum(idx_blks_read), 0) AS read "
            "FROM pg_statio_user_indexes) b",
        {pg::sql::array_literal(names), pg::sql::array_literal(tables),
         pg::sql::array_literal(columns)});
    const double h = static_cast<double>(q.get_int(0, 0)),
                 rd = static_cast<double>(q.get_int(0, 1));
    x.counter("ctldb_index_blocks_hit_total", "Index blocks found in shared buffers", h);
    x.counter("ctldb_index_blocks_read_total", "Index blocks read from disk", rd);
    x.gauge("ctldb_index_hit_ratio", "Share of index blocks found in shared buffers",
            h + rd > 0 ? h / (h + rd) : 1);
    if (!q.is_null(0, 2)) {
        for (const auto& r : nlohmann::json::parse(q.get(0, 2)))
            x.gauge(
                "ctldb_replication_lag_seconds", "Replay lag of a replica", r[2].get<double>(),
                {{"application", r[0].get<std::string>()}, {"client", r[1].get<std::string>()}});
    }
    x.gauge("ctldb_guide_indexes_missing", "The guide's indexes missing on existing tables",
            static_cast<double>(q.get_int(0, 4)));
    x.gauge("ctldb_guide_indexes_not_applicable",
            "The guide's indexes whose table or column this database does not have",
            static_cast<double>(q.get_int(0, 5)));
    x.gauge("ctldb_indexes_invalid", "Invalid indexes (failed concurrent builds)",
            static_cast<double>(q.get_int(0, 6)));
    storage_metrics(x, q.get(0, 7), std::atof(q.get(0, 8).c_str()),
                    q.is_null(0, 9) ? std::string() : q.get(0, 9));
    migration_metrics(x, conn, cfg, o);
    if (!q.is_null(0, 3)) statement_metrics(x, conn, q.get(0, 3));
}

void tls_metrics(Exposition& x, pg::Connection& conn) {
    const tls::TlsPeer p = tls::tls_peer(conn);
    x.gauge("ctldb_tls_connection", "1 when ctldb's own connection uses TLS",
            p.session.in_use ? 1 : 0);
    if (p.leaf_pem.empty()) return;
    // The certificate changes rarely: parse it again only when it does.
    static std::mutex m;
    static std::string last_pem;
    static tls::CertSummary last;
    std::lock_guard<std::mutex> lock(m);
    if (p.leaf_pem != last_pem) {
        last = tls::summarize(p.leaf_pem);
        last_pem = p.leaf_pem;
    }
    const tls::CertSummary& c = last;
    std::tm tm{};
    if (::strptime(c.not_after.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return;
    const double not_after = static_cast<double>(::timegm(&tm));
    x.gauge("ctldb_tls_server_certificate_expiry_timestamp_seconds",
            "When the server certificate expires (Unix time)", not_after);
    x.gauge("ctldb_tls_server_certificate_expiry_seconds",
            "Seconds until the server certificate expires (negative: expired)",
            not_after - static_cast<double>(std::time(nullptr)));
}

}  // namespace

std::string scrape(pg::Connection* conn, const config::Config& cfg, const Options& o,
                   const std::string& down_reason) {
    Stopwatch clock;
    Exposition x;
    if (conn != nullptr) {
        x.gauge("ctldb_up", "1 when ctldb reached the server", 1);
        pg::probe::bound_reads(*conn, o.timeout_ms,
                               std::min(o.timeout_ms, pg::probe::kReadLockTimeoutMs));
        session_metrics(x, pg::probe::activity(*conn), cfg, o);
        server_metrics(x, *conn, cfg, o);
        tls_metrics(x, *conn);
    } else {
        x.gauge("ctldb_up", "1 when ctldb reached the server", 0, {{"reason", down_reason}});
    }
    backup_metrics(x, cfg, o);
    x.gauge("ctldb_build_info", "ctldb's version", 1, {{"version", version()}});
    x.gauge("ctldb_scrape_duration_seconds", "How long this scrape took",
            clock.ms_exact() / 1000.0);
    return x.text();
}

}  // namespace ctldb::metrics
