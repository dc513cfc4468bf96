#include "backup/backup.hpp"
#include "backup/remote.hpp"

#include "backup/archive_toc.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/text.hpp"

namespace ctldb::backup {

std::string BackupManifest::to_json() const {
    nlohmann::json j = {
        {"manifest_version", 1},
        {"file", file},
        {"format", format},
        {"compression", compression},
        {"size_bytes", size_bytes},
        {"sha256", sha256},
        {"dump_bytes", dump_bytes},
        {"database", database},
        {"server_version", server_version},
        {"pg_dump_version", pg_dump_version},
        {"ctldb_version", ctldb_version},
        {"started_at", started_at},
        {"finished_at", finished_at},
        {"duration_ms", duration_ms},
        {"snapshot", snapshot},
        {"row_counts", row_counts},
        {"encryption", encrypted_to.empty()
                           ? nlohmann::json(nullptr)
                           : nlohmann::json{{"format", "age"}, {"recipients", encrypted_to}}},
        {"verified_at",
         verified_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(verified_at)}};
    return j.dump(2) + "\n";
}

std::string DrillRecord::to_json() const {
    return nlohmann::json{{"drill_version", 1},         {"drilled_at", drilled_at},
                          {"duration_ms", duration_ms}, {"rows", rows},
                          {"tables", tables},           {"ctldb_version", ctldb_version}}
               .dump(2) +
           "\n";
}

std::optional<DrillRecord> DrillRecord::from_json(const std::string& text) {
    try {
        const auto j = nlohmann::json::parse(text);
        DrillRecord d;
        d.drilled_at = j.at("drilled_at").get<std::string>();
        d.duration_ms = j.at("duration_ms").get<std::int64_t>();
        d.rows = j.at("rows").get<std::int64_t>();
        d.tables = j.at("tables").get<std::size_t>();
        d.ctldb_version = j.value("ctldb_version", "");
        if (parse_utc_iso8601(d.drilled_at) == 0) return std::nullopt;
        return d;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

BackupManifest BackupManifest::from_json(const std::string& text, const std::string& path) {
    try {
        auto j = nlohmann::json::parse(text);
        BackupManifest m;
        m.file = j.at("file").get<std::string>();
        m.format = j.at("format").get<std::string>();
        m.compression = j.at("compression").get<std::string>();
        m.size_bytes = j.at("size_bytes").get<std::uint64_t>();
        m.sha256 = j.at("sha256").get<std::string>();
        m.dump_bytes = j.value("dump_bytes", std::uint64_t{0});
        m.database = j.value("database", "");
        m.server_version = j.value("server_version", "");
        m.pg_dump_version = j.value("pg_dump_version", "");
        m.ctldb_version = j.value("ctldb_version", "");
        m.started_at = j.value("started_at", "");
        m.finished_at = j.value("finished_at", "");
        m.duration_ms = j.value("duration_ms", std::int64_t{0});
        m.snapshot = j.value("snapshot", "");
        m.row_counts = j.at("row_counts").get<std::map<std::string, std::int64_t>>();
        if (j.contains("encryption") && j["encryption"].is_object()) {
            if (j["encryption"].value("format", "") != "age")
                throw failure("an encryption other than age");
            m.encrypted_to = j["encryption"].at("recipients").get<std::vector<std::string>>();
            if (m.encrypted_to.empty()) throw failure("encrypted to no recipient");
        }
        if (j.contains("verified_at") && j["verified_at"].is_string()) {
            m.verified_at = j["verified_at"].get<std::string>();
        }
        if (m.sha256.size() != 64) throw failure("bad sha256");
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw Error(ExitCode::failure, path + " is not a valid backup manifest: " + e.what());
    } catch (const Error& e) {
        throw Error(ExitCode::failure, path + " is not a valid backup manifest: " + e.what());
    }
}

std::string backup_stem(std::time_t t) {
    return utc_format(t, "backup-%Y%m%d-%H%M%S");
}

std::optional<std::time_t> parse_backup_time(const std::string& name) {
    // backup-YYYYmmdd-HHMMSS.<ext>
    if (name.size() < 22 || name.compare(0, 7, "backup-") != 0 || name[15] != '-') {
        return std::nullopt;
    }
    const std::string ext = name.substr(22);
    if (ext != ".sql.gz" && ext != ".sql.zst" && ext != ".dump" && ext != ".sql.gz.age" &&
        ext != ".sql.zst.age")
        return std::nullopt;
    std::tm tm{};
    for (std::size_t i : {7u, 8u, 9u, 10u, 11u, 12u, 13u, 14u, 16u, 17u, 18u, 19u, 20u, 21u}) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
    }
    auto num = [&](std::size_t pos, std::size_t len) { return std::stoi(name.substr(pos, len)); };
    tm.tm_year = num(7, 4) - 1900;
    tm.tm_mon = num(11, 2) - 1;
    tm.tm_mday = num(13, 2);
    tm.tm_hour = num(16, 2);
    tm.tm_min = num(18, 2);
    tm.tm_sec = num(20, 2);
    return timegm(&tm);
}

std::string without_age(const std::string& name) {
    return encrypted_name(name) ? name.substr(0, name.size() - 4) : name;
}

bool encrypted_name(const std::string& name) {
    return ends_with(name, ".age");
}

Compression compression_of(const std::string& file_name) {
    const std::string name = without_age(file_name);
    if (ends_with(name, ".sql.gz")) return Compression::gzip;
    if (ends_with(name, ".sql.zst")) return Compression::zstd;
    return Compression::none;
}

DumpKind kind_of_head(std::string_view head, const std::string& name) {
    const auto* b = reinterpret_cast<const unsigned char*>(head.data());
    const std::size_t n = head.size();
    DumpKind k;
    if (n >= 22 && head.substr(0, 22) == "age-encryption.org/v1\n") {
        // What it holds is unseen without an identity: its name says.
        const std::string inner = without_age(name.substr(name.rfind('/') + 1));
        k.encrypted = true;
        k.custom = ends_with(inner, ".dump");
        k.compression = compression_of(inner);
    } else if (n >= 5 && head.substr(0, 5) == "PGDMP") {
        k.custom = true;
    } else if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
        k.compression = Compression::gzip;
    } else if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) {
        k.compression = Compression::zstd;
    }
    return k;
}

