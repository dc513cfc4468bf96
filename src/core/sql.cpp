#include "ctldb/sql.hpp"

#include <pg_query.h>

#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

namespace ctldb::sql {

using nlohmann::json;

namespace {

/// The single key of a node object: {"IndexStmt": {...}} -> "IndexStmt".
std::string node_kind(const json& node) {
    if (node.is_object() && node.size() == 1) return node.begin().key();
    return {};
}

bool flag(const json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::string str(const json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string relation_name(const json& body) {
    auto it = body.find("relation");
    if (it == body.end()) return {};
    std::string schema = str(*it, "schemaname");
    std::string rel = str(*it, "relname");
    return schema.empty() ? rel : schema + "." + rel;
}

bool has_concurrently_param(const json& body) {
    auto it = body.find("params");
    if (it == body.end() || !it->is_array()) return false;
    for (const auto& p : *it) {
        if (p.contains("DefElem") && str(p["DefElem"], "defname") == "concurrently") return true;
    }
    return false;
}

/// Why `kind` cannot run in a transaction block, per PostgreSQL's
/// PreventInTransactionBlock callers.
std::string no_transaction_reason(const std::string& kind, const json& body) {
    if (kind == "IndexStmt" && flag(body, "concurrent")) return "CREATE INDEX CONCURRENTLY";
    if (kind == "DropStmt" && flag(body, "concurrent")) return "DROP INDEX CONCURRENTLY";
    if (kind == "ReindexStmt") {
        if (has_concurrently_param(body)) return "REINDEX CONCURRENTLY";
        const std::string k = str(body, "kind");
        if (k == "REINDEX_OBJECT_DATABASE" || k == "REINDEX_OBJECT_SYSTEM") {
            return "REINDEX DATABASE/SYSTEM";
        }
    }
    if (kind == "VacuumStmt" && flag(body, "is_vacuumcmd")) return "VACUUM";
    if (kind == "CreatedbStmt") return "CREATE DATABASE";
    if (kind == "DropdbStmt") return "DROP DATABASE";
    if (kind == "AlterSystemStmt") return "ALTER SYSTEM";
    if (kind == "CreateTableSpaceStmt") return "CREATE TABLESPACE";
    if (kind == "DropTableSpaceStmt") return "DROP TABLESPACE";
    if (kind == "ClusterStmt" && !body.contains("relation")) return "CLUSTER without a table";
    if (kind == "CreateSubscriptionStmt") return "CREATE SUBSCRIPTION";
    if (kind == "DropSubscriptionStmt") return "DROP SUBSCRIPTION";
    return {};
}

/// Calls `fn(kind, body)` for every node in a parse tree.
template <typename Fn>
void walk(const json& node, Fn&& fn) {
    if (node.is_object()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
            if (it.value().is_object()) fn(it.key(), it.value());
            walk(it.value(), fn);
        }
    } else if (node.is_array()) {
        for (const auto& item : node)
            walk(item, fn);
    }
}

struct RawParse {
    json tree;
    std::optional<SyntaxError> error;
};

RawParse raw_parse(const std::string& text) {
    RawParse out;
    PgQueryParseResult r = pg_query_parse(text.c_str());
    if (r.error != nullptr) {
        SyntaxError e;
        e.message = r.error->message ? r.error->message : "syntax error";
        e.offset = r.error->cursorpos > 0 ? static_cast<std::size_t>(r.error->cursorpos - 1) : 0;
        if (e.offset > text.size()) e.offset = text.size();
        auto [line, col] = line_column(text, e.offset);
        e.line = line;
        e.column = col;
        out.error = e;
    } else {
        out.tree = json::parse(r.parse_tree, nullptr, false);
    }
    pg_query_free_parse_result(r);
    return out;
}

}  // namespace

CopyKind classify_copy(const std::string& statement) {
    RawParse raw = raw_parse(statement);
    if (raw.error || !raw.tree.is_object() || !raw.tree.contains("stmts")) return CopyKind::other;
    const json& stmts = raw.tree["stmts"];
    if (stmts.size() != 1) return CopyKind::other;
    const json& stmt = stmts[0].value("stmt", json::object());
    if (!stmt.contains("CopyStmt")) return CopyKind::not_copy;
    const json& copy = stmt["CopyStmt"];
    const bool from = copy.value("is_from", false);
    const bool program = copy.value("is_program", false);
    return from && !program && !copy.contains("filename") ? CopyKind::from_stdin : CopyKind::other;
}

std::size_t skip_gap(const std::string& text, std::size_t pos) {
    while (pos < text.size()) {
        if (std::isspace(static_cast<unsigned char>(text[pos]))) {
            ++pos;
        } else if (text.compare(pos, 2, "--") == 0) {
            auto nl = text.find('\n', pos);
            pos = nl == std::string::npos ? text.size() : nl + 1;
        } else if (text.compare(pos, 2, "/*") == 0) {
            int depth = 0;  // PostgreSQL's block comments nest
            while (pos < text.size()) {
                if (text.compare(pos, 2, "/*") == 0) {
                    ++depth;
                    pos += 2;
                } else if (text.compare(pos, 2, "*/") == 0) {
                    pos += 2;
                    if (--depth == 0) break;
                } else {
                    ++pos;
                }
            }
        } else {
            break;
        }
    }
    return pos;
}

std::pair<int, int> line_column(const std::string& text, std::size_t offset) {
    int line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            ++col;
        }
    }
    return {line, col};
}

