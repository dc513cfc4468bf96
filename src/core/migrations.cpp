#include "ctldb/migrations.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

#include "ctldb/embedded.hpp"
#include "ctldb/error.hpp"
#include "ctldb/fs.hpp"
#include "ctldb/text.hpp"

namespace ctldb {

const Migration* MigrationSet::find(std::int64_t version) const {
    for (const auto& m : migrations) {
        if (m.version == version) return &m;
    }
    return nullptr;
}

std::string migration_checksum(const std::string& text) {
    std::string normalised;
    normalised.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
        normalised += text[i];
    }
    return sha256_hex(normalised);
}

bool has_no_transaction_marker(const std::string& text) {
    std::size_t start = 0;
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) start = 3;  // UTF-8 BOM
    std::size_t end = text.find('\n', start);
    std::string first =
        text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    while (!first.empty() && std::isspace(static_cast<unsigned char>(first.back())))
        first.pop_back();
    return first == kNoTransactionMarker;
}

std::optional<MigrationFileName> parse_migration_file_name(const std::string& file) {
    MigrationFileName out;
    std::string stem;
    if (ends_with(file, ".down.sql")) {
        out.down = true;
        stem = file.substr(0, file.size() - 9);
    } else if (ends_with(file, ".sql")) {
        stem = file.substr(0, file.size() - 4);
    } else {
        return std::nullopt;
    }
    std::size_t digits = 0;
    while (digits < stem.size() && std::isdigit(static_cast<unsigned char>(stem[digits])))
        ++digits;
    if (digits == 0 || digits > 18 || digits + 1 >= stem.size() || stem[digits] != '_') {
        return std::nullopt;
    }
    out.version = std::stoll(stem.substr(0, digits));
    out.name = stem.substr(digits + 1);
    for (char ch : out.name) {
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') {
            return std::nullopt;
        }
    }
    return out;
}

std::optional<std::string> normalise_migration_name(const std::string& name) {
    std::string out;
    for (char ch : name) {
        unsigned char c = static_cast<unsigned char>(ch);
        if (std::isalnum(c)) {
            out += static_cast<char>(std::tolower(c));
        } else if (ch == '_' || ch == '-' || ch == ' ') {
            if (!out.empty() && out.back() != '_') out += '_';
        } else {
            return std::nullopt;
        }
    }
    while (!out.empty() && out.back() == '_')
        out.pop_back();
    if (out.empty() || out.size() > 100) return std::nullopt;
    return out;
}

MigrationSet load_migration_files(const std::vector<std::pair<std::string, std::string>>& files,
                                  const std::string& source) {
    std::vector<std::string> problems;
    std::map<std::int64_t, Migration> ups;
    std::map<std::int64_t, std::pair<std::string, std::string>> downs;  // version -> (file, sql)
    for (const auto& [file, text] : files) {
        if (!ends_with(file, ".sql")) continue;
        auto parsed = parse_migration_file_name(file);
        if (!parsed) {
            problems.push_back(file + ": not named NNNN_name.sql or NNNN_name.down.sql");
            continue;
        }
        if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
            problems.push_back(file + ": empty migration");
            continue;
        }
        if (parsed->down) {
            if (!downs.emplace(parsed->version, std::make_pair(file, text)).second) {
                problems.push_back(file + ": a second down file for version " +
                                   std::to_string(parsed->version));
            }
            continue;
        }
        auto it = ups.find(parsed->version);
        if (it != ups.end()) {
            problems.push_back(file + ": version " + std::to_string(parsed->version) +
                               " is also used by " + it->second.file);
            continue;
        }
        Migration m;
        m.version = parsed->version;
        m.name = parsed->name;
        m.file = file;
        m.sql = text;
        m.checksum = migration_checksum(text);
        m.no_transaction = has_no_transaction_marker(text);
        ups.emplace(m.version, std::move(m));
    }
    for (auto& [version, down] : downs) {
        auto it = ups.find(version);
        if (it == ups.end()) {
            problems.push_back(down.first + ": no matching up migration");
            continue;
        }
        it->second.down_file = down.first;
        it->second.down_sql = down.second;
        it->second.down_no_transaction = has_no_transaction_marker(down.second);
    }
    if (!problems.empty()) {
        std::sort(problems.begin(), problems.end());
        Error e(ExitCode::failure,
                "the migrations in " + source + " are not usable (" +
                    std::to_string(problems.size()) + " problem" +
                    (problems.size() == 1 ? "" : "s") + ")",
                "fix or rename the files listed");
        e.with_details(problems);
        throw e;
    }
    MigrationSet set;
    set.source = source;
    for (auto& [version, m] : ups)
        set.migrations.push_back(std::move(m));
    return set;
}

