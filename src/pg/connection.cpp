#include "pg/connection.hpp"

#include "base/log.hpp"
#include "base/text.hpp"

#include <poll.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <libpq-fe.h>
#include <pqxx/except>

namespace ctldb::pg {

namespace {

// The deadline for the connect in progress on this thread; libpqxx 6.4
// constructs the policy from the conninfo string alone.
thread_local int t_connect_timeout_ms = 0;
// libpqxx 6.4 keeps the libpq handle private; the policy hands it over here.
thread_local PGconn* t_last_handle = nullptr;

std::string first_lines(std::string msg) {
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
        msg.pop_back();
    std::string out;
    for (char ch : msg) {
        if (ch == '\n') {
            out += "; ";
        } else if (ch != '\t') {
            out += ch;
        }
    }
    return out;
}

}  // namespace

pqxx::connectionpolicy::handle TimedConnectPolicy::do_startconnect(handle orig) {
    if (orig != nullptr) return orig;
    PGconn* conn = PQconnectStart(options().c_str());
    if (conn == nullptr) throw std::bad_alloc();
    using clock = std::chrono::steady_clock;
    const int budget = t_connect_timeout_ms;
    const auto deadline = clock::now() + std::chrono::milliseconds(budget);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(conn) != CONNECTION_BAD) {
        if (st == PGRES_POLLING_OK) {
            t_last_handle = conn;
            return conn;
        }
        if (st == PGRES_POLLING_FAILED) break;
        pollfd pfd{PQsocket(conn),
                   static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
        int ready = 0;
        // Wait in short slices so a signal or the deadline is noticed soon.
        while (ready == 0) {
            if (interrupted()) {
                PQfinish(conn);
                throw_if_interrupted();
            }
            int wait = 100;
            if (budget > 0) {
                auto left =
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
                if (left.count() <= 0) {
                    PQfinish(conn);
                    throw pqxx::broken_connection("timeout expired after " +
                                                  std::to_string(budget) + " ms");
                }
                if (left.count() < wait) wait = static_cast<int>(left.count());
            }
            ready = ::poll(&pfd, 1, wait);
            if (ready < 0 && errno != EINTR) break;
            if (ready < 0) ready = 0;
        }
        st = PQconnectPoll(conn);
    }
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    throw pqxx::broken_connection(msg);
}

Connection::Connection(const std::string& conninfo)
    : pqxx::basic_connection_base<TimedConnectPolicy>(conninfo), raw_(t_last_handle) {
    t_last_handle = nullptr;
    // A silent reconnect would run later statements outside the session
    // (advisory locks, SET lock_timeout) they belong to, and change raw_.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

Connection::~Connection() = default;

void Connection::cancel_on_signal() {
    cancel_ = std::make_unique<CancelOnSignal>(raw());
}

Error connection_error(const std::string& libpq_message, const config::ConnectionSettings& s) {
    const std::string m = first_lines(libpq_message);
    const std::string target = s.target();
    std::string what = "cannot connect to " + target + " as " + s.user + ": " + m;
    std::string hint;
    if (contains(m, "timeout expired")) {
        hint = "no answer from " + target + " within " + std::to_string(s.connect_timeout_ms) +
               " ms: check the host, port and network policies, or raise "
               "DB_POOL_CONNECTION_TIMEOUT";
    } else if (contains(m, "could not translate host name")) {
        hint = "the host name '" + s.host +
               "' does not resolve: check DB_HOST (in the cluster: "
               "postgres.<namespace>.svc.cluster.local)";
    } else if (contains(m, "Connection refused")) {
        hint = "is PostgreSQL running and listening on " + target +
               "? (kubectl get pods -n <namespace> | grep postgres; kubectl logs "
               "statefulset/postgres)";
    } else if (contains(m, "No route to host") || contains(m, "Network is unreachable")) {
        hint = "the host is unreachable: check DB_HOST and the network policies";
    } else if (contains(m, "password authentication failed") ||
               contains(m, "no password supplied") || contains(m, "authentication failed")) {
        hint =
            "check the password (DB_PASSWORD or DB_PASSWORD_FILE, secret key "
            "postgres-password) and DB_USER";
    } else if (contains(m, "no pg_hba.conf entry") && contains(m, "no encryption")) {
        hint =
            "the server accepts only SSL connections: set DB_SSL_MODE=require (or "
            "verify-full)";
    } else if (contains(m, "no pg_hba.conf entry")) {
        hint = "the server's pg_hba.conf has no entry for this host, user and database";
    } else if (contains(m, "server does not support SSL")) {
        hint =
            "the server has ssl=off: enable it (ALTER SYSTEM SET ssl = 'on'; SELECT "
            "pg_reload_conf()) or, for testing only, DB_SSL_MODE=prefer";
    } else if (contains(m, "does not match host name")) {
        hint = "the certificate does not name the host '" + s.host +
               "': connect with a name from its subjectAltName or reissue it with ctldb "
               "gen-certs --san";
    } else if (contains(m, "certificate has expired") ||
               contains(m, "certificate is not yet valid")) {
        hint = std::string("a certificate of the chain ") +
               (contains(m, "expired") ? "has expired" : "is not valid yet") +
               " (the server's, or the CA in DB_SSL_ROOT_CERT" +
               (s.sslrootcert.empty() ? std::string() : ": " + s.sslrootcert) +
               "): ctldb check-ssl shows the dates; reissue it with ctldb gen-certs";
    } else if (contains(m, "certificate verify failed") || contains(m, "root certificate file")) {
        hint = "the server certificate is not signed by the CA in DB_SSL_ROOT_CERT" +
               (s.sslrootcert.empty() ? std::string() : " (" + s.sslrootcert + ")");
    } else if (contains(m, "too many clients") || contains(m, "too many connections") ||
               contains(m, "remaining connection slots")) {
        hint =
            "the server reached max_connections: check SELECT count(*) FROM pg_stat_activity "
            "and ctldb pool-stats; lower DB_POOL_MAX or raise max_connections";
    } else if (contains(m, "does not exist")) {
        hint = "check DB_NAME and DB_USER";
    } else if (contains(m, "SSL") || contains(m, "certificate")) {
        hint = "TLS negotiation failed: check DB_SSL_MODE and the certificate files";
    }
    return Error(ExitCode::connect, what, hint);
}

std::unique_ptr<Connection> connect(const config::ConnectionSettings& settings) {
    throw_if_interrupted();
    // libpq 15 takes the service file only from the environment.
    if (!settings.service_file.empty()) ::setenv("PGSERVICEFILE", settings.service_file.c_str(), 1);
    t_connect_timeout_ms = settings.connect_timeout_ms;
    if (log::enabled(log::Level::debug))
        log::debug("connecting: " + conninfo_from(settings, false));
    try {
        const auto start = std::chrono::steady_clock::now();
        auto conn = std::make_unique<Connection>(conninfo_from(settings, true));
        conn->cancel_on_signal();
        log_notices(*conn);
        if (log::enabled(log::Level::debug)) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
            const TlsInfo tls = tls_info(*conn);
            log::debug("connected in " + std::to_string(ms) + " ms to PostgreSQL " +
                       std::to_string(PQserverVersion(conn->raw())) + ", backend pid " +
                       std::to_string(PQbackendPID(conn->raw())) + ", " +
                       (tls.in_use ? tls.protocol + " " + tls.cipher : std::string("no TLS")));
        }
        return conn;
    } catch (const pqxx::broken_connection& e) {
        throw connection_error(e.what(), settings);
    }
}

void complete_from(config::ConnectionSettings& s, const Connection& conn) {
    PGconn* pg = conn.raw();
    auto fill = [](std::string& field, const char* value) {
        if (field.empty() && value != nullptr) field = value;
    };
    fill(s.dbname, PQdb(pg));
    fill(s.user, PQuser(pg));
    fill(s.host, PQhost(pg));
    if (s.port <= 0 && PQport(pg) != nullptr) s.port = std::atoi(PQport(pg));
}

TlsInfo tls_info(const Connection& conn) {
    TlsInfo info;
    PGconn* pg = conn.raw();
    info.in_use = PQsslInUse(pg) == 1;
    if (!info.in_use) return info;
    auto attr = [pg](const char* name) {
        const char* v = PQsslAttribute(pg, name);
        return v ? std::string(v) : std::string();
    };
    info.protocol = attr("protocol");
    info.cipher = attr("cipher");
    info.key_bits = std::atoi(attr("key_bits").c_str());
    return info;
}

}  // namespace ctldb::pg

