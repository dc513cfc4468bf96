// Decisions about vacuum and freezing: the wraparound thresholds, a
// table's need for vacuum, and the guide's autovacuum settings. Shared by
// vacuum status/autovacuum, doctor and metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.hpp"
#include "base/findings.hpp"
#include "pg/probes.hpp"

namespace ctldb::maintenance {

/// Transaction ID (or multixact) age against the autovacuum_freeze_max_age
/// in force (a table's own storage parameter, else the server's): warn from
/// 50 %, fail from 75 % (the default vacuum_freeze_table_age, where every
/// vacuum of the table is already an aggressive one). Pure.
Status wraparound_status(std::int64_t age, std::int64_t freeze_max_age);
/// The age as a percentage of the limit, for messages.
double wraparound_percent(std::int64_t age, std::int64_t freeze_max_age);

/// The worse of the table's XID and multixact status.
Status table_wraparound(const pg::probe::TableStats& t);

/// Dead tuples beyond the autovacuum threshold in force for the table.
bool needs_vacuum(const pg::probe::TableStats& t);

/// A setting the guide's "Vacuum and Analyze" section prescribes.
struct GuideSetting {
    const char* name;
    const char* value;   ///< as pg_settings.setting shows it
    const char* pretty;  ///< as ALTER SYSTEM takes it
};
const std::vector<GuideSetting>& guide_autovacuum();

/// One finding per guide setting (fail when it differs, warn when the role
/// may not read it); `differs` gets the ones that differ.
Findings autovacuum_findings(const std::vector<pg::probe::Setting>& current,
                             std::vector<const GuideSetting*>* differs = nullptr);

/// vacuum status: every user table with its dead tuples against its
/// autovacuum threshold, last (auto)vacuum and analyze, and ages; flagged
/// when it needs vacuum or its age reaches the failing wraparound level.
struct StatusReport {
    std::vector<pg::probe::TableStats> tables;  ///< most dead tuples first
    std::size_t flagged() const;
    ExitCode code() const { return flagged() == 0 ? ExitCode::ok : ExitCode::failure; }
    std::string text(bool color) const;
    nlohmann::json json() const;
};
StatusReport status_report(std::vector<pg::probe::TableStats> tables);

}  // namespace ctldb::maintenance
