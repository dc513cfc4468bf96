// Where settings come from besides the environment and the flags: ctldb's
// own YAML file, the guide's ConfigMap, and connection URLs (DATABASE_URL,
// database.url, --url) taken apart by libpq.
#include <sys/stat.h>

#include <libpq-fe.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/output.hpp"
#include "base/text.hpp"
#include "config/config.hpp"
#include "config/libpq.hpp"
#include "config/setting_table.hpp"

namespace ctldb::config {

namespace {

/// Follows the parser's events to find a key given twice in one mapping.
class DuplicateKeys final : public YAML::EventHandler {
  public:
    std::vector<std::string> found;

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m, nullptr); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m, nullptr); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  const std::string& value) override {
        node(m, &value);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(m, nullptr);
        frames_.push_back({false, true, {}});
    }
    void OnSequenceEnd() override { frames_.pop_back(); }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        node(m, nullptr);
        frames_.push_back({true, true, {}});
    }
    void OnMapEnd() override { frames_.pop_back(); }

  private:
    struct Frame {
        bool map;
        bool expect_key;
        std::map<std::string, int> keys;  // key -> line (1-based)
    };
    void node(const YAML::Mark& m, const std::string* scalar) {
        if (frames_.empty() || !frames_.back().map) return;
        Frame& f = frames_.back();
        if (f.expect_key && scalar != nullptr) {
            const auto [it, fresh] = f.keys.emplace(*scalar, m.line + 1);
            if (!fresh) {
                found.push_back("key '" + printable(*scalar) + "' is given twice, on line " +
                                std::to_string(it->second) + " and line " +
                                std::to_string(m.line + 1) + "; remove one");
            }
        }
        f.expect_key = !f.expect_key;
    }
    std::vector<Frame> frames_;
};

}  // namespace

std::vector<std::string> duplicate_yaml_keys(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DuplicateKeys handler;
    while (parser.HandleNextDocument(handler)) {
    }
    return handler.found;
}

