// File-system helpers that never half-write: atomic replace, exclusive
// create with the final mode from the start, fsync of the directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>
#include "base/error.hpp"

namespace ctldb::fs {

/// An open file descriptor, closed when it goes out of scope.
class UniqueFd {
  public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return fd_; }
    /// Close it now (no-op when already closed).
    void reset();

  private:
    int fd_;
};

/// Write `contents` to `path` through `path.partial`: fsync, rename, fsync
/// the directory. Readers see the old file or the new one, never a mix.
void write_atomic(const std::string& path, const std::string& contents, mode_t mode);

/// Create `path` with O_EXCL and `mode` from the start (keys are never
/// briefly world-readable); throws if it exists.
void write_new(const std::string& path, const std::string& contents, mode_t mode);

/// Size limits of the inputs ctldb reads whole, by kind.
constexpr std::uint64_t kMaxSmallFile = 1u << 20;    ///< config, certificate, key, pid file
constexpr std::uint64_t kMaxManifest = 64u << 20;    ///< a manifest's row counts
constexpr std::uint64_t kMaxScript = 1024ull << 20;  ///< a migration or seed file

/// Why `path` cannot be read as an input ("" when it can): it does not
/// exist or cannot be opened, or it is not a regular file ("a FIFO", "a
/// directory", "a socket", "a device"), or it is larger than `max_bytes`.
/// Opens without blocking, so a FIFO is named, never waited on. For paths
/// handed to libpq or OpenSSL, which open them themselves.
std::string input_problem(const std::string& path, std::uint64_t max_bytes);

/// A regular file opened for reading without blocking (O_NONBLOCK, then
/// cleared): anything else throws Error(`code`) naming the file, `what` it
/// should be, and what it is. The descriptor checked is the one returned.
UniqueFd open_input(const std::string& path, const std::string& what,
                    std::uint64_t max_bytes = UINT64_MAX, ExitCode code = ExitCode::failure);

/// Whole file as a string, opened as open_input does (a regular file of at
/// most `max_bytes`); throws Error(`code`) naming the path.
std::string read_file(const std::string& path, std::uint64_t max_bytes = kMaxScript,
                      ExitCode code = ExitCode::failure);

bool exists(const std::string& path);
bool is_dir(const std::string& path);

/// A file for replace_in_dir: its name inside the directory, contents, mode.
struct NewFile {
    std::string name;
    std::string contents;
    mode_t mode = 0600;
};

/// Writes `files` into the existing directory `dir` (replacing files of the
/// same names) so that readers and a kill at any moment see either all the
/// old files or all the new ones: a sibling directory holding hard links of
/// dir's other files plus the new ones is exchanged with `dir` in one
/// renameat2(RENAME_EXCHANGE). Where that cannot be done (dir is a mount
/// point, holds a subdirectory, the file system has no exchange) each file
/// is written under a temporary name first and all are then renamed one
/// after the other; returns false then. Staging left by a killed run is
/// removed.
bool replace_in_dir(const std::string& dir, const std::vector<NewFile>& files);

/// mkdir -p; the last component gets `mode`.
void make_dirs(const std::string& path, mode_t mode);

/// Remove a directory tree (no symlink following).
void remove_tree(const std::string& path);

/// Absolute, normalised form of `path` (need not exist).
std::string absolute(const std::string& path);

/// Names (not paths) of the entries in `dir` ending in `suffix`, sorted
/// (any type: a caller judges a FIFO or directory under a file's name); throws Error(usage) when
/// `dir` cannot be read.
std::vector<std::string> list_files(const std::string& dir, const std::string& suffix);

/// fsync the directory holding `path`.
void sync_parent_dir(const std::string& path);

}  // namespace ctldb::fs
