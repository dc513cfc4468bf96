#include "migrate/migrations.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

#include "base/embedded.hpp"
#include "base/enum_names.hpp"
#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/text.hpp"

namespace ctldb::migrate {

void check_migrations_options(const std::string& dir, const std::string& layout) {
    if (!dir.empty() && !fs::is_dir(dir))
        throw usage_error("--migrations-dir " + dir + " is not a directory");
    if (!parse_layout(layout)) {
        throw usage_error("--layout " + layout + " is not a migration layout",
                          "auto, numbered, golang-migrate, flyway, dbmate or node");
    }
}

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

const Migration* MigrationSet::find_label(const std::string& label) const {
    for (const auto& m : migrations) {
        if (m.label == label || m.file == label) return &m;
    }
    // "3" names 0003 too: compare numbers for the numbered layouts.
    const bool number = !label.empty() && label.size() <= 18 &&
                        label.find_first_not_of("0123456789") == std::string::npos;
    if (layout != MigrationLayout::flyway && number) return find(std::stoll(label));
    return nullptr;
}

std::string MigrationSet::OrphanDown::why() const {
    return "rollback of " + undoes + ", which is not in the folder; never applied";
}

const Migration* MigrationSet::find_file(const std::string& file) const {
    for (const auto* list : {&migrations, &shadowed}) {
        for (const auto& m : *list) {
            if (m.file == file) return &m;
        }
    }
    return nullptr;
}

bool runs_outside_transaction(const Migration& m, const pg::sql::Parsed& parsed, bool down) {
    if (down ? m.down_no_transaction : m.no_transaction) return true;
    return m.auto_no_transaction && parsed.statements.size() == 1 &&
           !parsed.statements[0].no_transaction_reason.empty();
}

namespace {

/// dbmate keeps both directions in one file, after "-- migrate:up" and
/// "-- migrate:down" lines, each optionally "transaction:false".
struct DbmateSections {
    std::string up;
    bool up_no_transaction = false;
    std::string down;
    bool down_no_transaction = false;
    bool has_up = false;
};

DbmateSections dbmate_sections(const std::string& text) {
    DbmateSections out;
    std::string* current = nullptr;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        const std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
        std::string line = text.substr(pos, end - pos);
        std::string trimmed = line;
        while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back())))
            trimmed.pop_back();
        if (trimmed.rfind("-- migrate:up", 0) == 0) {
            current = &out.up;
            out.has_up = true;
            out.up_no_transaction = contains(trimmed, "transaction:false");
        } else if (trimmed.rfind("-- migrate:down", 0) == 0) {
            current = &out.down;
            out.down_no_transaction = contains(trimmed, "transaction:false");
        } else if (current != nullptr) {
            *current += line;
        }
        pos = end;
    }
    return out;
}

