#include "backup/archive_toc.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "backup/restore_policy.hpp"
#include "base/error.hpp"
#include "pg/dump_scanner.hpp"

namespace ctldb::backup {

namespace {

/// Sequential reads of the archive through a buffer, never past the file.
class Reader {
  public:
    Reader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
        struct stat st {};
        size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
        if (::lseek(fd_, 0, SEEK_SET) != 0) bad("cannot read it from the start");
    }

    [[noreturn]] void bad(const std::string& what) const {
        throw failure(path_ + " is not a readable pg_dump custom archive: " + what,
                      "use another backup; nothing was changed");
    }

    unsigned char byte() {
        if (pos_ == len_) fill();
        ++offset_;
        return static_cast<unsigned char>(buf_[pos_++]);
    }

    void bytes(std::string& out, std::uint64_t n) {
        if (n > size_ - std::min(size_, offset_)) bad("a length beyond the end of the file");
        out.clear();
        out.reserve(n);
        while (n > 0) {
            if (pos_ == len_) fill();
            const std::size_t take = std::min<std::uint64_t>(n, len_ - pos_);
            out.append(buf_ + pos_, take);
            pos_ += take;
            offset_ += take;
            n -= take;
        }
    }

    /// pg_dump's integer: a sign byte, then int_size bytes, least first.
    std::int64_t integer() {
        const bool negative = byte() != 0;
        std::uint64_t v = 0;
        for (int i = 0; i < int_size; ++i) {
            const std::uint64_t b = byte();
            if (i < 8) v |= b << (8 * i);
        }
        if (v > static_cast<std::uint64_t>(INT32_MAX) * 2) bad("an integer out of range");
        return negative ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
    }

    /// A string: its length (-1: NULL), then the bytes.
    bool string(std::string& out) {
        const std::int64_t n = integer();
        if (n < 0) {
            out.clear();
            return false;
        }
        bytes(out, static_cast<std::uint64_t>(n));
        return true;
    }
    std::string string() {
        std::string s;
        string(s);
        return s;
    }

    int int_size = 4;

  private:
    void fill() {
        ssize_t n;
        do {
            n = ::read(fd_, buf_, sizeof buf_);
        } while (n < 0 && errno == EINTR);
        if (n < 0) bad(std::strerror(errno));
        if (n == 0) bad("it ends inside its table of contents");
        len_ = static_cast<std::size_t>(n);
        pos_ = 0;
    }

    int fd_;
    std::string path_;
    std::uint64_t size_ = 0;
    std::uint64_t offset_ = 0;
    char buf_[65536];
    std::size_t pos_ = 0, len_ = 0;
};

int version_of(int major, int minor) {
    return major * 256 + minor;
}

/// Collects the statements of one entry's SQL and their verdicts.
class EntrySql final : public pg::DumpHandler {
  public:
    struct Item {
        std::string text;
        restore_policy::Verdict verdict;
    };
    std::vector<Item> items;
    std::string meta;

    bool statement(std::string_view sql, std::uint64_t, std::string_view,
                   std::string_view) override {
        const std::string text(sql);
        if (text.find_first_not_of(" \t\r\n;") == std::string::npos) return false;
        items.push_back({text, restore_policy::check(text)});
        return false;
    }
    void meta_command(std::string_view text, std::uint64_t, bool) override {
        if (meta.empty()) meta = std::string(text.substr(0, 60));
    }
    void copy_data(const char*, std::size_t) override {}
    void copy_end(std::uint64_t) override {}
};

std::string excerpt(const std::string& sql) {
    std::string s = sql.substr(0, sql.find('\n'));
    if (s.size() > 120) s = s.substr(0, 117) + "...";
    return s;
}

/// Entries pg_restore never runs without --create: the database itself,
/// its properties, and comments, labels and privileges on it.
bool database_level(const ArchiveTocEntry& e) {
    if (e.desc == "DATABASE" || e.desc == "DATABASE PROPERTIES") return true;
    if ((e.desc == "ACL" || e.desc == "COMMENT" || e.desc == "SECURITY LABEL") &&
        e.tag.rfind("DATABASE ", 0) == 0)
        return true;
    return e.desc == "<Init>" && e.tag == "Max OID";
}

}  // namespace

bool never_run_by_restore(const ArchiveTocEntry& e) {
    return e.desc == "ENCODING" || e.desc == "STDSTRINGS" || e.desc == "SEARCHPATH" ||
           database_level(e);
}

