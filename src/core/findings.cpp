#include "ctldb/findings.hpp"

#include <nlohmann/json.hpp>

#include "ctldb/output.hpp"

namespace ctldb {

const char* status_name(Status s) {
    switch (s) {
        case Status::ok:
            return "ok";
        case Status::warn:
            return "warn";
        case Status::fail:
            return "fail";
        case Status::info:
            return "info";
    }
    return "info";
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
    for (const auto& f : items_) {
        arr.push_back(
            {{"name", f.name}, {"status", status_name(f.status)}, {"message", f.message}});
    }
    return arr;
}

std::string Findings::render(bool color) const {
    Table t({"CHECK", "STATUS", "DETAIL"});
    for (const auto& f : items_) {
        Style st = Style::none;
        if (f.status == Status::ok) st = Style::green;
        if (f.status == Status::warn) st = Style::yellow;
        if (f.status == Status::fail) st = Style::red;
        t.add_row({f.name, styled(status_name(f.status), st, color), f.message});
    }
    return t.render();
}

}  // namespace ctldb