DumpKind sniff_dump_kind(const std::string& path) {
    char head[22] = {};
    if (std::string why = fs::input_problem(path, UINT64_MAX); !why.empty()) return {};
    if (std::FILE* f = std::fopen(path.c_str(), "rbe")) {
        const std::size_t n = std::fread(head, 1, sizeof head, f);
        std::fclose(f);
        return kind_of_head(std::string_view(head, n), path);
    }
    return {};
}

std::string DumpKind::describe() const {
    const std::string age = encrypted ? ", age-encrypted" : "";
    if (custom) return "custom archive" + age;
    if (compression == Compression::gzip) return "gzip-compressed SQL dump" + age;
    if (compression == Compression::zstd) return "zstd-compressed SQL dump" + age;
    return "SQL dump" + age;
}

bool looks_like_pg_dump(const std::string& path, DumpKind& kind) {
    kind = sniff_dump_kind(path);
    if (kind.encrypted) {
        // Unseen content: a dump by its name (age -r of a dump keeps it).
        const std::string name = without_age(path.substr(path.rfind('/') + 1));
        return kind.custom || kind.compression != Compression::none || ends_with(name, ".sql");
    }
    if (kind.custom) return true;
    const std::string head = decompressed_head(path, kind.compression, 8192);
    // pg_dump's header comment, or (with --no-comments) the line every dump
    // of a database starts its settings with.
    const bool header = head.find("-- PostgreSQL database dump") != std::string::npos &&
                        head.find("-- PostgreSQL database cluster dump") == std::string::npos;
    return header || head.find("SELECT pg_catalog.set_config('search_path', '', false);") !=
                         std::string::npos;
}

namespace {

bool digits(const std::string& s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) return false;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
    }
    return true;
}

int number(const std::string& s, std::size_t pos, std::size_t n) {
    return std::stoi(s.substr(pos, n));
}

