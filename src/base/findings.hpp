// Diagnostics collect every finding first, then report them together
// (a table for people, a "checks" array in JSON) and fail if any failed.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ctldb {

enum class Status { ok, warn, fail, info };

const char* status_name(Status s);

/// fail 3, warn 2, info 1, ok 0: the order findings are reported in.
int urgency(Status s);

/// One thing a check saw. JSON (the same object wherever it appears):
/// {"check", "name", "status", "message", "hint"}; "status" is the
/// severity: ok, info, warn or fail.
struct Finding {
    std::string name;
    Status status = Status::ok;
    std::string message;  ///< what was seen
    std::string hint;     ///< what to do about it ("" none)
    std::string check;    ///< the check that found it ("" outside doctor)
};

nlohmann::json finding_json(const Finding& f);

class Findings {
  public:
    void add(std::string name, Status status, std::string message, std::string hint = {}) {
        items_.push_back(
            Finding{std::move(name), status, std::move(message), std::move(hint), check_});
    }
    void add(Finding f) { items_.push_back(std::move(f)); }
    /// The check name given to findings added from now on.
    void set_check(std::string check) { check_ = std::move(check); }
    void append(const Findings& other) {
        items_.insert(items_.end(), other.items_.begin(), other.items_.end());
    }
    /// Most urgent first (fail, warn, info, ok), keeping each level's order.
    void sort_by_urgency();
    const std::vector<Finding>& items() const { return items_; }
    bool failed() const;
    std::size_t count(Status s) const;
    /// [{"name":..., "status":..., "message":...}, ...]
    nlohmann::json to_json() const;
    /// Aligned CHECK/STATUS/DETAIL table; coloured when `color`.
    std::string render(bool color) const;

  private:
    std::vector<Finding> items_;
    std::string check_;
};

}  // namespace ctldb
