// Diagnostics collect every finding first, then report them together
// (a table for people, a "checks" array in JSON) and fail if any failed.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ctldb {

enum class Status { ok, warn, fail, info };

const char* status_name(Status s);

struct Finding {
    std::string name;
    Status status = Status::ok;
    std::string message;
};

class Findings {
  public:
    void add(std::string name, Status status, std::string message) {
        items_.push_back(Finding{std::move(name), status, std::move(message)});
    }
    const std::vector<Finding>& items() const { return items_; }
    bool failed() const;
    std::size_t count(Status s) const;
    /// [{"name":..., "status":..., "message":...}, ...]
    nlohmann::json to_json() const;
    /// Aligned CHECK/STATUS/DETAIL table; coloured when `color`.
    std::string render(bool color) const;

  private:
    std::vector<Finding> items_;
};

}  // namespace ctldb
