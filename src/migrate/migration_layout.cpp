// The migration folder layouts of other tools: how their file names read,
// how a layout is told from a folder, and how `migrate create` names the
// next file in each.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include "base/enum_names.hpp"

#include "base/error.hpp"
#include "base/text.hpp"
#include "migrate/migrations.hpp"

namespace ctldb::migrate {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::size_t leading_digits(const std::string& s, std::size_t from = 0) {
    std::size_t n = 0;
    while (from + n < s.size() && is_digit(s[from + n]))
        ++n;
    return n;
}

bool valid_name(const std::string& name) {
    if (name.empty()) return false;
    for (char ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.')
            return false;
    }
    return true;
}

/// Strip ".sql" (and ".down"/".up" before it) from a file name.
std::string without(const std::string& file, const std::string& suffix) {
    return file.substr(0, file.size() - suffix.size());
}

/// "N_name.sql" / "N-name.down.sql" of the numbered layout.
std::optional<MigrationFileName> parse_numbered(const std::string& file) {
    MigrationFileName out;
    std::string stem;
    if (ends_with(file, ".down.sql")) {
        out.down = true;
        stem = without(file, ".down.sql");
    } else if (ends_with(file, ".sql")) {
        stem = without(file, ".sql");
    } else {
        return std::nullopt;
    }
    const std::size_t digits = leading_digits(stem);
    if (digits == 0 || digits > 18 || digits + 1 >= stem.size()) return std::nullopt;
    if (stem[digits] != '_' && stem[digits] != '-') return std::nullopt;
    out.separator = stem[digits];
    out.label = stem.substr(0, digits);
    out.version = std::stoll(out.label);
    out.name = stem.substr(digits + 1);
    if (!valid_name(out.name) || out.name.find('.') != std::string::npos) return std::nullopt;
    return out;
}

/// "N_name.up.sql" / "N_name.down.sql" of golang-migrate.
std::optional<MigrationFileName> parse_golang(const std::string& file) {
    MigrationFileName out;
    std::string stem;
    if (ends_with(file, ".up.sql")) {
        stem = without(file, ".up.sql");
    } else if (ends_with(file, ".down.sql")) {
        stem = without(file, ".down.sql");
        out.down = true;
    } else {
        return std::nullopt;
    }
    const std::size_t digits = leading_digits(stem);
    if (digits == 0 || digits > 18 || digits + 1 >= stem.size() || stem[digits] != '_')
        return std::nullopt;
    out.label = stem.substr(0, digits);
    out.version = std::stoll(out.label);
    out.name = stem.substr(digits + 1);
    if (!valid_name(out.name)) return std::nullopt;
    return out;
}

/// "YYYYMMDDHHMMSS_name.sql" of dbmate (any number, then _).
std::optional<MigrationFileName> parse_dbmate(const std::string& file) {
    if (!ends_with(file, ".sql")) return std::nullopt;
    const std::string stem = without(file, ".sql");
    const std::size_t digits = leading_digits(stem);
    if (digits == 0 || digits > 18 || digits + 1 >= stem.size() || stem[digits] != '_')
        return std::nullopt;
    MigrationFileName out;
    out.label = stem.substr(0, digits);
    out.version = std::stoll(out.label);
    out.name = stem.substr(digits + 1);
    if (!valid_name(out.name)) return std::nullopt;
    return out;
}

/// Flyway's dotted version as an order key: up to three parts of at most
/// six digits (1.1 -> 1 000001 000000).
std::optional<std::int64_t> flyway_key(const std::string& version) {
    std::vector<std::int64_t> parts;
    std::size_t i = 0;
    while (i < version.size()) {
        const std::size_t n = leading_digits(version, i);
        if (n == 0 || n > 6) return std::nullopt;
        parts.push_back(std::stoll(version.substr(i, n)));
        i += n;
        if (i < version.size()) {
            if (version[i] != '.' && version[i] != '_') return std::nullopt;
            ++i;
            if (i == version.size()) return std::nullopt;
        }
    }
    if (parts.empty() || parts.size() > 3) return std::nullopt;
    std::int64_t key = 0;
    for (std::size_t p = 0; p < 3; ++p)
        key = key * 1000000 + (p < parts.size() ? parts[p] : 0);
    return key;
}

/// "V1.1__name.sql" (and "U1.1__name.sql", an undo file) of Flyway.
std::optional<MigrationFileName> parse_flyway(const std::string& file) {
    if (file.size() < 8 || !ends_with(file, ".sql") || (file[0] != 'V' && file[0] != 'U'))
        return std::nullopt;
    const std::string stem = without(file, ".sql");
    const std::size_t sep = stem.find("__");
    if (sep == std::string::npos || sep < 2 || sep + 2 >= stem.size()) return std::nullopt;
    MigrationFileName out;
    out.down = file[0] == 'U';
    out.label = stem.substr(1, sep - 1);
    std::replace(out.label.begin(), out.label.end(), '_', '.');
    const auto key = flyway_key(out.label);
    if (!key) return std::nullopt;
    out.version = *key;
    out.name = stem.substr(sep + 2);
    if (!valid_name(out.name)) return std::nullopt;
    return out;
}

std::string first_line_of(const std::string& text) {
    std::size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start])))
        ++start;
    const std::size_t end = text.find('\n', start);
    std::string line =
        text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
        line.pop_back();
    return line;
}

