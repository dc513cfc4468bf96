#include "backup/dump_runner.hpp"

#include <climits>
#include <map>
#include <set>

#include <libpq-fe.h>

#include "backup/restore_policy.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/signals.hpp"
#include "pg/connection.hpp"
#include "pg/dump_scanner.hpp"
#include "pg/sql.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::backup {

namespace {

/// The first line of a statement, shortened, for messages.
std::string excerpt(std::string_view sql) {
    std::string s(sql.substr(0, sql.find('\n')));
    if (s.size() > 120) s = s.substr(0, 117) + "...";
    return s;
}

/// psql's reading of one \connect argument: "double" or 'single' quoted,
/// or a bare word.
std::string unquote_arg(const std::string& a) {
    if (a.size() >= 2 && (a.front() == '"' || a.front() == '\'') && a.back() == a.front()) {
        const char q = a.front();
        std::string out;
        for (std::size_t i = 1; i + 1 < a.size(); ++i) {
            if (a[i] == q && i + 2 < a.size() && a[i + 1] == q)
                ++i;
            else if (q == '\'' && a[i] == '\\' && i + 2 < a.size())
                ++i;
            out += a[i];
        }
        return out;
    }
    return a;
}

/// The database a pg_dump \connect line names: "\connect NAME" or
/// "\connect -reuse-previous=on "dbname='NAME'"". Empty when the line does
/// anything else (another host, user, a second argument, a URI).
std::string connect_target(std::string_view line) {
    std::vector<std::string> args;
    std::size_t i = line.find_first_of(" \t");
    while (i != std::string_view::npos && i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
            ++i;
        if (i >= line.size()) break;
        std::string arg;
        char quote = 0;
        for (; i < line.size(); ++i) {
            const char c = line[i];
            if (quote == 0 && (c == ' ' || c == '\t')) break;
            if (quote == 0 && (c == '"' || c == '\''))
                quote = c;
            else if (quote != 0 && c == quote)
                quote = 0;
            arg += c;
        }
        args.push_back(arg);
    }
    if (!args.empty() && args.front().rfind("-reuse-previous=", 0) == 0) args.erase(args.begin());
    if (args.size() != 1) return {};
    std::string db = unquote_arg(args.front());
    if (db.rfind("postgres://", 0) == 0 || db.rfind("postgresql://", 0) == 0) return {};
    if (db.find('=') != std::string::npos) {
        // A connection string: only dbname='NAME' alone is pg_dump's.
        if (db.rfind("dbname=", 0) != 0) return {};
        std::string v = db.substr(7);
        if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
            v = unquote_arg(v);
        } else if (v.find_first_of(" '=") != std::string::npos) {
            return {};
        }
        return v;
    }
    return db;
}

std::string word_after_backslash(std::string_view text) {
    std::size_t end = 1;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t')
        ++end;
    return std::string(text.substr(0, end));
}

}  // namespace

class DumpRunner::Handler : public pg::DumpHandler {
  public:
    Handler(pg::Connection* conn, std::string target, std::string source)
        : conn_(conn), target_(std::move(target)), source_(std::move(source)) {}

    pg::DumpScanner* scanner = nullptr;
    DumpRunStats stats;
    std::string restrict_key;
    bool restricted = false;

    [[noreturn]] void refuse(std::uint64_t line, const std::string& what,
                             const std::string& hint = {}) {
        throw failure(source_ + " line " + std::to_string(line) + ": " + what,
                      hint.empty() ? "the dump was refused before anything was committed; "
                                     "the target is as it was"
                                   : hint);
    }

