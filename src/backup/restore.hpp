// Restoring a backup: one verified pass over the file executed in one
// transaction, or (custom archives, jobs > 1) pg_restore -j into a new
// database swapped in by renaming once its row counts match. See
// docs/backup.md.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "config/config.hpp"

namespace ctldb::backup {

/// What `ctldb restore` was asked to do.
struct RestoreOptions {
    std::string file;  ///< a path, or "latest" in dir (else the configured backup_dir)
    std::string dir;
    std::string target_db;
    bool create = false;
    bool clean = false;
    int jobs = 1;
    bool yes = false;
    bool no_manifest = false;
    bool drop_previous = false;
    bool force = false;
    std::string role;
    bool as_superuser = false;
    int lock_timeout_ms = 5000;  ///< --lock-timeout
    /// The age identities of an encrypted backup (--identity; restore
    /// falls back to CTLDB_AGE_IDENTITY_FILE): a path, never a key.
    std::string identity_file;
    /// --drill: restore into a new database of its own, compare the row
    /// counts with the manifest, drop it, record the drill by the backup.
    bool drill = false;
};

/// The outcome: the exit code, and the result as text and as JSON (null
/// when nothing was done and there is nothing to report).
struct RestoreReport {
    ExitCode code = ExitCode::ok;
    std::string text;
    nlohmann::json json;
    static RestoreReport nothing_done() { return {ExitCode::failure, {}, nullptr}; }
};

/// A restore drill (o.drill): o.file restored into a new database named
/// ctldb_drill_<random>, which is dropped whatever happens; on success the
/// result (time, duration, rows, tables) is recorded in the backup's drill
/// sidecar. Needs a manifest (its row counts are the check).
RestoreReport drill_backup(const RestoreOptions& o, const config::Config& cfg,
                           const config::EnvLookup& env);

/// Restore `o.file` (or the newest usable backup of the configured database
/// in `o.dir`, else backup_dir) into the target database. Errors are thrown
/// as ctldb::Error with the exit code they mean.
RestoreReport restore_backup(const RestoreOptions& o, const config::Config& cfg,
                             const config::EnvLookup& env);

}  // namespace ctldb::backup