bool flyway_like(const std::string& file) {
    return ends_with(file, ".sql") && file.size() > 3 &&
           ((file[0] == 'V' || file[0] == 'U' || file[0] == 'R') &&
            (is_digit(file[1]) || file.compare(0, 3, "R__") == 0));
}

/// A folder only a hand-written node runner uses: rollback twins
/// (X_rollback.sql or X_down.sql beside X.sql). Two files of one number
/// alone do not say it: in a numbered folder that is a merge to fix, and
/// the numbered layout's refusal names --layout node.
bool node_like(const std::vector<std::pair<std::string, std::string>>& files) {
    std::set<std::string> sql;
    for (const auto& f : files) {
        if (ends_with(f.first, ".sql")) sql.insert(f.first);
    }
    for (const auto& file : sql) {
        // X.down.sql is the numbered layout's own down file: not a sign.
        if (ends_with(file, ".down.sql")) continue;
        const std::string up = node_rollback_of(file);
        if (!up.empty() && sql.count(up)) return true;
    }
    return false;
}

/// The name of a new file's words: snake_case, or kebab-case for a folder
/// whose names use '-'.
std::string words(const std::string& normalised, char separator) {
    std::string out = normalised;
    if (separator == '-') std::replace(out.begin(), out.end(), '_', '-');
    return out;
}

std::string padded(std::int64_t n, std::size_t width) {
    std::string s = std::to_string(n);
    if (s.size() < width) s.insert(0, width - s.size(), '0');
    return s;
}

std::string timestamp(std::time_t t) {
    return utc_format(t, "%Y%m%d%H%M%S");
}

}  // namespace

namespace {
constexpr EnumName<MigrationLayout> kLayoutNames[] = {
    {MigrationLayout::automatic, "auto"},
    {MigrationLayout::numbered, "numbered"},
    {MigrationLayout::golang_migrate, "golang-migrate"},
    {MigrationLayout::flyway, "flyway"},
    {MigrationLayout::dbmate, "dbmate"},
    {MigrationLayout::node, "node"}};
}  // namespace

const char* layout_name(MigrationLayout layout) {
    return name_of(kLayoutNames, layout, "numbered");
}

std::optional<MigrationLayout> parse_layout(const std::string& name) {
    if (name == "ctldb") return MigrationLayout::numbered;
    return value_of(kLayoutNames, name);
}

std::optional<MigrationFileName> parse_migration_file_name(const std::string& file) {
    return parse_numbered(file);
}

