#include "pg/pipeline.hpp"

#include <poll.h>

#include <cerrno>
#include <cstdlib>

#include <libpq-fe.h>

#include "base/signals.hpp"

namespace ctldb::pg {

void RowCounts::add(const std::string& tag) {
    // The count is the tag's last word ("INSERT 0 5": 5, "UPDATE 2": 2).
    const std::size_t space = tag.rfind(' ');
    if (space == std::string::npos) return;
    const std::int64_t n = std::strtoll(tag.c_str() + space + 1, nullptr, 10);
    const std::string verb = tag.substr(0, tag.find(' '));
    if (verb == "INSERT" || verb == "COPY") {
        inserted += n;
    } else if (verb == "UPDATE") {
        updated += n;
    } else if (verb == "DELETE") {
        deleted += n;
    } else if (verb == "MERGE") {
        merged += n;
    }
}

namespace {

// A batch ends at this many statements or bytes of SQL, whichever comes
// first: enough to hide the round trips, small enough that a signal between
// batches is noticed soon and libpq's output buffer stays modest.
constexpr std::size_t kBatchStatements = 1000;
constexpr std::size_t kBatchBytes = 1u << 20;

/// Pipeline mode and non-blocking I/O for the life of one batch.
class PipelineMode {
  public:
    explicit PipelineMode(PGconn* pg) : pg_(pg) {
        if (PQsetnonblocking(pg_, 1) != 0 || PQenterPipelineMode(pg_) != 1)
            throw_connection_lost(pg_);
    }
    ~PipelineMode() {
        // Only possible once every result was read; after a lost connection
        // nothing more is sent anyway.
        PQexitPipelineMode(pg_);
        PQsetnonblocking(pg_, 0);
    }
    PipelineMode(const PipelineMode&) = delete;
    PipelineMode& operator=(const PipelineMode&) = delete;

  private:
    PGconn* pg_;
};

/// Statements [begin, end) in one pipeline with one sync point at its end.
std::optional<StatementFailure> run_batch(PGconn* pg, const std::vector<sql::Statement>& stmts,
                                          std::size_t begin, std::size_t end, RowCounts* affected) {
    PipelineMode mode(pg);
    for (std::size_t i = begin; i < end; ++i) {
        // Queued in libpq's buffer; flushed below while results are read.
        if (PQsendQueryParams(pg, stmts[i].text.c_str(), 0, nullptr, nullptr, nullptr, nullptr,
                              0) != 1) {
            throw_connection_lost(pg);
        }
    }
    if (PQpipelineSync(pg) != 1) throw_connection_lost(pg);

    std::optional<StatementFailure> failure;
    std::size_t current = begin;  // the statement whose results come next
    bool flushed = false;
    int polls_since_signal = 0;
    for (;;) {
        if (!flushed) {
            const int f = PQflush(pg);
            if (f < 0) throw_connection_lost(pg);
            flushed = f == 0;
        }
        // Read whatever has arrived before waiting: the server may be
        // blocked on sending us results while we still have SQL to send.
        if (PQconsumeInput(pg) != 1) throw_connection_lost(pg);
        while (PQisBusy(pg) == 0) {
            PGresult* r = PQgetResult(pg);
            if (r == nullptr) {  // the end of one statement's results
                ++current;
                continue;
            }
            const ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                return failure;
            }
            if (st == PGRES_COPY_IN) {
                // COPY ... FROM STDIN: a file has no data stream to give it
                // (the checks refuse it first). End it with an error, which
                // the server reports as this statement's failure.
                PQclear(r);
                if (PQputCopyEnd(pg, "COPY FROM STDIN has no data in a file ctldb runs") < 0)
                    throw_connection_lost(pg);
                flushed = false;
                continue;
            }
            if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
                PQclear(r);
                throw Error(ExitCode::failure,
                            "statement " + std::to_string(current + 1) +
                                " started COPY TO STDOUT, which a file ctldb runs cannot do",
                            "use COPY ... TO a server file, or SELECT");
            }
            if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
                if (affected != nullptr) affected->add(PQcmdStatus(r));
                PQclear(r);
            } else if (st == PGRES_PIPELINE_ABORTED) {
                PQclear(r);  // skipped after the failure
            } else {
                if (!failure && current < end) {
                    try {
                        throw_result_error(pg, r, stmts[current].text);
                    } catch (const SqlError& e) {
                        failure = StatementFailure{current, e};
                    } catch (...) {
                        PQclear(r);
                        throw;
                    }
                }
                PQclear(r);
            }
        }
        // A signal cancels the running statement through CancelOnSignal and
        // its error arrives here; should the server not answer the cancel
        // within 5 s, stop waiting (the session's end rolls back).
        if (interrupted() && ++polls_since_signal > 50) throw_if_interrupted();
        pollfd pfd{PQsocket(pg), static_cast<short>(POLLIN | (flushed ? 0 : POLLOUT)), 0};
        if (::poll(&pfd, 1, 100) < 0 && errno != EINTR) throw_connection_lost(pg);
    }
}

}  // namespace

std::optional<StatementFailure> exec_pipelined(Connection& conn,
                                               const std::vector<sql::Statement>& statements,
                                               RowCounts* affected) {
    PGconn* pg = conn.raw();
    std::size_t next = 0;
    while (next < statements.size()) {
        throw_if_interrupted();
        std::size_t end = next, bytes = 0;
        while (end < statements.size() && end - next < kBatchStatements && bytes < kBatchBytes) {
            bytes += statements[end].text.size();
            ++end;
        }
        if (auto f = run_batch(pg, statements, next, end, affected)) return f;
        next = end;
    }
    return std::nullopt;
}

}  // namespace ctldb::pg