Parsed parse(const std::string& text) {
    Parsed out;
    if (text.find('\0') != std::string::npos) {
        out.error = SyntaxError{"the file contains a NUL byte", text.find('\0'), 1, 1};
        auto [l, c] = line_column(text, out.error->offset);
        out.error->line = l;
        out.error->column = c;
        return out;
    }
    RawParse raw = raw_parse(text);
    if (raw.error) {
        out.error = raw.error;
        return out;
    }
    if (!raw.tree.is_object() || !raw.tree.contains("stmts")) return out;
    for (const auto& entry : raw.tree["stmts"]) {
        Statement s;
        s.offset = entry.value("stmt_location", 0);
        // The last statement has no stmt_len: it runs to the end.
        s.length = entry.contains("stmt_len") ? entry["stmt_len"].get<std::size_t>()
                                              : text.size() - s.offset;
        if (s.offset > text.size()) continue;
        s.text = text.substr(s.offset, s.length);
        // Leading blank lines and comments belong to the gap, not the statement.
        const std::size_t skip = skip_gap(s.text, 0);
        s.offset += skip;
        s.text.erase(0, skip);
        while (!s.text.empty() &&
               (std::isspace(static_cast<unsigned char>(s.text.back())) || s.text.back() == ';')) {
            s.text.pop_back();
        }
        s.length = s.text.size();
        s.line = line_column(text, s.offset).first;
        const json& stmt = entry["stmt"];
        s.kind = node_kind(stmt);
        const json& body = stmt[s.kind];
        s.no_transaction_reason = no_transaction_reason(s.kind, body);
        s.transaction_control = s.kind == "TransactionStmt";
        if (s.kind == "IndexStmt" && flag(body, "concurrent"))
            s.concurrent_index = str(body, "idxname");
        if (s.text.empty()) continue;
        out.statements.push_back(std::move(s));
    }
    return out;
}

namespace {

bool is_volatile_default(const json& expr) {
    // Functions PostgreSQL evaluates once per statement (stable) do not force
    // a table rewrite; volatile ones (random(), gen_random_uuid(),
    // clock_timestamp(), nextval(), ...) do.
    static const std::set<std::string> stable = {"now", "transaction_timestamp",
                                                 "statement_timestamp", "current_setting"};
    bool found = false;
    walk(expr, [&](const std::string& kind, const json& body) {
        if (kind != "FuncCall") return;
        std::string name;
        if (body.contains("funcname") && !body["funcname"].empty()) {
            const json& last = body["funcname"].back();
            if (last.contains("String")) name = str(last["String"], "sval");
        }
        if (!stable.count(name)) found = true;
    });
    return found;
}

}  // namespace