    bool statement(std::string_view sql, std::uint64_t line, std::string_view,
                   std::string_view) override {
        throw_if_interrupted();
        if (scanner->saw_marker()) {
            refuse(line, "SQL after pg_dump's closing marker (\"" + excerpt(sql) +
                             "\"): something was appended to the dump");
        }
        if (sql.find('\0') != std::string_view::npos) refuse(line, "a NUL byte in a statement");
        const std::string text(sql);
        const restore_policy::Verdict verdict = restore_policy::check(text);
        using restore_policy::Action;
        if (verdict.action == Action::refuse) {
            refuse(line, "refused: " + verdict.reason + " (\"" + excerpt(sql) +
                             "\"); a dump restores into one database and nothing else");
        }
        // pg_dump wraps large objects in BEGIN/COMMIT; inside ctldb's one
        // transaction they are no-ops (BEGIN would only warn, COMMIT would
        // make everything before it permanent).
        if (verdict.action == Action::transaction) return false;
        const bool copy = verdict.action == Action::copy;
        ++stats.statements;
        if (conn_ == nullptr) {
            if (copy) ++stats.copy_blocks;
            return copy;
        }
        PGconn* pg = conn_->raw();
        if (verdict.action == Action::extension)
            return run_extension(pg, text, line, verdict.comment);
        if (verdict.action == Action::ownership && !may_act_for(verdict.new_owner)) {
            ++stats.ownership_left_out;
            if (warned_owners_.insert(verdict.new_owner).second) {
                log::warn("left out ownership changes to role " + verdict.new_owner +
                          " (first: \"" + excerpt(sql) +
                          "\"): the restoring role cannot act for it; the objects "
                          "belong to the restoring role, as with pg_restore --no-owner");
            }
            return false;
        }
        PGresult* r = PQexecParams(pg, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
        pg::QueryResult res(r);
        const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COPY_IN) {
            if (!copy) refuse(line, "a statement that started COPY FROM STDIN unexpectedly");
            copy_line_ = line;
            ++stats.copy_blocks;
            return true;
        }
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
            if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
                refuse(line,
                       "a statement that sends data to the client (\"" + excerpt(sql) + "\")");
            }
            fail_on_server(pg, r, line, sql);
        }
        if (copy) refuse(line, "COPY FROM stdin did not start");
        if (PQtransactionStatus(pg) != PQTRANS_INTRANS) {
            refuse(line, "the statement \"" + excerpt(sql) + "\" ended ctldb's transaction");
        }
        return false;
    }

    void meta_command(std::string_view text, std::uint64_t line, bool own_line) override {
        const std::string cmd = word_after_backslash(text);
        if (!own_line) {
            refuse(line, "psql command " + cmd + " inside a statement: ctldb runs no psql commands",
                   "the dump was refused before anything was committed; the target is as it was");
        }
        if (cmd == "\\restrict" || cmd == "\\unrestrict") {
            std::string key(text.substr(cmd.size()));
            while (!key.empty() && (key.front() == ' ' || key.front() == '\t'))
                key.erase(0, 1);
            while (!key.empty() && (key.back() == ' ' || key.back() == '\t'))
                key.pop_back();
            if (cmd == "\\restrict") {
                if (restricted || key.empty()) refuse(line, "a second or empty \\restrict");
                restricted = true;
                restrict_key = key;
            } else {
                if (!restricted || key != restrict_key) {
                    refuse(line, "\\unrestrict without the matching \\restrict key");
                }
                restricted = false;
            }
            return;
        }
        if (scanner->saw_marker()) {
            refuse(line, "psql command " + cmd + " after pg_dump's closing marker");
        }
        if (cmd == "\\connect" || cmd == "\\c") {
            const std::string db = connect_target(text);
            // Checking without a target (backup verify) cannot know which
            // database is "the target": ctldb's own dumps never switch.
            if (!db.empty() && !target_.empty() && db == target_) return;
            refuse(line, "\\connect to another database or server (" + std::string(text) +
                             "): ctldb restores into one database only");
        }
        refuse(line, "psql command " + cmd +
                         " in the dump: ctldb runs only pg_dump's own \\restrict, \\unrestrict "
                         "and \\connect to the target; nothing of the file was run");
    }

    void copy_data(const char* data, std::size_t size) override {
        if (conn_ == nullptr) return;
        PGconn* pg = conn_->raw();
        while (size > 0) {
            const int n = static_cast<int>(std::min<std::size_t>(size, INT_MAX / 2));
            if (PQputCopyData(pg, data, n) != 1) {
                throw failure(source_ + " line " + std::to_string(copy_line_) +
                              ": sending COPY data failed: " + PQerrorMessage(pg));
            }
            data += n;
            size -= static_cast<std::size_t>(n);
        }
    }

    void copy_end(std::uint64_t) override {
        if (conn_ == nullptr) return;
        PGconn* pg = conn_->raw();
        if (PQputCopyEnd(pg, nullptr) != 1) {
            throw failure(source_ + " line " + std::to_string(copy_line_) +
                          ": ending COPY failed: " + PQerrorMessage(pg));
        }
        std::optional<Error> error;
        while (PGresult* r = PQgetResult(pg)) {
            pg::QueryResult res(r);
            if (PQresultStatus(r) != PGRES_COMMAND_OK && !error) {
                try {
                    fail_on_server(pg, r, copy_line_, "COPY");
                } catch (const Error& e) {
                    error = e;
                }
            }
        }
        if (error) throw *error;
    }

  private:
    /// Runs it under a savepoint: refused for want of privilege (42501), or
    /// a comment on an extension skipped before (42704), it is left out
    /// with a warning and the restore goes on; anything that needs the
    /// extension then fails on its own and rolls everything back. A
    /// superuser session restoring as the owner (SET ROLE) creates it with
    /// its own rights: the extension's script comes from the server's
    /// installation, not from the dump.
    bool run_extension(PGconn* pg, const std::string& text, std::uint64_t line, bool comment) {
        exec(*conn_, "SAVEPOINT ctldb_extension");
        auto attempt = [&](std::string& state, std::string& msg) {
            PGresult* r = PQexecParams(pg, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
            pg::QueryResult res(r);
            if (r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK) return true;
            const char* code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
            state = code ? code : "";
            if (state != pg::sqlstate::insufficient_privilege &&
                !(comment && state == pg::sqlstate::undefined_object))
                fail_on_server(pg, r, line, text);
            const char* m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
            msg = m ? m : "refused";
            return false;
        };
        std::string state, msg;
        bool ok = attempt(state, msg);
        if (!ok) exec(*conn_, "ROLLBACK TO SAVEPOINT ctldb_extension");
        if (!ok && state == pg::sqlstate::insufficient_privilege && session_superuser &&
            !role.empty()) {
            exec(*conn_, "RESET ROLE");
            ok = attempt(state, msg);
            // A rollback to the savepoint also undoes the RESET ROLE.
            if (!ok) exec(*conn_, "ROLLBACK TO SAVEPOINT ctldb_extension");
            exec(*conn_, "SET ROLE " + pg::sql::quote_identifier(role));
            if (ok) {
                log::info("\"" + excerpt(text) + "\" ran as the connected superuser (role " + role +
                          " may not run it; the extension's script is the server's)");
            }
        }
        if (!ok) {
            log::warn("left out \"" + excerpt(text) + "\": " + msg +
                      "; a superuser can run it in the restored database afterwards");
            ++stats.skipped;
        }
        exec(*conn_, "RELEASE SAVEPOINT ctldb_extension");
        return false;
    }

    /// Whether the current role may make `owner` own something (a member
    /// of it); a role that does not exist cannot.
    bool may_act_for(const std::string& owner) {
        auto it = may_own_.find(owner);
        if (it != may_own_.end()) return it->second;
        const bool ok = exec(*conn_,
                             "SELECT count(*) FROM pg_roles r WHERE r.rolname = $1 AND "
                             "pg_has_role(r.oid, 'MEMBER')",
                             {owner})
                            .get_int(0, 0) > 0;
        may_own_[owner] = ok;
        return ok;
    }

    [[noreturn]] void fail_on_server(PGconn* pg, PGresult* r, std::uint64_t line,
                                     std::string_view sql) {
        throw_if_interrupted();  // a statement cancelled by SIGINT/SIGTERM: exit 130
        try {
            pg::throw_result_error(pg, r, sql);
        } catch (const pg::SqlError& e) {
            const pg::ServerError& s = e.server();
            Error out(e.code(),
                      source_ + " line " + std::to_string(line) + ": " + s.message + " (in \"" +
                          excerpt(sql) + "\")",
                      s.hint.empty() ? "the transaction was rolled back; the target is as it was"
                                     : s.hint);
            // DETAIL, the position (LINE n: with a caret) and CONTEXT.
            std::vector<std::string> details = e.details();
            if (!s.sqlstate.empty()) details.push_back("SQLSTATE " + s.sqlstate);
            out.with_details(details);
            throw out;
        }
    }

  public:
    std::string role;                ///< the role the restore runs as (SET ROLE), may be empty
    bool session_superuser = false;  ///< the connected role is a superuser

  private:
    std::map<std::string, bool> may_own_;
    std::set<std::string> warned_owners_;
    pg::Connection* conn_;
    std::string target_;
    std::string source_;
    std::uint64_t copy_line_ = 0;
};

DumpRunner::DumpRunner(pg::Connection* conn, std::string target_db, std::string source)
    : handler_(std::make_unique<Handler>(conn, std::move(target_db), std::move(source))),
      scanner_(std::make_unique<pg::DumpScanner>(*handler_)) {
    handler_->scanner = scanner_.get();
}

DumpRunner::~DumpRunner() = default;

void DumpRunner::feed(const char* data, std::size_t size) {
    handler_->stats.bytes += size;
    scanner_->feed(data, size);
}

void DumpRunner::finish() {
    scanner_->finish();
    if (!scanner_->saw_marker()) {
        throw failure(
            "the dump does not end with pg_dump's closing marker (\"-- PostgreSQL "
            "database dump complete\"): it is incomplete",
            "use another backup; nothing was committed");
    }
    if (handler_->restricted) {
        throw failure("the dump's \\restrict is never closed by \\unrestrict: it is incomplete",
                      "use another backup; nothing was committed");
    }
}

void DumpRunner::set_role(std::string role, bool session_superuser) {
    handler_->role = std::move(role);
    handler_->session_superuser = session_superuser;
}

const DumpRunStats& DumpRunner::stats() const {
    return handler_->stats;
}

}  // namespace ctldb::backup