std::optional<MigrationFileName> parse_migration_file_name(const std::string& file,
                                                           MigrationLayout layout) {
    switch (layout) {
        case MigrationLayout::golang_migrate:
            return parse_golang(file);
        case MigrationLayout::flyway:
            return parse_flyway(file);
        case MigrationLayout::dbmate:
            return parse_dbmate(file);
        case MigrationLayout::automatic:
        case MigrationLayout::numbered:
        case MigrationLayout::node:
            break;
    }
    return parse_numbered(file);
}

bool looks_like_migration(const std::string& file, MigrationLayout layout) {
    if (!ends_with(file, ".sql")) return false;
    if (layout == MigrationLayout::flyway) return flyway_like(file);
    return !file.empty() && is_digit(file[0]);
}

std::string accepted_forms(MigrationLayout layout) {
    switch (layout) {
        case MigrationLayout::golang_migrate:
            return "golang-migrate names its files N_name.up.sql and N_name.down.sql";
        case MigrationLayout::flyway:
            return "Flyway names its files V1__name.sql or V1.1__name.sql (U1.1__name.sql to "
                   "undo); repeatable R__name.sql files are not supported";
        case MigrationLayout::dbmate:
            return "dbmate names its files YYYYMMDDHHMMSS_name.sql, with -- migrate:up and -- "
                   "migrate:down sections";
        case MigrationLayout::node:
            return "a node runner applies every *.sql in name order, keyed by the digits before "
                   "the first _ (or the file name); X_rollback.sql, X_down.sql or X.down.sql "
                   "undoes X.sql";
        case MigrationLayout::automatic:
        case MigrationLayout::numbered:
            break;
    }
    return "a numbered folder names its files NNN_name.sql or NNN-name.sql (any width; "
           "NNN_name.down.sql to roll back); name letters, digits, _ and -";
}

MigrationLayout detect_layout(const std::vector<std::pair<std::string, std::string>>& files) {
    std::vector<std::pair<MigrationLayout, std::string>> seen;  // layout, an example file
    auto note = [&seen](MigrationLayout l, const std::string& file) {
        for (const auto& s : seen) {
            if (s.first == l) return;
        }
        seen.emplace_back(l, file);
    };
    for (const auto& [file, text] : files) {
        if (!ends_with(file, ".sql")) continue;
        if (flyway_like(file)) {
            note(MigrationLayout::flyway, file);
        } else if (ends_with(file, ".up.sql") && is_digit(file[0])) {
            note(MigrationLayout::golang_migrate, file);
        } else if (is_digit(file[0]) && first_line_of(text).rfind("-- migrate:up", 0) == 0) {
            note(MigrationLayout::dbmate, file);
        }
    }
    if (seen.empty()) return node_like(files) ? MigrationLayout::node : MigrationLayout::numbered;
    if (seen.size() > 1) {
        std::vector<std::string> what;
        for (const auto& [l, f] : seen)
            what.push_back(std::string(layout_name(l)) + ": " + f);
        throw usage_error("the folder mixes migration layouts (" + join(what, "; ") + ")",
                          "name the one to use with --layout");
    }
    return seen.front().first;
}

