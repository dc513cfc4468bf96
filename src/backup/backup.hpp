// Backup files and their manifests: naming, discovery in a directory, and
// the JSON manifest written next to every backup.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/compress.hpp"

namespace ctldb::backup {

/// What `backup-YYYYmmdd-HHMMSS.json` records about its backup.
struct BackupManifest {
    std::string file;         ///< file name (no directory)
    std::string format;       ///< "plain" or "custom"
    std::string compression;  ///< "gzip", "zstd" or "custom"
    std::uint64_t size_bytes = 0;
    std::string sha256;
    std::uint64_t dump_bytes = 0;  ///< uncompressed dump text (plain only)
    std::string database;
    std::string server_version;
    std::string pg_dump_version;
    std::string ctldb_version;
    std::string started_at;
    std::string finished_at;
    std::int64_t duration_ms = 0;
    std::string snapshot;
    std::map<std::string, std::int64_t> row_counts;  ///< "schema.table" -> rows
    /// The age recipients the file is encrypted to ("age1..."); empty when
    /// it is not encrypted. Public keys only, never an identity.
    std::vector<std::string> encrypted_to;
    std::string verified_at;  ///< last successful `backup verify`, may be empty

    std::string to_json() const;
    /// Throws Error(failure) naming `path` when it is not a manifest.
    static BackupManifest from_json(const std::string& text, const std::string& path);
};

/// A successful restore drill of a backup (`restore --drill`), kept in the
/// sidecar `backup-YYYYmmdd-HHMMSS.drill.json` next to its manifest.
struct DrillRecord {
    std::string drilled_at;  ///< ISO 8601, UTC
    std::int64_t duration_ms = 0;
    std::int64_t rows = 0;  ///< rows restored and compared with the manifest
    std::size_t tables = 0;
    std::string ctldb_version;
    std::string to_json() const;
    /// nullopt when `text` is not a drill record.
    static std::optional<DrillRecord> from_json(const std::string& text);
};

/// What a dump file is, from its first bytes rather than its name (for dumps
/// made without ctldb): a pg_dump custom archive ("PGDMP"), or plain SQL,
/// gzip- or zstd-compressed or not.
struct DumpKind {
    bool custom = false;
    Compression compression = Compression::none;
    bool encrypted = false;  ///< an age file (".age"): its content unseen without an identity
    /// "custom archive", "gzip-compressed SQL dump", ...
    std::string describe() const;
};

/// A backup found in a directory.
struct BackupEntry {
    std::string path;           ///< data file
    std::string manifest_path;  ///< may not exist
    std::time_t taken_at = 0;   ///< from the name (UTC), else the file's modification time
    std::time_t mtime = 0;
    std::uint64_t size = 0;
    /// Not named by ctldb: a dump of another tool (the guide's CronJob, a
    /// manual pg_dump), recognised by its content. Never a retention target.
    bool foreign = false;
    bool time_from_name = true;
    DumpKind kind;
    std::optional<BackupManifest> manifest;
    std::optional<DrillRecord> drill;  ///< its last successful restore drill
    std::string problem;               ///< why it does not count as a usable backup
    /// The database it is a backup of: its manifest's, else what a custom
    /// archive's header says; empty when unknown (a plain dump of another
    /// tool says nothing of it).
    std::string database;
    bool usable() const { return problem.empty(); }
    /// Dated more than 5 minutes ahead of `now` (a wrong clock, a crafted
    /// name): never "newest", "latest", fresh, or a reason to prune.
    bool in_future(std::time_t now) const { return taken_at > now + 300; }
};

/// The newest backup of `database` in `entries` (newest first) that counts
/// as one: usable and not in the future; with `accept_unknown`, a complete
/// dump of another tool that names no database counts too. nullptr if none.
const BackupEntry* newest_backup_of(const std::vector<BackupEntry>& entries,
                                    const std::string& database, std::time_t now,
                                    bool accept_unknown);

/// "backup-20251116-020000" for a UTC time.
std::string backup_stem(std::time_t t);

/// Parse the time from a backup file name; nullopt for other files.
std::optional<std::time_t> parse_backup_time(const std::string& file_name);

/// The compression of a backup file from its name (".age" aside).
Compression compression_of(const std::string& file_name);
/// The name without a trailing ".age": what the encrypted file holds.
std::string without_age(const std::string& file_name);
/// An age-encrypted file by its name.
bool encrypted_name(const std::string& file_name);

/// Every backup in `dir`, newest first: ctldb's own by name, and dumps of
/// other tools by content, whatever their names (`foreign`, problem "no
/// manifest"; a plain SQL dump without pg_dump's closing marker, as one still
/// being written, is "incomplete"). A ctldb backup is usable when its
/// manifest exists, parses and names the same size as the file. Newest by
/// the time in the name, else the modification time.
std::vector<BackupEntry> list_backups(const std::string& dir);

/// Deletes a backup (a file or an s3:// object) and then its manifest: a
/// crash between leaves a manifest without data, which is never listed.
void remove_backup(const std::string& path);

/// Writes `m` as the manifest of the backup `path` (atomically in a
/// directory; one PUT in object storage).
void record_manifest(const std::string& path, const BackupManifest& m);

/// Records `d` as the last successful drill of the backup `path`.
void record_drill(const std::string& path, const DrillRecord& d);

/// The drill sidecar of a data file: same stem, ".drill.json".
std::string drill_path_for(const std::string& data_path);

/// The newest successful drill among the backups of `database` in
/// `entries` (any database when empty); nullptr when none was drilled.
const BackupEntry* last_drilled(const std::vector<BackupEntry>& entries,
                                const std::string& database);

/// The manifest path of a data file: same stem, ".json".
std::string manifest_path_for(const std::string& data_path);

DumpKind sniff_dump_kind(const std::string& path);
/// The same from a file's first 22 bytes (or fewer) and its name.
DumpKind kind_of_head(std::string_view head, const std::string& name);

/// Whether `path` holds a pg_dump of one database, by its content: a custom
/// archive, or SQL (plain, gzip or zstd) whose first 8 KiB carry pg_dump's
/// header. Sets `kind`. A cluster dump (pg_dumpall) is not one.
bool looks_like_pg_dump(const std::string& path, DumpKind& kind);

/// The time a file name gives, in UTC: YYYYmmdd[-_T]HHMMSS, YYYYmmddHHMMSS,
/// YYYY-mm-dd[T_ -]HH[-:]MM[-:]SS, or a date alone (midnight). nullopt
/// when the name holds none.
std::optional<std::time_t> time_in_name(const std::string& file_name);

}  // namespace ctldb::backup
