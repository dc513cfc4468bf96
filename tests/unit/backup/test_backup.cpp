// Backup naming, retention and the compression round trip.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "backup/backup.hpp"
#include "backup/backup_slot.hpp"
#include "backup/compress.hpp"
#include "backup/remote.hpp"
#include "backup/retention.hpp"
#include "base/error.hpp"
#include "base/fs.hpp"
#include "base/text.hpp"

using namespace ctldb;
using namespace ctldb::backup;

namespace {

std::string random_text(std::size_t n, unsigned seed) {
    std::string s;
    s.reserve(n);
    unsigned x = seed;
    const char* words[] = {"INSERT ", "users ", "'abc', ", "42, ", "\n", "NULL ", "COPY "};
    while (s.size() < n) {
        x = x * 1103515245 + 12345;
        s += words[(x >> 16) % 7];
        if ((x >> 8) % 5 == 0) s += static_cast<char>(x >> 24);  // some noise
    }
    s.resize(n);
    return s;
}

std::string round_trip(const std::string& data, Compression c, int threads, std::size_t chunk) {
    char path[] = "/tmp/ctldb-unit-compress-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    std::string sha;
    {
        HashingFileSink sink(fd, path);
        auto comp = c == Compression::zstd ? make_zstd_compressor(sink, 3, threads)
                                           : make_gzip_compressor(sink, 6, threads);
        for (std::size_t off = 0; off < data.size(); off += chunk) {
            comp->write(data.data() + off, std::min(chunk, data.size() - off));
        }
        comp->finish();
        sha = sink.finish_sha256();
    }
    ::close(fd);
    std::string back;
    ReadResult r =
        read_compressed(path, c, [&](const char* p, std::size_t n) { back.append(p, n); });
    CHECK(r.sha256 == sha);
    CHECK(r.content_bytes == data.size());
    if (c == Compression::gzip && std::system("command -v gunzip >/dev/null") == 0) {
        // And the system's gunzip agrees, as the guide's runbook needs.
        CHECK(std::system((std::string("gunzip -t ") + path).c_str()) == 0);
    }
    ::unlink(path);
    return back;
}

}  // namespace

TEST_CASE("parallel gzip and zstd round-trip any input, in any chunking") {
    for (auto c : {Compression::gzip, Compression::zstd}) {
        for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{131072},
                                 std::size_t{131073}, std::size_t{900000}}) {
            const std::string data = random_text(size, static_cast<unsigned>(size));
            CHECK(round_trip(data, c, 3, 7777) == data);
            CHECK(round_trip(data, c, 1, 1 << 20) == data);
        }
    }
}

TEST_CASE("a truncated or corrupted gzip stream is detected") {
    const std::string data = random_text(500000, 9);
    char path[] = "/tmp/ctldb-unit-gz-XXXXXX";
    int fd = ::mkstemp(path);
    {
        HashingFileSink sink(fd, path);
        auto comp = make_gzip_compressor(sink, 6, 2);
        comp->write(data.data(), data.size());
        comp->finish();
    }
    const off_t size = ::lseek(fd, 0, SEEK_END);
    ::ftruncate(fd, size / 2);
    ::close(fd);
    CHECK_THROWS_AS(read_compressed(path, Compression::gzip, nullptr), Error);
    ::unlink(path);
}

namespace {

/// A gzip file of `data` at a new temporary path.
std::string gzip_file(const std::string& data) {
    char path[] = "/tmp/ctldb-unit-ahead-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    {
        HashingFileSink sink(fd, path);
        auto comp = make_gzip_compressor(sink, 1, 2);
        comp->write(data.data(), data.size());
        comp->finish();
    }
    ::close(fd);
    return path;
}

struct OpenFile {
    int fd;
    explicit OpenFile(const std::string& path) : fd(::open(path.c_str(), O_RDONLY)) {}
    ~OpenFile() { ::close(fd); }
};

}  // namespace

TEST_CASE("reading ahead on a thread hands over every byte, in order, and the same checksum") {
    const std::string data = random_text(9'000'000, 21);  // more chunks than the queue holds
    const std::string path = gzip_file(data);
    OpenFile a(path), b(path);
    std::string one, ahead;
    const ReadResult r1 = read_compressed_fd(
        a.fd, path, Compression::gzip, [&](const char* p, std::size_t n) { one.append(p, n); });
    const ReadResult r2 =
        read_compressed_fd_ahead(b.fd, path, Compression::gzip, [&](const char* p, std::size_t n) {
            ahead.append(p, n);
            if (ahead.size() < 3'000'000)
                std::this_thread::sleep_for(std::chrono::microseconds(50));
        });
    CHECK(one == data);
    CHECK(ahead == data);
    CHECK(r2.sha256 == r1.sha256);
    CHECK(r2.content_bytes == data.size());
    CHECK(r2.tail == r1.tail);
    ::unlink(path.c_str());
}

