// Prometheus metrics: what postgres_exporter sees (connections, query and
// transaction times, sizes, hit ratio, dead tuples, wraparound, replication,
// pg_stat_statements totals) and what only ctldb knows (pool headroom for
// the configured pods, the newest backup's age and verification, the
// server certificate's expiry, pending migrations, the guide's indexes,
// non-TLS clients). Every scrape gives an answer: ctldb_up 0 with the
// reason when the server cannot be reached, never an empty page.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace ctldb::metrics {

/// A Prometheus text exposition (format 0.0.4) being written: families in
/// the order they are declared, each with HELP and TYPE, and only when it
/// has a sample.
class Exposition {
  public:
    using Labels = std::vector<std::pair<std::string, std::string>>;
    void gauge(const std::string& name, const std::string& help, double value,
               const Labels& labels = {});
    void counter(const std::string& name, const std::string& help, double value,
                 const Labels& labels = {});
    std::string text() const;
    std::size_t families() const;
    std::size_t samples() const;

  private:
    struct Family {
        std::string help, type;
        std::vector<std::string> samples;
    };
    void add(const std::string& name, const std::string& help, const char* type, double value,
             const Labels& labels);
    std::vector<std::string> order_;
    std::map<std::string, Family> families_;
};

/// A label value escaped for the exposition (\\, \" and \n).
std::string escape_label(const std::string& value);

/// A short reason for a connection failure, from libpq's message:
/// refused, timeout, dns, unreachable, authentication, hba, tls,
/// too_many_connections, no_such_database, other.
std::string failure_reason(const std::string& message);

struct Options {
    int pods = 1;
    int admin_reserve = 15;
    std::string backup_dir;      ///< "" : the configured one
    std::string migrations_dir;  ///< "" : the migrations_dir setting, else see comparison_basis()
    std::string layout = "auto";
    int timeout_ms = 10000;  ///< each statement of a scrape
};

/// One scrape. `conn` may be null (the server could not be reached:
/// `down_reason` says why); metrics that need no server (backups) are
/// there either way. Throws only for a broken connection mid-scrape
/// (Error(failure)), so the caller can reconnect and report down.
std::string scrape(pg::Connection* conn, const config::Config& cfg, const Options& o,
                   const std::string& down_reason);

}  // namespace ctldb::metrics
