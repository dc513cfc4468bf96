// Full verification of a backup, shared by `backup verify` and `restore`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ctldb/backup.hpp"
#include "ctldb/config.hpp"

namespace ctldb {

struct VerifiedBackup {
    std::string path;
    BackupManifest manifest;
    std::uint64_t content_bytes = 0;
};

/// Checks `path` against its manifest (size, SHA-256), decompresses all of
/// it and confirms pg_dump finished writing it (its closing marker; for
/// custom archives, pg_restore reads every entry). Throws Error(failure)
/// on any problem. `content` (optional) receives the decompressed dump.
VerifiedBackup verify_backup(const std::string& path, const EnvLookup& env,
                             const std::function<void(const char*, std::size_t)>& content = {});

}  // namespace ctldb
