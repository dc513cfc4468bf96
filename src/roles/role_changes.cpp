#include "roles/role_changes.hpp"

#include <libpq-fe.h>

#include "base/log.hpp"
#include "base/output.hpp"
#include "base/text.hpp"
#include "pg/probes.hpp"
#include "pg/script.hpp"
#include "pg/sql.hpp"

namespace ctldb::roles {

std::string scram_verifier(pg::Connection& conn, const std::string& password,
                           const std::string& role) {
    char* v = PQencryptPasswordConn(conn.raw(), password.c_str(), role.c_str(), "scram-sha-256");
    if (v == nullptr) {
        throw failure("cannot compute the SCRAM verifier: " +
                      std::string(PQerrorMessage(conn.raw())));
    }
    std::string out(v);
    PQfreemem(v);
    return out;
}

bool readonly_role_exists(pg::Connection& conn, const std::string& role) {
    pg::QueryResult ex =
        exec(conn,
             "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR "
             "rolbypassrls FROM pg_roles WHERE rolname = $1",
             {role});
    if (ex.rows() > 0 && ex.get(0, 0) == "t") {
        throw failure("role " + printable(role) +
                          " exists and has SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or "
                          "BYPASSRLS: it is not a read-only role; nothing was changed",
                      "choose another name, or remove those attributes first");
    }
    return ex.rows() > 0;
}

std::vector<std::string> readonly_schemas(pg::Connection& conn,
                                          const std::vector<std::string>& given) {
    if (!given.empty()) {
        for (const auto& s : given) {
            if (exec(conn, "SELECT 1 FROM pg_namespace WHERE nspname = $1", {s}).rows() == 0)
                throw failure("schema " + printable(s) + " does not exist");
        }
        return given;
    }
    pg::QueryResult r = exec(conn, "SELECT n.nspname FROM pg_namespace n WHERE " +
                                       pg::probe::user_schema("n") + " ORDER BY 1");
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(r.get(i, 0));
    return out;
}

std::vector<std::string> readonly_owners(pg::Connection& conn,
                                         const std::vector<std::string>& given,
                                         const std::vector<std::string>& schemas) {
    if (!given.empty()) return given;
    pg::QueryResult r =
        exec(conn,
             "SELECT DISTINCT o.rolname, pg_has_role(o.oid, 'MEMBER') FROM pg_roles o "
             "WHERE o.oid = (SELECT datdba FROM pg_database WHERE datname = "
             "current_database()) OR o.oid IN (SELECT c.relowner FROM pg_class c JOIN "
             "pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', "
             "'v', 'm', 'S') AND n.nspname = ANY($1::text[])) ORDER BY 1",
             {pg::sql::array_literal(schemas)});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) {
        if (r.get(i, 1) == "t") {
            out.push_back(r.get(i, 0));
        } else {
            log::warn("tables role " + printable(r.get(i, 0)) +
                      " creates later will not be readable: this role may not ALTER DEFAULT "
                      "PRIVILEGES for it (run as a superuser, or pass --owner)");
        }
    }
    return out;
}

void apply(pg::Connection& conn, const ReadonlyPlan& plan) {
    pg::TransactionGuard t(conn);
    for (const auto& s : plan.sql(false))
        exec(conn, s);
    t.commit();
}

void check_may_rotate(pg::Connection& conn, const std::string& role) {
    pg::QueryResult r = exec(conn,
                             "SELECT r.rolcanlogin, r.rolsuper, r.rolname = current_user, "
                             "me.rolsuper, me.rolcreaterole, has_database_privilege(r.oid, "
                             "current_database(), 'CONNECT') FROM pg_roles r, pg_roles me WHERE "
                             "r.rolname = $1 AND me.rolname = current_user",
                             {role});
    if (r.rows() == 0) throw failure("role " + printable(role) + " does not exist");
    if (r.get(0, 0) != "t") {
        throw failure("role " + printable(role) +
                      " cannot log in (NOLOGIN): no password to rotate; nothing was changed");
    }
    const bool target_super = r.get(0, 1) == "t", self = r.get(0, 2) == "t";
    const bool me_super = r.get(0, 3) == "t", me_createrole = r.get(0, 4) == "t";
    if (!self && !me_super && !(me_createrole && !target_super)) {
        throw failure("the connected role may not change the password of " + printable(role) +
                          "; nothing was changed",
                      std::string("connect as ") + printable(role) + " itself, or as a role with " +
                          (target_super ? "SUPERUSER" : "CREATEROLE"));
    }
    if (r.get(0, 5) != "t") {
        throw failure("role " + printable(role) +
                      " may not CONNECT to this database, so the new password cannot be proven "
                      "here; nothing was changed");
    }
}

std::optional<std::string> password_verifier(pg::Connection& conn, const std::string& role) {
    return exec(conn, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", {role})
        .get_optional(0, 0);
}

void begin_password_change(pg::Connection& conn, const std::string& role,
                           const std::string& verifier, bool quiet_log) {
    exec(conn, "BEGIN");
    if (quiet_log) exec(conn, "SET LOCAL log_statement = 'none'");
    exec(conn, "ALTER ROLE " + pg::sql::quote_identifier(role) + " PASSWORD " +
                   pg::sql::quote_literal(verifier));
}

void commit(pg::Connection& conn) {
    exec(conn, "COMMIT");
}

void prove_login(const config::ConnectionSettings& base, const std::string& role,
                 const std::string& password) {
    config::ConnectionSettings s = base;
    s.user = role;
    s.password = password;  // given, so neither a service file nor .pgpass decides it
    auto c = pg::connect(s);
    pg::probe::ping(*c);
}

void undo_rotation(pg::Connection& conn, const std::string& role,
                   const std::optional<std::string>& old_verifier) {
    exec(conn, "SET log_statement = 'none'");
    exec(conn, "ALTER ROLE " + pg::sql::quote_identifier(role) + " PASSWORD " +
                   (old_verifier ? pg::sql::quote_literal(*old_verifier) : std::string("NULL")));
}

std::string record_rotation(pg::Connection& conn, const std::string& role) {
    try {
        exec(conn, "BEGIN");
        exec(conn, std::string("CREATE TABLE IF NOT EXISTS ") + kRotationTable +
                       " (role_name text PRIMARY KEY, rotated_at timestamptz NOT NULL, "
                       "rotated_by text NOT NULL)");
        exec(conn,
             std::string("INSERT INTO ") + kRotationTable +
                 " VALUES ($1, now(), current_user) ON CONFLICT (role_name) DO UPDATE SET "
                 "rotated_at = excluded.rotated_at, rotated_by = excluded.rotated_by",
             {role});
        exec(conn, "COMMIT");
        return "";
    } catch (const pg::SqlError& e) {
        exec(conn, "ROLLBACK");
        log::warn("the rotation is not recorded (" + e.server().message +
                  "): roles check cannot tell the password's age");
        return e.server().message;
    }
}

}  // namespace ctldb::roles
