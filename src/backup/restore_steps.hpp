// The steps both restore paths share (backup/restore.cpp, one transaction;
// backup/restore_parallel.cpp, pg_restore --jobs into a new database): the
// role rule, the target database, lock timeouts, row counts. Internal to
// the backup folder.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backup/backup.hpp"
#include "backup/backup_verify.hpp"
#include "backup/restore.hpp"
#include "pg/connection.hpp"

namespace ctldb::backup::restore_steps {

std::string quote_ident(const std::string& s);

std::vector<std::string> split_lines(const std::string& text);

/// `latest`: the newest usable backup of the target database. Backups of
/// other databases and backups dated in the future are never taken; with
/// --no-manifest a dump that names no database (the guide's CronJob) counts
/// too, still checked for completeness before anything runs.
std::string resolve_file(const RestoreOptions& o, const config::Config& cfg,
                         const std::string& database);

std::int64_t user_relations(pg::Connection& conn);

/// SQL that empties the target inside the restore's own transaction, so a
/// failed restore leaves the old contents.
std::string clean_sql(pg::Connection& conn);

/// A session on the maintenance database, for CREATE/DROP/ALTER DATABASE.
std::unique_ptr<pg::Connection> admin_connection(const config::ConnectionSettings& cs);

bool database_exists(pg::Connection& conn, const std::string& name);

/// Whose rights a restore runs with (docs/backup.md, "the role rule").
struct RestoreRole {
    std::string session;  ///< the connected role
    bool session_superuser = false;
    std::string role;               ///< the role the dump's statements run as
    bool set_role = false;          ///< SET ROLE role (role != session)
    bool superuser_rights = false;  ///< --as-superuser: the dump runs with full rights
};

/// The owner-to-be `owner` (the target's owner, or --role) decides: the
/// restore runs as that role, never as a superuser unless --as-superuser.
RestoreRole decide_role(pg::Connection& conn, const RestoreOptions& o, const std::string& db,
                        const std::string& owner);

std::string owner_of_database(pg::Connection& conn, const std::string& db);

/// The database a backup was taken of, when it says: its manifest, else a
/// custom archive's header. Empty when unknown.
std::string backup_database(const VerifiedBackup& v);

/// A backup of another database is restored only when named explicitly;
/// the run says so.
void warn_if_other_database(const std::string& from, const std::string& source);

nlohmann::json role_json(const RestoreRole& rr);

std::string role_text(const RestoreRole& rr);

void set_lock_timeout(pg::Connection& conn, int ms);

/// A lock the restore needed was not granted within --lock-timeout: exit 4,
/// with the sessions of `db` that hold a transaction open (the blockers)
/// and the statement that ends them.
[[noreturn]] void throw_lock_timeout(const config::ConnectionSettings& cs, const std::string& db,
                                     const std::string& what, int ms);

/// --create: true when this run created the (empty) database, so a failed
/// restore removes it again. The database is created for the role the
/// restore will run as (--role), never for a superuser by default.
bool create_database(const config::ConnectionSettings& cs, const RestoreOptions& o);

void drop_database_quietly(const config::ConnectionSettings& cs, const std::string& name);

void drop_created_database(const config::ConnectionSettings& cs);

std::uint64_t fd_size(int fd);

/// The manifest's row counts against the target, inside the restore's
/// transaction: a difference rolls everything back.
std::vector<std::string> compare_counts(pg::Connection& conn, const BackupManifest& m,
                                        nlohmann::json& tables);

/// Restore with pg_restore --jobs into a new database, swapped in by
/// renaming once its row counts match the manifest.
RestoreReport run_restore_parallel(const RestoreOptions& o, const config::EnvLookup& env,
                                   const config::ConnectionSettings& cs, const std::string& source,
                                   const VerifiedBackup& v);

}  // namespace ctldb::backup::restore_steps
