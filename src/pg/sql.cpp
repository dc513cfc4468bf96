#include "pg/sql.hpp"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "base/error.hpp"
#include "base/signals.hpp"
#include "pg/dump_scanner.hpp"

#include <nlohmann/json.hpp>

namespace ctldb::pg::sql {

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

/// A whole parse tree as JSON; only for single statements (COPY, lint).
struct RawParse {
    json tree;
    bool error = false;
};

RawParse raw_parse(const std::string& text) {
    RawParse out;
    PgQueryParseResult r = pg_query_parse(text.c_str());
    if (r.error != nullptr) {
        out.error = true;
    } else {
        out.tree = json::parse(r.parse_tree, nullptr, false);
        out.error = out.tree.is_discarded();
    }
    pg_query_free_parse_result(r);
    return out;
}

}  // namespace

bool unwrap_transaction(Parsed& parsed) {
    auto& st = parsed.statements;
    if (st.size() < 2 || !st.front().transaction_control || !st.back().transaction_control)
        return false;
    auto first_word = [](const std::string& text) {
        std::string w;
        for (char c : text) {
            if (!std::isalpha(static_cast<unsigned char>(c))) break;
            w += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return w;
    };
    const std::string open = first_word(st.front().text);
    const std::string close = first_word(st.back().text);
    if ((open != "BEGIN" && open != "START") || (close != "COMMIT" && close != "END")) return false;
    for (std::size_t i = 1; i + 1 < st.size(); ++i) {
        if (st[i].transaction_control) return false;
    }
    st.pop_back();
    st.erase(st.begin());
    return true;
}

std::string quote_identifier(std::string_view name) {
    std::string out = "\"";
    for (char ch : name) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

std::string quote_literal(std::string_view value) {
    std::string out = "'";
    for (char ch : value) {
        if (ch == '\'') out += '\'';
        out += ch;
    }
    return out + "'";
}

std::string array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const auto& item : items) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (char ch : item) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += '"';
    }
    return out + "}";
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

namespace {

/// Byte offset of the first invalid UTF-8 sequence, or npos. PostgreSQL
/// (a UTF8 database, libpg_query) would refuse such text, and JSON cannot
/// carry it: name it precisely instead of letting it vanish.
std::size_t invalid_utf8_offset(const std::string& text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return i;
        }
        if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
        for (std::size_t k = 2; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
        }
        i += len;
    }
    return std::string::npos;
}

/// Byte offset of the `chars`-th character (0-based) of `text`.
std::size_t byte_of_char(std::string_view text, std::size_t chars) {
    std::size_t byte = 0;
    for (std::size_t c = 0; byte < text.size() && c < chars; ++c) {
        ++byte;
        while (byte < text.size() && (static_cast<unsigned char>(text[byte]) & 0xC0) == 0x80)
            ++byte;
    }
    return byte;
}

SyntaxError syntax_error_at(const std::string& text, std::size_t offset, std::string message) {
    SyntaxError e;
    e.message = std::move(message);
    e.offset = std::min(offset, text.size());
    auto [line, col] = line_column(text, e.offset);
    e.line = line;
    e.column = col;
    return e;
}

/// Node kinds whose body decides whether a statement may run in a
/// transaction (and which index it builds); only these are read as JSON.
bool needs_body(std::string_view kind) {
    return kind == "IndexStmt" || kind == "DropStmt" || kind == "ReindexStmt" ||
           kind == "VacuumStmt" || kind == "ClusterStmt" || kind == "CopyStmt";
}

/// The node kind of the single statement in libpg_query's JSON, read from
/// the text ({"version":N,"stmts":[{"stmt":{"Kind":...) without building
/// a document: most statements need nothing else. Empty when the JSON
/// holds no statement or more than one.
std::string_view single_statement_kind(std::string_view tree) {
    constexpr std::string_view key = "{\"stmt\":{\"";
    const std::size_t at = tree.find(key);
    if (at == std::string_view::npos) return {};
    if (tree.find(key, at + key.size()) != std::string_view::npos) return {};
    const std::size_t begin = at + key.size();
    const std::size_t end = tree.find('"', begin);
    return end == std::string_view::npos ? std::string_view() : tree.substr(begin, end - begin);
}

