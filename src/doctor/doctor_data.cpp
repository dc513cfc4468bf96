// doctor's checks of the data: configuration, backups, wraparound, sizes
// and dead tuples, autovacuum, indexes and migrations.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "backup/backup.hpp"
#include "backup/remote.hpp"
#include "base/fs.hpp"
#include "base/text.hpp"
#include "checks/index_check.hpp"
#include "config/config_check.hpp"
#include "doctor/doctor_checks.hpp"
#include "maintenance/maintenance.hpp"
#include "migrate/foreign_history.hpp"
#include "migrate/migration_history.hpp"
#include "migrate/migrations.hpp"
#include "pg/probes.hpp"

namespace ctldb::doctor {

void check_config(Env& e) {
    const Findings f = config_findings(e.cfg);
    for (Finding g : f.items()) {
        g.check = e.check;
        e.out.add(std::move(g));
    }
}

/// The last successful restore drill of the database's backups: a week and
/// a day old at most (the drill CronJob runs weekly).
void check_drill(Env& e, const std::vector<backup::BackupEntry>& all, const std::string& db,
                 const std::string& dir) {
    constexpr double kMaxDrillAge = 8 * 86400.0;
    const backup::BackupEntry* d = backup::last_drilled(all, db);
    if (d == nullptr) {
        e.out.add(
            "restore drill", Status::info, "no restore drill recorded for the backups in " + dir,
            "ctldb restore latest --drill (weekly: docs/kubernetes/restore-drill-cronjob.yaml)");
        return;
    }
    const double age = std::difftime(std::time(nullptr), parse_utc_iso8601(d->drill->drilled_at));
    e.out.add("restore drill", age > kMaxDrillAge ? Status::warn : Status::ok,
              "last drill " + d->drill->drilled_at + " (" + human_duration(age) +
                  " ago): " + d->path.substr(d->path.rfind('/') + 1) + " restored, " +
                  std::to_string(d->drill->rows) + " rows matched its manifest",
              age > kMaxDrillAge
                  ? "the weekly drill did not run or failed: ctldb restore latest --drill"
                  : "");
}

void check_backups(Env& e) {
    const std::string dir = e.o.backup_dir.empty() ? e.cfg.get("backup_dir").text : e.o.backup_dir;
    const std::string db = e.cfg.connection().dbname;
    bool remote = false;
    try {
        remote = backup::is_remote(dir);
    } catch (const Error& err) {  // S3://, gs://: not a location ctldb writes
        e.out.add("newest backup", Status::fail, err.what(), err.hint());
        return;
    }
    if (!remote && !fs::is_dir(dir)) {
        e.out.add("newest backup", Status::fail, "no backup directory " + dir,
                  "mount the backup volume and set CTLDB_BACKUP_DIR (backup.dir), where the "
                  "guide's 'Automated Backups' CronJob writes; where no backups are kept "
                  "(a developer's machine), --skip backups");
        return;
    }
    // The newest usable backup of this database; a dump of another tool
    // that names no database counts when it is complete. Backups of other
    // databases and backups dated in the future never count.
    std::vector<backup::BackupEntry> all;
    try {
        all = backup::list_backups(dir);
    } catch (const Error& err) {
        if (!remote) throw;
        // Backups that cannot be reached are no backups to count on.
        e.out.add(
            "newest backup", Status::fail,
            "cannot list " + hide_url_credentials(dir) + ": " + err.what(),
            err.hint().empty() ? "check CTLDB_S3_ENDPOINT and the S3 credentials" : err.hint());
        return;
    }
    const std::time_t now = std::time(nullptr);
    const backup::BackupEntry* pick = backup::newest_backup_of(all, db, now, true);
    std::vector<std::string> future;
    for (const auto& b : all) {
        if (b.in_future(now) && (db.empty() || b.database.empty() || b.database == db))
            future.push_back(b.path.substr(b.path.rfind('/') + 1));
    }
    if (!future.empty()) {
        e.out.add("backups in the future", Status::warn,
                  std::to_string(future.size()) +
                      " backup(s) dated more than 5 minutes ahead of "
                      "this clock, never counted as the newest: " +
                      join(future, ", "),
                  "check the clock of the host that wrote them; rename or remove them");
    }
    if (pick == nullptr) {
        e.out.add("newest backup", Status::fail,
                  "no usable backup" + (db.empty() ? std::string() : " of " + db) + " in " + dir,
                  "ctldb backup; the guide's 'Automated Backups' CronJob runs it daily");
        return;
    }
    const double age = std::difftime(std::time(nullptr), pick->taken_at);
    const std::string name = pick->path.substr(pick->path.rfind('/') + 1);
    const bool stale = age > e.o.max_backup_age_s;
    e.out.add("newest backup", stale ? Status::fail : Status::ok,
              name + " taken " + utc_iso8601(pick->taken_at) + ", " + human_duration(age) +
                  " ago (limit " + human_duration(e.o.max_backup_age_s) + ")" +
                  (pick->foreign ? ", made by another tool" : ""),
              stale ? "the daily backup did not run or failed: kubectl get cronjob,jobs -n "
                      "cloudtolocalllm; ctldb backup now"
                    : "");
    if (pick->manifest && !pick->manifest->verified_at.empty()) {
        e.out.add("backup verified", Status::ok, name + " verified " + pick->manifest->verified_at);
    } else {
        e.out.add("backup verified", Status::warn,
                  name + " has never been verified (a backup is proven only by reading it whole)",
                  "ctldb backup verify " + shell_quote(pick->path));
    }
    check_drill(e, all, db, dir);
}

void check_wraparound(Env& e) {
    using maintenance::wraparound_percent;
    using maintenance::wraparound_status;
    const pg::probe::Databases dbs = pg::probe::databases(*e.conn);
    const pg::probe::DatabaseStats* oldest = nullptr;
    bool flagged = false;
    char pct[32];
    for (const auto& d : dbs.list) {
        if (oldest == nullptr || d.xid_age > oldest->xid_age) oldest = &d;
        const Status a = wraparound_status(d.xid_age, dbs.freeze_max_age);
        const Status m = wraparound_status(d.mxid_age, dbs.multixact_freeze_max_age);
        const Status st = urgency(a) >= urgency(m) ? a : m;
        if (st == Status::ok) continue;
        flagged = true;
        std::snprintf(pct, sizeof pct, "%.0f%%", wraparound_percent(d.xid_age, dbs.freeze_max_age));
        e.out.add("database " + d.name, st,
                  "transaction ID age " + std::to_string(d.xid_age) + " (" + pct +
                      " of autovacuum_freeze_max_age " + std::to_string(dbs.freeze_max_age) +
                      "), multixact age " + std::to_string(d.mxid_age),
                  "VACUUM (FREEZE) its oldest tables (ctldb vacuum); look for what holds the "
                  "xmin horizon back: long transactions, prepared transactions, replication "
                  "slots");
    }
    for (const auto& t : pg::probe::tables(*e.conn)) {
        const Status st = maintenance::table_wraparound(t);
        if (st == Status::ok) continue;
        flagged = true;
        std::snprintf(pct, sizeof pct, "%.0f%%", wraparound_percent(t.xid_age, t.freeze_max_age));
        e.out.add(t.name, st,
                  "transaction ID age " + std::to_string(t.xid_age) + " (" + pct +
                      " of its autovacuum_freeze_max_age " + std::to_string(t.freeze_max_age) + ")",
                  "ctldb vacuum --table " + shell_quote(t.name) + " (VACUUM freezes what it can)");
    }
    if (!flagged && oldest != nullptr) {
        std::snprintf(pct, sizeof pct, "%.1f%%",
                      wraparound_percent(oldest->xid_age, dbs.freeze_max_age));
        e.out.add("wraparound", Status::ok,
                  "oldest: database " + oldest->name + " at transaction ID age " +
                      std::to_string(oldest->xid_age) + " (" + pct +
                      " of autovacuum_freeze_max_age; warn from 50 %, fail from 75 %)");
    }
}

void check_storage(Env& e) {
    const std::string db = e.cfg.connection().dbname;
    for (const auto& d : pg::probe::databases(*e.conn).list) {
        if (d.name != db && !db.empty()) continue;
        if (d.size_bytes)
            e.out.add("database size", Status::info,
                      d.name + ": " + human_bytes(static_cast<double>(*d.size_bytes)));
    }
    const auto tables = pg::probe::tables(*e.conn);
    std::vector<std::string> biggest;
    for (std::size_t i = 0; i < tables.size() && i < 5; ++i) {
        biggest.push_back(tables[i].name + " " +
                          human_bytes(static_cast<double>(tables[i].total_bytes())));
    }
    if (!biggest.empty()) e.out.add("biggest tables", Status::info, join(biggest, ", "));
    std::size_t dead = 0, bloated = 0;
    for (const auto& t : tables) {
        if (maintenance::needs_vacuum(t)) {
            ++dead;
            const auto last = t.vacuumed_at();
            e.out.add(t.name, Status::warn,
                      std::to_string(t.dead_tuples) +
                          " dead tuples, above the autovacuum "
                          "threshold of " +
                          std::to_string(static_cast<std::int64_t>(t.vacuum_threshold)) +
                          "; last vacuum " + last.value_or("never"),
                      "ctldb vacuum --table " + shell_quote(t.name) +
                          " (the guide: VACUUM ANALYZE); if it "
                          "comes back, check autovacuum and long transactions");
        }
        // Worth a rewrite only when it is big and mostly waste.
        if (t.bloat_bytes && *t.bloat_bytes >= 8 * 1024 * 1024 &&
            *t.bloat_bytes * 2 >= t.heap_bytes) {
            ++bloated;
            e.out.add(t.name, Status::warn,
                      "an estimated " + human_bytes(static_cast<double>(*t.bloat_bytes)) + " of " +
                          human_bytes(static_cast<double>(t.heap_bytes)) +
                          " is free space inside the table (statistics-based estimate)",
                      "the guide's 'High disk usage': VACUUM FULL " + t.name +
                          " gives it back but locks the table while it rewrites it");
        }
    }
    if (dead == 0) e.out.add("dead tuples", Status::ok, "no table above its autovacuum threshold");
    if (bloated == 0) e.out.add("bloat", Status::ok, "no table mostly free space (estimate)");
}

void check_autovacuum(Env& e) {
    std::vector<std::string> names;
    for (const auto& w : maintenance::guide_autovacuum())
        names.emplace_back(w.name);
    const Findings found = maintenance::autovacuum_findings(pg::probe::settings(*e.conn, names));
    for (Finding f : found.items()) {
        // Only autovacuum = off fails; another naptime is a choice.
        if (f.name != "autovacuum" && f.status == Status::fail) f.status = Status::warn;
        if (contains(f.message, "not visible")) {
            e.limit("setting " + f.name + " not visible", pg::probe::kReadAllSettingsGrant);
            continue;
        }
        f.check = e.check;
        e.out.add(std::move(f));
    }
}

void check_indexes(Env& e) {
    const checks::IndexReport rep = checks::analyse_indexes(*e.conn);
    std::size_t present = 0;
    const auto& not_applicable = rep.not_applicable;
    const bool stats_old = rep.stats_age_seconds >= 7 * 86400;
    for (Finding f : rep.findings.items()) {
        if (f.status == Status::ok) {
            ++present;  // one line for the guide's indexes that are fine
            continue;
        }
        if (f.name == "unused" && !stats_old) continue;
        // One line for those the team's schema has no table or column for.
        if (std::find(not_applicable.begin(), not_applicable.end(), f.name) != not_applicable.end())
            continue;
        f.check = e.check;
        e.out.add(std::move(f));
    }
    if (!not_applicable.empty()) {
        e.out.add("guide indexes", Status::info,
                  std::to_string(not_applicable.size()) +
                      " of the guide's indexes not applicable: this database has no such table "
                      "or column (" +
                      join(not_applicable, ", ") + ")");
    }
    if (present > 0) {
        e.out.add("guide indexes", Status::ok,
                  std::to_string(present) + " of " +
                      std::to_string(checks::required_indexes().size()) + " present and valid");
    }
    if (!stats_old && rep.unused > 0) {
        e.out.add("unused", Status::info,
                  std::to_string(rep.unused) +
                      " index(es) never scanned, not judged: the statistics are " +
                      human_duration(rep.stats_age_seconds) + " old (fewer than 7 days)");
    }
}

/// Pending, modified, missing and shadowed files, or all applied.
void report_states(Env& e, const migrate::MigrationSet& set,
                   const std::vector<migrate::MigrationStatus>& list) {
    std::vector<std::string> pending, modified, missing, shadowed;
    for (const auto& st : list) {
        const std::string label = st.file ? st.file->file : recorded_label(st);
        if (st.state == migrate::MigrationState::pending ||
            st.state == migrate::MigrationState::out_of_order)
            pending.push_back(label);
        if (st.state == migrate::MigrationState::shadowed) shadowed.push_back(label);
        if (st.state == migrate::MigrationState::modified) modified.push_back(label);
        if (st.state == migrate::MigrationState::missing) missing.push_back(label);
    }
    if (!pending.empty()) {
        e.out.add(
            "pending", Status::fail,
            std::to_string(pending.size()) + " migration(s) not applied: " + join(pending, ", "),
            "ctldb migrate (the guide's 'Run Migrations'); ctldb migrate status shows them");
    }
    if (!modified.empty()) {
        e.out.add("modified", Status::fail,
                  "applied migration file(s) changed since: " + join(modified, ", "),
                  "restore the files as they were applied; a change goes in a new migration");
    }
    if (!missing.empty()) {
        e.out.add("missing", Status::fail,
                  "applied migration(s) without a file: " + join(missing, ", "),
                  "run doctor with the migrations the database was built from (--migrations-dir)");
    }
    if (!shadowed.empty()) {
        // Not pending: the team's runner never applies them either.
        e.out.add("shadowed", Status::info,
                  std::to_string(shadowed.size()) +
                      " file(s) whose number an earlier file took, never applied by the runner: " +
                      join(shadowed, ", "),
                  "ctldb migrate up --include FILE applies one under its own name");
    }
    if (pending.empty() && modified.empty() && missing.empty()) {
        e.out.add("history", Status::ok,
                  "all " + std::to_string(list.size() - shadowed.size()) + " migration(s) of " +
                      set.source + " applied, files unchanged");
    }
}

/// No ctldb history: everything is pending, and another tool's history
/// (when there is one) is named with its baseline.
void report_no_history(Env& e, const migrate::MigrationSet& set) {
    std::string hint = "ctldb migrate";
    try {
        const migrate::ForeignHistory h =
            read_foreign_history(*e.conn, migrate::HistoryTool::automatic);
        hint = "another tool's history is here (" + std::string(history_tool_name(h.tool)) + ", " +
               h.table + "): adopt it with ctldb migrate baseline --from " +
               history_tool_name(h.tool);
    } catch (const Error&) {
    }
    e.out.add("pending", Status::fail,
              "no migration history (" + std::string(migrate::kHistoryTable) + "): all " +
                  std::to_string(set.migrations.size()) + " migration(s) of " + set.source +
                  " pending",
              hint);
}

void check_migrations(Env& e) {
    const migrate::MigrationsFolder folder =
        migrate::migrations_folder(e.cfg, e.o.migrations_dir, "--migrations-dir", e.o.layout);
    const migrate::ComparisonBasis basis =
        comparison_basis(*e.conn, folder.dir, folder.layout, folder.source);
    if (!basis.set) {
        e.out.add("migrations", Status::info, "not compared: " + basis.not_compared,
                  "point ctldb at the team's folder (CTLDB_MIGRATIONS_DIR, and "
                  "CTLDB_MIGRATIONS_LAYOUT=node for a hand-written runner's)");
        return;
    }
    const migrate::MigrationSet& set = *basis.set;
    if (!basis.history_table) {
        report_no_history(e, set);
        return;
    }
    const auto list = migration_status(set, basis.history);
    report_states(e, set, list);
    migrate::ParsedFiles parsed;
    Findings schema;
    const migrate::SchemaCheck sc = validate_schema(*e.conn, list, parsed, schema);
    if (!sc.built && contains(sc.why_not, "CREATE")) {
        e.limit("schema drift not compared",
                "CREATE on the database (a scratch schema, rolled back)");
        return;
    }
    for (Finding f : schema.items()) {
        f.check = e.check;
        if (f.name == "schema drift") {
            f.hint =
                "ctldb migrate validate lists every difference; change the schema only "
                "through migrations";
        }
        e.out.add(std::move(f));
    }
}

}  // namespace ctldb::doctor