bool blank(const std::string& text) {
    return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

/// Flyway's per-script config (V1__x.sql.conf): executeInTransaction=false.
bool flyway_conf_no_transaction(const std::string& text) {
    std::string compact;
    for (char ch : text) {
        if (!std::isspace(static_cast<unsigned char>(ch)) || ch == '\n') compact += ch;
    }
    return contains("\n" + compact, "\nexecuteInTransaction=false");
}

[[noreturn]] void throw_problems(std::vector<std::string> problems, const std::string& source,
                                 MigrationLayout layout) {
    std::sort(problems.begin(), problems.end());
    Error e(ExitCode::failure,
            "the migrations in " + source + " are not usable (" + std::to_string(problems.size()) +
                " problem" + (problems.size() == 1 ? "" : "s") + ")",
            accepted_forms(layout) +
                "; other layouts: --layout numbered|golang-migrate|"
                "flyway|dbmate|node");
    e.with_details(problems);
    throw e;
}

/// A hand-written node runner's folder, read as that runner reads it:
/// every *.sql in name order (byte order, as JavaScript's sort() orders
/// ASCII names), keyed by node_key(); the first file of a key is the
/// migration, later ones are shadowed. Rollback files pair with their
/// file by name and are never migrations themselves.
MigrationSet load_node(const std::vector<std::pair<std::string, std::string>>& files,
                       const std::string& source) {
    MigrationSet set;
    set.source = source;
    set.layout = MigrationLayout::node;
    std::map<std::string, const std::string*> sql;  // by name: sorted as the runner sorts
    for (const auto& [file, text] : files) {
        if (ends_with(file, ".sql")) {
            sql[file] = &text;
        } else {
            set.ignored.push_back(file);
        }
    }
    std::vector<std::string> problems;
    std::map<std::string, std::pair<std::string, const std::string*>> downs;  // up file -> down
    std::map<std::string, const Migration*> by_key;
    std::map<std::int64_t, std::string> by_version;  // 7 and 007: two keys, one number
    std::vector<Migration> all;
    for (const auto& [file, text] : sql) {
        const std::string up = node_rollback_of(file);
        if (!up.empty() && sql.count(up)) {
            downs[up] = {file, text};
            continue;
        }
        if (!up.empty()) {
            set.orphan_downs.push_back({file, up});
            continue;
        }
        if (blank(*text)) {
            problems.push_back(file + ": empty migration");
            continue;
        }
        Migration m;
        m.file = file;
        m.key = node_key(file);
        m.label = m.key;
        const std::string stem = file.substr(0, file.size() - 4);
        m.name = m.key == file ? stem : stem.substr(m.key.size() + 1);
        if (m.name.empty()) m.name = stem;
        m.sql = *text;
        m.checksum = migration_checksum(m.sql);
        m.no_transaction = has_no_transaction_marker(m.sql);
        all.push_back(std::move(m));
    }
    // Versions first (the vectors below must not move while pointed into).
    for (auto& m : all) {
        m.version = node_version(m.key);
    }
    for (auto& m : all) {
        auto taken = by_key.find(m.key);
        if (taken != by_key.end()) {
            m.shadowed_by = taken->second->file;
            m.label = m.file;
            m.version = node_version(m.file);
            continue;
        }
        by_key[m.key] = &m;
        auto clash = by_version.emplace(m.version, m.file);
        if (!clash.second) {
            problems.push_back(m.file + ": the runner keys it " + m.key + ", and " +
                               clash.first->second +
                               " by another spelling of the same number; ctldb's history "
                               "keeps numbers, so rename one of them");
        }
    }
    for (auto& m : all) {
        auto down = downs.find(m.file);
        if (down != downs.end()) {
            m.down_file = down->second.first;
            m.down_sql = *down->second.second;
            m.down_no_transaction = has_no_transaction_marker(*m.down_sql);
        }
    }
    if (!problems.empty()) throw_problems(problems, source, MigrationLayout::node);
    for (auto& m : all)
        (m.shadowed_by.empty() ? set.migrations : set.shadowed).push_back(std::move(m));
    return set;
}

}  // namespace