void classify(Statement& s, const std::string& kind, const json& body) {
    s.kind = kind;
    s.no_transaction_reason = no_transaction_reason(kind, body);
    s.transaction_control = kind == "TransactionStmt";
    if (kind == "IndexStmt" && flag(body, "concurrent")) s.concurrent_index = str(body, "idxname");
    s.copy_stdio = kind == "CopyStmt" && !body.contains("filename") && !flag(body, "is_program");
}

void trim_statement(std::string& text) {
    while (!text.empty() &&
           (std::isspace(static_cast<unsigned char>(text.back())) || text.back() == ';')) {
        text.pop_back();
    }
}

/// Splits a script the way psql does (DumpScanner's rules), then hands each
/// piece to PostgreSQL's parser alone: linear in the size of the script,
/// memory bounded by the largest statement's parse tree, and a signal is
/// noticed between statements.
class ScriptSplitter final : public DumpHandler {
  public:
    ScriptSplitter(const std::string& text, Parsed& out) : text_(text), out_(out) {}

    DumpScanner* scanner = nullptr;

    bool statement(std::string_view sql, std::uint64_t line, std::string_view,
                   std::string_view) override {
        if (out_.error) return false;
        if ((++pieces_ & 1023) == 0) throw_if_interrupted();
        const std::size_t offset = scanner->statement_offset();
        std::string piece(sql);
        trim_statement(piece);
        if (piece.empty()) return false;
        PgQueryParseResult r = pg_query_parse(piece.c_str());
        if (r.error != nullptr) {
            const std::size_t chars =
                r.error->cursorpos > 0 ? static_cast<std::size_t>(r.error->cursorpos - 1) : 0;
            out_.error = syntax_error_at(text_, offset + byte_of_char(piece, chars),
                                         r.error->message ? r.error->message : "syntax error");
            pg_query_free_parse_result(r);
            return false;
        }
        const std::string_view tree(r.parse_tree);
        const std::string_view kind = single_statement_kind(tree);
        if (!kind.empty()) {
            Statement s;
            s.offset = offset;
            s.line = static_cast<int>(line);
            if (needs_body(kind)) {
                const json doc = json::parse(tree, nullptr, false);
                classify(s, std::string(kind), doc["stmts"][0]["stmt"][std::string(kind)]);
            } else {
                classify(s, std::string(kind), json::object());
            }
            s.text = std::move(piece);
            s.length = s.text.size();
            out_.statements.push_back(std::move(s));
        } else if (tree.find("{\"stmt\":") != std::string_view::npos) {
            several(json::parse(tree, nullptr, false), piece, offset);
        }
        pg_query_free_parse_result(r);
        return false;
    }

    void meta_command(std::string_view text, std::uint64_t line, bool) override {
        if (out_.error) return;
        std::size_t offset = 0;
        for (std::uint64_t l = 1; l < line && offset < text_.size(); ++l) {
            offset = text_.find('\n', offset);
            offset = offset == std::string::npos ? text_.size() : offset + 1;
        }
        const std::size_t at = text_.find('\\', offset);
        out_.error = syntax_error_at(
            text_, at == std::string::npos ? offset : at,
            "psql meta-command '" + std::string(text.substr(0, text.find(' '))) +
                "' is not SQL: ctldb sends the file to the server over libpq, not through psql");
    }
    void copy_data(const char*, std::size_t) override {}
    void copy_end(std::uint64_t) override {}

  private:
    /// A piece the parser read as more than one statement (psql and the
    /// server split the same way, so this is for safety, not speed).
    void several(const json& tree, const std::string& piece, std::size_t offset) {
        if (!tree.is_object() || !tree.contains("stmts")) return;
        for (const auto& entry : tree["stmts"]) {
            Statement s;
            const std::size_t loc = entry.value("stmt_location", 0);
            const std::size_t len = entry.contains("stmt_len")
                                        ? entry["stmt_len"].get<std::size_t>()
                                        : piece.size() - loc;
            if (loc > piece.size()) continue;
            s.text = piece.substr(loc, len);
            const std::size_t skip = skip_gap(s.text, 0);
            s.text.erase(0, skip);
            trim_statement(s.text);
            if (s.text.empty()) continue;
            s.offset = offset + loc + skip;
            s.length = s.text.size();
            s.line = line_column(text_, s.offset).first;
            const json& stmt = entry["stmt"];
            const std::string kind = node_kind(stmt);
            classify(s, kind, stmt[kind]);
            out_.statements.push_back(std::move(s));
        }
    }