std::vector<LintFinding> lint(const std::string& text) {
    std::vector<LintFinding> out;
    RawParse raw = raw_parse(text);
    if (raw.error || !raw.tree.contains("stmts")) return out;
    std::set<std::string> created;    // tables created in this text
    std::set<std::string> not_valid;  // constraints added NOT VALID here
    for (const auto& entry : raw.tree["stmts"]) {
        const std::size_t offset = entry.value("stmt_location", 0);
        // Skip leading comments/blank lines so the line points at the statement.
        const int line = line_column(text, skip_gap(text, offset)).first;
        const json& stmt = entry["stmt"];
        const std::string kind = node_kind(stmt);
        const json& body = stmt[kind];
        const std::string rel = relation_name(body);
        if (kind == "CreateStmt" || kind == "CreateTableAsStmt") {
            created.insert(kind == "CreateStmt" ? rel : relation_name(body.value("into", json())));
            continue;
        }
        const bool existing = !rel.empty() && !created.count(rel);
        if (kind == "IndexStmt" && !flag(body, "concurrent") && existing) {
            out.push_back({"index-not-concurrent", line,
                           "CREATE INDEX on existing table " + rel +
                               " blocks writes while it builds; use CREATE INDEX CONCURRENTLY in a "
                               "file marked -- ctldb:no-transaction"});
        }
        if (kind != "AlterTableStmt" || !existing) continue;
        for (const auto& c : body.value("cmds", json::array())) {
            if (!c.contains("AlterTableCmd")) continue;
            const json& cmd = c["AlterTableCmd"];
            const std::string sub = str(cmd, "subtype");
            if (sub == "AT_AddColumn" && cmd.contains("def") && cmd["def"].contains("ColumnDef")) {
                const json& col = cmd["def"]["ColumnDef"];
                bool not_null = false;
                std::optional<json> def;
                for (const auto& con : col.value("constraints", json::array())) {
                    const json& cb = con.value("Constraint", json());
                    if (str(cb, "contype") == "CONSTR_NOTNULL") not_null = true;
                    if (str(cb, "contype") == "CONSTR_DEFAULT" && cb.contains("raw_expr")) {
                        def = cb["raw_expr"];
                    }
                }
                if (not_null && def && is_volatile_default(*def)) {
                    out.push_back({"add-column-volatile-default", line,
                                   "adding NOT NULL column " + str(col, "colname") + " to " + rel +
                                       " with a volatile default rewrites the whole table under "
                                       "an ACCESS EXCLUSIVE lock; add it nullable, backfill in "
                                       "batches, then set NOT NULL"});
                } else if (not_null && !def) {
                    out.push_back({"add-column-not-null-without-default", line,
                                   "adding NOT NULL column " + str(col, "colname") + " to " + rel +
                                       " without a default fails on a table with rows"});
                }
            } else if (sub == "AT_AlterColumnType") {
                out.push_back({"alter-column-type", line,
                               "ALTER COLUMN " + str(cmd, "name") + " TYPE on " + rel +
                                   " may rewrite the table and its indexes under an ACCESS "
                                   "EXCLUSIVE lock; add a new column and migrate in steps"});
            } else if (sub == "AT_AddConstraint" && cmd.contains("def")) {
                const json& con = cmd["def"].value("Constraint", json());
                const std::string type = str(con, "contype");
                if ((type == "CONSTR_CHECK" || type == "CONSTR_FOREIGN") &&
                    !flag(con, "skip_validation")) {
                    out.push_back(
                        {"constraint-validated-at-once", line,
                         "adding " + std::string(type == "CONSTR_CHECK" ? "CHECK" : "FOREIGN KEY") +
                             " constraint to " + rel +
                             " scans the table while holding a lock; add it NOT VALID, "
                             "then VALIDATE CONSTRAINT in a later migration"});
                } else if (flag(con, "skip_validation")) {
                    not_valid.insert(rel + "." + str(con, "conname"));
                }
            } else if (sub == "AT_ValidateConstraint" &&
                       not_valid.count(rel + "." + str(cmd, "name"))) {
                out.push_back({"validate-in-same-transaction", line,
                               "VALIDATE CONSTRAINT " + str(cmd, "name") +
                                   " in the same migration that added it NOT VALID keeps the "
                                   "lock of the ADD; validate in a later migration"});
            } else if (sub == "AT_SetNotNull") {
                out.push_back({"set-not-null", line,
                               "SET NOT NULL on " + rel + "." + str(cmd, "name") +
                                   " scans the whole table under an ACCESS EXCLUSIVE lock; add a "
                                   "CHECK (col IS NOT NULL) NOT VALID constraint and validate it "
                                   "first"});
            }
        }
    }
    return out;
}

}  // namespace ctldb::sql
