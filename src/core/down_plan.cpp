#include "ctldb/down_plan.hpp"

#include <set>

#include "ctldb/script.hpp"
#include "ctldb/sql.hpp"

namespace ctldb {

namespace {

std::string thousands(std::int64_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

std::string qualified(const sql::TableRef& t) {
    return t.schema.empty() ? sql::quote_identifier(t.name)
                            : sql::quote_identifier(t.schema) + "." + sql::quote_identifier(t.name);
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

/// The rows of a two-column result.
Pairs pairs(const QueryResult& r) {
    Pairs out;
    for (int i = 0; i < r.rows(); ++i)
        out.emplace_back(r.get(i, 0), r.get(i, 1));
    return out;
}

/// The table's oid and printed name as the session resolves `t` (search
/// path for unqualified names), or oid "" when there is no such table.
std::pair<std::string, std::string> resolve(Connection& conn, const sql::TableRef& t) {
    const Pairs p = pairs(exec(conn,
                               "SELECT c.oid::text, c.oid::regclass::text FROM pg_class c "
                               "WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
                               {qualified(t)}));
    return p.empty() ? std::make_pair(std::string(), std::string()) : p.front();
}

Pairs tables_of_schema(Connection& conn, const std::string& schema) {
    return pairs(exec(conn,
                      "SELECT c.oid::text, c.oid::regclass::text FROM pg_class c "
                      "JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 2",
                      {schema}));
}

/// Views and foreign keys outside `table` that depend on it, with the oid
/// of the relation each belongs to.
Pairs dependents_of(Connection& conn, const std::string& oid) {
    return pairs(exec(
        conn,
        "SELECT DISTINCT coalesce(v.ev_class, k.conrelid)::text, "
        "CASE WHEN v.oid IS NOT NULL THEN 'view ' || v.ev_class::regclass::text "
        "ELSE 'foreign key ' || quote_ident(k.conname) || ' on ' || k.conrelid::regclass::text END "
        "FROM pg_depend d "
        "LEFT JOIN pg_rewrite v ON d.classid = 'pg_rewrite'::regclass AND v.oid = d.objid "
        "LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid "
        "AND k.contype = 'f' "
        "WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = $1::oid AND d.deptype = 'n' "
        "AND ((v.oid IS NOT NULL AND v.ev_class <> $1::oid) OR "
        "(k.oid IS NOT NULL AND k.conrelid <> $1::oid)) ORDER BY 2",
        {oid}));
}

/// `t.table` is PostgreSQL's own printing of the table's oid (regclass),
/// quoted as needed: no name from a file is ever read as SQL here.
void count_rows(Connection& conn, DestroyedTable& t) {
    try {
        QueryResult r = exec(conn, "SELECT count(*) FROM (SELECT 1 FROM " + t.table + " LIMIT " +
                                       std::to_string(kRowCountCap + 1) + ") s");
        t.rows = r.get_int(0, 0);
        t.capped = t.rows > kRowCountCap;
        if (t.capped) t.rows = kRowCountCap;
    } catch (const SqlError& e) {
        if (e.server().sqlstate != "42501") throw;  // insufficient_privilege
        t.rows = -1;
    }
}

}  // namespace

std::string DestroyedTable::describe() const {
    std::string rows_text = rows < 0 ? "rows unknown: this role may not read it"
                            : capped ? "more than " + thousands(kRowCountCap) + " rows"
                                     : thousands(rows) + (rows == 1 ? " row" : " rows");
    std::string s = (action == "drop" ? "drops " : "empties ") + table + " (" + rows_text + ")";
    if (!created_by_up) s += ", which its up migration does not create";
    for (const auto& d : dependents)
        s += "; " + d + " depends on it" + (cascade ? " and goes too (CASCADE)" : "");
    return s;
}

std::vector<DestroyedTable> destroyed_tables(Connection& conn,
                                             const std::vector<const Migration*>& todo,
                                             ParsedFiles& parsed) {
    TransactionGuard tx(conn);  // one snapshot; ROLLBACK at the end
    exec(conn, "SET LOCAL lock_timeout = '5s'");
    std::vector<DestroyedTable> out;
    std::set<std::string> seen;  // oids: a table dropped twice is listed once
    for (const Migration* m : todo) {
        std::set<std::string> created;  // oids of the tables its up creates
        for (const auto& s : parsed.up(*m).statements) {
            for (const auto& t : sql::table_effects(s).creates) {
                const auto [oid, name] = resolve(conn, t);
                if (!oid.empty()) created.insert(oid);
            }
        }
        auto add = [&](const std::string& oid, const std::string& name, const char* action,
                       bool cascade) {
            if (oid.empty() || !seen.insert(oid).second) return;
            DestroyedTable d;
            d.cascade = cascade;
            d.version = m->version;
            d.down_file = m->down_file;
            d.oid = oid;
            d.table = name;
            d.action = action;
            d.created_by_up = created.count(oid) > 0;
            count_rows(conn, d);
            out.push_back(std::move(d));
        };
        for (const auto& s : parsed.down(*m).statements) {
            const sql::TableEffects e = sql::table_effects(s);
            for (const auto& t : e.drops) {
                const auto [oid, name] = resolve(conn, t);
                add(oid, name, "drop", e.cascade);
            }
            for (const auto& t : e.truncates) {
                const auto [oid, name] = resolve(conn, t);
                add(oid, name, "truncate", e.cascade);
            }
            for (const auto& schema : e.dropped_schemas) {
                for (const auto& [oid, name] : tables_of_schema(conn, schema))
                    add(oid, name, "drop", e.cascade);
            }
        }
    }
    // Dependents that are not themselves going.
    for (auto& d : out) {
        for (const auto& [owner, what] : dependents_of(conn, d.oid)) {
            if (!seen.count(owner)) d.dependents.push_back(what);
        }
    }
    return out;
}

}  // namespace ctldb