    const std::string& text_;
    Parsed& out_;
    std::uint64_t pieces_ = 0;
};

}  // namespace

Parsed parse(const std::string& text) {
    Parsed out;
    if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
        out.error = syntax_error_at(text, nul, "the file contains a NUL byte");
        return out;
    }
    if (const std::size_t bad = invalid_utf8_offset(text); bad != std::string::npos) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
        out.error = syntax_error_at(text, bad,
                                    "invalid UTF-8: byte " + std::string(hex) + " at byte offset " +
                                        std::to_string(bad) +
                                        " (save the file as UTF-8; PostgreSQL's parser and a "
                                        "UTF8 database refuse it)");
        return out;
    }
    ScriptSplitter splitter(text, out);
    DumpScanner scanner(splitter, text.size() + 1);
    splitter.scanner = &scanner;
    try {
        scanner.feed(text.data(), text.size());
        if (!out.error) scanner.finish_script();
    } catch (const Error& e) {
        if (e.code() == ExitCode::interrupted) throw;
        // Only an unclosed comment with no statement in it gets here.
        if (!out.error) out.error = syntax_error_at(text, text.size(), "unterminated /* comment");
    }
    if (out.error) out.statements.clear();
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

namespace {

TableRef table_ref(const json& range_var) {
    return {str(range_var, "schemaname"), str(range_var, "relname")};
}

}  // namespace

std::vector<TableRef> referenced_tables(const Statement& statement) {
    std::vector<TableRef> out;
    RawParse raw = raw_parse(statement.text);
    if (raw.error) return out;
    std::set<std::string> ctes;
    walk(raw.tree, [&](const std::string& kind, const json& body) {
        if (kind == "CommonTableExpr") ctes.insert(str(body, "ctename"));
    });
    walk(raw.tree, [&](const std::string& kind, const json& body) {
        // A Node* field holds {"RangeVar": {...}}; a RangeVar* field (an
        // INSERT's, UPDATE's, DELETE's or COPY's "relation") holds it bare.
        if (kind != "RangeVar" &&
            !((kind == "relation" || kind == "rel") && body.contains("relname")))
            return;
        TableRef t = table_ref(body);
        if (t.schema.empty() && ctes.count(t.name)) return;  // WITH x AS (...) ... FROM x
        for (const auto& seen : out) {
            if (seen.schema == t.schema && seen.name == t.name) return;
        }
        out.push_back(std::move(t));
    });
    return out;
}

TableEffects table_effects(const Statement& statement) {
    TableEffects out;
    const std::string& k = statement.kind;
    if (k != "CreateStmt" && k != "CreateTableAsStmt" && k != "DropStmt" && k != "TruncateStmt")
        return out;
    RawParse raw = raw_parse(statement.text);
    if (raw.error || !raw.tree.contains("stmts") || raw.tree["stmts"].size() != 1) return out;
    const json& stmt = raw.tree["stmts"][0]["stmt"];
    const std::string kind = node_kind(stmt);
    const json& body = stmt[kind];
    out.cascade = str(body, "behavior") == "DROP_CASCADE";
    if (kind == "CreateStmt" && body.contains("relation")) {
        out.creates.push_back(table_ref(body["relation"]));
    } else if (kind == "CreateTableAsStmt" && str(body, "objtype") == "OBJECT_TABLE" &&
               body.contains("into") && body["into"].contains("rel")) {
        out.creates.push_back(table_ref(body["into"]["rel"]));
    } else if (kind == "TruncateStmt") {
        for (const auto& r : body.value("relations", json::array())) {
            if (r.contains("RangeVar")) out.truncates.push_back(table_ref(r["RangeVar"]));
        }
    } else if (kind == "DropStmt") {
        const std::string type = str(body, "removeType");
        for (const auto& o : body.value("objects", json::array())) {
            if (type == "OBJECT_SCHEMA" && o.contains("String")) {
                out.dropped_schemas.push_back(str(o["String"], "sval"));
            } else if (type == "OBJECT_TABLE" && o.contains("List")) {
                std::vector<std::string> parts;
                for (const auto& item : o["List"].value("items", json::array())) {
                    if (item.contains("String")) parts.push_back(str(item["String"], "sval"));
                }
                if (parts.size() == 1) out.drops.push_back({"", parts[0]});
                if (parts.size() == 2) out.drops.push_back({parts[0], parts[1]});
                if (parts.size() == 3) out.drops.push_back({parts[1], parts[2]});  // db.schema.t
            }
        }
    }
    return out;
}

