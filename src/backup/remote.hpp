// Backups in object storage (s3://bucket/prefix): the same names and
// manifests as in a directory, written as a streamed multipart upload whose
// manifest object is put last, listed by pairing each data object with its
// manifest, read with resuming ranged GETs. A data object without its
// manifest is never usable, as in a directory. See docs/backup.md.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "backup/backup.hpp"
#include "config/config.hpp"
#include "storage/s3.hpp"
#include "storage/transfer.hpp"

namespace ctldb::backup {

/// s3:// locations in this run use the object storage settings of `cfg`
/// and `env` (credentials are read when first needed). Commands that take
/// a backup location call this once before using it.
void use_object_storage(const config::Config& cfg, const config::EnvLookup& env);

/// An s3:// location or backup rather than a path. Any other "scheme://"
/// (S3://, gs://, https://) is refused (usage error): taken as a path it
/// would name a local directory where an offsite copy was meant.
bool is_remote(const std::string& location);

/// What is wrong with `location` as a backup location, from its text alone
/// (no request sent, no directory opened); "" when nothing is.
std::string location_problem(const std::string& location);

/// The settings given to use_object_storage(), resolved.
const storage::S3Settings& object_storage();

/// "s3://bucket/prefix/name" cut into its location and its name.
struct RemoteObject {
    storage::S3Location dir;
    std::string name;
    std::string key() const { return dir.key(name); }
    std::string url() const { return dir.url() + "/" + name; }
};
RemoteObject remote_object(const std::string& url);

/// Every backup under the location, newest first, as list_backups() gives
/// them for a directory (objects of other names that look like dumps by
/// their names are listed as foreign, without a manifest).
std::vector<BackupEntry> list_remote_backups(const std::string& url);

/// The manifest of the backup `data_url`, nullopt when it has none;
/// Error(failure) when it cannot be read as one.
std::optional<BackupManifest> remote_manifest(const std::string& data_url);

/// The kind of `data_url` from its first bytes (one ranged GET).
DumpKind remote_kind(const std::string& data_url);

/// Deletes a backup: data first, then its manifest (a crash between leaves
/// a manifest without data, which is never listed).
void remove_remote_backup(const std::string& data_url);

/// Puts `d` as the drill sidecar of `data_url`.
void put_remote_drill(const std::string& data_url, const DrillRecord& d);

/// Puts `manifest` as the manifest of `data_url` (a verification stamp).
void put_remote_manifest(const std::string& data_url, const BackupManifest& manifest);

/// What killed runs left under `url`: incomplete uploads of ctldb's backup
/// names begun at or before `before` (aborted), and manifests whose data
/// object neither exists nor is being uploaded (deleted). Returns them.
std::vector<std::string> abort_stale_uploads(const std::string& url, std::time_t before);

/// A backup being written to object storage. The name is the first second
/// at or after now whose data and manifest objects do not exist; nothing
/// is visible until publish(), and a run that fails or is stopped leaves
/// no object (its upload is aborted).
class RemoteBackup {
  public:
    RemoteBackup(const std::string& url, const std::string& ext);
    std::time_t time() const { return time_; }
    std::string stem() const { return stem_; }
    std::string final_url() const { return dir_.url() + "/" + stem_ + ext_; }
    void write(const char* data, std::size_t size) { upload_->write(data, size); }
    /// Confirms every part, puts the manifest, then completes the data
    /// object; on any failure both are deleted again. Where another run
    /// published the same name first, this run's upload is aborted and
    /// that run's backup is left alone (a failure).
    void publish(const std::string& manifest_json);

  private:
    storage::S3Location dir_;
    std::string ext_, stem_;
    std::time_t time_ = 0;
    std::unique_ptr<storage::ObjectUpload> upload_;
};

}  // namespace ctldb::backup
