// Connections to PostgreSQL, built from the resolved configuration.
//
// connect() is the only way ctldb opens a connection: it quotes every
// parameter, passes sslmode through exactly, enforces the connect timeout
// in milliseconds, can be interrupted by SIGINT/SIGTERM, registers the
// connection for query cancellation and turns every libpq failure into an
// Error(connect) with a hint from the guide's troubleshooting section.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/connection>

struct pg_result;

#include "base/error.hpp"
#include "base/signals.hpp"
#include "config/config.hpp"
#include "config/libpq.hpp"

namespace ctldb::pg {

/// Connection policy for libpqxx 6.4: asynchronous connect with a deadline
/// in milliseconds and interruption by signals.
class TimedConnectPolicy : public pqxx::connectionpolicy {
  public:
    explicit TimedConnectPolicy(const std::string& options) : pqxx::connectionpolicy(options) {}
    handle do_startconnect(handle orig) override;
};

class Connection : public pqxx::basic_connection_base<TimedConnectPolicy> {
  public:
    /// Connects at once; throws pqxx::broken_connection on failure.
    explicit Connection(const std::string& conninfo);
    ~Connection();
    /// The libpq handle, for TLS inspection and PQencryptPasswordConn.
    pg_conn* raw() const { return raw_; }
    /// From now on SIGINT/SIGTERM cancel the query running here.
    void cancel_on_signal();

    /// From now on exec() prepares each single SELECT once on this
    /// connection and then runs the prepared statement: a connection that
    /// runs the same statements again and again (metrics serve) skips their
    /// parsing and planning.
    void reuse_plans() { reuse_plans_ = true; }
    bool reusing_plans() const { return reuse_plans_; }
    /// The prepared statement of `sql` on this connection, if any.
    const std::string* prepared(const std::string& sql) const;
    /// A name for `sql`'s prepared statement, recorded once it is prepared.
    std::string name_for(const std::string& sql) const;
    void remember(const std::string& sql, const std::string& name) { prepared_[sql] = name; }

  private:
    bool reuse_plans_ = false;
    std::map<std::string, std::string> prepared_;
    pg_conn* raw_ = nullptr;
    std::unique_ptr<CancelOnSignal> cancel_;
};

/// Open a connection; throws Error(connect) with a hint on failure and
/// Error(interrupted) on a signal.
std::unique_ptr<Connection> connect(const config::ConnectionSettings& settings);

/// Fill what `s` leaves open (a libpq service names it, or libpq's
/// defaults) from the open connection: database, user, host and port.
void complete_from(config::ConnectionSettings& s, const Connection& conn);

/// Classify a libpq connection failure message. Exposed for tests.
Error connection_error(const std::string& libpq_message,
                       const config::ConnectionSettings& settings);

/// TLS facts about an open connection.
struct TlsInfo {
    bool in_use = false;
    std::string protocol;
    std::string cipher;
    int key_bits = 0;
};
TlsInfo tls_info(const Connection& conn);

}  // namespace ctldb::pg

namespace ctldb::pg {

/// PostgreSQL's error fields for a failed statement.
struct ServerError {
    std::string sqlstate;
    std::string message;
    std::string detail;
    std::string hint;
    std::string context;
    int position = 0;  ///< 1-based character position in the statement, 0: none
};

/// The seconds of a timeout option in ctldb's one duration syntax ("10s",
/// "5m", "250ms", "1h"; a bare number is seconds; "0" disables); a usage
/// error (exit 2) naming `option` otherwise.
double check_pg_duration(const std::string& option, const std::string& value);

/// SET (LOCAL with `local`: until the transaction ends) a timeout setting
/// (lock_timeout, statement_timeout) to a duration check_pg_duration accepts,
/// sent in milliseconds.
void set_timeout(Connection& conn, const char* setting, const std::string& value, bool local);

/// A statement that failed on the server. Exit code: failure, or lock for
/// lock_not_available (55P03, lock_timeout).
class SqlError : public Error {
  public:
    /// PostgreSQL's DETAIL and CONTEXT become details; with `query`, the
    /// error position is shown psql's way: the line of the statement it is
    /// on, and a caret under the character.
    explicit SqlError(ServerError e, std::string_view query = {});
    const ServerError& server() const { return server_; }

  private:
    ServerError server_;
};

/// The rows of a statement run by exec().
class QueryResult {
  public:
    explicit QueryResult(pg_result* r);
    ~QueryResult();
    QueryResult(QueryResult&& other) noexcept;
    QueryResult& operator=(QueryResult&& other) noexcept;
    QueryResult(const QueryResult&) = delete;
    int rows() const;
    bool is_null(int row, int col) const;
    std::string get(int row, int col) const;
    /// The value, or nullopt for SQL NULL.
    std::optional<std::string> get_optional(int row, int col) const;
    std::int64_t get_int(int row, int col) const;
    /// Rows inserted, updated or deleted (PQcmdTuples); 0 for other commands.
    std::int64_t affected() const;
    pg_result* raw() const { return r_; }

  private:
    pg_result* r_;
};

/// One row of a result read column by column, in the SELECT's order: each
/// read takes the next column, typed. A probe's decoder then reads like
/// its SELECT list, and no column number is written twice.
class Row {
  public:
    Row(const QueryResult& r, int row) : r_(r), row_(row) {}
    std::string text() { return r_.get(row_, col_++); }
    std::int64_t int64() { return r_.get_int(row_, col_++); }
    double real() { return std::atof(r_.get(row_, col_++).c_str()); }
    bool flag() { return r_.get(row_, col_++) == "t"; }
    /// The value, or nullopt for SQL NULL.
    std::optional<std::string> optional() { return r_.get_optional(row_, col_++); }
    std::optional<std::int64_t> optional_int64() { return unless_null(&Row::int64); }
    std::optional<double> optional_real() { return unless_null(&Row::real); }
    std::optional<bool> optional_flag() { return unless_null(&Row::flag); }
    /// Whether the next column is NULL (it is not read).
    bool next_is_null() const { return r_.is_null(row_, col_); }

  private:
    /// The next column read by `read`, or nullopt (and skipped) when NULL.
    template <typename T>
    std::optional<T> unless_null(T (Row::*read)()) {
        if (!next_is_null()) return (this->*read)();
        ++col_;
        return std::nullopt;
    }

    const QueryResult& r_;
    int row_;
    int col_ = 0;
};

/// Error(failure) "lost the connection to the server: <libpq's words>".
[[noreturn]] void throw_connection_lost(pg_conn* pg);

/// The error of a failed result `r` as a SqlError, or Error(failure) when
/// the connection itself is gone (or `r` is null).
[[noreturn]] void throw_result_error(pg_conn* pg, pg_result* r, std::string_view query = {});

/// Run `sql` on `conn` directly through libpq, keeping PostgreSQL's error
/// fields (position, hint, sqlstate) that libpqxx 6.4 drops. Without
/// parameters the simple protocol is used (several statements allowed).
/// Throws SqlError; Error(failure) when the connection is lost.
QueryResult exec(Connection& conn, const std::string& sql,
                 const std::vector<std::optional<std::string>>& params = {});

/// COPY ... FROM STDIN, sending `pieces` one after the other (so a header
/// and trailer need not be copied around a large batch). Returns the rows
/// copied. Throws SqlError like exec().
std::int64_t copy_from(Connection& conn, const std::string& copy_statement,
                       std::initializer_list<std::string_view> pieces);

/// Route server notices (NOTICE, WARNING) to ctldb's log at debug level.
void log_notices(Connection& conn);

}  // namespace ctldb::pg
