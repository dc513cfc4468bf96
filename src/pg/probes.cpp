#include "pg/probes.hpp"

#include <cmath>
#include <cstdlib>

#include "pg/sql.hpp"

namespace ctldb::pg::probe {

void bound_reads(Connection& conn, int statement_ms, int lock_ms) {
    exec(conn, "SET statement_timeout = " + std::to_string(statement_ms) +
                   "; SET lock_timeout = " + std::to_string(lock_ms));
}

std::string user_schema(const char* ns) {
    const std::string n(ns);
    return "(" + n + ".nspname NOT IN ('pg_catalog', 'information_schema') AND " + n +
           ".nspname NOT LIKE 'pg\\_toast%' AND " + n + ".nspname NOT LIKE 'pg\\_temp\\_%')";
}

std::string iso_utc(const std::string& expr) {
    // 'infinity' has no calendar date: NULL, as "no time" is everywhere.
    return "CASE WHEN isfinite(" + expr + ") THEN to_char((" + expr +
           ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END";
}

std::vector<std::int64_t> parse_int_array(const std::string& text) {
    std::vector<std::int64_t> out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (std::isdigit(static_cast<unsigned char>(text[i])) != 0 || text[i] == '-') {
            char* end = nullptr;
            out.push_back(std::strtoll(text.c_str() + i, &end, 10));
            i = static_cast<std::size_t>(end - text.c_str());
        } else {
            ++i;
        }
    }
    return out;
}

std::vector<Setting> settings(Connection& conn, const std::vector<std::string>& names) {
    // pg_settings leaves out the rows this role may not read, where SHOW
    // and current_setting() would raise an error.
    QueryResult r = exec(conn,
                         "SELECT name, setting, coalesce(unit, ''), source, pending_restart, "
                         "context FROM pg_settings WHERE name = ANY($1::text[])",
                         {sql::array_literal(names)});
    std::map<std::string, int> seen;
    for (int i = 0; i < r.rows(); ++i)
        seen[r.get(i, 0)] = i;
    std::string role;
    if (seen.size() < names.size()) role = exec(conn, "SELECT current_user").get(0, 0);
    std::vector<Setting> out;
    for (const auto& n : names) {
        Setting s;
        s.name = n;
        auto it = seen.find(n);
        if (it != seen.end()) {
            s.value = r.get(it->second, 1);
            s.unit = r.get(it->second, 2);
            s.source = r.get(it->second, 3);
            s.pending_restart = r.get(it->second, 4) == "t";
            s.context = r.get(it->second, 5);
        } else {
            s.unreadable = "not visible to role " + role + ": needs " + kReadAllSettingsGrant;
        }
        out.push_back(std::move(s));
    }
    return out;
}

Databases databases(Connection& conn) {
    QueryResult r = exec(conn,
                         "SELECT datname, CASE WHEN has_database_privilege(oid, 'CONNECT') OR "
                         "pg_has_role('pg_read_all_stats', 'USAGE') THEN pg_database_size(oid) "
                         "END, age(datfrozenxid), mxid_age(datminmxid), datallowconn, "
                         "current_setting('autovacuum_freeze_max_age')::bigint, "
                         "current_setting('autovacuum_multixact_freeze_max_age')::bigint "
                         "FROM pg_database ORDER BY 1");
    Databases out;
    for (int i = 0; i < r.rows(); ++i) {
        DatabaseStats d;
        Row row(r, i);
        d.name = row.text();
        d.size_bytes = row.optional_int64();
        d.xid_age = row.int64();
        d.mxid_age = row.int64();
        d.allows_connections = row.flag();
        out.freeze_max_age = row.int64();
        out.multixact_freeze_max_age = row.int64();
        out.list.push_back(std::move(d));
    }
    return out;
}

