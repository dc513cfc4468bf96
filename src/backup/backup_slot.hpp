// Writing a backup into a shared directory without ever colliding with
// another run or leaving a final-named file without its manifest.
//
// A run reserves its name (stem) with `STEM.json.partial`, which it holds
// under flock(2) for its whole life: the lock says "a live ctldb owns this
// stem", and dies with the process, SIGKILL included. The data goes to
// `STEM.EXT.partial`. Publishing: manifest written and fsynced, linked as
// `STEM.json`, then the data linked as `STEM.EXT` (a link never replaces
// another run's file), then the directory fsynced. A kill between any two steps leaves either only
// partials or a manifest whose data is still `.partial`; never a data file without its manifest.
// remove_stale_partials() clears what dead runs left.
#pragma once

#include <ctime>
#include <string>
#include <vector>

namespace ctldb::backup {

class BackupSlot {
  public:
    /// Reserve the first free stem at or after now in `dir` for data files
    /// ending in `ext` (".sql.gz", ".dump", ...): waits for the next second
    /// while the current one is taken by a file or a live run.
    BackupSlot(const std::string& dir, const std::string& ext);
    /// Removes the partials unless published.
    ~BackupSlot();
    BackupSlot(const BackupSlot&) = delete;
    BackupSlot& operator=(const BackupSlot&) = delete;

    std::time_t time() const { return time_; }
    const std::string& stem() const { return stem_; }
    std::string final_path() const { return dir_ + "/" + stem_ + ext_; }
    std::string data_partial() const { return final_path() + ".partial"; }
    std::string manifest_path() const { return dir_ + "/" + stem_ + ".json"; }

    /// Create the data partial (0600, O_EXCL); the caller owns the fd.
    int create_data();
    /// Write `manifest` and publish both files (order above). Throws
    /// Error(failure) on any error (ENOSPC included), leaving no final name.
    void publish(const std::string& manifest);

  private:
    std::string dir_, ext_, stem_;
    std::time_t time_ = 0;
    int lock_fd_ = -1;  // STEM.json.partial, flocked
    bool manifest_published_ = false;
    bool published_ = false;
};

/// One attempt at reserving `stem` in `dir` for data ending in `ext`: the
/// locked reservation's fd, or -1 when a live run holds the stem or a
/// manifest or data file of that stem exists (checked again once the
/// reservation is ours). BackupSlot's constructor loops over this.
int reserve_stem(const std::string& dir, const std::string& stem, const std::string& ext);

/// `.partial` files in `dir` that no live ctldb owns (their stem's lock is
/// free), and manifests whose data never got its final name: removed.
/// Returns the paths removed. Files of other tools are never touched.
std::vector<std::string> remove_stale_partials(const std::string& dir);

}  // namespace ctldb::backup
