// Which backups retention keeps and why: by count (--keep-last), by age
// (--keep-days) and by calendar (--keep-daily/weekly/monthly: the newest
// backup of each of the last N days, ISO weeks and months that have one, in
// UTC), per database, never the newest usable backup of a database.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "backup/backup.hpp"

namespace ctldb::backup {

struct Retention {
    int keep_last = 0;
    int keep_days = 0;
    int keep_daily = 0;
    int keep_weekly = 0;
    int keep_monthly = 0;
    /// At least one rule given: pruning without one would delete everything.
    bool any() const {
        return keep_last > 0 || keep_days > 0 || keep_daily > 0 || keep_weekly > 0 ||
               keep_monthly > 0;
    }
    /// "--keep-last 3 --keep-daily 7", for messages.
    std::string describe() const;
};

/// One candidate's fate: kept with every rule that keeps it, or deleted.
struct RetentionDecision {
    std::string path;
    std::string database;
    std::time_t taken_at = 0;
    bool keep = true;
    /// Why it stays ("last 3", "daily 2026-12-01", "weekly 2026-W48",
    /// "monthly 2026-11", "within 7 days", "newest usable", "damaged but
    /// recent", "not older than the backup just made"), or why it goes.
    std::vector<std::string> reasons;
};

/// The decision for every backup retention may touch, newest first. Only
/// files whose own manifest names them are candidates; anything else (a
/// dump made without ctldb, a manifest that is missing or names another
/// file) and backups dated in the future are not listed and never deleted.
/// Damaged backups never count toward a rule; they stay while within
/// --keep-days. With `protect` (the backup just made), only its database is
/// considered and only backups older than it may go.
std::vector<RetentionDecision> retention_plan(const std::vector<BackupEntry>& entries,
                                              const Retention& r, std::time_t now,
                                              const std::string& protect);

/// The paths retention_plan() deletes.
std::vector<std::string> backups_to_prune(const std::vector<BackupEntry>& entries,
                                          const Retention& r, std::time_t now,
                                          const std::string& protect);

/// The calendar buckets of a UTC time: "2026-12-01", "2026-W48" (ISO
/// week, Monday first), "2026-11".
std::string day_bucket(std::time_t t);
std::string week_bucket(std::time_t t);
std::string month_bucket(std::time_t t);

}  // namespace ctldb::backup