/// A date at `pos` (YYYYmmdd, or YYYY-mm-dd with `dashes`), and a time
/// after it when there is one.
std::optional<std::time_t> date_time_at(const std::string& s, std::size_t pos, bool dashes) {
    std::tm tm{};
    std::size_t p = pos;
    if (dashes) {
        if (p + 10 > s.size() || !digits(s, p, 4) || s[p + 4] != '-' || !digits(s, p + 5, 2) ||
            s[p + 7] != '-' || !digits(s, p + 8, 2)) {
            return std::nullopt;
        }
        tm.tm_year = number(s, p, 4) - 1900;
        tm.tm_mon = number(s, p + 5, 2) - 1;
        tm.tm_mday = number(s, p + 8, 2);
        p += 10;
    } else {
        if (!digits(s, p, 8)) return std::nullopt;
        tm.tm_year = number(s, p, 4) - 1900;
        tm.tm_mon = number(s, p + 4, 2) - 1;
        tm.tm_mday = number(s, p + 6, 2);
        p += 8;
    }
    if (tm.tm_year < 70 || tm.tm_year > 299 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
        tm.tm_mday > 31) {
        return std::nullopt;
    }
    // The time: HHMMSS right after, or after one of - _ T and a space;
    // with dashes also HH-MM-SS or HH:MM:SS.
    std::size_t t = p;
    if (t < s.size() && (s[t] == '-' || s[t] == '_' || s[t] == 'T' || s[t] == ' ')) ++t;
    int h = -1, m = 0, sec = 0;
    if (digits(s, t, 6) && !digits(s, t + 6, 1)) {
        h = number(s, t, 2);
        m = number(s, t + 2, 2);
        sec = number(s, t + 4, 2);
    } else if (t + 8 <= s.size() && digits(s, t, 2) && (s[t + 2] == '-' || s[t + 2] == ':') &&
               digits(s, t + 3, 2) && s[t + 5] == s[t + 2] && digits(s, t + 6, 2)) {
        h = number(s, t, 2);
        m = number(s, t + 3, 2);
        sec = number(s, t + 6, 2);
    } else if (digits(s, p, 1)) {
        return std::nullopt;  // part of a longer number
    }
    if (h > 23 || m > 59 || sec > 60) return std::nullopt;
    if (h >= 0) {
        tm.tm_hour = h;
        tm.tm_min = m;
        tm.tm_sec = sec;
    }
    return timegm(&tm);
}

}  // namespace

std::optional<std::time_t> time_in_name(const std::string& name) {
    for (std::size_t i = 0; i + 8 <= name.size(); ++i) {
        if (i > 0 && digits(name, i - 1, 1)) continue;  // not where a number starts
        if (auto t = date_time_at(name, i, false)) return t;
        if (auto t = date_time_at(name, i, true)) return t;
    }
    return std::nullopt;
}

std::string manifest_path_for(const std::string& encrypted_or_not) {
    const std::string data_path = without_age(encrypted_or_not);
    for (const char* ext : {".sql.gz", ".sql.zst", ".dump"}) {
        if (ends_with(data_path, ext)) {
            return data_path.substr(0, data_path.size() - std::string(ext).size()) + ".json";
        }
    }
    return encrypted_or_not + ".json";
}

namespace {

BackupEntry own_backup(const std::string& path, const std::string& name, std::time_t when,
                       const struct stat& st) {
    BackupEntry b;
    b.path = path;
    b.manifest_path = manifest_path_for(b.path);
    b.taken_at = when;
    b.mtime = st.st_mtime;
    b.size = static_cast<std::uint64_t>(st.st_size);
    // What ctldb wrote says what it is by its name; a file of that name
    // without a manifest (the guide's CronJob) is read to be sure.
    b.kind = DumpKind{ends_with(name, ".dump"), compression_of(name), encrypted_name(name)};
    if (!fs::exists(b.manifest_path)) {
        b.kind = sniff_dump_kind(path);
        b.problem = "no manifest";
        if (b.kind.custom && !b.kind.encrypted) b.database = archive_database(path);
        return b;
    }
    if (const std::string drill = drill_path_for(path);
        fs::input_problem(drill, fs::kMaxSmallFile).empty()) {
        b.drill = DrillRecord::from_json(fs::read_file(drill, fs::kMaxSmallFile));
    }
    try {
        b.manifest = BackupManifest::from_json(fs::read_file(b.manifest_path, fs::kMaxManifest),
                                               b.manifest_path);
        b.database = b.manifest->database;
        if (b.manifest->size_bytes != b.size) {
            b.problem = "size differs from the manifest";
        } else if (b.manifest->file != name) {
            b.problem = "manifest names another file";
        }
    } catch (const Error& e) {
        const std::string why = e.what();
        b.problem = "bad manifest" + (why.find("regular file") != std::string::npos ||
                                              why.find("bytes, more than") != std::string::npos
                                          ? ": " + why.substr(why.rfind(": ") + 2)
                                          : std::string());
    }
    return b;
}

/// The last bytes of a plain SQL file hold pg_dump's closing marker once
/// the dump is complete (one still being written has not got it yet).
bool plain_dump_complete(const std::string& path, std::uint64_t size) {
    if (!fs::input_problem(path, UINT64_MAX).empty()) return false;
    std::FILE* f = std::fopen(path.c_str(), "rbe");
    if (f == nullptr) return false;
    const long tail = static_cast<long>(std::min<std::uint64_t>(size, 4096));
    std::string buf(static_cast<std::size_t>(tail), '\0');
    const bool ok = std::fseek(f, -tail, SEEK_END) == 0 &&
                    std::fread(buf.data(), 1, buf.size(), f) == buf.size();
    std::fclose(f);
    return ok && buf.find("-- PostgreSQL database dump complete") != std::string::npos;
}

std::optional<BackupEntry> foreign_dump(const std::string& path, const std::string& name,
                                        const struct stat& st) {
    BackupEntry b;
    if (!looks_like_pg_dump(path, b.kind)) return std::nullopt;
    b.path = path;
    b.manifest_path = manifest_path_for(path);
    b.foreign = true;
    b.mtime = st.st_mtime;
    b.size = static_cast<std::uint64_t>(st.st_size);
    const auto when = time_in_name(name);
    b.time_from_name = when.has_value();
    b.taken_at = when ? *when : st.st_mtime;
    b.problem = "no manifest";
    if (b.kind.custom && !b.kind.encrypted) b.database = archive_database(path);
    if (!b.kind.custom && !b.kind.encrypted && b.kind.compression == Compression::none &&
        !plain_dump_complete(path, b.size)) {
        b.problem = "incomplete: no closing marker (still being written, or cut short)";
    }
    return b;
}

}  // namespace

