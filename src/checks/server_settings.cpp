#include "checks/server_settings.hpp"

#include <algorithm>
#include <cstdlib>

#include "maintenance/maintenance.hpp"

#include <openssl/crypto.h>

#include "pg/sql.hpp"
#include "tls/tls.hpp"

namespace ctldb::checks::server_settings {

const std::vector<std::string>& names() {
    static const std::vector<std::string> v = {
        "ssl",          "ssl_cert_file",      "ssl_key_file",    "ssl_min_protocol_version",
        "autovacuum",   "autovacuum_naptime", "max_connections", "log_statement",
        "log_duration", "password_encryption"};
    return v;
}

std::string shown(const pg::probe::Setting& s) {
    if (!s.value) return "?";
    if (s.unit == "s" || s.unit == "ms" || s.unit == "min") return *s.value + s.unit;
    return *s.value;
}

namespace {

const char* guide_of(const std::string& name) {
    if (name.rfind("ssl", 0) == 0) return "SSL/TLS Configuration";
    if (name.rfind("autovacuum", 0) == 0) return "Vacuum and Analyze";
    if (name == "max_connections") return "Too many connections / Pool Sizing";
    if (name.rfind("log_", 0) == 0) return "Audit Logging";
    return "Strong Passwords";
}

/// Set `it` to want `want`, differing when `same` is false.
void compare(Item& it, const std::string& want, bool same, const std::string& wanted_text) {
    it.want = want;
    it.differs = !same;
    it.status = same ? Status::ok : Status::fail;
    it.message = "is " + shown(it.current) + (same ? "" : ", the guide wants " + wanted_text);
}

void evaluate_one(Item& it, const Options& o, std::int64_t superuser_reserved) {
    const std::string& v = *it.current.value;
    if (it.name == "ssl") {
        compare(it, "on", v == "on", "on");
    } else if (it.name == "ssl_cert_file" || it.name == "ssl_key_file") {
        const std::string& want = it.name == "ssl_cert_file" ? o.ssl_cert_file : o.ssl_key_file;
        if (want.empty()) {
            it.status = Status::ok;
            it.message = "is " + v;
        } else {
            compare(it, want, v == want, want);
        }
    } else if (it.name == "ssl_min_protocol_version") {
        compare(it, "TLSv1.2", v == "TLSv1.2" || v == "TLSv1.3", "TLSv1.2 or later");
        it.at_least = true;
    } else if (it.name == "autovacuum" || it.name == "autovacuum_naptime") {
        for (const auto& g : maintenance::guide_autovacuum())
            if (it.name == g.name) compare(it, g.pretty, v == g.value, g.pretty);
    } else if (it.name == "max_connections") {
        const std::int64_t need =
            static_cast<std::int64_t>(o.pods) * o.pool_max + o.admin_reserve + superuser_reserved;
        const std::int64_t now = std::atoll(v.c_str());
        compare(it, std::to_string(need), now >= need,
                "at least " + std::to_string(need) + " (" + std::to_string(o.pods) + " pod(s) x " +
                    std::to_string(o.pool_max) + " + " + std::to_string(o.admin_reserve) +
                    " for admin work + " + std::to_string(superuser_reserved) +
                    " reserved for superusers)");
        it.at_least = true;
    } else if (it.name == "log_statement") {
        compare(it, "all", v == "all", "all");
    } else if (it.name == "log_duration") {
        compare(it, "on", v == "on", "on");
    } else if (it.name == "password_encryption") {
        compare(it, "scram-sha-256", v == "scram-sha-256", "scram-sha-256");
    }
}

}  // namespace

std::vector<Item> evaluate(const std::vector<pg::probe::Setting>& current, const Options& o,
                           std::int64_t superuser_reserved) {
    std::vector<Item> out;
    for (const auto& name : names()) {
        Item it;
        it.name = name;
        it.guide = guide_of(name);
        auto c = std::find_if(current.begin(), current.end(),
                              [&](const pg::probe::Setting& s) { return s.name == name; });
        if (c != current.end()) it.current = *c;
        it.current.name = name;
        if (!it.current.value) {
            it.status = Status::warn;
            it.message = "not checked: " + (it.current.unreadable.empty() ? std::string("not read")
                                                                          : it.current.unreadable);
        } else {
            evaluate_one(it, o, superuser_reserved);
        }
        if (it.current.pending_restart) {
            if (it.status == Status::ok) it.status = Status::warn;
            it.message += "; changed in the configuration, waiting for a restart";
        }
        out.push_back(std::move(it));
    }
    return out;
}

/// Why the server could not start with TLS on and these files; "" when
/// it can. The files are read by the server (superuser or
/// pg_read_server_files), as it would read them at start.
std::string tls_files_problem(pg::Connection& conn, const std::string& cert,
                              const std::string& key) {
    if (exec(conn, "SELECT pg_has_role('pg_read_server_files', 'USAGE')").get(0, 0) != "t") {
        return "the server's ssl_cert_file and ssl_key_file cannot be checked by this role "
               "(needs superuser or pg_read_server_files)";
    }
    auto read = [&](const std::string& path, std::string& out) -> std::string {
        try {
            out = exec(conn, "SELECT pg_read_file($1)", {path}).get(0, 0);
            return "";
        } catch (const pg::SqlError& e) {
            return "the server cannot read " + path + ": " + e.server().message;
        }
    };
    std::string cert_pem, key_pem;
    std::string problem = read(cert, cert_pem);
    if (problem.empty()) problem = read(key, key_pem);
    if (problem.empty()) problem = tls::pair_problem(cert_pem, key_pem, cert, key);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    return problem;
}

/// Throws when this role may not ALTER SYSTEM these settings and reload.
void check_may_apply(pg::Connection& conn, const std::vector<const Item*>& todo) {
    if (exec(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").get(0, 0) == "t")
        return;
    const std::string role = pg::probe::current_user(conn);
    std::vector<std::string> missing;
    for (const Item* i : todo) {
        if (exec(conn, "SELECT has_parameter_privilege($1, 'ALTER SYSTEM')", {i->name}).get(0, 0) !=
            "t")
            missing.push_back("GRANT ALTER SYSTEM ON PARAMETER " + i->name + " TO " + role);
    }
    if (exec(conn, "SELECT has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE')")
            .get(0, 0) != "t")
        missing.push_back("GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO " + role);
    if (missing.empty()) return;
    pg::QueryResult su =
        exec(conn,
             "SELECT string_agg(rolname, ', ' ORDER BY rolname) FROM pg_roles WHERE "
             "rolsuper AND rolcanlogin");
    Error e(ExitCode::failure,
            "changing server settings needs ALTER SYSTEM and pg_reload_conf(), which role " + role +
                " may not run; nothing was changed",
            "run it as a superuser (" +
                (su.is_null(0, 0) ? std::string("none can log in") : su.get(0, 0)) +
                "), or have one grant exactly what is missing (listed above)");
    e.with_details(missing);
    throw e;
}

std::string alter_system(const Item& i) {
    return "ALTER SYSTEM SET " + i.name + " = " + pg::sql::quote_literal(i.want);
}

std::string apply_plan(const std::vector<const Item*>& todo) {
    std::string plan;
    for (const Item* i : todo)
        plan += "  " + alter_system(*i) + ";" + (i->restart() ? "  -- needs a restart" : "") + "\n";
    return plan + "  SELECT pg_reload_conf();\n";
}

void apply(pg::Connection& conn, const std::vector<const Item*>& todo) {
    for (const Item* i : todo)
        exec(conn, alter_system(*i));
    exec(conn, "SELECT pg_reload_conf()");
}

}  // namespace ctldb::checks::server_settings