namespace {

bool readable_by_others(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

/// Loaders call this for every (file key or env name, scalar) pair.
void set_from_file(Config& config, const SettingSpec& spec, const std::string& value,
                   const std::string& where) {
    config.set(std::string(spec.key), Value{value, Origin::config_file, where});
}

void walk_own_format(const YAML::Node& node, const std::string& prefix, const std::string& path,
                     Config& config) {
    for (const auto& kv : node) {
        const std::string name = kv.first.as<std::string>();
        const std::string key = prefix.empty() ? name : prefix + "." + name;
        const YAML::Node& v = kv.second;
        const SettingSpec* match = nullptr;
        for (const auto& s : settings()) {
            if (s.file_key == key) match = &s;
        }
        if (match != nullptr) {
            if (!v.IsScalar()) {
                config.add_load_error(path + ": " + key + " must be a single value");
                continue;
            }
            set_from_file(config, *match, v.Scalar(), path + ": " + key);
            continue;
        }
        // Only descend into sections that some setting lives in.
        bool is_section = false;
        for (const auto& s : settings()) {
            if (s.file_key.substr(0, key.size() + 1) == key + ".") is_section = true;
        }
        if (is_section && v.IsMap()) {
            walk_own_format(v, key, path, config);
        } else if (is_section) {
            // A known section given as a value (`database: db.example`):
            // not an unknown key, a wrong shape.
            config.add_load_error(path + ": " + key +
                                  " must be a section of settings (a YAML map), not " +
                                  (v.IsSequence() ? "a list" : "a single value"));
        } else {
            config.add_warning(path + ": unknown key '" + key + "' ignored");
        }
    }
}

void load_configmap_data(const YAML::Node& data, const std::string& path, Config& config) {
    if (!data.IsMap()) {
        config.add_load_error(path + ": ConfigMap .data must be a map");
        return;
    }
    // A ConfigMap is shared with the application: its other keys are not
    // mistakes, so they are named once, at -v, not warned about one by one.
    std::vector<std::string> others;
    for (const auto& kv : data) {
        const std::string name = kv.first.as<std::string>();
        const SettingSpec* match = nullptr;
        bool other_tool = false;
        for (const auto& s : settings()) {
            if (s.env == name) match = &s;
            if (!s.other_tool_env.empty() && s.other_tool_env == name) {
                match = &s;
                other_tool = true;
            }
        }
        if (match == nullptr) {
            others.push_back(name);
            continue;
        }
        if (!kv.second.IsScalar()) {
            config.add_load_error(path + ": data." + name + " must be a string, not " +
                                  (kv.second.IsSequence() ? "a list" : "a map"));
            continue;
        }
        if (other_tool) {
            config.set_other_tool(
                std::string(match->key),
                Value{kv.second.Scalar(), Origin::config_file, path + ": data." + name});
            continue;
        }
        set_from_file(config, *match, kv.second.Scalar(), path + ": data." + name);
    }
    if (!others.empty()) {
        config.add_note(path + ": " + std::to_string(others.size()) +
                        " ConfigMap key(s) not used by ctldb: " + join(others, ", "));
    }
}

}  // namespace

void load_config_file(const std::string& path, Config& config) {
    config.set_file(path);
    std::vector<YAML::Node> docs;
    std::string text;
    try {
        text = fs::read_file(path, fs::kMaxSmallFile, ExitCode::usage);
    } catch (const Error& e) {
        config.add_load_error(path + ": cannot read config file: " +
                              std::string(e.what()).substr(std::string(e.what()).rfind(": ") + 2));
        return;
    }
    try {
        // A key given twice (NODE_ENV: production, then development) is an
        // error, never "the last one wins".
        const auto duplicates = duplicate_yaml_keys(text);
        if (!duplicates.empty()) {
            for (const auto& d : duplicates)
                config.add_load_error(path + ": " + d);
            return;
        }
        docs = YAML::LoadAll(text);
    } catch (const YAML::ParserException& e) {
        config.add_load_error(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                              std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
        return;
    }
    try {
        for (const auto& doc : docs) {
            if (doc.IsNull()) continue;
            if (!doc.IsMap()) {
                config.add_load_error(path + ": expected a YAML map at the top level");
                continue;
            }
            if (doc["kind"]) {
                const std::string kind = doc["kind"].as<std::string>();
                if (kind != "ConfigMap") {
                    config.add_warning(path + ": document of kind " + kind + " ignored");
                    continue;
                }
                if (doc["data"]) load_configmap_data(doc["data"], path, config);
                continue;
            }
            walk_own_format(doc, "", path, config);
        }
    } catch (const YAML::Exception& e) {
        config.add_load_error(path + ": invalid config: " + e.msg);
    }
    if (config.get("password").origin == Origin::config_file && readable_by_others(path)) {
        config.add_warning(path +
                           " holds a password and is readable by other users; chmod 600 it "
                           "or use DB_PASSWORD_FILE");
    }
}

namespace {

/// libpq's message without anything it quotes from the string: a password
/// must not reach an error through it.
std::string without_quoted(const std::string& msg) {
    std::string out;
    bool in_quote = false;
    for (char ch : msg) {
        if (ch == '"') {
            if (!in_quote) out += "\"...\"";
            in_quote = !in_quote;
        } else if (!in_quote && ch != '\n') {
            out += ch;
        }
    }
    return out;
}

}  // namespace

ConnectionUrl parse_connection_url(const std::string& url) {
    ConnectionUrl out;
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
    if (opts == nullptr) {
        out.error = err != nullptr ? without_quoted(err) : "out of memory";
        if (err != nullptr) PQfreemem(err);
        return out;
    }
    // Each libpq parameter ctldb passes is the setting of the same name.
    auto is_setting = [](const std::string& k) {
        for (const auto& p : libpq_parameters()) {
            if (k == p.keyword) return true;
        }
        return false;
    };
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
        if (o->val == nullptr || *o->val == '\0') continue;
        const std::string k = o->keyword;
        if (is_setting(k)) {
            out.settings[k] = o->val;
        } else if (k == "connect_timeout") {
            // libpq's seconds; ctldb's setting is in milliseconds.
            auto sec = parse_integer(o->val);
            out.settings["connect_timeout_ms"] =
                sec && *sec >= 0 && *sec < 3600000 ? std::to_string(*sec * 1000) : o->val;
        } else {
            out.unused.push_back(k);
        }
    }
    PQconninfoFree(opts);
    return out;
}

}  // namespace ctldb::config