namespace {

/// What a versioned folder holds while it is read: the up files by
/// version, their down files, Flyway's per-file configuration, and every
/// problem found (all reported at once).
struct FolderReading {
    MigrationLayout layout;
    std::vector<std::string> problems;
    std::map<std::int64_t, Migration> ups;
    std::map<std::int64_t, std::pair<std::string, std::string>> downs;  // version -> (file, sql)
    std::map<std::string, std::string> confs;                           // Flyway: file -> conf
    std::vector<std::string> ignored;
};

/// The up migration `file` with its name parsed; false (a problem noted)
/// when a dbmate file has no up section.
bool make_migration(const std::string& file, const std::string& text,
                    const MigrationFileName& parsed, FolderReading& r, Migration& m) {
    m.version = parsed.version;
    m.label = parsed.label;
    m.name = parsed.name;
    m.file = file;
    m.separator = parsed.separator;
    m.sql = text;
    m.auto_no_transaction = r.layout == MigrationLayout::golang_migrate;
    if (r.layout == MigrationLayout::dbmate) {
        const DbmateSections sec = dbmate_sections(text);
        if (!sec.has_up) {
            r.problems.push_back(file + ": no \"-- migrate:up\" line (dbmate's sections)");
            return false;
        }
        m.sql = sec.up;
        m.no_transaction = sec.up_no_transaction;
        if (!blank(sec.down)) {
            m.down_sql = sec.down;
            m.down_file = file + " (migrate:down)";
            m.down_no_transaction = sec.down_no_transaction;
        }
    }
    m.checksum = migration_checksum(m.sql);
    m.no_transaction = m.no_transaction || has_no_transaction_marker(m.sql);
    return true;
}

/// One file of the folder: an up or down migration, a Flyway .conf, or a
/// file that is not a migration (ignored, or a problem when it looks like
/// one).
void read_folder_file(const std::string& file, const std::string& text, FolderReading& r) {
    if (r.layout == MigrationLayout::flyway && ends_with(file, ".sql.conf")) {
        r.confs[file.substr(0, file.size() - 5)] = text;
        return;
    }
    if (r.layout == MigrationLayout::flyway && file.rfind("R__", 0) == 0 &&
        ends_with(file, ".sql")) {
        r.problems.push_back(file +
                             ": a Flyway repeatable migration, which ctldb does not run "
                             "(move it out of the folder, or make it a versioned V file)");
        return;
    }
    auto parsed = parse_migration_file_name(file, r.layout);
    if (!parsed) {
        if (looks_like_migration(file, r.layout)) {
            r.problems.push_back(file + ": looks like a migration but is not named as " +
                                 layout_name(r.layout) + " migrations are");
        } else {
            r.ignored.push_back(file);
        }
        return;
    }
    if (blank(text)) {
        r.problems.push_back(file + ": empty migration");
        return;
    }
    if (parsed->down) {
        if (!r.downs.emplace(parsed->version, std::make_pair(file, text)).second) {
            r.problems.push_back(file + ": a second down file for version " + parsed->label);
        }
        return;
    }
    auto it = r.ups.find(parsed->version);
    if (it != r.ups.end()) {
        r.problems.push_back(file + ": version " + parsed->label + " is also used by " +
                             it->second.file +
                             (r.layout == MigrationLayout::numbered
                                  ? " (a runner that applies every *.sql in name order, the "
                                    "first file of a number winning: --layout node)"
                                  : ""));
        return;
    }
    Migration m;
    if (make_migration(file, text, *parsed, r, m)) r.ups.emplace(m.version, std::move(m));
}

/// Down files to their up migrations, Flyway's executeInTransaction=false.
void pair_downs_and_confs(FolderReading& r) {
    for (auto& [version, down] : r.downs) {
        auto it = r.ups.find(version);
        if (it == r.ups.end()) {
            r.problems.push_back(down.first + ": no matching up migration");
            continue;
        }
        it->second.down_file = down.first;
        it->second.down_sql = down.second;
        it->second.down_no_transaction = has_no_transaction_marker(down.second);
    }
    for (auto& [version, m] : r.ups) {
        auto conf = r.confs.find(m.file);
        if (conf != r.confs.end() && flyway_conf_no_transaction(conf->second))
            m.no_transaction = true;
    }
}

}  // namespace

MigrationSet load_migration_files(const std::vector<std::pair<std::string, std::string>>& files,
                                  const std::string& source, MigrationLayout layout) {
    MigrationSet set;
    set.source = source;
    set.layout = layout == MigrationLayout::automatic ? detect_layout(files) : layout;
    if (set.layout == MigrationLayout::node) return load_node(files, source);
    FolderReading r;
    r.layout = set.layout;
    for (const auto& [file, text] : files)
        read_folder_file(file, text, r);
    pair_downs_and_confs(r);
    set.ignored = std::move(r.ignored);
    if (!r.problems.empty()) throw_problems(r.problems, source, set.layout);
    for (auto& [version, m] : r.ups) {
        m.key = m.label;
        set.migrations.push_back(std::move(m));
    }
    return set;
}

