// Test helper: `json_tool check` exits 0 when stdin is exactly one JSON
// document; `json_tool get /json/pointer` prints the value there (strings
// without quotes) or exits 1 when absent; `json_tool shape RC [--lines]`
// checks docs/json.md's rules on the document (or on every line) that a
// command exiting with RC printed, and names each violation by its pointer.
#include <iostream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void walk(const nlohmann::json& v, const std::string& key, const std::string& path,
          std::vector<std::string>& bad) {
    static const std::regex iso(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$)");
    static const std::regex pg_array(R"(^\{[0-9A-Za-z_,."-]*\}$)");
    static const std::vector<std::string> unit_suffixes = {"_ms", "_seconds", "_bytes", "_days"};
    static const std::vector<std::string> bare = {"seconds", "size", "bytes", "duration",
                                                  "elapsed", "ms",   "age",   "took"};
    // Rules on a field's name apply to fields, not to the keys of a map of
    // data (settings by name, sizes by index name: containers, or dotted).
    const bool field = !v.is_structured() && key.find('.') == std::string::npos;
    for (const auto& b : bare) {
        if (key == b) bad.push_back(path + ": a duration or size without its unit in the name");
    }
    for (const auto& u : unit_suffixes) {
        if (field && ends_with(key, u) && !v.is_number() && !v.is_null())
            bad.push_back(path + ": " + key + " must be a number (or null), is " + v.dump());
    }
    const bool time_key =
        field && (ends_with(key, "_at") || key == "not_before" || key == "not_after");
    if (time_key && !v.is_null() && !(v.is_string() && std::regex_match(v.get<std::string>(), iso)))
        bad.push_back(path + ": a time must be ISO 8601 UTC with Z (or null), is " + v.dump());
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s == "never") bad.push_back(path + ": \"never\" where null belongs");
        if (std::regex_match(s, pg_array))
            bad.push_back(path + ": a PostgreSQL array literal where a JSON array belongs: " + s);
    } else if (v.is_object()) {
        for (const auto& [k, child] : v.items())
            walk(child, k, path + "/" + k, bad);
    } else if (v.is_array()) {
        for (std::size_t i = 0; i < v.size(); ++i)
            walk(v[i], "", path + "/" + std::to_string(i), bad);
    }
}

std::vector<std::string> shape(const nlohmann::json& doc, int rc) {
    std::vector<std::string> bad;
    if (!doc.is_object()) return {"the document is not an object"};
    if (!doc.contains("ok") || !doc["ok"].is_boolean())
        bad.push_back("/ok: missing or not a boolean");
    if (!doc.contains("exit_code") || !doc["exit_code"].is_number_integer()) {
        bad.push_back("/exit_code: missing or not an integer");
    } else if (doc["exit_code"].get<int>() != rc) {
        bad.push_back("/exit_code: " + doc["exit_code"].dump() + " but the process exited " +
                      std::to_string(rc));
    }
    if (doc.contains("ok") && doc["ok"].is_boolean() && doc["ok"].get<bool>() != (rc == 0))
        bad.push_back("/ok: " + doc["ok"].dump() + " but the exit code is " + std::to_string(rc));
    walk(doc, "", "", bad);
    return bad;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: json_tool check | get POINTER | shape RC [--lines]\n";
        return 2;
    }
    const std::string input{std::istreambuf_iterator<char>(std::cin),
                            std::istreambuf_iterator<char>()};
    const std::string cmd = argv[1];
    if (cmd == "shape" && argc >= 3) {
        const int rc = std::stoi(argv[2]);
        std::vector<std::string> docs;
        if (argc == 4 && std::string(argv[3]) == "--lines") {
            std::istringstream in(input);
            for (std::string line; std::getline(in, line);)
                docs.push_back(line);
            if (docs.empty()) docs.push_back("");
        } else {
            docs.push_back(input);
        }
        int status = 0;
        for (const auto& text : docs) {
            nlohmann::json doc;
            try {
                doc = nlohmann::json::parse(text);
            } catch (const nlohmann::json::exception& e) {
                std::cerr << "not one JSON document: " << e.what() << "\n";
                return 1;
            }
            for (const auto& b : shape(doc, rc)) {
                std::cerr << b << "\n";
                status = 1;
            }
        }
        return status;
    }
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(input);  // rejects trailing garbage
    } catch (const nlohmann::json::exception& e) {
        std::cerr << "not one JSON document: " << e.what() << "\n";
        return 1;
    }
    if (cmd == "check") return 0;
    if (cmd == "get" && argc == 3) {
        try {
            const auto& v = doc.at(nlohmann::json::json_pointer(argv[2]));
            std::cout << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
            return 0;
        } catch (const nlohmann::json::exception&) {
            return 1;
        }
    }
    std::cerr << "usage: json_tool check | get POINTER | shape RC [--lines]\n";
    return 2;
}