RoleFacts role(Connection& conn) {
    QueryResult r = exec(
        conn,
        "SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, "
        "r.rolreplication, d.datdba = r.oid, array_to_string(ARRAY(SELECT o.datname FROM "
        "pg_database o WHERE o.datdba = r.oid AND o.datname <> current_database() ORDER BY 1), "
        "chr(31)), pg_has_role(r.oid, 'pg_monitor', 'USAGE'), pg_has_role(r.oid, "
        "'pg_read_all_stats', 'USAGE'), pg_has_role(r.oid, 'pg_read_all_settings', 'USAGE'), "
        "has_database_privilege(current_database(), 'CREATE'), EXISTS (SELECT 1 FROM "
        "pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a WHERE "
        "n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'), " +
            iso_utc("r.rolvaliduntil") +
            " FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = "
            "current_database()");
    RoleFacts f;
    Row row(r, 0);
    f.name = row.text();
    f.superuser = row.flag();
    f.create_role = row.flag();
    f.create_db = row.flag();
    f.bypass_rls = row.flag();
    f.replication = row.flag();
    f.owns_database = row.flag();
    const std::string others = row.text();
    for (std::size_t start = 0; !others.empty() && start <= others.size();) {
        auto end = others.find('\x1f', start);
        if (end == std::string::npos) end = others.size();
        f.other_databases.push_back(others.substr(start, end - start));
        start = end + 1;
    }
    f.monitor = row.flag();
    f.read_all_stats = row.flag();
    f.read_all_settings = row.flag();
    f.can_create_in_database = row.flag();
    f.public_can_create_in_public = row.flag();
    f.valid_until = row.optional();
    return f;
}

std::optional<std::string> extension_version(Connection& conn, const std::string& name) {
    QueryResult r = exec(conn, "SELECT extversion FROM pg_extension WHERE extname = $1", {name});
    if (r.rows() == 0) return std::nullopt;
    return r.get(0, 0);
}

StatsAge stats_age(Connection& conn) {
    QueryResult r =
        exec(conn, "SELECT " + iso_utc("stats_reset") + ", " +
                       iso_utc("coalesce(stats_reset, pg_postmaster_start_time())") +
                       ", extract(epoch FROM now() - coalesce(stats_reset, "
                       "pg_postmaster_start_time()))::float8 FROM pg_stat_database WHERE datname "
                       "= current_database()");
    StatsAge a;
    if (r.rows() == 0) return a;
    a.reset_at = r.get_optional(0, 0);
    a.since = r.get(0, 1);
    a.seconds = std::atof(r.get(0, 2).c_str());
    return a;
}

std::vector<TableName> user_tables(Connection& conn) {
    QueryResult r = exec(conn,
                         "SELECT n.nspname || '.' || c.relname, format('%I.%I', n.nspname, "
                         "c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                         "c.relnamespace WHERE c.relkind = 'r' AND " +
                             user_schema("n") + " ORDER BY 1");
    std::vector<TableName> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.get(i, 0), r.get(i, 1)});
    return out;
}

std::int64_t exact_rows(Connection& conn, const std::string& quoted_table) {
    return exec(conn, "SELECT count(*) FROM ONLY " + quoted_table).get_int(0, 0);
}

}  // namespace ctldb::pg::probe

namespace ctldb::pg::probe {

std::vector<std::string> exclusively_locked(Connection& conn) {
    const QueryResult r = exec(conn,
                               "SELECT format('%I.%I', n.nspname, c.relname), l.pid, "
                               "coalesce(a.usename, ''), coalesce(a.application_name, ''), "
                               "l.granted FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                               "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN "
                               "pg_stat_activity a ON a.pid = l.pid WHERE l.relation IN (" +
                                   std::string(kExclusivelyLocked) +
                                   ") AND l.mode = 'AccessExclusiveLock' ORDER BY 1, 2");
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) {
        out.push_back(r.get(i, 0) + " (pid " + r.get(i, 1) +
                      (r.get(i, 2).empty() ? "" : ", user " + r.get(i, 2)) +
                      (r.get(i, 3).empty() ? "" : ", application " + r.get(i, 3)) +
                      (r.get(i, 4) == "t" ? "" : ", waiting") + ")");
    }
    return out;
}

std::string current_database(Connection& conn) {
    return exec(conn, "SELECT current_database()").get(0, 0);
}

std::string current_user(Connection& conn) {
    return exec(conn, "SELECT current_user").get(0, 0);
}

ServerVersion server_version(Connection& conn) {
    QueryResult r = exec(conn,
                         "SELECT current_setting('server_version_num')::int, "
                         "current_setting('server_version')");
    return {r.get_int(0, 0), r.get(0, 1)};
}

std::int64_t database_size(Connection& conn) {
    return exec(conn, "SELECT pg_database_size(current_database())").get_int(0, 0);
}

void ping(Connection& conn) {
    exec(conn, "SELECT 1");
}

}  // namespace ctldb::pg::probe
