#include "ctldb/probes.hpp"

namespace ctldb::probe {

std::vector<Setting> settings(Connection& conn, const std::vector<std::string>& names) {
    // pg_settings leaves out the rows this role may not read, where SHOW
    // and current_setting() would raise an error.
    std::string list = "{";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) list += ',';
        list += '"' + names[i] + '"';
    }
    list += '}';
    QueryResult r = exec(conn,
                         "SELECT name, setting, current_user FROM pg_settings "
                         "WHERE name = ANY($1::text[])",
                         {list});
    std::map<std::string, std::string> seen;
    for (int i = 0; i < r.rows(); ++i)
        seen[r.get(i, 0)] = r.get(i, 1);
    std::string role;
    if (seen.size() < names.size()) role = exec(conn, "SELECT current_user").get(0, 0);
    std::vector<Setting> out;
    for (const auto& n : names) {
        Setting s;
        s.name = n;
        auto it = seen.find(n);
        if (it != seen.end()) {
            s.value = it->second;
        } else {
            s.unreadable = "not visible to role " + role + ": needs " + kReadAllSettingsGrant;
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace ctldb::probe
