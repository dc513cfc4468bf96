#include "ctldb/maintenance.hpp"

#include <algorithm>

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

Status table_wraparound(const probe::TableStats& t) {
    const Status a = wraparound_status(t.xid_age, t.freeze_max_age);
    const Status b = wraparound_status(t.mxid_age, t.multixact_freeze_max_age);
    return urgency(a) >= urgency(b) ? a : b;
}

bool needs_vacuum(const probe::TableStats& t) {
    return static_cast<double>(t.dead_tuples) > t.vacuum_threshold;
}

const std::vector<GuideSetting>& guide_autovacuum() {
    static const std::vector<GuideSetting> v = {{"autovacuum", "on", "on"},
                                                {"autovacuum_naptime", "60", "1min"}};
    return v;
}

Findings autovacuum_findings(const std::vector<probe::Setting>& current,
                             std::vector<const GuideSetting*>* differs) {
    Findings f;
    for (const auto& w : guide_autovacuum()) {
        auto it = std::find_if(current.begin(), current.end(),
                               [&](const probe::Setting& s) { return s.name == w.name; });
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
                 : "ctldb vacuum autovacuum --apply (the guide: ALTER SYSTEM SET " +
                       std::string(w.name) + " = '" + w.pretty + "')");
        if (!ok && differs != nullptr) differs->push_back(&w);
    }
    return f;
}

}  // namespace ctldb::maintenance
