#include "pg/script.hpp"
#include "base/output.hpp"

#include <set>

#include "base/signals.hpp"
#include "pg/pipeline.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::pg {

TransactionGuard::TransactionGuard(Connection& conn) : conn_(conn) {
    exec(conn_, "BEGIN");
}

void TransactionGuard::commit() {
    exec(conn_, "COMMIT");
    open_ = false;
}

TransactionGuard::~TransactionGuard() {
    if (!open_) return;
    try {
        exec(conn_, "ROLLBACK");
    } catch (...) {
        // The connection is gone; the server rolled back already.
    }
}

std::string first_line(const std::string& text) {
    std::string l = text.substr(0, text.find('\n'));
    return l.size() > 100 ? l.substr(0, 97) + "..." : l;
}

/// The failure of statement `s` of `file`, with PostgreSQL's fields and the
/// position translated to the file's line and column.
void throw_statement_error(const SqlError& e, const std::string& file, const std::string& source,
                           const sql::Statement& s, std::vector<std::string> extra) {
    int line = s.line, col = 1;
    if (e.server().position > 0) {
        // position counts characters in the statement; walk them to bytes.
        std::size_t byte = 0;
        for (int chars = 1; byte < s.text.size() && chars < e.server().position; ++byte) {
            if ((static_cast<unsigned char>(s.text[byte + 1]) & 0xC0) != 0x80) ++chars;
        }
        auto lc = sql::line_column(source, s.offset + byte);
        line = lc.first;
        col = lc.second;
    }
    std::vector<std::string> details;
    details.push_back("statement: " + first_line(s.text));
    if (!e.server().detail.empty()) details.push_back("detail: " + e.server().detail);
    if (!e.server().context.empty())
        details.push_back("context: " + first_line(e.server().context));
    details.push_back("sqlstate: " + e.server().sqlstate);
    for (auto& x : extra)
        details.push_back(std::move(x));
    std::string hint = e.hint();
    if (e.server().sqlstate == sqlstate::lock_not_available) {
        hint =
            "a lock on the table could not be taken within lock_timeout: a long transaction "
            "holds it; retry when it is done (ctldb pool-stats shows it)";
    } else if (e.server().sqlstate == sqlstate::query_canceled && !interrupted()) {
        hint = "the statement ran longer than --statement-timeout";
    }
    Error err(e.code(),
              file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + e.what(),
              hint);
    err.with_details(details);
    throw err;
}

RowCounts run_script(Connection& conn, const std::string& file, const std::string& text) {
    const sql::Parsed parsed = sql::parse(text);
    if (parsed.error) {
        throw Error(ExitCode::failure, file + ":" + std::to_string(parsed.error->line) + ":" +
                                           std::to_string(parsed.error->column) + ": " +
                                           parsed.error->message);
    }
    // The caller runs the script in its transaction: a COMMIT in the file
    // would make everything before it permanent even when a later statement
    // fails. Refuse such statements before anything runs.
    for (const auto& s : parsed.statements) {
        if (s.transaction_control) {
            throw Error(ExitCode::failure,
                        file + ":" + std::to_string(s.line) +
                            ": explicit transaction control (BEGIN/COMMIT/ROLLBACK) would break "
                            "the one transaction ctldb runs the files in; nothing was changed",
                        "remove it: ctldb commits once, after the last file");
        }
        if (s.copy_stdio) {
            throw Error(ExitCode::failure,
                        file + ":" + std::to_string(s.line) +
                            ": COPY FROM STDIN / TO STDOUT needs a data stream a SQL file run "
                            "over libpq cannot carry; nothing was changed",
                        "use INSERT, or COPY from a server file");
        }
        if (!s.no_transaction_reason.empty()) {
            throw Error(ExitCode::failure,
                        file + ":" + std::to_string(s.line) + ": " + s.no_transaction_reason +
                            " cannot run inside a transaction; nothing was changed");
        }
    }
    RowCounts affected;
    if (auto f = exec_pipelined(conn, parsed.statements, &affected)) {
        throw_statement_error(f->error, file, text, parsed.statements[f->index], {});
    }
    return affected;
}

std::vector<std::string> missing_tables(
    Connection& conn, const std::vector<std::pair<std::string, std::string>>& files) {
    const auto key = [](const sql::TableRef& t) { return t.schema + '\x1f' + t.name; };
    std::set<std::string> created;
    std::vector<std::pair<std::string, std::string>> used;  // qualified name, file:line
    std::set<std::string> seen;
    for (const auto& [name, text] : files) {
        const sql::Parsed parsed = sql::parse(text);
        if (parsed.error) continue;  // run_script reports it, with its line
        for (const auto& st : parsed.statements) {
            for (const auto& t : sql::table_effects(st).creates)
                created.insert(key(t));
            for (const auto& t : sql::referenced_tables(st)) {
                if (created.count(key(t)) || !seen.insert(key(t)).second) continue;
                used.emplace_back(key(t), name + ":" + std::to_string(st.line));
            }
        }
    }
    std::vector<std::string> missing;
    for (const auto& [k, where] : used) {
        const std::size_t sep = k.find('\x1f');
        const sql::TableRef t{k.substr(0, sep), k.substr(sep + 1)};
        const std::string quoted = t.schema.empty() ? sql::quote_identifier(t.name)
                                                    : sql::quote_identifier(t.schema) + "." +
                                                          sql::quote_identifier(t.name);
        if (exec(conn, "SELECT to_regclass($1) IS NULL", {quoted}).get(0, 0) == "t") {
            missing.push_back(printable((t.schema.empty() ? "" : t.schema + ".") + t.name) +
                              " (first used at " + where + ")");
        }
    }
    return missing;
}

}  // namespace ctldb::pg
