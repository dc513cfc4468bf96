#include "base/findings.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/enum_names.hpp"
#include "base/output.hpp"

namespace ctldb {

const char* status_name(Status s) {
    static constexpr EnumName<Status> kNames[] = {
        {Status::ok, "ok"}, {Status::warn, "warn"}, {Status::fail, "fail"}, {Status::info, "info"}};
    return name_of(kNames, s, "info");
}

int urgency(Status s) {
    switch (s) {
        case Status::fail:
            return 3;
        case Status::warn:
            return 2;
        case Status::info:
            return 1;
        case Status::ok:
            return 0;
    }
    return 0;
}

nlohmann::json finding_json(const Finding& f) {
    return {{"check", f.check.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.check)},
            {"name", f.name},
            {"status", status_name(f.status)},
            {"message", f.message},
            {"hint", f.hint.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.hint)}};
}

void Findings::sort_by_urgency() {
    std::stable_sort(items_.begin(), items_.end(), [](const Finding& a, const Finding& b) {
        return urgency(a.status) > urgency(b.status);
    });
}

bool Findings::failed() const {
    return count(Status::fail) > 0;
}

std::size_t Findings::count(Status s) const {
    std::size_t n = 0;
    for (const auto& f : items_)
        n += f.status == s ? 1 : 0;
    return n;
}

nlohmann::json Findings::to_json() const {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& f : items_)
        arr.push_back(finding_json(f));
    return arr;
}

std::string Findings::render(bool color) const {
    Table t({"CHECK", "STATUS", "DETAIL"});
    for (const auto& f : items_) {
        Style st = Style::none;
        if (f.status == Status::ok) st = Style::green;
        if (f.status == Status::warn) st = Style::yellow;
        if (f.status == Status::fail) st = Style::red;
        t.add_row(
            {printable(f.name), styled(status_name(f.status), st, color), printable(f.message)});
    }
    return t.render();
}

}  // namespace ctldb
