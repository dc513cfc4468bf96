#include "maintenance/maintenance.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "base/output.hpp"
#include "base/text.hpp"

namespace ctldb::maintenance {

double wraparound_percent(std::int64_t age, std::int64_t freeze_max_age) {
    if (freeze_max_age <= 0) return 0;
    return static_cast<double>(age) * 100.0 / static_cast<double>(freeze_max_age);
}

Status wraparound_status(std::int64_t age, std::int64_t freeze_max_age) {
    if (freeze_max_age <= 0) return Status::ok;
    if (age * 4 >= freeze_max_age * 3) return Status::fail;
    if (age * 2 >= freeze_max_age) return Status::warn;
    return Status::ok;
}

Status table_wraparound(const pg::probe::TableStats& t) {
    const Status a = wraparound_status(t.xid_age, t.freeze_max_age);
    const Status b = wraparound_status(t.mxid_age, t.multixact_freeze_max_age);
    return urgency(a) >= urgency(b) ? a : b;
}

bool needs_vacuum(const pg::probe::TableStats& t) {
    return static_cast<double>(t.dead_tuples) > t.vacuum_threshold;
}

const std::vector<GuideSetting>& guide_autovacuum() {
    static const std::vector<GuideSetting> v = {{"autovacuum", "on", "on"},
                                                {"autovacuum_naptime", "60", "1min"}};
    return v;
}

Findings autovacuum_findings(const std::vector<pg::probe::Setting>& current,
                             std::vector<const GuideSetting*>* differs) {
    Findings f;
    for (const auto& w : guide_autovacuum()) {
        auto it = std::find_if(current.begin(), current.end(),
                               [&](const pg::probe::Setting& s) { return s.name == w.name; });
        if (it == current.end() || !it->value) {
            f.add(w.name, Status::warn,
                  it == current.end() ? "not read" : std::string(w.name) + " is " + it->unreadable);
            continue;
        }
        const std::string now = *it->value + (it->unit == "s" ? "s" : "");
        const bool ok = *it->value == w.value;
        f.add(w.name, ok ? Status::ok : Status::fail,
              "is " + now + (ok ? "" : ", the guide wants " + std::string(w.pretty)),
              ok ? ""
                 : "ctldb settings apply --only autovacuum,autovacuum_naptime (the guide: ALTER "
                   "SYSTEM SET " +
                       std::string(w.name) + " = '" + w.pretty + "')");
        if (!ok && differs != nullptr) differs->push_back(&w);
    }
    return f;
}

namespace {

bool near_wraparound(const pg::probe::TableStats& t) {
    return table_wraparound(t) == Status::fail;
}

}  // namespace

StatusReport status_report(std::vector<pg::probe::TableStats> tables) {
    std::stable_sort(tables.begin(), tables.end(),
                     [](const auto& a, const auto& b) { return a.dead_tuples > b.dead_tuples; });
    return {std::move(tables)};
}

std::size_t StatusReport::flagged() const {
    return static_cast<std::size_t>(std::count_if(tables.begin(), tables.end(), [](const auto& t) {
        return needs_vacuum(t) || near_wraparound(t);
    }));
}

std::string StatusReport::text(bool) const {
    Table t({"TABLE", "LIVE", "DEAD", "DEAD/THRESHOLD", "LAST VACUUM", "LAST ANALYZE", "XID AGE",
             "STATE"});
    for (const auto& x : tables) {
        std::vector<std::string> flags;
        if (needs_vacuum(x)) flags.emplace_back("needs vacuum");
        if (near_wraparound(x)) flags.emplace_back("near wraparound");
        char ratio[32];
        std::snprintf(
            ratio, sizeof ratio, "%.2f",
            x.vacuum_threshold > 0 ? static_cast<double>(x.dead_tuples) / x.vacuum_threshold : 0.0);
        t.add_row({printable(x.name), std::to_string(x.live_tuples), std::to_string(x.dead_tuples),
                   ratio, time_text(x.vacuumed_at()), time_text(x.analyzed_at()),
                   std::to_string(x.xid_age), flags.empty() ? "ok" : join(flags, ", ")});
    }
    const std::size_t n = flagged();
    return t.render() + (n == 0 ? "no table needs attention\n"
                                : std::to_string(n) + " table(s) need attention\n");
}

nlohmann::json StatusReport::json() const {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : tables) {
        arr.push_back({{"table", x.name},
                       {"live_tuples", x.live_tuples},
                       {"dead_tuples", x.dead_tuples},
                       {"autovacuum_threshold", x.vacuum_threshold},
                       {"last_vacuum_at", time_json(x.vacuumed_at())},
                       {"last_analyze_at", time_json(x.analyzed_at())},
                       {"xid_age", x.xid_age},
                       {"mxid_age", x.mxid_age},
                       {"freeze_max_age", x.freeze_max_age},
                       {"needs_vacuum", needs_vacuum(x)},
                       {"near_wraparound", near_wraparound(x)}});
    }
    return {{"tables", arr}};
}

}  // namespace ctldb::maintenance