MigrationSet load_migrations_dir(const std::string& dir, MigrationLayout layout) {
    if (!fs::is_dir(dir)) {
        throw usage_error("cannot read migrations directory " + dir);
    }
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& n : fs::list_files(dir, "")) {
        if (n == "." || n == ".." || fs::is_dir(dir + "/" + n)) continue;
        // Only what can be a migration is read; a .js or .md is only named.
        const bool read = ends_with(n, ".sql") || ends_with(n, ".sql.conf");
        files.emplace_back(n, read ? fs::read_file(dir + "/" + n) : std::string());
    }
    return load_migration_files(files, dir, layout);
}

MigrationSet embedded_migration_set() {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& f : embedded_migrations())
        files.emplace_back(f.name, f.text());
    return load_migration_files(files, "embedded", MigrationLayout::numbered);
}

}  // namespace ctldb::migrate

#include "pg/sql.hpp"

namespace ctldb::migrate {

const char* migration_state_name(MigrationState s) {
    static constexpr EnumName<MigrationState> kNames[] = {
        {MigrationState::applied, "applied"},           {MigrationState::pending, "pending"},
        {MigrationState::out_of_order, "out-of-order"}, {MigrationState::modified, "modified"},
        {MigrationState::missing, "missing"},           {MigrationState::shadowed, "shadowed"}};
    return name_of(kNames, s, "?");
}

namespace {

/// A node runner's folder, file by file in its order: what it applied
/// (by key), what it will apply next whatever sorts before it (it has no
/// notion of out of order), what it never applies (shadowed, unless ctldb
/// applied one under its own name), then what the history has no file for.
std::vector<MigrationStatus> node_status(const MigrationSet& set,
                                         const std::vector<AppliedMigration>& history) {
    std::map<std::int64_t, const AppliedMigration*> applied;
    for (const auto& h : history)
        applied[h.version] = &h;
    std::vector<MigrationStatus> list;
    auto add = [&](const Migration& m, MigrationState not_applied) {
        MigrationStatus st;
        st.version = m.version;
        st.name = m.name;
        st.file = &m;
        st.state = not_applied;
        auto it = applied.find(m.version);
        if (it != applied.end()) {
            st.applied = *it->second;
            st.state = it->second->checksum == m.checksum ? MigrationState::applied
                                                          : MigrationState::modified;
            applied.erase(it);
        }
        list.push_back(std::move(st));
    };
    for (const auto& m : set.migrations)
        add(m, MigrationState::pending);
    for (const auto& m : set.shadowed)
        add(m, MigrationState::shadowed);
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return a.file->file < b.file->file; });
    for (const auto& [version, h] : applied) {
        MigrationStatus st;
        st.version = version;
        st.name = h->name;
        st.applied = *h;
        st.state = MigrationState::missing;
        list.push_back(std::move(st));
    }
    return list;
}

}  // namespace

std::vector<MigrationStatus> migration_status(const MigrationSet& set,
                                              const std::vector<AppliedMigration>& history) {
    if (set.layout == MigrationLayout::node) return node_status(set, history);
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

std::vector<const MigrationStatus*> applied_in_order(const std::vector<MigrationStatus>& list) {
    std::vector<const MigrationStatus*> out;
    for (const auto& st : list) {
        if (st.applied) out.push_back(&st);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
        return a->applied->applied_at < b->applied->applied_at;
    });
    return out;
}

std::string recorded_label(const MigrationStatus& st) {
    return st.version < 0 ? st.name
                          : "version " + std::to_string(st.version) + " (" + st.name + ")";
}

std::vector<std::string> check_migration_sql(const std::string& file, const std::string& sql,
                                             bool no_transaction) {
    return check_migration_sql(file, pg::sql::parse(sql), no_transaction);
}

std::vector<std::string> check_migration_sql(const std::string& file, const pg::sql::Parsed& parsed,
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

}  // namespace ctldb::migrate