TEST_CASE(
    "reading ahead: damage is thrown after the bytes before it, a consumer's error stops "
    "the reader") {
    const std::string data = random_text(6'000'000, 22);
    const std::string path = gzip_file(data);
    {
        const int fd = ::open(path.c_str(), O_WRONLY);
        ::ftruncate(fd, ::lseek(fd, 0, SEEK_END) / 2);
        ::close(fd);
    }
    std::string got;
    {
        OpenFile f(path);
        CHECK_THROWS_AS(
            read_compressed_fd_ahead(f.fd, path, Compression::gzip,
                                     [&](const char* p, std::size_t n) { got.append(p, n); }),
            Error);
    }
    CHECK(!got.empty());
    CHECK(data.compare(0, got.size(), got) == 0);  // a prefix, never garbage
    // The consumer fails at its second chunk: its error, not the reader's.
    int calls = 0;
    OpenFile f(path);
    CHECK_THROWS_WITH(read_compressed_fd_ahead(f.fd, path, Compression::gzip,
                                               [&](const char*, std::size_t) {
                                                   if (++calls == 2)
                                                       throw std::runtime_error("runner");
                                               }),
                      "runner");
    CHECK(calls == 2);
    ::unlink(path.c_str());
}

TEST_CASE("backup names and times") {
    CHECK(backup_stem(0) == "backup-19700101-000000");
    auto t = parse_backup_time("backup-20251116-020000.sql.gz");
    REQUIRE(t);
    CHECK(backup_stem(*t) == "backup-20251116-020000");
    CHECK(parse_backup_time("backup-20251116-020000.sql.zst"));
    CHECK(parse_backup_time("backup-20251116-020000.dump"));
    CHECK_FALSE(parse_backup_time("backup-20251116-020000.sql.gz.partial"));
    CHECK_FALSE(parse_backup_time("backup-2025111-020000.sql.gz"));
    CHECK_FALSE(parse_backup_time("notes.txt"));
    CHECK(manifest_path_for("/b/backup-20251116-020000.sql.gz") ==
          "/b/backup-20251116-020000.json");
    CHECK(compression_of("x.sql.zst") == Compression::zstd);
    // Encrypted (age): the name says what the file holds.
    CHECK(parse_backup_time("backup-20251116-020000.sql.gz.age"));
    CHECK(parse_backup_time("backup-20251116-020000.sql.zst.age"));
    CHECK_FALSE(parse_backup_time("backup-20251116-020000.dump.age"));
    CHECK_FALSE(parse_backup_time("backup-20251116-020000.age"));
    CHECK(compression_of("backup-20251116-020000.sql.gz.age") == Compression::gzip);
    CHECK(manifest_path_for("/b/backup-20251116-020000.sql.zst.age") ==
          "/b/backup-20251116-020000.json");
    CHECK(encrypted_name("x.sql.gz.age"));
    CHECK(without_age("x.sql.gz.age") == "x.sql.gz");
    CHECK(DumpKind{false, Compression::gzip, true}.describe() ==
          "gzip-compressed SQL dump, age-encrypted");
}

namespace {

/// A listed backup: with a manifest of database `db` naming it (usable or
/// damaged), or with no manifest at all (db empty).
BackupEntry listed(const std::string& name, std::time_t t, const char* db, bool usable = true) {
    BackupEntry e;
    e.path = "/b/" + name;
    e.taken_at = t;
    if (*db == '\0') {
        e.problem = "no manifest";
        return e;
    }
    BackupManifest m;
    m.file = name;
    m.database = db;
    e.manifest = m;
    if (!usable) e.problem = "size differs from the manifest";
    return e;
}

Retention rules(int last, int days) {
    Retention r;
    r.keep_last = last;
    r.keep_days = days;
    return r;
}

}  // namespace

TEST_CASE("retention keeps the newest usable backups and never the one just made") {
    const std::time_t day = 86400, now = 100 * day;
    std::vector<BackupEntry> entries = {
        listed("new", now, "app"),                 // just made
        listed("b", now - 1 * day, "app", false),  // damaged: never counts
        listed("c", now - 2 * day, "app"),
        listed("d", now - 3 * day, "app"),
        listed("e", now - 40 * day, "app"),
    };
    auto doomed = backups_to_prune(entries, rules(2, 0), now, "/b/new");
    CHECK(doomed == std::vector<std::string>{"/b/b", "/b/d", "/b/e"});
    doomed = backups_to_prune(entries, rules(0, 7), now, "/b/new");
    CHECK(doomed == std::vector<std::string>{"/b/e"});
    // Only an age rule, every backup older: the newest usable one stays.
    doomed = backups_to_prune({entries[3], entries[4]}, rules(0, 1), now, "");
    CHECK(doomed == std::vector<std::string>{"/b/e"});
    doomed = backups_to_prune(entries, rules(1, 0), now, "/b/new");
    CHECK(doomed == std::vector<std::string>{"/b/b", "/b/c", "/b/d", "/b/e"});
    // Without a protected backup, keep-last counts from the newest usable one.
    doomed = backups_to_prune(entries, rules(1, 0), now, "");
    CHECK(doomed == std::vector<std::string>{"/b/b", "/b/c", "/b/d", "/b/e"});
}

