// Connections to PostgreSQL, built from the resolved configuration.
//
// connect() is the only way ctldb opens a connection: it quotes every
// parameter, passes sslmode through exactly, enforces the connect timeout
// in milliseconds, can be interrupted by SIGINT/SIGTERM, registers the
// connection for query cancellation and turns every libpq failure into an
// Error(connect) with a hint from the guide's troubleshooting section.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <pqxx/connection>

#include "ctldb/config.hpp"
#include "ctldb/error.hpp"
#include "ctldb/signals.hpp"

namespace ctldb {

/// Quote a value for a libpq conninfo string: 'value' with \ and ' escaped.
std::string conninfo_quote(std::string_view value);

/// libpq conninfo for `c`. The password is only included when asked for;
/// child processes get it through the environment or a passfile instead.
std::string conninfo_from(const ConnectionSettings& c, bool include_password,
                          std::string_view application_name = "ctldb");

/// Seconds for libpq's connect_timeout from a millisecond budget: rounded
/// up, at least 2 (libpq's own minimum), 0 stays 0 (wait forever).
int connect_timeout_seconds(int timeout_ms);

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

  private:
    pg_conn* raw_ = nullptr;
    std::unique_ptr<CancelOnSignal> cancel_;
};

/// Open a connection; throws Error(connect) with a hint on failure and
/// Error(interrupted) on a signal.
std::unique_ptr<Connection> connect(const ConnectionSettings& settings);

/// Classify a libpq connection failure message. Exposed for tests.
Error connection_error(const std::string& libpq_message, const ConnectionSettings& settings);

/// TLS facts about an open connection.
struct TlsInfo {
    bool in_use = false;
    std::string protocol;
    std::string cipher;
    int key_bits = 0;
};
TlsInfo tls_info(const Connection& conn);

}  // namespace ctldb