#include "base/log.hpp"
#include "pg/sqlstate.hpp"

namespace ctldb::pg {

namespace {
Error make_sql_error_base(const ServerError& e) {
    std::string what = e.message;
    return Error(e.sqlstate == sqlstate::lock_not_available ? ExitCode::lock : ExitCode::failure,
                 what, e.hint);
}

/// psql's way of showing where in `query` the error is: the line, and a
/// caret under the character at `position` (1-based, in characters).
std::vector<std::string> position_lines(std::string_view query, int position) {
    // position counts characters from 1; find its byte, then its line.
    std::size_t byte = 0;
    for (int c = 1; c < position && byte < query.size(); ++c) {
        ++byte;
        while (byte < query.size() && (static_cast<unsigned char>(query[byte]) & 0xC0) == 0x80)
            ++byte;
    }
    const std::size_t start = byte == 0 ? 0 : query.rfind('\n', byte - 1) + 1;  // npos + 1 == 0
    std::size_t end = query.find('\n', byte);
    if (end == std::string_view::npos) end = query.size();
    const int line = 1 + static_cast<int>(std::count(query.begin(), query.begin() + start, '\n'));
    std::string_view text = query.substr(start, end - start);
    std::size_t caret = 0;  // characters before the position on its line
    for (std::size_t i = start; i < byte; ++i) {
        if ((static_cast<unsigned char>(query[i]) & 0xC0) != 0x80) ++caret;
    }
    // Keep a long line readable around the position, as psql does.
    const std::size_t window = 120;
    std::string shown(text);
    if (shown.size() > window && caret > window / 2) {
        const std::size_t cut = byte - start - window / 2;
        std::size_t from = cut;
        while (from < shown.size() && (static_cast<unsigned char>(shown[from]) & 0xC0) == 0x80)
            ++from;
        caret -= static_cast<std::size_t>(
            std::count_if(shown.begin(), shown.begin() + static_cast<std::ptrdiff_t>(from),
                          [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
        shown = "..." + shown.substr(from);
        caret += 3;
    }
    if (shown.size() > 2 * window) shown = shown.substr(0, 2 * window) + "...";
    const std::string prefix = "LINE " + std::to_string(line) + ": ";
    return {prefix + shown, std::string(prefix.size() + caret, ' ') + "^"};
}

}  // namespace

SqlError::SqlError(ServerError e, std::string_view query)
    : Error(make_sql_error_base(e)), server_(std::move(e)) {
    // PostgreSQL's DETAIL (which key is duplicated, which rows depend),
    // CONTEXT and the position reach the operator with every server error,
    // not only where a command remembers to add them.
    std::vector<std::string> d;
    if (!server_.detail.empty()) d.push_back("DETAIL: " + server_.detail);
    if (server_.position > 0 && !query.empty()) {
        for (auto& l : position_lines(query, server_.position))
            d.push_back(std::move(l));
    } else if (server_.position > 0) {
        d.push_back("POSITION: character " + std::to_string(server_.position) +
                    " of the statement");
    }
    if (!server_.context.empty()) d.push_back("CONTEXT: " + first_lines(server_.context));
    if (!d.empty()) with_details(std::move(d));
}

QueryResult::QueryResult(pg_result* r) : r_(r) {}
QueryResult::~QueryResult() {
    if (r_ != nullptr) PQclear(r_);
}
QueryResult::QueryResult(QueryResult&& other) noexcept : r_(other.r_) {
    other.r_ = nullptr;
}
QueryResult& QueryResult::operator=(QueryResult&& other) noexcept {
    if (this != &other) {
        if (r_ != nullptr) PQclear(r_);
        r_ = other.r_;
        other.r_ = nullptr;
    }
    return *this;
}
int QueryResult::rows() const {
    return PQntuples(r_);
}
bool QueryResult::is_null(int row, int col) const {
    return PQgetisnull(r_, row, col) == 1;
}
std::string QueryResult::get(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col),
                       static_cast<std::size_t>(PQgetlength(r_, row, col)));
}
std::optional<std::string> QueryResult::get_optional(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return get(row, col);
}

std::int64_t QueryResult::get_int(int row, int col) const {
    return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}

std::int64_t QueryResult::affected() const {
    return std::strtoll(PQcmdTuples(r_), nullptr, 10);
}

[[noreturn]] void throw_connection_lost(PGconn* pg) {
    throw Error(ExitCode::failure,
                "lost the connection to the server: " + first_lines(PQerrorMessage(pg)),
                "check the server log; the work was not completed");
}

[[noreturn]] void throw_result_error(PGconn* pg, PGresult* r, std::string_view query) {
    if (PQstatus(pg) != CONNECTION_OK || r == nullptr) throw_connection_lost(pg);
    auto field = [r](int code) {
        const char* v = PQresultErrorField(r, code);
        return v ? std::string(v) : std::string();
    };
    ServerError e;
    e.sqlstate = field(PG_DIAG_SQLSTATE);
    e.message = field(PG_DIAG_MESSAGE_PRIMARY);
    e.detail = field(PG_DIAG_MESSAGE_DETAIL);
    e.hint = field(PG_DIAG_MESSAGE_HINT);
    e.context = field(PG_DIAG_CONTEXT);
    e.position = std::atoi(field(PG_DIAG_STATEMENT_POSITION).c_str());
    if (e.message.empty()) e.message = first_lines(PQresultErrorMessage(r));
    throw SqlError(std::move(e), query);
}

const std::string* Connection::prepared(const std::string& sql) const {
    auto it = prepared_.find(sql);
    return it == prepared_.end() ? nullptr : &it->second;
}

std::string Connection::name_for(const std::string&) const {
    return "ctldb_" + std::to_string(prepared_.size() + 1);
}

namespace {

/// A single SELECT: the statements reuse_plans() prepares.
bool preparable(const std::string& sql) {
    return sql.rfind("SELECT ", 0) == 0 && sql.find(';') == std::string::npos;
}

}  // namespace

QueryResult exec(Connection& conn, const std::string& sql,
                 const std::vector<std::optional<std::string>>& params) {
    PGconn* pg = conn.raw();
    PGresult* r = nullptr;
    if (conn.reusing_plans() && preparable(sql)) {
        const std::string* known = conn.prepared(sql);
        const std::string name = known ? *known : conn.name_for(sql);
        if (known == nullptr) {
            QueryResult prepared(PQprepare(pg, name.c_str(), sql.c_str(), 0, nullptr));
            if (prepared.raw() == nullptr || PQresultStatus(prepared.raw()) != PGRES_COMMAND_OK)
                throw_result_error(pg, prepared.raw(), sql);
            conn.remember(sql, name);
        }
        std::vector<const char*> values;
        for (const auto& p : params)
            values.push_back(p ? p->c_str() : nullptr);
        r = PQexecPrepared(pg, name.c_str(), static_cast<int>(values.size()), values.data(),
                           nullptr, nullptr, 0);
    } else if (params.empty()) {
        r = PQexec(pg, sql.c_str());
    } else {
        std::vector<const char*> values;
        for (const auto& p : params)
            values.push_back(p ? p->c_str() : nullptr);
        r = PQexecParams(pg, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                         nullptr, nullptr, 0);
    }
    QueryResult result(r);
    const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return result;
    throw_result_error(pg, r, sql);
}

std::int64_t copy_from(Connection& conn, const std::string& copy_statement,
                       std::initializer_list<std::string_view> pieces) {
    PGconn* pg = conn.raw();
    {
        QueryResult start(PQexec(pg, copy_statement.c_str()));
        if (start.raw() == nullptr || PQresultStatus(start.raw()) != PGRES_COPY_IN) {
            throw_result_error(pg, start.raw(), copy_statement);
        }
    }
    const std::size_t chunk = 1 << 20;
    bool sending = true;
    for (std::string_view data : pieces) {
        for (std::size_t off = 0; sending && off < data.size(); off += chunk) {
            const std::size_t n = std::min(chunk, data.size() - off);
            sending = PQputCopyData(pg, data.data() + off, static_cast<int>(n)) == 1;
        }
    }
    PQputCopyEnd(pg, nullptr);
    // Read every result so the connection is ready again, then report the
    // first failure.
    std::int64_t rows = 0;
    std::optional<SqlError> failed;
    while (PGresult* r = PQgetResult(pg)) {
        QueryResult res(r);
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            rows = res.affected();
        } else if (!failed) {
            try {
                throw_result_error(pg, r);
            } catch (const SqlError& e) {
                failed = e;
            }
        }
    }
    if (failed) throw *failed;
    return rows;
}

namespace {
extern "C" void notice_to_log(void*, const char* message) {
    std::string m = message ? message : "";
    while (!m.empty() && m.back() == '\n')
        m.pop_back();
    log::detail("server: " + m);
}
}  // namespace

void log_notices(Connection& conn) {
    PQsetNoticeProcessor(conn.raw(), notice_to_log, nullptr);
}

double check_pg_duration(const std::string& option, const std::string& value) {
    const auto seconds = parse_duration_seconds(value);
    // PostgreSQL keeps these in milliseconds in an int.
    if (!seconds || *seconds * 1000 > 2147483647.0) {
        throw usage_error(option + " '" + value + "' is not a duration",
                          "a number with ms, s, m, h or d (10s, 5m); a bare number is seconds; "
                          "0 disables it");
    }
    return *seconds;
}

void set_timeout(Connection& conn, const char* setting, const std::string& value, bool local) {
    // ctldb's duration syntax, not the server's: a bare number is seconds
    // here and milliseconds there. Sent as whole milliseconds.
    const double seconds = check_pg_duration(setting, value);
    auto ms = static_cast<long long>(seconds * 1000 + 0.5);
    if (ms == 0 && seconds > 0) ms = 1;  // "0.1ms" must not mean "no limit"
    exec(conn, std::string(local ? "SET LOCAL " : "SET ") + setting + " = '" + std::to_string(ms) +
                   "ms'");
}

}  // namespace ctldb::pg
