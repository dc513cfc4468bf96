#include "migrate/down_plan.hpp"

#include <cctype>
#include <map>
#include <set>
#include <tuple>

#include <libpq-fe.h>

#include "backup/restore_policy.hpp"
#include "base/text.hpp"
#include "migrate/schema.hpp"
#include "pg/pipeline.hpp"
#include "pg/probes.hpp"
#include "pg/script.hpp"
#include "pg/sql.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::migrate {

namespace {

std::string thousands(std::int64_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

std::string qualified(const pg::sql::TableRef& t) {
    return t.schema.empty()
               ? pg::sql::quote_identifier(t.name)
               : pg::sql::quote_identifier(t.schema) + "." + pg::sql::quote_identifier(t.name);
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

/// The rows of a two-column result.
Pairs pairs(const pg::QueryResult& r) {
    Pairs out;
    for (int i = 0; i < r.rows(); ++i)
        out.emplace_back(r.get(i, 0), r.get(i, 1));
    return out;
}

/// The table's oid and printed name as the session resolves `t` (search
/// path for unqualified names), or oid "" when there is no such table.
std::pair<std::string, std::string> resolve(pg::Connection& conn, const pg::sql::TableRef& t) {
    const Pairs p = pairs(exec(conn,
                               "SELECT c.oid::text, c.oid::regclass::text FROM pg_class c "
                               "WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
                               {qualified(t)}));
    return p.empty() ? std::make_pair(std::string(), std::string()) : p.front();
}

Pairs tables_of_schema(pg::Connection& conn, const std::string& schema) {
    return pairs(exec(conn,
                      "SELECT c.oid::text, c.oid::regclass::text FROM pg_class c "
                      "JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 2",
                      {schema}));
}

/// Views and foreign keys outside `table` that depend on it, with the oid
/// of the relation each belongs to.
Pairs dependents_of(pg::Connection& conn, const std::string& oid) {
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
void count_rows(pg::Connection& conn, DestroyedTable& t) {
    try {
        pg::QueryResult r = exec(conn, "SELECT count(*) FROM (SELECT 1 FROM " + t.table +
                                           " LIMIT " + std::to_string(kRowCountCap + 1) + ") s");
        t.rows = r.get_int(0, 0);
        t.capped = t.rows > kRowCountCap;
        if (t.capped) t.rows = kRowCountCap;
    } catch (const pg::SqlError& e) {
        if (e.server().sqlstate != pg::sqlstate::insufficient_privilege) throw;
        t.rows = -1;
    }
}

/// Every object of the user's schemas, as (kind, name, table): one query,
/// names printed by format() so a SET search_path in a down file does not
/// change how they read. Extension members are the extension's.
constexpr const char* kCatalogObjects = R"SQL(
WITH ns AS (SELECT oid, nspname FROM pg_namespace n WHERE %USER%),
rel AS (SELECT c.oid, c.relkind, format('%I.%I', ns.nspname, c.relname) AS name
        FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
        WHERE NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = c.oid AND e.deptype = 'e'))
SELECT 'table', name, '' FROM rel WHERE relkind IN ('r', 'p')
UNION ALL
SELECT CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'sequence' END,
       name, coalesce((SELECT t.name FROM pg_depend d JOIN rel t ON t.oid = d.refobjid
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = rel.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                       LIMIT 1), '')
FROM rel WHERE relkind IN ('v', 'm', 'S')
UNION ALL
SELECT 'column', quote_ident(a.attname), t.name FROM pg_attribute a JOIN rel t ON t.oid = a.attrelid
WHERE t.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index', format('%I', i.relname), t.name FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
JOIN rel t ON t.oid = x.indrelid
UNION ALL
SELECT 'constraint', quote_ident(k.conname), t.name FROM pg_constraint k JOIN rel t ON t.oid = k.conrelid
UNION ALL
SELECT 'trigger', quote_ident(g.tgname), t.name FROM pg_trigger g JOIN rel t ON t.oid = g.tgrelid
WHERE NOT g.tgisinternal
UNION ALL
SELECT 'policy', quote_ident(p.polname), t.name FROM pg_policy p JOIN rel t ON t.oid = p.polrelid
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
       format('%I.%I(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), ''
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p')
AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = p.oid AND e.deptype = 'e')
UNION ALL
SELECT CASE y.typtype WHEN 'e' THEN 'enum type' ELSE 'domain' END,
       format('%I.%I', ns.nspname, y.typname), ''
FROM pg_type y JOIN ns ON ns.oid = y.typnamespace WHERE y.typtype IN ('e', 'd')
AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.objid = y.oid AND e.deptype = 'e')
UNION ALL
SELECT 'schema', quote_ident(nspname), '' FROM ns WHERE nspname <> 'public'
UNION ALL
SELECT 'extension', quote_ident(extname), '' FROM pg_extension WHERE extname <> 'plpgsql'
)SQL";

struct CatalogKey {
    std::string kind, name, table;
    bool operator<(const CatalogKey& o) const {
        return std::tie(table, kind, name) < std::tie(o.table, o.kind, o.name);
    }
};

std::set<CatalogKey> catalog(pg::Connection& conn) {
    std::string q = kCatalogObjects;
    q.replace(q.find("%USER%"), 6, pg::probe::user_schema("n"));
    const pg::QueryResult r = exec(conn, q);
    std::set<CatalogKey> out;
    for (int i = 0; i < r.rows(); ++i) {
        // ctldb's own history is not the migrations' to destroy or keep.
        if (r.get(i, 1) == "public.ctldb_schema_migrations" ||
            r.get(i, 2) == "public.ctldb_schema_migrations")
            continue;
        out.insert({r.get(i, 0), r.get(i, 1), r.get(i, 2)});
    }
    return out;
}

/// The bare name of an object ("users" of public.users, "f" of
/// public.f(integer)), unquoted and lower-cased.
std::string bare_name(const std::string& name) {
    std::string s = name.substr(0, name.find('('));
    const std::size_t dot = s.rfind('.');
    if (dot != std::string::npos && s.back() != '"') s = s.substr(dot + 1);
    std::string out;
    for (char c : s) {
        if (c != '"') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/// Whether `text` names `word` as a whole identifier (case-insensitive).
bool names(const std::string& text, const std::string& word) {
    if (word.empty()) return false;
    const std::string lower = ascii_lower(text);
    const auto ident = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
    };
    for (std::size_t at = lower.find(word); at != std::string::npos;
         at = lower.find(word, at + 1)) {
        const bool start = at == 0 || !ident(lower[at - 1]);
        const bool end = at + word.size() >= lower.size() || !ident(lower[at + word.size()]);
        if (start && end) return true;
    }
    return false;
}

std::string counted(const std::map<std::string, int>& parts) {
    std::string out;
    for (const auto& [kind, n] : parts) {
        out += (out.empty() ? "" : ", ") + std::to_string(n) + " " +
               (n == 1             ? kind
                : kind == "index"  ? std::string("indexes")
                : kind == "policy" ? std::string("policies")
                                   : kind + "s");
    }
    return out;
}

}  // namespace

std::string VanishingObject::describe() const {
    std::string s = "drops " + kind + " " + name;
    if (!table.empty()) s += " on " + table;
    if (kind == "table") {
        s += " (" +
             (rows < 0 ? std::string("rows unknown: this role may not read it")
              : capped ? "more than " + thousands(kRowCountCap) + " rows"
                       : thousands(rows) + (rows == 1 ? " row" : " rows")) +
             (parts.empty() ? "" : "; with it " + parts) + ")";
    }
    if (unnamed) s += ", which the down file does not name (it goes with what it depends on)";
    return s;
}

namespace {

/// Run one down file inside the rehearsal (a savepoint). False when the
/// rehearsal stops here: a hazard, a lock or the time limit (not_rehearsed),
/// or the file failing (failure).
bool rehearse_file(pg::Connection& conn, const Migration& m, ParsedFiles& parsed,
                   DownRehearsal& out) {
    const std::string hazard = backup::restore_policy::not_undone_by_rollback(*m.down_sql);
    if (!hazard.empty()) {
        // Running it would do what the rollback cannot take back.
        out.not_rehearsed = m.down_file + " holds " + hazard +
                            ", which a rollback would not undo: it and the files after "
                            "it were not rehearsed, so what they destroy is not listed";
        return false;
    }
    const auto runnable = schema::runnable_in_transaction(parsed.down(m));
    exec(conn, "SAVEPOINT ctldb_down_rehearsal");
    if (auto f = exec_pipelined(conn, runnable)) {
        exec(conn, "ROLLBACK TO SAVEPOINT ctldb_down_rehearsal");
        // Waiting for a lock, or running long, says nothing about the
        // file: the rehearsal stops, the real run decides.
        const std::string state = f->error.server().sqlstate;
        if (state == pg::sqlstate::lock_not_available || state == pg::sqlstate::query_canceled) {
            out.not_rehearsed = m.down_file +
                                (state == pg::sqlstate::lock_not_available
                                     ? " waited more than 5 s for a lock another session holds"
                                     : " ran longer than the rehearsal's 30 s") +
                                ": it and the files after it were not rehearsed, so what they "
                                "destroy is not listed";
            return false;
        }
        try {
            throw_statement_error(f->error, m.down_file, *m.down_sql, runnable[f->index],
                                  {"found by running the down files in a transaction "
                                   "that was rolled back: nothing was changed"});
        } catch (const Error& e) {
            out.failure = e;
        }
        return false;
    }
    if (PQtransactionStatus(conn.raw()) != PQTRANS_INTRANS) {
        throw Error(ExitCode::failure, m.down_file + " ended the transaction its rehearsal ran in",
                    "report this: a statement ctldb did not expect controls transactions");
    }
    exec(conn, "RELEASE SAVEPOINT ctldb_down_rehearsal");
    return true;
}

/// What `m`'s down file made vanish from the catalog (`before` to
/// `after`): each object, a dropped table's parts folded into it.
void record_vanished(const Migration& m, const std::set<CatalogKey>& before,
                     const std::set<CatalogKey>& after, DownRehearsal& out) {
    std::set<std::string> gone_tables;
    for (const auto& k : before) {
        if (k.kind == "table" && !after.count(k)) gone_tables.insert(k.name);
    }
    std::map<std::string, std::map<std::string, int>> parts;  // of gone tables
    for (const auto& k : before) {
        if (after.count(k)) continue;
        if (!k.table.empty() && gone_tables.count(k.table)) {
            ++parts[k.table][k.kind];
            continue;
        }
        VanishingObject v;
        v.version = m.version;
        v.down_file = m.down_file;
        v.kind = k.kind;
        v.name = k.name;
        v.table = k.table;
        v.unnamed = !names(*m.down_sql, bare_name(k.name));
        out.objects.push_back(std::move(v));
    }
    for (auto& v : out.objects) {
        if (v.kind == "table" && parts.count(v.name) && v.parts.empty())
            v.parts = counted(parts[v.name]);
    }
}

}  // namespace

DownRehearsal rehearse_down(pg::Connection& conn, const std::vector<const Migration*>& todo,
                            ParsedFiles& parsed) {
    DownRehearsal out;
    {
        pg::TransactionGuard tx(conn);  // rolled back when it goes, never committed
        exec(conn, "SET LOCAL lock_timeout = '5s'");
        // A dry run must stay cheap: a down that rewrites a big table is not
        // run to the end to see what it drops.
        exec(conn, "SET LOCAL statement_timeout = '30s'");
        std::set<CatalogKey> before = catalog(conn);
        for (const Migration* m : todo) {
            if (!rehearse_file(conn, *m, parsed, out)) break;
            std::set<CatalogKey> after = catalog(conn);
            record_vanished(*m, before, after, out);
            before = std::move(after);
        }
    }
    // Rows as they are, the rehearsal rolled back.
    for (auto& v : out.objects) {
        if (v.kind != "table") continue;
        DestroyedTable t;
        t.table = v.name;
        count_rows(conn, t);
        v.rows = t.rows;
        v.capped = t.capped;
    }
    return out;
}

std::vector<const VanishingObject*> beyond_destroyed(pg::Connection& conn, const DownRehearsal& r,
                                                     const std::vector<DestroyedTable>& destroyed) {
    std::set<std::string> listed;  // as the rehearsal names tables: schema.table
    for (const auto& d : destroyed) {
        const pg::QueryResult q =
            exec(conn,
                 "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = "
                 "$1::oid",
                 {d.oid});
        if (q.rows() > 0) listed.insert(q.get(0, 0));
    }
    std::vector<const VanishingObject*> out;
    for (const auto& v : r.objects) {
        if (v.kind == "table" && listed.count(v.name)) continue;
        out.push_back(&v);
    }
    return out;
}

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

std::vector<DestroyedTable> destroyed_tables(pg::Connection& conn,
                                             const std::vector<const Migration*>& todo,
                                             ParsedFiles& parsed) {
    pg::TransactionGuard tx(conn);  // one snapshot; ROLLBACK at the end
    exec(conn, "SET LOCAL lock_timeout = '5s'");
    std::vector<DestroyedTable> out;
    std::set<std::string> seen;  // oids: a table dropped twice is listed once
    for (const Migration* m : todo) {
        std::set<std::string> created;  // oids of the tables its up creates
        for (const auto& s : parsed.up(*m).statements) {
            for (const auto& t : pg::sql::table_effects(s).creates) {
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
            const pg::sql::TableEffects e = pg::sql::table_effects(s);
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

}  // namespace ctldb::migrate