namespace {

/// golang-migrate: timestamps stay timestamps (14 digits as -format
/// writes them, or Unix seconds), sequences stay sequences of their width.
std::string next_golang_version(const Migration* last, std::time_t now) {
    if (last != nullptr && last->label.size() == 14) return timestamp(now);
    if (last != nullptr && last->label.size() == 10 && last->label[0] != '0')
        return std::to_string(static_cast<long long>(now));
    return padded(last ? last->version + 1 : 1, last ? last->label.size() : 6);
}

/// Flyway: the last part of the last version, one up: 3 -> 4, 1.1 -> 1.2.
std::string next_flyway_version(const Migration* last) {
    if (last == nullptr) return "1";
    const std::size_t dot = last->label.rfind('.');
    const std::string head = dot == std::string::npos ? "" : last->label.substr(0, dot + 1);
    const std::string tail = dot == std::string::npos ? last->label : last->label.substr(dot + 1);
    return head + std::to_string(std::stoll(tail) + 1);
}

/// node: one more than the highest number, as wide; never a number an
/// existing file has, whatever sorts last by name.
std::string next_node_number(const MigrationSet& set) {
    const Migration* top = nullptr;
    for (const auto& m : set.migrations) {
        if (m.version > 0 && m.key == m.label && (top == nullptr || m.version > top->version))
            top = &m;
    }
    return padded(top ? top->version + 1 : 1, top ? top->label.size() : 3);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> new_migration_files(const MigrationSet& set,
                                                                     const std::string& name,
                                                                     bool no_transaction,
                                                                     std::time_t now) {
    const Migration* last = set.migrations.empty() ? nullptr : &set.migrations.back();
    std::vector<std::pair<std::string, std::string>> out;
    const std::string marker = no_transaction ? std::string(kNoTransactionMarker) + "\n" : "";
    const std::string how =
        no_transaction
            ? "-- Runs statement by statement outside a transaction (for CREATE INDEX\n"
              "-- CONCURRENTLY). Make every statement safe to run again (IF NOT EXISTS).\n\n"
            : "-- Runs in one transaction: all of it applies, or none of it.\n\n";
    switch (set.layout) {
        case MigrationLayout::golang_migrate: {
            const std::string v = next_golang_version(last, now);
            out.emplace_back(v + "_" + name + ".up.sql", marker + "-- " + name + "\n" + how);
            out.emplace_back(v + "_" + name + ".down.sql", "-- undoes " + v + "_" + name + "\n");
            break;
        }
        case MigrationLayout::flyway: {
            const std::string file = "V" + next_flyway_version(last) + "__" + name + ".sql";
            out.emplace_back(file, "-- " + file + "\n" + how);
            if (no_transaction) out.emplace_back(file + ".conf", "executeInTransaction=false\n");
            break;
        }
        case MigrationLayout::dbmate: {
            std::time_t t = now;
            while (last != nullptr && std::stoll(timestamp(t)) <= last->version)
                ++t;  // two in one second: the next one up
            out.emplace_back(timestamp(t) + "_" + name + ".sql",
                             "-- migrate:up" +
                                 std::string(no_transaction ? " transaction:false" : "") +
                                 "\n\n\n-- migrate:down\n\n");
            break;
        }
        case MigrationLayout::node: {
            const std::string file = next_node_number(set) + "_" + name + ".sql";
            out.emplace_back(file,
                             marker + "-- " + file + ", created " + utc_iso8601(now) + "\n" + how);
            break;
        }
        case MigrationLayout::automatic:
        case MigrationLayout::numbered: {
            const char sep = last != nullptr ? last->separator : '_';
            const std::size_t width = last != nullptr ? last->label.size() : 4;
            const std::string file =
                padded(last ? last->version + 1 : 1, width) + sep + words(name, sep) + ".sql";
            out.emplace_back(file,
                             marker + "-- " + file + ", created " + utc_iso8601(now) + "\n" + how);
            break;
        }
    }
    return out;
}

std::string node_key(const std::string& file) {
    const std::size_t sep = file.find('_');
    if (sep != std::string::npos && sep > 0 && leading_digits(file) == sep)
        return file.substr(0, sep);
    return file;
}

std::string node_rollback_of(const std::string& file) {
    for (const std::string suffix : {"_rollback.sql", "_down.sql", ".down.sql"}) {
        if (ends_with(file, suffix) && file.size() > suffix.size())
            return file.substr(0, file.size() - suffix.size()) + ".sql";
    }
    return {};
}

std::int64_t node_version(const std::string& key) {
    const std::size_t digits = leading_digits(key);
    if (digits == key.size() && digits > 0 && digits <= 18) return std::stoll(key);
    // 60 bits of the hash, negative: numbers of files are never negative.
    const std::string h = sha256_hex(key).substr(0, 15);
    return -1 - static_cast<std::int64_t>(std::stoull(h, nullptr, 16));
}

}  // namespace ctldb::migrate
