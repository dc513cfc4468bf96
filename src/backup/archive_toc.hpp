// The table of contents of a pg_dump custom archive, read by ctldb itself
// (header and TOC only, no table data), so that `restore --jobs` can hold
// every statement pg_restore would run against restore_policy before
// pg_restore starts, at the cost of reading the TOC rather than the data.
//
// Read as pg_restore reads it (archive versions 1.12 to 1.16, pg_dump 9.0
// to 17); every length is bounded by the file, a malformed TOC is an error.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace ctldb::backup {

struct ArchiveTocEntry {
    int dump_id = 0;
    bool had_dumper = false;  ///< has data (TABLE DATA, BLOBS, ...)
    std::string tag;
    std::string desc;  ///< "TABLE", "TABLE DATA", "EXTENSION", "ACL", ...
    std::string defn;  ///< SQL run to create it (may be several statements)
    std::string copy_stmt;
    std::string owner;
    bool defn_null = true;
};

struct ArchiveToc {
    int version_major = 0, version_minor = 0, version_rev = 0;
    std::string database;  ///< the database pg_dump dumped
    std::string server_version;
    std::string pg_dump_version;
    std::vector<ArchiveTocEntry> entries;
};

/// Reads the header and TOC of the custom archive open as `fd` (from its
/// start; the file position is left where the TOC ends). Throws
/// Error(failure) naming `path` when it is not a readable custom archive.
ArchiveToc read_archive_toc(int fd, const std::string& path, bool header_only = false);

/// The database a custom archive at `path` was dumped from (its header);
/// empty when the file cannot be read as one.
std::string archive_database(const std::string& path);

/// What restore --jobs needs to know after the check.
struct ArchivePlan {
    std::set<std::string> owners;  ///< roles that would own restored objects
    /// dump ids of EXTENSION entries and of the COMMENTs on them, with the
    /// CREATE EXTENSION text of each extension entry (run by ctldb first).
    std::vector<ArchiveTocEntry> extensions;
    std::set<int> extension_ids;
    /// Table data stored as INSERT statements (pg_dump --inserts): SQL that
    /// the TOC does not show, so the whole archive must be checked as SQL.
    bool data_as_sql = false;
};

/// Holds every statement pg_restore would run for the archive (no
/// --create, no --clean) against restore_policy: each entry's definition
/// and COPY statement, the dump-time search_path. Throws Error(failure)
/// naming the entry and the statement for the first one refused.
ArchivePlan check_archive_toc(const ArchiveToc& toc, const std::string& path);

/// Entries pg_restore reads but never runs as they are (ENCODING,
/// STDSTRINGS, SEARCHPATH: settings) or runs only with --create (the
/// database, its properties, comments, labels and privileges on it).
bool never_run_by_restore(const ArchiveTocEntry& e);

/// (In backup_verify.cpp, which runs pg_restore.) `pg_restore --list` of the archive open as `fd`
/// (the file position is back at the start afterwards), checked against ctldb's own reading of the
/// TOC: every entry pg_restore lists is one ctldb read, with the same type, and every entry ctldb
/// read that pg_restore does not list is one pg_restore never runs (the database's own, ENCODING,
/// STDSTRINGS, SEARCHPATH). A difference means the two read the archive differently:
/// Error(failure), nothing runs. Returns the list's text (for --use-list).
std::string cross_check_with_list(const ArchiveToc& toc, int fd, const std::string& pg_restore,
                                  const std::string& path);

}  // namespace ctldb::backup
