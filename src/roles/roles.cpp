#include "roles/roles.hpp"

#include <ctime>
#include <map>

#include "base/text.hpp"
#include "pg/sql.hpp"

namespace ctldb::roles {

using pg::sql::quote_identifier;

namespace {

std::vector<std::string> split_unit(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (!s.empty() && start <= s.size()) {
        auto end = s.find('\x1f', start);
        if (end == std::string::npos) end = s.size();
        out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::optional<std::time_t> parse_iso(const std::string& s) {
    std::tm tm{};
    if (s.size() < 20 || ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr)
        return std::nullopt;
    return ::timegm(&tm);
}

/// The rotation record exists and this role may read it.
bool rotations_readable(pg::Connection& conn) {
    // By oid: a missing table is NULL there, never an error.
    return exec(conn, std::string("SELECT coalesce(has_table_privilege(to_regclass('") +
                          kRotationTable + "')::oid, 'SELECT'), false)")
               .get(0, 0) == "t";
}

}  // namespace

std::optional<double> days_between(const std::string& a, const std::string& b) {
    const auto ta = parse_iso(a), tb = parse_iso(b);
    if (!ta || !tb) return std::nullopt;
    return std::difftime(*tb, *ta) / 86400.0;
}

std::optional<std::string> rotated_at(pg::Connection& conn, const std::string& role) {
    if (!rotations_readable(conn)) return std::nullopt;
    pg::QueryResult r = exec(conn,
                             "SELECT " + pg::probe::iso_utc("rotated_at") + " FROM " +
                                 kRotationTable + " WHERE role_name = $1",
                             {role});
    if (r.rows() == 0) return std::nullopt;
    return r.get_optional(0, 0);
}

RoleList list(pg::Connection& conn, bool include_system) {
    const std::string tables =
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', "
        "'p') AND " +
        pg::probe::user_schema("n") + " AND c.relname <> '" + kRotationTable + "'";
    pg::QueryResult r = exec(
        conn,
        "SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, "
        "r.rolreplication, r.rolbypassrls, r.rolconnlimit, " +
            pg::probe::iso_utc("r.rolvaliduntil") +
            ", array_to_string(ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON "
            "b.oid = m.roleid WHERE m.member = r.oid ORDER BY 1), chr(31)), d.datdba = r.oid, "
            "has_database_privilege(r.oid, d.oid, 'CONNECT'), "
            "has_database_privilege(r.oid, d.oid, 'CREATE'), "
            "has_database_privilege(r.oid, d.oid, 'TEMPORARY'), "
            "(SELECT count(*) " +
            tables + " AND has_table_privilege(r.oid, c.oid, 'SELECT')), (SELECT count(*) " +
            tables +
            " AND has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')), "
            "(SELECT count(*) " +
            tables +
            "), d.datname FROM pg_roles r, pg_database d WHERE d.datname = current_database()" +
            (include_system ? "" : " AND r.rolname !~ '^pg_'") + " ORDER BY r.rolname");
    RoleList out;
    for (int i = 0; i < r.rows(); ++i) {
        RoleInfo x;
        pg::Row row(r, i);
        x.name = row.text();
        x.login = row.flag();
        x.superuser = row.flag();
        x.create_role = row.flag();
        x.create_db = row.flag();
        x.replication = row.flag();
        x.bypass_rls = row.flag();
        x.connection_limit = static_cast<int>(row.int64());
        x.valid_until = row.optional();
        x.member_of = split_unit(row.text());
        x.owns_database = row.flag();
        x.can_connect = row.flag();
        x.can_create = row.flag();
        x.can_temp = row.flag();
        x.tables_readable = row.int64();
        x.tables_writable = row.int64();
        out.tables = row.int64();
        out.database = row.text();
        out.roles.push_back(std::move(x));
    }
    if (out.database.empty()) out.database = pg::probe::current_database(conn);
    if (rotations_readable(conn)) {
        pg::QueryResult rot = exec(conn, "SELECT role_name, " + pg::probe::iso_utc("rotated_at") +
                                             " FROM " + kRotationTable);
        std::map<std::string, std::string> when;
        for (int i = 0; i < rot.rows(); ++i)
            if (!rot.is_null(i, 1)) when[rot.get(i, 0)] = rot.get(i, 1);
        for (auto& x : out.roles) {
            auto it = when.find(x.name);
            if (it != when.end()) x.rotated_at = it->second;
        }
    }
    return out;
}

Findings least_privilege(const pg::probe::RoleFacts& r, const std::optional<std::string>& rotated,
                         bool strict, const std::string& now) {
    Findings out;
    const std::string least = "the guide's 'Least Privilege'";
    const std::string name = quote_identifier(r.name);
    if (r.superuser) {
        out.add("superuser", Status::fail,
                "the application role " + r.name +
                    " is a superuser: it can read and change every database, the server's "
                    "settings and files",
                least + ": ALTER ROLE " + name +
                    " NOSUPERUSER, after giving it ownership of what it needs");
    } else {
        out.add("superuser", Status::ok, "role " + r.name + " is not a superuser");
    }
    std::vector<std::string> extra;
    if (r.create_role) extra.emplace_back("CREATEROLE");
    if (r.create_db) extra.emplace_back("CREATEDB");
    if (!extra.empty() && !r.superuser) {
        out.add("role attributes", strict ? Status::fail : Status::warn,
                "role " + r.name + " has " + join(extra, ", ") + ": it can create " +
                    (r.create_role ? "roles" : "databases") +
                    ", which the application does not need",
                least + ": ALTER ROLE " + name + " NO" + join(extra, " NO"));
    }
    std::vector<std::string> other;
    if (r.bypass_rls) other.emplace_back("BYPASSRLS");
    if (r.replication) other.emplace_back("REPLICATION");
    if (!other.empty() && !r.superuser) {
        out.add("other attributes", Status::warn, "role " + r.name + " has " + join(other, ", "),
                least + ": ALTER ROLE " + name + " NO" + join(other, " NO"));
    }
    if (!r.other_databases.empty()) {
        out.add("ownership", Status::warn,
                "role " + r.name + " also owns database(s) " + join(r.other_databases, ", "),
                least + ": ALTER DATABASE ... OWNER TO a role of their own");
    }
    if (r.public_can_create_in_public) {
        out.add("schema public", strict ? Status::fail : Status::warn,
                "every role (PUBLIC) may CREATE in schema public (PostgreSQL 15 revokes this by "
                "default; this database has it back or came from an older version)",
                least + ": REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    } else {
        out.add("schema public", Status::ok, "PUBLIC may not create in schema public");
    }
    const std::string rotate = "the guide's 'Strong Passwords': rotate every " +
                               std::to_string(kRotateDays) + " days (ctldb roles rotate-password " +
                               shell_quote(r.name) + ")";
    if (r.valid_until) {
        const auto left = days_between(now, *r.valid_until);
        if (left && *left < 0) {
            out.add("password expiry", Status::fail,
                    "the password of " + r.name + " expired at " + *r.valid_until, rotate);
        } else if (left && *left < kExpiryWarnDays) {
            out.add("password expiry", Status::warn,
                    "the password of " + r.name + " expires at " + *r.valid_until, rotate);
        } else {
            out.add("password expiry", Status::ok,
                    "the password of " + r.name + " is valid until " + *r.valid_until);
        }
    }
    if (rotated) {
        const auto age = days_between(*rotated, now);
        if (age && *age > kRotateDays) {
            out.add("password age", Status::warn,
                    "the password of " + r.name + " was last rotated at " + *rotated + ", " +
                        std::to_string(static_cast<int>(*age)) + " days ago",
                    rotate);
        } else {
            out.add("password age", Status::ok, "rotated at " + *rotated);
        }
    } else {
        out.add("password age", Status::info,
                "no rotation of " + r.name + "'s password is recorded, so its age is unknown",
                rotate);
    }
    return out;
}

std::vector<std::string> ReadonlyPlan::sql(bool redact) const {
    const std::string r = quote_identifier(role);
    const std::string pw = verifier ? " PASSWORD " + (redact ? std::string("'********'")
                                                             : pg::sql::quote_literal(*verifier))
                                    : "";
    std::vector<std::string> out;
    if (!exists) {
        out.push_back("CREATE ROLE " + r +
                      " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS" + pw);
    } else if (verifier) {
        out.push_back("ALTER ROLE " + r + pw);
    }
    // A second guard: its sessions start read-only, so even a grant given
    // by mistake later does not let it write without SET.
    out.push_back("ALTER ROLE " + r + " IN DATABASE " + quote_identifier(database) +
                  " SET default_transaction_read_only = on");
    out.push_back("GRANT CONNECT ON DATABASE " + quote_identifier(database) + " TO " + r);
    for (const auto& s : schemas) {
        const std::string q = quote_identifier(s);
        out.push_back("GRANT USAGE ON SCHEMA " + q + " TO " + r);
        out.push_back("GRANT SELECT ON ALL TABLES IN SCHEMA " + q + " TO " + r);
        out.push_back("GRANT SELECT ON ALL SEQUENCES IN SCHEMA " + q + " TO " + r);
        for (const auto& o : owners) {
            const std::string fr = "ALTER DEFAULT PRIVILEGES FOR ROLE " + quote_identifier(o) +
                                   " IN SCHEMA " + q + " GRANT SELECT ON ";
            out.push_back(fr + "TABLES TO " + r);
            out.push_back(fr + "SEQUENCES TO " + r);
        }
    }
    return out;
}

}  // namespace ctldb::roles