MigrationSet load_migrations_dir(const std::string& dir) {
    if (!fs::is_dir(dir)) {
        throw usage_error("cannot read migrations directory " + dir);
    }
    const std::vector<std::string> names = fs::list_files(dir, ".sql");
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& n : names)
        files.emplace_back(n, fs::read_file(dir + "/" + n));
    return load_migration_files(files, dir);
}

MigrationSet embedded_migration_set() {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& f : embedded_migrations())
        files.emplace_back(f.name, f.text());
    return load_migration_files(files, "embedded");
}

}  // namespace ctldb

#include "ctldb/sql.hpp"

namespace ctldb {

const char* migration_state_name(MigrationState s) {
    switch (s) {
        case MigrationState::applied:
            return "applied";
        case MigrationState::pending:
            return "pending";
        case MigrationState::out_of_order:
            return "out-of-order";
        case MigrationState::modified:
            return "modified";
        case MigrationState::missing:
            return "missing";
    }
    return "?";
}

std::vector<MigrationStatus> migration_status(const MigrationSet& set,
                                              const std::vector<AppliedMigration>& history) {
    std::map<std::int64_t, MigrationStatus> out;
    std::int64_t highest_applied = 0;
    bool any_applied = false;
    for (const auto& h : history) {
        if (!any_applied || h.version > highest_applied) highest_applied = h.version;
        any_applied = true;
        MigrationStatus st;
        st.version = h.version;
        st.name = h.name;
        st.applied = h;
        st.state = MigrationState::missing;
        out[h.version] = st;
    }
    for (const auto& m : set.migrations) {
        auto it = out.find(m.version);
        if (it != out.end()) {
            it->second.file = &m;
            it->second.state = it->second.applied->checksum == m.checksum
                                   ? MigrationState::applied
                                   : MigrationState::modified;
            continue;
        }
        MigrationStatus st;
        st.version = m.version;
        st.name = m.name;
        st.file = &m;
        st.state = any_applied && m.version < highest_applied ? MigrationState::out_of_order
                                                              : MigrationState::pending;
        out[m.version] = st;
    }
    std::vector<MigrationStatus> list;
    for (auto& [v, st] : out)
        list.push_back(std::move(st));
    return list;
}

std::vector<std::string> check_migration_sql(const std::string& file, const std::string& sql,
                                             bool no_transaction) {
    return check_migration_sql(file, sql::parse(sql), no_transaction);
}

std::vector<std::string> check_migration_sql(const std::string& file, const sql::Parsed& parsed,
                                             bool no_transaction) {
    std::vector<std::string> problems;
    if (parsed.error) {
        problems.push_back(file + ":" + std::to_string(parsed.error->line) + ":" +
                           std::to_string(parsed.error->column) + ": " + parsed.error->message);
        return problems;
    }
    if (parsed.statements.empty()) problems.push_back(file + ": no SQL statements");
    for (const auto& s : parsed.statements) {
        if (s.copy_stdio) {
            problems.push_back(file + ":" + std::to_string(s.line) +
                               ": COPY FROM STDIN / TO STDOUT needs a data stream a migration "
                               "file cannot carry; use INSERT, or COPY from a server file");
        }
    }
    if (no_transaction) return problems;
    for (const auto& s : parsed.statements) {
        if (!s.no_transaction_reason.empty()) {
            problems.push_back(file + ":" + std::to_string(s.line) + ": " +
                               s.no_transaction_reason +
                               " cannot run inside a transaction; make \"" + kNoTransactionMarker +
                               "\" the first line of the file");
        } else if (s.transaction_control) {
            problems.push_back(file + ":" + std::to_string(s.line) +
                               ": explicit transaction control (BEGIN/COMMIT/ROLLBACK) breaks "
                               "the one transaction ctldb runs the file in; remove it");
        }
    }
    return problems;
}

}  // namespace ctldb