ArchiveToc read_archive_toc(int fd, const std::string& path, bool header_only) {
    Reader in(fd, path);
    std::string magic;
    in.bytes(magic, 5);
    if (magic != "PGDMP") in.bad("no PGDMP header");
    ArchiveToc toc;
    toc.version_major = in.byte();
    toc.version_minor = in.byte();
    toc.version_rev = in.byte();
    const int v = version_of(toc.version_major, toc.version_minor);
    if (v < version_of(1, 12) || v > version_of(1, 16)) {
        in.bad("archive version " + std::to_string(toc.version_major) + "." +
               std::to_string(toc.version_minor) +
               " (ctldb reads 1.12 to 1.16: pg_dump 9.0 to 17)");
    }
    in.int_size = in.byte();
    if (in.int_size < 1 || in.int_size > 8)
        in.bad("an integer size of " + std::to_string(in.int_size));
    const int off_size = in.byte();
    if (off_size < 1 || off_size > 16) in.bad("an offset size of " + std::to_string(off_size));
    if (in.byte() != 1) in.bad("not the custom format");
    if (v >= version_of(1, 15)) {
        in.byte();  // compression algorithm
    } else {
        in.integer();  // compression level
    }
    for (int i = 0; i < 7; ++i)
        in.integer();  // the time it was made
    toc.database = in.string();
    toc.server_version = in.string();
    toc.pg_dump_version = in.string();
    if (header_only) return toc;
    const std::int64_t count = in.integer();
    if (count < 0 || count > 100000000)
        in.bad("a table of contents of " + std::to_string(count) + " entries");
    std::string scratch;
    for (std::int64_t i = 0; i < count; ++i) {
        ArchiveTocEntry e;
        e.dump_id = static_cast<int>(in.integer());
        e.had_dumper = in.integer() != 0;
        in.string(scratch);  // table oid
        in.string(scratch);  // oid
        e.tag = in.string();
        e.desc = in.string();
        in.integer();  // section
        e.defn_null = !in.string(e.defn);
        in.string(scratch);  // drop statement: run only with --clean, which ctldb never passes
        in.string(e.copy_stmt);
        in.string(scratch);                              // namespace
        in.string(scratch);                              // tablespace
        if (v >= version_of(1, 14)) in.string(scratch);  // table access method
        if (v >= version_of(1, 16)) in.integer();        // relkind
        e.owner = in.string();
        in.string(scratch);  // with oids
        for (int deps = 0;; ++deps) {
            if (!in.string(scratch)) break;
            if (deps > 1000000) in.bad("an entry with too many dependencies");
        }
        in.byte();  // data offset: a flag, then the offset
        for (int b = 0; b < off_size; ++b)
            in.byte();
        toc.entries.push_back(std::move(e));
    }
    return toc;
}

std::string archive_database(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return {};
    std::string db;
    try {
        struct stat st {};
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            db = read_archive_toc(fd, path, true).database;
    } catch (const Error&) {
    }
    ::close(fd);
    return db;
}

ArchivePlan check_archive_toc(const ArchiveToc& toc, const std::string& path) {
    ArchivePlan plan;
    for (const ArchiveTocEntry& e : toc.entries) {
        if (e.desc == "STDSTRINGS" && e.defn.find("'on'") == std::string::npos) {
            // pg_restore would run every entry with standard_conforming_strings
            // off, which the policy's parser cannot read (restore_policy).
            throw failure(path +
                              ": made with standard_conforming_strings off, which no dump "
                              "of PostgreSQL 9.1 or later is; refused",
                          "the archive was refused before pg_restore started");
        }
        if (e.desc == "ENCODING") {
            // pg_restore sets the client encoding it names.
            const auto q = e.defn.find('\'');
            const auto q2 = q == std::string::npos ? q : e.defn.find('\'', q + 1);
            const std::string enc =
                q2 == std::string::npos ? std::string() : e.defn.substr(q + 1, q2 - q - 1);
            const restore_policy::Verdict v =
                restore_policy::check("SET client_encoding = '" + enc + "'");
            if (enc.empty() || v.action == restore_policy::Action::refuse)
                throw failure(path + ": an archive whose ENCODING entry is " + e.defn + "; refused",
                              "the archive was refused before pg_restore started");
            continue;
        }
        if (e.desc == "STDSTRINGS") continue;  // read, not run
        if (database_level(e)) continue;
        const std::string where =
            path + " entry " + std::to_string(e.dump_id) + " (" + e.desc + " " + e.tag + ")";
        auto refuse = [&](const std::string& why, const std::string& sql) {
            throw failure(
                where + ": refused: " + why + (sql.empty() ? "" : " (\"" + excerpt(sql) + "\")") +
                    "; a dump restores into one database and nothing else",
                "the archive was refused before pg_restore started; the target is as it was");
        };
        for (const std::string* text : {&e.defn, &e.copy_stmt}) {
            if (text->empty()) continue;
            EntrySql sql;
            pg::DumpScanner scanner(sql);
            scanner.feed(text->data(), text->size());
            try {
                scanner.finish_script();
            } catch (const Error& err) {
                refuse(err.what(), "");
            }
            if (!sql.meta.empty()) refuse("a psql command in an archive entry", sql.meta);
            const bool copy_part = text == &e.copy_stmt;
            if (copy_part && sql.items.size() != 1)
                refuse("a COPY entry that is not one COPY", *text);
            for (const auto& item : sql.items) {
                using restore_policy::Action;
                const auto& verdict = item.verdict;
                if (verdict.action == Action::refuse) refuse(verdict.reason, item.text);
                if (verdict.action == Action::transaction)
                    refuse("transaction control in an archive entry", item.text);
                if (copy_part != (verdict.action == Action::copy))
                    refuse(copy_part ? "a data entry whose statement is not COPY FROM stdin"
                                     : "COPY outside a data entry",
                           item.text);
                if (verdict.action == Action::extension &&
                    plan.extension_ids.insert(e.dump_id).second)
                    plan.extensions.push_back(e);
                if (verdict.action == Action::ownership) plan.owners.insert(verdict.new_owner);
            }
        }
        if (e.desc == "TABLE DATA" && e.had_dumper && e.copy_stmt.empty()) plan.data_as_sql = true;
        if (!e.owner.empty() && e.desc != "ACL" && e.desc != "DEFAULT ACL" && e.desc != "COMMENT" &&
            e.desc != "SECURITY LABEL" && e.desc != "TABLE DATA")
            plan.owners.insert(e.owner);
    }
    return plan;
}

}  // namespace ctldb::backup