void remove_backup(const std::string& path) {
    if (is_remote(path)) return remove_remote_backup(path);
    ::unlink(path.c_str());
    ::unlink(manifest_path_for(path).c_str());
    ::unlink(drill_path_for(path).c_str());
}

std::string drill_path_for(const std::string& data_path) {
    const std::string m = manifest_path_for(data_path);
    return m.substr(0, m.size() - 5) + ".drill.json";
}

void record_drill(const std::string& path, const DrillRecord& d) {
    if (is_remote(path)) return put_remote_drill(path, d);
    fs::write_atomic(drill_path_for(path), d.to_json(), 0600);
}

const BackupEntry* last_drilled(const std::vector<BackupEntry>& entries,
                                const std::string& database) {
    const BackupEntry* pick = nullptr;
    for (const auto& b : entries) {
        if (!b.drill || (!database.empty() && b.database != database)) continue;
        if (pick == nullptr ||
            parse_utc_iso8601(b.drill->drilled_at) > parse_utc_iso8601(pick->drill->drilled_at)) {
            pick = &b;
        }
    }
    return pick;
}

void record_manifest(const std::string& path, const BackupManifest& m) {
    if (is_remote(path)) return put_remote_manifest(path, m);
    fs::write_atomic(manifest_path_for(path), m.to_json(), 0600);
}

std::vector<BackupEntry> list_backups(const std::string& dir) {
    if (is_remote(dir)) return list_remote_backups(dir);
    std::vector<BackupEntry> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        throw usage_error("cannot read backup directory " + dir + ": " + std::strerror(errno),
                          "create it or pass --dir (CTLDB_BACKUP_DIR)");
    }
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.empty() || name[0] == '.' || ends_with(name, ".json") ||
            ends_with(name, ".partial")) {
            continue;
        }
        const std::string path = dir + "/" + name;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (auto when = parse_backup_time(name)) {
            out.push_back(own_backup(path, name, *when, st));
        } else if (auto foreign = foreign_dump(path, name, st)) {
            out.push_back(std::move(*foreign));
        }
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const BackupEntry& a, const BackupEntry& b) {
        if (a.taken_at != b.taken_at) return a.taken_at > b.taken_at;
        if (a.mtime != b.mtime) return a.mtime > b.mtime;
        return a.path > b.path;
    });
    return out;
}

const BackupEntry* newest_backup_of(const std::vector<BackupEntry>& entries,
                                    const std::string& database, std::time_t now,
                                    bool accept_unknown) {
    const BackupEntry* pick = nullptr;
    for (const auto& b : entries) {
        if (b.in_future(now)) continue;
        // A complete dump of another tool that names no database (plain
        // SQL says nothing of it).
        const bool unknown = b.foreign && b.problem == "no manifest" && b.database.empty();
        if (unknown) {
            if (!accept_unknown) continue;
        } else {
            if (!b.usable() && !(b.foreign && b.problem == "no manifest")) continue;
            if (!database.empty() && b.database != database) continue;
        }
        if (pick == nullptr || b.taken_at > pick->taken_at) pick = &b;
    }
    return pick;
}

}  // namespace ctldb::backup