TEST_CASE("retention counts and deletes per database, and never what it cannot identify") {
    const std::time_t day = 86400, now = 100 * day;
    std::vector<BackupEntry> entries = {
        listed("new", now, "app"),          listed("other1", now - 1 * day, "billing"),
        listed("guide", now - 2 * day, ""),  // the guide's CronJob: no manifest
        listed("a2", now - 3 * day, "app"), listed("other2", now - 4 * day, "billing"),
        listed("a3", now - 5 * day, "app"), listed("old-guide", now - 90 * day, ""),
    };
    // After a backup of app: only app's older backups go; billing's and the
    // manifest-less dumps stay whatever their age.
    CHECK(backups_to_prune(entries, rules(1, 0), now, "/b/new") ==
          std::vector<std::string>{"/b/a2", "/b/a3"});
    // prune: each database keeps its own newest one.
    CHECK(backups_to_prune(entries, rules(1, 0), now, "") ==
          std::vector<std::string>{"/b/a2", "/b/other2", "/b/a3"});
    // A manifest that names another file does not identify this one.
    BackupEntry stray = listed("x", now - 50 * day, "app");
    stray.manifest->file = "y";
    stray.problem = "manifest names another file";
    CHECK(backups_to_prune({stray}, rules(1, 0), now, "").empty());
}

TEST_CASE("manifest JSON round trip and rejection") {
    BackupManifest m;
    m.file = "backup-20251116-020000.sql.gz";
    m.format = "plain";
    m.compression = "gzip";
    m.size_bytes = 123;
    m.sha256 = std::string(64, 'a');
    m.row_counts = {{"public.users", 5}};
    auto back = BackupManifest::from_json(m.to_json(), "m.json");
    CHECK(back.file == m.file);
    CHECK(back.row_counts.at("public.users") == 5);
    CHECK(back.verified_at.empty());
    CHECK_THROWS_AS(BackupManifest::from_json("{}", "m.json"), Error);
    CHECK_THROWS_AS(BackupManifest::from_json("not json", "m.json"), Error);
}

TEST_CASE("the time in a dump's name, in the forms other tools write") {
    auto at = [](const char* name) {
        auto t = time_in_name(name);
        return t ? utc_iso8601(*t) : std::string("none");
    };
    CHECK(at("dump-20251116-020000.sql") == "2025-11-16T02:00:00Z");
    CHECK(at("backup_20251116_020000.sql") == "2025-11-16T02:00:00Z");
    CHECK(at("backup-20251116-020000.sql.gz") == "2025-11-16T02:00:00Z");
    CHECK(at("db_20251116020000.dump") == "2025-11-16T02:00:00Z");
    CHECK(at("pg-2025-11-16T02-00-00.sql.zst") == "2025-11-16T02:00:00Z");
    CHECK(at("nightly 2025-11-16 02:00:00.sql") == "2025-11-16T02:00:00Z");
    CHECK(at("backup-20251116.sql") == "2025-11-16T00:00:00Z");  // the guide's manual recipe
    CHECK(at("cloudtolocalllm.sql") == "none");
    CHECK(at("build-123456789012.sql") == "none");  // a long number is not a date
    CHECK(at("v20251399-000000.sql") == "none");    // no month 13
    CHECK(at("x-20251116-250000.sql") == "none");   // no hour 25: not a time to trust
}

