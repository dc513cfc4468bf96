#include "backup/retention.hpp"

#include <map>
#include <set>

#include "base/text.hpp"

namespace ctldb::backup {

namespace {

/// A file ctldb can identify: its own manifest parses and names it.
bool identified(const BackupEntry& e) {
    return e.manifest && e.manifest->file == e.path.substr(e.path.rfind('/') + 1);
}

struct CalendarRule {
    const char* name;
    int keep;
    std::string (*bucket)(std::time_t);
};

/// What the rules have kept so far of one database, newest first.
struct Kept {
    bool newest = false;
    int last = 0;
    std::set<std::string> buckets[3];  // daily, weekly, monthly
};

/// The reasons the rules keep a usable backup (empty: none does).
std::vector<std::string> keep_reasons(const BackupEntry& e, const Retention& r, bool recent,
                                      Kept& k) {
    std::vector<std::string> why;
    if (!k.newest) {
        k.newest = true;
        why.emplace_back("newest usable");
    }
    if (r.keep_last > 0 && k.last < r.keep_last) {
        ++k.last;
        why.push_back("last " + std::to_string(r.keep_last));
    }
    const CalendarRule rules[] = {{"daily", r.keep_daily, day_bucket},
                                  {"weekly", r.keep_weekly, week_bucket},
                                  {"monthly", r.keep_monthly, month_bucket}};
    for (std::size_t i = 0; i < 3; ++i) {
        if (rules[i].keep <= 0) continue;
        auto& seen = k.buckets[i];
        const std::string b = rules[i].bucket(e.taken_at);
        // Newest first: the first backup of a bucket is its newest.
        if (seen.count(b) == 0 && seen.size() < static_cast<std::size_t>(rules[i].keep)) {
            seen.insert(b);
            why.push_back(std::string(rules[i].name) + " " + b);
        }
    }
    if (recent) why.push_back("within " + std::to_string(r.keep_days) + " days");
    return why;
}

}  // namespace

std::string day_bucket(std::time_t t) {
    return utc_format(t, "%Y-%m-%d");
}

std::string week_bucket(std::time_t t) {
    return utc_format(t, "%G-W%V");
}

std::string month_bucket(std::time_t t) {
    return utc_format(t, "%Y-%m");
}

std::string Retention::describe() const {
    std::string out;
    const std::pair<const char*, int> rules[] = {{"--keep-last", keep_last},
                                                 {"--keep-days", keep_days},
                                                 {"--keep-daily", keep_daily},
                                                 {"--keep-weekly", keep_weekly},
                                                 {"--keep-monthly", keep_monthly}};
    for (const auto& [flag, n] : rules)
        if (n > 0) out += (out.empty() ? "" : " ") + std::string(flag) + " " + std::to_string(n);
    return out;
}

std::vector<RetentionDecision> retention_plan(const std::vector<BackupEntry>& entries,
                                              const Retention& r, std::time_t now,
                                              const std::string& protect) {
    const BackupEntry* guarded = nullptr;
    for (const auto& e : entries)
        if (!protect.empty() && e.path == protect && identified(e)) guarded = &e;
    std::map<std::string, Kept> kept;  // per database
    std::vector<RetentionDecision> out;
    for (const auto& e : entries) {  // newest first
        // A backup dated in the future is neither kept by a rule nor
        // deleted: it would otherwise count as the newest for ever.
        if (!identified(e) || e.in_future(now)) continue;
        RetentionDecision d{e.path, e.manifest->database, e.taken_at, true, {}};
        // After a backup, only its own database is pruned.
        if (guarded != nullptr && d.database != guarded->manifest->database) continue;
        const bool recent =
            r.keep_days > 0 && now - e.taken_at < static_cast<std::time_t>(r.keep_days) * 86400;
        if (e.usable()) {
            d.reasons = keep_reasons(e, r, recent, kept[d.database]);
        } else if (recent) {
            // Never counted, but left for an operator to look at.
            d.reasons.push_back("damaged (" + e.problem + ") but within " +
                                std::to_string(r.keep_days) + " days");
        }
        if (guarded != nullptr && (&e == guarded || e.taken_at >= guarded->taken_at) &&
            d.reasons.empty()) {
            d.reasons.emplace_back("not older than the backup just made");
        }
        d.keep = !d.reasons.empty();
        if (!d.keep) {
            d.reasons.push_back(e.usable() ? "kept by no rule (" + r.describe() + ")"
                                           : "damaged (" + e.problem + ")");
        }
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<std::string> backups_to_prune(const std::vector<BackupEntry>& entries,
                                          const Retention& r, std::time_t now,
                                          const std::string& protect) {
    std::vector<std::string> out;
    for (const auto& d : retention_plan(entries, r, now, protect))
        if (!d.keep) out.push_back(d.path);
    return out;
}

}  // namespace ctldb::backup
