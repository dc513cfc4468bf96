#include "migrate/file_runner.hpp"

#include <vector>

#include "base/log.hpp"
#include "base/signals.hpp"
#include "base/stopwatch.hpp"
#include "pg/pipeline.hpp"
#include "pg/probes.hpp"
#include "pg/script.hpp"

namespace ctldb::migrate {

namespace {

void set_timeouts(pg::Connection& conn, const RunTimeouts& t, bool local) {
    set_timeout(conn, "lock_timeout", t.lock, local);
    set_timeout(conn, "statement_timeout", t.statement, local);
}

void reset_timeouts(pg::Connection& conn) {
    try {
        exec(conn, "RESET lock_timeout");
        exec(conn, "RESET statement_timeout");
    } catch (const Error&) {
        // A broken connection is reported by whatever comes next.
    }
}

/// Invalid indexes (a failed CREATE INDEX CONCURRENTLY leaves one).
std::vector<std::string> invalid_indexes(pg::Connection& conn) {
    pg::QueryResult r = exec(conn,
                             "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_index i "
                             "JOIN pg_class c ON c.oid = i.indexrelid "
                             "JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE NOT i.indisvalid AND " +
                                 pg::probe::user_schema("n") + " ORDER BY 1");
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(r.get(i, 0));
    return out;
}

}  // namespace

std::int64_t run_migration_file(pg::Connection& conn, const RunTimeouts& t, const std::string& file,
                                const std::string& text, const pg::sql::Parsed& parsed,
                                bool no_transaction, const std::function<void()>& record) {
    const Stopwatch start;
    if (!no_transaction) {
        pg::TransactionGuard tx(conn);
        set_timeouts(conn, t, true);
        // Many statements per round trip; the first failure is exact.
        if (auto f = exec_pipelined(conn, parsed.statements)) {
            throw_statement_error(f->error, file, text, parsed.statements[f->index],
                                  {"the transaction was rolled back: nothing of " + file +
                                   " remains; fix it and run migrate again"});
        }
        record();
        throw_if_interrupted();
        tx.commit();
        return start.ms();
    }
    set_timeouts(conn, t, false);
    std::size_t done = 0;
    for (const auto& s : parsed.statements) {
        throw_if_interrupted();
        if (!s.concurrent_index.empty()) {
            // A build that failed earlier leaves an invalid index, and
            // IF NOT EXISTS would then skip it for ever: drop it first.
            pg::QueryResult r =
                exec(conn,
                     "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
                     "JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_namespace n ON "
                     "n.oid = c.relnamespace WHERE c.relname = $1 AND NOT i.indisvalid "
                     "AND pg_catalog.pg_table_is_visible(c.oid)",
                     {s.concurrent_index});
            if (r.rows() > 0) {
                log::warn("dropping invalid index " + r.get(0, 0) +
                          " left by an earlier failed build, then building it again");
                exec(conn, "DROP INDEX CONCURRENTLY IF EXISTS " + r.get(0, 0));
            }
        }
        try {
            exec(conn, s.text);
        } catch (const pg::SqlError& e) {
            std::vector<std::string> extra;
            extra.push_back("statement " + std::to_string(done + 1) + " of " +
                            std::to_string(parsed.statements.size()) +
                            " failed; this file runs without a transaction, so the " +
                            std::to_string(done) + " before it stay applied");
            for (std::size_t i = 0; i < done; ++i) {
                extra.push_back("  already ran: line " + std::to_string(parsed.statements[i].line) +
                                ": " + pg::first_line(parsed.statements[i].text));
            }
            try {
                for (const auto& idx : invalid_indexes(conn)) {
                    extra.push_back("invalid index left behind: " + idx +
                                    " (the next run drops and rebuilds it)");
                }
            } catch (const Error&) {
            }
            reset_timeouts(conn);
            throw_statement_error(e, file, text, s, extra);
        }
        ++done;
    }
    reset_timeouts(conn);
    pg::TransactionGuard tx(conn);
    record();
    tx.commit();
    return start.ms();
}

}  // namespace ctldb::migrate