TEST_CASE("calendar retention keeps the newest backup of each of the last N days, weeks, months") {
    // Two backups a day (02:00 and 14:00 UTC) from 2026-01-01 to 2026-03-31.
    std::tm start{};
    start.tm_year = 126;
    start.tm_mon = 0;
    start.tm_mday = 1;
    const std::time_t jan1 = ::timegm(&start), day = 86400;
    std::vector<BackupEntry> entries;
    for (int d = 89; d >= 0; --d) {  // newest first
        for (int h : {14, 2}) {
            const std::time_t t = jan1 + d * day + h * 3600;
            entries.push_back(listed(day_bucket(t) + "-" + std::to_string(h), t, "app"));
        }
    }
    const std::time_t now = jan1 + 90 * day;
    Retention r;
    r.keep_daily = 3;
    r.keep_weekly = 2;
    r.keep_monthly = 2;
    std::vector<std::string> kept;
    for (const auto& d : retention_plan(entries, r, now, ""))
        if (d.keep) kept.push_back(d.path.substr(3) + " " + join(d.reasons, ","));
    CHECK(kept ==
          std::vector<std::string>{
              // 2026-03-31 is a Tuesday of ISO week 14; March 29 ends week 13.
              "2026-03-31-14 newest usable,daily 2026-03-31,weekly 2026-W14,monthly 2026-03",
              "2026-03-30-14 daily 2026-03-30",
              "2026-03-29-14 daily 2026-03-29,weekly 2026-W13",
              "2026-02-28-14 monthly 2026-02",
          });
    CHECK(week_bucket(jan1) == "2026-W01");  // Thursday 2026-01-01
    CHECK(week_bucket(jan1 - 4 * day) == "2025-W52");
    CHECK(month_bucket(jan1 - 1) == "2025-12");
}

TEST_CASE("retention says why: each rule that keeps a backup, and why one goes") {
    const std::time_t day = 86400, now = 100 * day;
    std::vector<BackupEntry> entries = {listed("a", now - day, "app"),
                                        listed("b", now - 2 * day, "app", false),
                                        listed("c", now - 3 * day, "app")};
    Retention r = rules(1, 0);
    const auto plan = retention_plan(entries, r, now, "");
    REQUIRE(plan.size() == 3);
    CHECK(plan[0].keep);
    CHECK(plan[0].reasons == std::vector<std::string>{"newest usable", "last 1"});
    CHECK_FALSE(plan[1].keep);
    CHECK(plan[1].reasons.front().rfind("damaged (", 0) == 0);
    CHECK_FALSE(plan[2].keep);
    CHECK(plan[2].reasons == std::vector<std::string>{"kept by no rule (--keep-last 1)"});
    CHECK(r.describe() == "--keep-last 1");
    CHECK_FALSE(Retention{}.any());
}

TEST_CASE(
    "a stem another run published meanwhile is never reserved, and publishing never replaces") {
    char tmpl[] = "/tmp/ctldb-unit-slot-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    const std::string stem = backup_stem(std::time(nullptr) + 3600);

    // Another run reserved the stem, saw it free, and published it after
    // our look: its reservation's name is free again, its manifest is not.
    fs::write_atomic(dir + "/" + stem + ".json", "{}", 0600);
    CHECK(reserve_stem(dir, stem, ".sql.gz") == -1);
    CHECK_FALSE(fs::exists(dir + "/" + stem + ".json.partial"));
    CHECK(fs::read_file(dir + "/" + stem + ".json", 100) == "{}");
    ::unlink((dir + "/" + stem + ".json").c_str());
    // The same for a data file of that stem.
    fs::write_atomic(dir + "/" + stem + ".sql.gz", "x", 0600);
    CHECK(reserve_stem(dir, stem, ".sql.gz") == -1);
    ::unlink((dir + "/" + stem + ".sql.gz").c_str());
    // Free: reserved, and held.
    const int fd = reserve_stem(dir, stem, ".sql.gz");
    CHECK(fd >= 0);
    CHECK(reserve_stem(dir, stem, ".dump") == -1);
    ::close(fd);
    ::unlink((dir + "/" + stem + ".json.partial").c_str());

    // A slot whose manifest name is taken after it reserved (by a tool
    // that ignores reservations) fails to publish and leaves that file.
    {
        BackupSlot slot(dir, ".sql.gz");
        ::close(slot.create_data());
        fs::write_atomic(slot.manifest_path(), "theirs", 0600);
        CHECK_THROWS_AS(slot.publish("{\"ours\": true}"), Error);
        CHECK(fs::read_file(slot.manifest_path(), 100) == "theirs");
        CHECK_FALSE(fs::exists(slot.final_path()));
        ::unlink(slot.manifest_path().c_str());
    }
    for (const auto& n : fs::list_files(dir, ""))
        FAIL_CHECK("left: " << n);
    ::rmdir(dir.c_str());
}

TEST_CASE("a location with another scheme is refused, never taken as a local directory") {
    using ctldb::backup::is_remote;
    CHECK(is_remote("s3://bucket/prefix"));
    CHECK_FALSE(is_remote("/backups"));
    CHECK_FALSE(is_remote("relative/dir"));
    CHECK_FALSE(is_remote("/srv/odd://name"));  // "://" after a slash: a path
    for (const char* other : {"S3://bucket/x", "gs://bucket/x", "https://host/x", "file:///x"}) {
        CAPTURE(other);
        CHECK_THROWS_AS(is_remote(other), ctldb::Error);
    }
}
