// Reads of the server's catalog and statistics that any command can reuse,
// made to work for the least-privileged role: what the role may not read
// is reported as such (with the grant that would allow it), never as an
// error that ends the whole command. Probes know nothing of output; each is
// one round trip (or a few) over an open connection, bounded by the
// session's statement_timeout, and takes no lock a DDL statement could
// queue behind (sizes come from pg_class, not pg_total_relation_size).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pg/connection.hpp"

namespace ctldb::pg::probe {

/// The grant that lets a role read every setting.
constexpr const char* kReadAllSettingsGrant = "pg_read_all_settings (or pg_monitor)";
/// The grant that lets a role see other roles' sessions and statistics.
constexpr const char* kReadAllStatsGrant = "pg_read_all_stats (or pg_monitor)";

/// How long a read-only command's statement may take, and wait for a lock,
/// before it gives up and says so: a probe must never hang behind a
/// migration's lock or on a huge catalog.
constexpr int kReadTimeoutMs = 30000;
constexpr int kReadLockTimeoutMs = 5000;

/// The connected session's database and role.
std::string current_database(Connection& conn);
std::string current_user(Connection& conn);

/// The server's version: server_version_num and server_version.
struct ServerVersion {
    std::int64_t num = 0;
    std::string text;
};
ServerVersion server_version(Connection& conn);

/// The current database's size on disk (pg_database_size), in bytes.
std::int64_t database_size(Connection& conn);

/// One round trip: the server answers queries (SELECT 1).
void ping(Connection& conn);

/// Bound every statement of `conn` from now on (statement_timeout and
/// lock_timeout in milliseconds), for the commands that only read.
void bound_reads(Connection& conn, int statement_ms = kReadTimeoutMs,
                 int lock_ms = kReadLockTimeoutMs);

/// SQL condition: the schema `ns` (a pg_namespace alias) holds user
/// objects: not pg_catalog, information_schema, TOAST or temporary schemas.
/// SQL selecting `relation`: the relations of this database that another
/// session holds (or waits for) in ACCESS EXCLUSIVE mode, a migration's
/// ALTER TABLE say. Deparsing them (pg_get_indexdef, pg_get_constraintdef,
/// a default's pg_get_expr) would wait; reading pg_class, pg_index or
/// pg_attribute does not. For a CTE: WITH locked AS (...).
inline constexpr const char* kExclusivelyLocked =
    "SELECT DISTINCT l.relation FROM pg_locks l WHERE l.locktype = 'relation' AND "
    "l.mode = 'AccessExclusiveLock' AND l.pid <> pg_backend_pid() AND "
    "l.database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/// "public.users (pid 123, user app, application migrate)" for each
/// relation kExclusivelyLocked names, for messages.
std::vector<std::string> exclusively_locked(Connection& conn);

std::string user_schema(const char* ns);

/// SQL for an ISO 8601 UTC text ("2026-12-02T07:04:12Z") of a timestamptz
/// expression; NULL stays NULL.
std::string iso_utc(const std::string& expr);

/// A server setting as the connected role sees it.
struct Setting {
    std::string name;
    std::optional<std::string> value;  ///< nullopt: hidden from this role
    std::string unit;                  ///< pg_settings.unit ("s", "8kB", ...)
    std::string source;                ///< pg_settings.source ("configuration file", ...)
    std::string context;               ///< pg_settings.context ("postmaster": restart to change)
    bool pending_restart = false;
    /// Why the value is missing ("not visible to role x: needs ..."), or "".
    std::string unreadable;
};

/// The values of `names`, in that order. Settings PostgreSQL shows only to
/// superusers and pg_read_all_settings (ssl_min_protocol_version, the
/// ssl_*_file paths, ...) come back without a value and with the grant
/// named, instead of the "must be superuser" error SHOW raises.
std::vector<Setting> settings(Connection& conn, const std::vector<std::string>& names);

/// One client session from pg_stat_activity (with pg_stat_ssl).
struct Session {
    std::int64_t pid = 0;
    bool self = false;     ///< ctldb's own backend
    bool visible = true;   ///< false: another role's session this role may not inspect
    std::string database;  ///< empty for none
    std::string user;
    std::string application;
    std::string client;  ///< client address, "local" for a Unix socket, "" hidden
    std::string state;   ///< "active", "idle in transaction", ... ("" hidden)
    std::string wait_event_type, wait_event;
    std::optional<std::string> backend_start, xact_start, query_start, state_change;  ///< ISO UTC
    std::optional<double> query_seconds;   ///< since query_start (active: running time)
    std::optional<double> xact_seconds;    ///< since xact_start
    std::optional<double> state_seconds;   ///< since state_change
    std::optional<bool> ssl;               ///< nullopt: not known (hidden)
    std::vector<std::int64_t> blocked_by;  ///< pg_blocking_pids: every session it waits for
    std::string query;                     ///< whole text ("" hidden)
};

/// Every client session and the server's connection limits.
struct Activity {
    std::vector<Session> sessions;  ///< this one included (Session::self)
    std::int64_t hidden = 0;        ///< sessions of other roles this one may not inspect
    bool all_stats = false;         ///< the role holds pg_read_all_stats
    std::string role;
    std::int64_t max_connections = 0;
    std::int64_t superuser_reserved = 0;
    std::int64_t reserved = 0;  ///< reserved_connections (PostgreSQL 16+), 0 before
};
Activity activity(Connection& conn);

/// A lock wait tree: a session that blocks others without waiting itself
/// (or, in a cycle, the lowest pid of it), and who waits for it.
struct LockTree {
    std::int64_t pid = 0;
    std::vector<LockTree> waiters;
    /// Sessions in the tree, this one included, each counted once.
    std::size_t size() const;
    /// Longest chain from here down, counted in sessions (1: no waiter).
    std::size_t depth() const;
};
/// Every blocker of every waiter: a waiter blocked by two sessions appears
/// under both. Pure; for unit tests and for doctor, queries and metrics.
std::vector<LockTree> lock_trees(const std::vector<Session>& sessions);

/// The later of two ISO UTC times, either of which may be missing.
inline std::optional<std::string> later(const std::optional<std::string>& a,
                                        const std::optional<std::string>& b) {
    if (!a) return b;
    if (!b) return a;
    return std::max(*a, *b);
}

/// A table's size and statistics, from the catalog and the statistics
/// views (no relation lock is taken).
struct TableStats {
    std::string name;           ///< schema.table, each part quoted when it needs it
    std::string schema, table;  ///< as written, unquoted
    std::int64_t oid = 0;
    /// Heap (every fork: main, free space map, visibility map), its
    /// indexes, and its TOAST table with the TOAST index: together
    /// pg_total_relation_size. From pg_class pages unless exact_sizes()
    /// replaced them (size_exact).
    std::int64_t heap_bytes = 0, index_bytes = 0, toast_bytes = 0;
    bool size_exact = false;
    std::int64_t total_bytes() const { return heap_bytes + index_bytes + toast_bytes; }
    double estimated_rows = 0;  ///< pg_class.reltuples (-1: never analyzed)
    std::int64_t live_tuples = 0, dead_tuples = 0;
    double vacuum_threshold = 0;  ///< dead tuples at which autovacuum starts
    std::optional<std::string> last_vacuum, last_autovacuum, last_analyze, last_autoanalyze;
    /// The later of the manual and the automatic one (ISO text compares in
    /// time order), nullopt when neither ever ran.
    std::optional<std::string> vacuumed_at() const { return later(last_vacuum, last_autovacuum); }
    std::optional<std::string> analyzed_at() const { return later(last_analyze, last_autoanalyze); }
    std::int64_t xid_age = 0, mxid_age = 0;
    /// autovacuum_freeze_max_age in force for the table (its own storage
    /// parameter, else the server's), and the multixact one.
    std::int64_t freeze_max_age = 0, multixact_freeze_max_age = 0;
    /// Bytes of the heap beyond what its rows need, from the statistics;
    /// nullopt without them (never analyzed, or columns this role may not read).
    std::optional<std::int64_t> bloat_bytes;
};
/// User tables, biggest first (`limit` 0: all), of schema `schema` only
/// when it is not empty.
std::vector<TableStats> tables(Connection& conn, int limit = 0, const std::string& schema = "");

/// Replace the catalog's page counts of `list` by the sizes of the files
/// (pg_table_size, pg_indexes_size, the TOAST table's total), so they add
/// up to pg_total_relation_size. Those functions take a share lock on each
/// relation for an instant; a table whose lock is not granted within
/// `lock_ms` (an ALTER TABLE holds or awaits it) keeps its catalog
/// estimate, so the read never queues behind DDL for longer than that.
/// Returns how many tables kept their estimate. Restores lock_timeout.
int exact_sizes(Connection& conn, std::vector<TableStats>& list, int lock_ms = 200);

/// Free and total bytes of the volume holding the server's data directory,
/// when ctldb runs beside the server (in its pod, or on its host) and may
/// see it: the data directory setting is readable, the connection is local,
/// and the postmaster.pid there belongs to this very server (its port and
/// start time). Otherwise `why_not` says which of those is missing.
struct Volume {
    std::string path;
    std::int64_t free_bytes = 0, total_bytes = 0;
};
std::optional<Volume> data_volume(Connection& conn, std::string& why_not);

/// The statistics-based estimate of a heap's wasted bytes: pages beyond
/// those `rows` of `row_width` bytes (the sum of pg_stats.avg_width) need,
/// with PostgreSQL's tuple header, line pointer and fillfactor. Pure.
std::int64_t bloat_estimate(std::int64_t heap_pages, double rows, double row_width, int fillfactor,
                            int block_size = 8192);

/// A database of the cluster.
struct DatabaseStats {
    std::string name;
    std::optional<std::int64_t> size_bytes;  ///< nullopt: no CONNECT privilege
    std::int64_t xid_age = 0, mxid_age = 0;
    bool allows_connections = true;
};
struct Databases {
    std::vector<DatabaseStats> list;
    std::int64_t freeze_max_age = 0, multixact_freeze_max_age = 0;
};
Databases databases(Connection& conn);

/// What the connected role is and may do.
struct RoleFacts {
    std::string name;
    bool superuser = false, create_role = false, create_db = false, bypass_rls = false,
         replication = false;
    bool owns_database = false;                ///< the current database
    std::vector<std::string> other_databases;  ///< others it owns
    bool monitor = false, read_all_stats = false, read_all_settings = false;
    bool can_create_in_database = false;       ///< CREATE on the current database
    bool public_can_create_in_public = false;  ///< PUBLIC has CREATE on schema public
    std::optional<std::string> valid_until;    ///< ISO UTC; nullopt: no expiry
};
RoleFacts role(Connection& conn);

/// An installed extension's version, or nullopt.
std::optional<std::string> extension_version(Connection& conn, const std::string& name);

/// When the statistics of the current database were last reset (ISO UTC),
/// else the server's start, and their age in seconds: how long the usage
/// counters (idx_scan, ...) have been counting.
struct StatsAge {
    std::optional<std::string> reset_at;
    std::string since;  ///< reset_at or the server's start
    double seconds = 0;
};
StatsAge stats_age(Connection& conn);

/// A user table (relkind r): `key` is schema.table as written, unquoted (the
/// backup manifest's row-count key); `quoted` is safe to put in SQL.
struct TableName {
    std::string key;
    std::string quoted;
};
/// Every user table, by key.
std::vector<TableName> user_tables(Connection& conn);

/// count(*) of the table itself (ONLY: not its partitions or children).
std::int64_t exact_rows(Connection& conn, const std::string& quoted_table);

/// "{1,2}" (a PostgreSQL int array's text) as numbers. Pure.
std::vector<std::int64_t> parse_int_array(const std::string& text);

}  // namespace ctldb::pg::probe
