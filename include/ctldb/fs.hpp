// File-system helpers that never half-write: atomic replace, exclusive
// create with the final mode from the start, fsync of the directory.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

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

/// Whole file as a string; throws Error(failure) naming the path.
std::string read_file(const std::string& path);

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

/// Names (not paths) of the regular files in `dir` ending in `suffix`,
/// sorted; throws Error(usage) when `dir` cannot be read.
std::vector<std::string> list_files(const std::string& dir, const std::string& suffix);

/// fsync the directory holding `path`.
void sync_parent_dir(const std::string& path);

}  // namespace ctldb::fs