std::vector<LintFinding> lint(const std::string& text) {
    return lint(parse(text));
}

namespace {

/// ADD COLUMN ... NOT NULL: with a volatile default it rewrites the table;
/// without a default it fails on a table with rows.
void lint_add_column(const json& col, const std::string& rel, int line,
                     std::vector<LintFinding>& out) {
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
}

/// ADD CONSTRAINT: CHECK and FOREIGN KEY validated at once scan the table
/// under a lock; NOT VALID ones are remembered for VALIDATE.
void lint_add_constraint(const json& con, const std::string& rel, int line,
                         std::set<std::string>& not_valid, std::vector<LintFinding>& out) {
    const std::string type = str(con, "contype");
    if ((type == "CONSTR_CHECK" || type == "CONSTR_FOREIGN") && !flag(con, "skip_validation")) {
        out.push_back({"constraint-validated-at-once", line,
                       "adding " + std::string(type == "CONSTR_CHECK" ? "CHECK" : "FOREIGN KEY") +
                           " constraint to " + rel +
                           " scans the table while holding a lock; add it NOT VALID, "
                           "then VALIDATE CONSTRAINT in a later migration"});
    } else if (flag(con, "skip_validation")) {
        not_valid.insert(rel + "." + str(con, "conname"));
    }
}

/// One ALTER TABLE subcommand on an existing table.
void lint_alter_cmd(const json& cmd, const std::string& rel, int line,
                    std::set<std::string>& not_valid, std::vector<LintFinding>& out) {
    const std::string sub = str(cmd, "subtype");
    if (sub == "AT_AddColumn" && cmd.contains("def") && cmd["def"].contains("ColumnDef")) {
        lint_add_column(cmd["def"]["ColumnDef"], rel, line, out);
    } else if (sub == "AT_AlterColumnType") {
        out.push_back({"alter-column-type", line,
                       "ALTER COLUMN " + str(cmd, "name") + " TYPE on " + rel +
                           " may rewrite the table and its indexes under an ACCESS "
                           "EXCLUSIVE lock; add a new column and migrate in steps"});
    } else if (sub == "AT_AddConstraint" && cmd.contains("def")) {
        lint_add_constraint(cmd["def"].value("Constraint", json()), rel, line, not_valid, out);
    } else if (sub == "AT_ValidateConstraint" && not_valid.count(rel + "." + str(cmd, "name"))) {
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

}  // namespace

std::vector<LintFinding> lint(const Parsed& parsed) {
    std::vector<LintFinding> out;
    if (parsed.error) return out;
    std::set<std::string> created;    // tables created in this text
    std::set<std::string> not_valid;  // constraints added NOT VALID here
    for (const auto& statement : parsed.statements) {
        const int line = statement.line;
        if (statement.kind != "CreateStmt" && statement.kind != "CreateTableAsStmt" &&
            statement.kind != "IndexStmt" && statement.kind != "AlterTableStmt") {
            continue;  // the rules below read only these
        }
        RawParse raw = raw_parse(statement.text);
        if (raw.error || !raw.tree.contains("stmts") || raw.tree["stmts"].size() != 1) continue;
        const json& stmt = raw.tree["stmts"][0]["stmt"];
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
            if (c.contains("AlterTableCmd"))
                lint_alter_cmd(c["AlterTableCmd"], rel, line, not_valid, out);
        }
    }
    return out;
}

}  // namespace ctldb::pg::sql
