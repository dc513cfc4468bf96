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
    bool has_manifest = true;
    BackupManifest manifest;  ///< empty without a manifest
    bool custom = false;      ///< pg_dump custom archive (else plain SQL)
    Compression compression = Compression::none;
    std::uint64_t content_bytes = 0;
};

/// Checks `path` against its manifest (size, SHA-256), decompresses all of
/// it and confirms pg_dump finished writing it (its closing marker; for
/// custom archives, pg_restore reads every entry). Throws Error(failure)
/// on any problem. `content` (optional) receives the decompressed dump.
/// With `allow_no_manifest`, a dump made without ctldb (any name, no
/// manifest, the kind told by its first bytes) gets every check that needs
/// no manifest: it decompresses completely and pg_dump finished it.
VerifiedBackup verify_backup(const std::string& path, const EnvLookup& env,
                             const std::function<void(const char*, std::size_t)>& content = {},
                             bool allow_no_manifest = false);

}  // namespace ctldb
