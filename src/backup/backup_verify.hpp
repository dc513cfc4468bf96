// Full verification of a backup, shared by `backup verify`, `restore` and
// (its manifest's state) doctor and metrics.
#pragma once

#include <vector>

#include "crypto/age.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "backup/backup.hpp"
#include "backup/compress.hpp"
#include "base/fs.hpp"
#include "config/config.hpp"
#include "storage/transfer.hpp"

namespace ctldb::backup {

struct VerifiedBackup {
    std::string path;
    bool has_manifest = true;
    BackupManifest manifest;  ///< empty without a manifest
    bool custom = false;      ///< pg_dump custom archive (else plain SQL)
    Compression compression = Compression::none;
    std::uint64_t content_bytes = 0;
    /// An age file: read through `identities` (open_encrypted()).
    bool encrypted = false;
    std::vector<crypto::Identity> identities;
    /// verify of an encrypted backup without an identity checks the stored
    /// bytes (size, checksum) only.
    bool content_checked = true;
    /// What read_compressed_fd() decrypts with: null unless encrypted.
    const std::vector<crypto::Identity>* decrypt_with() const {
        return encrypted ? &identities : nullptr;
    }
};

/// The identity file to use: `given` (--identity), else
/// CTLDB_AGE_IDENTITY_FILE; empty when neither. A path, never a key.
std::string identity_file_of(const std::string& given, const config::EnvLookup& env);

/// An encrypted backup: load the identities of identity_file_of(given, env)
/// and prove one of them opens its header, before anything else is done.
/// Error(usage) without a file or when none opens it; nothing for a backup
/// that is not encrypted.
void open_encrypted(VerifiedBackup& v, const std::string& given, const config::EnvLookup& env);

/// What `path` is, before reading it: its manifest (required unless
/// `allow_no_manifest`, for dumps made without ctldb: any name, the kind
/// told by the first bytes). Throws Error(failure) naming the problem.
VerifiedBackup describe_backup(const std::string& path, bool allow_no_manifest);

/// Throws Error(failure) when `size` is not the manifest's: known from the
/// open file before reading it, so a truncated backup is refused at once.
void check_size_against_manifest(const VerifiedBackup& v, std::uint64_t size);

/// Throws Error(failure) unless what was read (`r`) is the file the
/// manifest describes: size and SHA-256.
void check_against_manifest(const VerifiedBackup& v, const ReadResult& r);

/// The custom archive open as `fd` turned into SQL by `pg_restore -f -`
/// (reading the same open file on its stdin), handed to `sink` piece by
/// piece; the file position is back at the start afterwards. Throws
/// Error(failure) when pg_restore cannot read all of it.
void archive_as_sql(int fd, const std::string& pg_restore, const std::string& path,
                    const std::function<void(const char*, std::size_t)>& sink);

/// Every statement of the custom archive open as `fd`, as pg_restore
/// writes it (`pg_restore -f -`), held against restore's policy; the file
/// position is back at the start afterwards. Throws Error(failure).
void check_archive_as_sql(int fd, const std::string& pg_restore, const std::string& path);

/// A backup open for reading it exactly once: a file's descriptor, or for
/// an s3:// backup the reading end of its download.
class BackupInput {
  public:
    BackupInput(fs::UniqueFd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}
    explicit BackupInput(std::unique_ptr<storage::ObjectDownload> download, std::uint64_t size);
    ~BackupInput();
    BackupInput(BackupInput&&) noexcept;
    int get() const;
    std::uint64_t size() const { return size_; }
    bool seekable() const { return download_ == nullptr; }
    /// After reading (or failing to): a download's own error (the service
    /// went away, the object changed) is thrown, as it explains a short read.
    void rethrow_transfer_error();

  private:
    fs::UniqueFd fd_;
    std::unique_ptr<storage::ObjectDownload> download_;
    std::uint64_t size_ = 0;
};

/// `path` (a file or an s3:// backup) open for reading it exactly once.
BackupInput open_backup(const std::string& path);

/// Runs `read` over `in`; when it throws, a transfer error of `in` is
/// thrown instead (it is the cause).
template <typename Fn>
auto reading(BackupInput& in, Fn&& read) -> decltype(read()) {
    try {
        auto r = read();
        in.rethrow_transfer_error();
        return r;
    } catch (...) {
        in.rethrow_transfer_error();
        throw;
    }
}

/// Checks `path` against its manifest (size, SHA-256), decompresses all of
/// it and confirms pg_dump finished writing it: for plain dumps every
/// statement and backslash command passes restore's policy and pg_dump's
/// closing marker ends the text; custom archives are read completely by
/// pg_restore. Throws Error(failure) on any problem.
/// An encrypted backup is read through identity_file_of(identity_file,
/// env); without one only its stored bytes are checked (content_checked
/// false).
VerifiedBackup verify_backup(const std::string& path, const config::EnvLookup& env,
                             bool allow_no_manifest = false, const std::string& identity_file = "");

}  // namespace ctldb::backup
